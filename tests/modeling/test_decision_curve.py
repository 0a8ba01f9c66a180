"""Net benefit against hand computation (Vickers & Elkin 2006; the dcurves definitions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from imln.modeling import ModelingInputError, decision_curve, plot_decision_curve

# ten patients; 4 events
Y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0])
P = np.array([0.9, 0.6, 0.7, 0.2, 0.4, 0.1, 0.3, 0.05, 0.8, 0.5])


def _row(curves: pd.DataFrame, model: str, t: float) -> pd.Series:
    return curves[(curves["model"] == model) & np.isclose(curves["threshold"], t)].iloc[0]


def test_hand_computed_table() -> None:
    """At t = 0.3 the model treats p >= 0.3: patients 1, 2, 3, 5, 7, 9, 10, so TP = 4 (1, 2, 5, 9) and
    FP = 3 (3, 7, 10). NB = 4/10 − 3/10 · 0.3/0.7 = 0.2714; treat all: 4/10 − 6/10 · 0.3/0.7 = 0.1429;
    net interventions avoided per 100 = (0.2714 − 0.1429)/(0.3/0.7) · 100 = 30.
    At t = 0.5 (p >= 0.5: patients 1, 2, 3, 9, 10): TP = 3, FP = 2, NB = 0.3 − 0.2 · 1 = 0.1.
    """
    curves = decision_curve(Y, {"nomogram": P}, thresholds=[0.3, 0.5])
    r = _row(curves, "nomogram", 0.3)
    assert (r["tp_rate"], r["fp_rate"], r["test_pos_rate"]) == pytest.approx((0.4, 0.3, 0.7))
    assert r["net_benefit"] == pytest.approx(0.4 - 0.3 * 0.3 / 0.7)
    assert _row(curves, "all", 0.3)["net_benefit"] == pytest.approx(0.4 - 0.6 * 0.3 / 0.7)
    assert r["net_intervention_avoided"] == pytest.approx(30.0)
    assert r["standardized_net_benefit"] == pytest.approx((0.4 - 0.3 * 0.3 / 0.7) / 0.4)
    assert _row(curves, "nomogram", 0.5)["net_benefit"] == pytest.approx(0.1)
    assert (curves.loc[curves["model"] == "none", "net_benefit"] == 0).all()


def test_harm_and_case_control_prevalence() -> None:
    """prevalence= rescales TP and FP rates (case-control data); harm is subtracted."""
    curves = decision_curve(Y, {"m": P}, thresholds=[0.3], harm={"m": 0.02}, prevalence=0.1)
    r = _row(curves, "m", 0.3)
    sensitivity, fpr = 4 / 4, 3 / 6
    assert r["tp_rate"] == pytest.approx(sensitivity * 0.1)
    assert r["fp_rate"] == pytest.approx(fpr * 0.9)
    assert r["net_benefit"] == pytest.approx(0.1 - 0.45 * 0.3 / 0.7 - 0.02)
    assert _row(curves, "all", 0.3)["net_benefit"] == pytest.approx(0.1 - 0.9 * 0.3 / 0.7)


def test_several_models_and_default_thresholds() -> None:
    curves = decision_curve(Y, {"a": P, "b": 1 - P})
    assert set(curves["model"]) == {"a", "b", "all", "none"}
    assert_allclose(np.sort(curves["threshold"].unique()), np.round(np.arange(0, 1, 0.01), 2))


def test_matches_dcurves_when_installed() -> None:
    dcurves = pytest.importorskip("dcurves")
    data = pd.DataFrame({"y": Y, "m": P})
    theirs = dcurves.dca(data=data, outcome="y", modelnames=["m"], thresholds=np.arange(0.01, 0.9, 0.01))
    ours = decision_curve(Y, {"m": P}, thresholds=np.arange(0.01, 0.9, 0.01))
    for model in ("m", "all"):
        assert_allclose(ours.loc[ours["model"] == model, "net_benefit"].to_numpy(),
                        theirs.loc[theirs["model"] == model, "net_benefit"].to_numpy(), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"risks": {"all": P}}, "reserved"),
        ({"risks": {"m": P[:5]}}, "5 predictions for 10 outcomes"),
        ({"risks": {"m": P * 10}}, "outside \\[0, 1\\]"),
        ({"risks": {"m": P}, "thresholds": [0.5, 1.0]}, "thresholds must lie in \\[0, 1\\)"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ModelingInputError, match=message):
        decision_curve(Y, **kwargs)


def test_plot_draws_every_strategy() -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_decision_curve(decision_curve(Y, {"m": P}))
    assert [line.get_label() for line in ax.get_lines()] == ["m", "Treat all", "Treat none"]
