"""Threshold sensitivity: the sweeps, the patient-level net-benefit curve, and the plot."""

from __future__ import annotations

import io

import pytest
from numpy.testing import assert_allclose

from imln.decision import (
    DecisionContext,
    RecommendationClass,
    plot_threshold_sensitivity,
    threshold_sensitivity,
)
from tests.decision.conftest import estimate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data(thresholds):
    return threshold_sensitivity(estimate(0.2, 0.14, 0.27), DecisionContext(setting="diagnosis"), thresholds)


def test_sweeps_switch_at_the_patients_probability(data):
    """Sweeping omit_below: at or below 0.20 the class is IM-SLNB, above it omit. Sweeping radiotherapy_at:
    at or below 0.20 IMN radiotherapy, above it IM-SLNB; values at or below omit_below (0.10) are invalid."""
    by_name = {s.threshold: s for s in data.sweeps}
    assert set(by_name) == {"omit_below", "radiotherapy_at"}
    assert by_name["omit_below"].switch_points == [0.21]
    assert by_name["radiotherapy_at"].switch_points == [0.21]
    rows = {r.value: r for r in by_name["radiotherapy_at"].rows}
    assert not rows[0.05].valid and rows[0.2].class_at_point is RecommendationClass.imn_radiotherapy
    assert rows[0.21].class_at_point is RecommendationClass.im_sentinel_biopsy
    assert rows[0.21].class_at_upper is RecommendationClass.imn_radiotherapy  # the interval reaches 0.27
    assert data.current_class is RecommendationClass.im_sentinel_biopsy
    assert data.thresholds_in_use == {"omit_below": 0.10, "radiotherapy_at": 0.25}


def test_net_benefit_curve(data):
    """NB(t) = p − (1 − p)t/(1 − t): at t = 0.1, 0.2 − 0.8·0.1/0.9 = 0.11111; zero at t = p."""
    grid = data.grid
    assert_allclose(data.net_benefit_point[grid.index(0.1)], 0.2 - 0.8 * 0.1 / 0.9, rtol=1e-12)
    assert_allclose(data.net_benefit_point[grid.index(0.2)], 0.0, atol=1e-12)
    assert data.net_benefit_lower[grid.index(0.2)] < 0 < data.net_benefit_upper[grid.index(0.2)]


def test_follow_up_sweeps_its_own_threshold(thresholds):
    d = threshold_sensitivity(estimate(0.005, 0.0, 0.027), DecisionContext(setting="follow_up", finding_present=True),
                              thresholds)
    assert [s.threshold for s in d.sweeps] == ["follow_up_work_up_at"]
    assert all(r.class_at_point is RecommendationClass.short_interval_follow_up for r in d.sweeps[0].rows)


def test_plot_draws_a_png(data):
    ax = plot_threshold_sensitivity(data)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    assert buf.getvalue().startswith(PNG_SIGNATURE)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "IM sentinel node biopsy" in labels and "IMN radiotherapy" in labels


def test_plot_on_a_given_axes(data):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    assert plot_threshold_sensitivity(data, ax=ax) is ax


def test_context_read_from_the_patient(thresholds):
    from tests.decision.conftest import patient

    d = threshold_sensitivity(estimate(0.2), patient(setting="follow_up"), thresholds)
    assert d.sweeps == [] and d.current_class is RecommendationClass.omit


def test_bad_grid(thresholds):
    with pytest.raises(ValueError, match="grid"):
        threshold_sensitivity(estimate(0.2), DecisionContext(setting="diagnosis"), thresholds, grid=[0, 0.5])
