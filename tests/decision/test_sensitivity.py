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
    sweep = by_name["radiotherapy_at"]
    assert not sweep.at(0.05).valid and sweep.at(0.2).class_at_point is RecommendationClass.imn_radiotherapy
    assert sweep.at(0.21).class_at_point is RecommendationClass.im_sentinel_biopsy
    assert sweep.at(0.21).class_at_upper is RecommendationClass.imn_radiotherapy  # the interval reaches 0.27
    # runs: invalid up to omit_below (0.10), then RT (point ≤ threshold) ... segments tile the grid in order
    assert [(seg.start, seg.end) for seg in sweep.segments][0] == (0.01, 0.1)
    assert all(a.end < b.start for a, b in zip(sweep.segments, sweep.segments[1:]))
    assert sweep.segments[0].start == data.grid[0] and sweep.segments[-1].end == data.grid[-1]
    assert data.current_class is RecommendationClass.im_sentinel_biopsy
    assert data.thresholds_in_use == {"omit_below": 0.10, "radiotherapy_at": 0.25}


def test_net_benefit_curve(data):
    """NB(t) = p − (1 − p)t/(1 − t): at t = 0.1, 0.2 − 0.8·0.1/0.9 = 0.11111; zero at t = p."""
    grid = data.grid
    assert_allclose(data.net_benefit("point")[grid.index(0.1)], 0.2 - 0.8 * 0.1 / 0.9, rtol=1e-12)
    assert_allclose(data.net_benefit("point")[grid.index(0.2)], 0.0, atol=1e-12)
    assert data.net_benefit("lower")[grid.index(0.2)] < 0 < data.net_benefit("upper")[grid.index(0.2)]
    with pytest.raises(ValueError, match="point"):
        data.net_benefit("middle")


def test_follow_up_sweeps_its_own_threshold(thresholds):
    d = threshold_sensitivity(estimate(0.005, 0.0, 0.027), DecisionContext(setting="follow_up", finding_present=True),
                              thresholds)
    assert [s.threshold for s in d.sweeps] == ["follow_up_work_up_at"]
    segments = d.sweeps[0].segments
    assert all(seg.class_at_point is RecommendationClass.short_interval_follow_up for seg in segments)
    # the upper end (2.7%) reaches work-up only while the threshold is at or below it: two runs
    assert [(seg.start, seg.end, seg.class_at_upper) for seg in segments] == [
        (0.01, 0.02, RecommendationClass.full_work_up), (0.03, 0.99, RecommendationClass.short_interval_follow_up)]


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


CONTEXTS = [
    DecisionContext(setting="diagnosis"),
    DecisionContext(setting="diagnosis", visible_node=True),
    DecisionContext(setting="after_nac"),
    DecisionContext(setting="after_surgery"),
    DecisionContext(setting="follow_up", finding_present=True),
]


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda c: f"{c.setting}{'-visible' if c.visible_node else ''}")
@pytest.mark.parametrize("interval", [(0.2, 0.14, 0.27), (0.05, 0.01, 0.3), (0.6, 0.3, 0.9), (0.25, 0.25, 0.25)])
def test_segments_equal_a_fresh_threshold_set_per_grid_value(thresholds, context, interval):
    """Independent check: rebuild the threshold set with each swept value (ThresholdSet.with_values, which
    validates the ordering) and classify the three probabilities with it; the segments must say the same."""
    from imln.decision import classify
    from imln.decision._thresholds import DecisionDataError

    est = estimate(*interval)
    data = threshold_sensitivity(est, context, thresholds)
    for sweep in data.sweeps:
        for value in data.grid:
            seg = sweep.at(value)
            try:
                th = thresholds.with_values(**{sweep.threshold: value})
            except DecisionDataError:
                assert not seg.valid
                continue
            assert seg.valid
            assert seg.class_at_point is classify(est.point, context, th)
            assert seg.class_at_lower is classify(est.lower, context, th)
            assert seg.class_at_upper is classify(est.upper, context, th)


def test_a_callers_grid_is_left_as_given():
    import numpy as np

    from imln.decision import DecisionContext, ProbabilityEstimate, threshold_sensitivity

    grid = np.array([0.2, 0.4, 0.6])
    result = threshold_sensitivity(ProbabilityEstimate(point=0.2, lower=0.1, upper=0.3, source="a test"),
                                   DecisionContext(setting="diagnosis"), grid=grid)
    assert result.grid == [0.2, 0.4, 0.6]
    assert grid.flags.writeable  # the default grid is kept read-only; a caller's array is not touched
