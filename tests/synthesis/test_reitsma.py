"""Behaviour of imln.synthesis beyond the R parity: corrections, the fallback rule, derived measures, figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy.special import expit

from imln.synthesis import (
    MIN_STUDIES_BIVARIATE,
    ReitsmaFit,
    UnivariateFit,
    fit_accuracy,
    fit_reitsma,
    forest_plot,
    prepare_cells,
    sroc_plot,
)


@pytest.fixture(scope="module")
def dementia(datasets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return datasets["Dementia"]


@pytest.fixture(scope="module")
def fit(dementia: pd.DataFrame) -> ReitsmaFit:
    return fit_reitsma(dementia.TP, dementia.FP, dementia.FN, dementia.TN)


def test_correction_all_single_none() -> None:
    tp, fp, fn, tn = [10, 5], [0, 3], [2, 4], [20, 30]
    every = prepare_cells(tp, fp, fn, tn)  # mada's default: all cells of all studies
    assert every.corrected and every.tp.tolist() == [10.5, 5.5] and every.tn.tolist() == [20.5, 30.5]
    single = prepare_cells(tp, fp, fn, tn, correction_control="single")
    assert single.tp.tolist() == [10.5, 5.0] and single.fp.tolist() == [0.5, 3.0]
    none = prepare_cells([10, 5], [1, 3], [2, 4], [20, 30], correction_control="none")
    assert not none.corrected and none.tp.tolist() == [10.0, 5.0]
    with pytest.raises(ValueError, match="zero cell"):
        prepare_cells(tp, fp, fn, tn, correction_control="none")
    clean = prepare_cells([10, 5], [1, 3], [2, 4], [20, 30])
    assert not clean.corrected  # no zero anywhere: nothing added


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (([1, 2], [1], [1, 2], [1, 2]), "same length"),
        (([0, 2], [0, 1], [0, 2], [3, 2]), "three or more zero"),
        (([-1, 2], [1, 1], [1, 2], [3, 2]), "non-negative"),
        (([0, 2], [1, 1], [0, 2], [3, 2]), "diseased"),
    ],
)
def test_bad_cells(cells: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_cells(*cells)


def test_fallback_rule(dementia: pd.DataFrame) -> None:
    d = dementia
    assert MIN_STUDIES_BIVARIATE == 4
    three = fit_accuracy(d.TP[:3], d.FP[:3], d.FN[:3], d.TN[:3])
    assert isinstance(three, UnivariateFit) and "3 studies" in three.reason
    four = fit_accuracy(d.TP[:4], d.FP[:4], d.FN[:4], d.TN[:4])
    assert isinstance(four, ReitsmaFit)
    with pytest.raises(ValueError, match="one study"):
        fit_accuracy([5], [1], [1], [9])
    json.dumps(three.summary())


def test_summary_point_and_derived_measures(fit: ReitsmaFit) -> None:
    se, fpr = expit(fit.coefficients[:2])
    assert fit.sensitivity.estimate == pytest.approx(se)
    assert fit.specificity.estimate == pytest.approx(1 - fpr)
    assert fit.specificity.lower == pytest.approx(1 - fit.false_positive_rate.upper)
    assert fit.lr_positive.estimate == pytest.approx(se / fpr)
    assert fit.lr_negative.estimate == pytest.approx((1 - se) / (1 - fpr))
    assert fit.dor.estimate == pytest.approx(fit.lr_positive.estimate / fit.lr_negative.estimate)
    # log DOR = tsens - tfpr is linear in the coefficients: its Wald interval is exact
    v = fit.vcov[0, 0] + fit.vcov[1, 1] - 2 * fit.vcov[0, 1]
    assert math.log(fit.dor.upper) == pytest.approx(math.log(fit.dor.estimate) + 1.959963984540054 * math.sqrt(v))
    for e in (fit.sensitivity, fit.lr_positive, fit.lr_negative, fit.dor):
        assert e.lower < e.estimate < e.upper


def test_sroc_passes_through_summary_point_direction(fit: ReitsmaFit) -> None:
    """The Rutter–Gatsonis curve is monotone increasing in FPR and stays in (0, 1)."""
    s = fit.sroc()
    assert len(s) == 99 and np.all(np.diff(s.sensitivity) > 0)
    auc, pauc = fit.auc()
    assert 0.5 < auc < 1 and 0 < pauc < 1


def test_prediction_region_contains_confidence_region(fit: ReitsmaFit) -> None:
    cr, pr = fit.confidence_region(), fit.prediction_region()
    assert pr.sensitivity.max() > cr.sensitivity.max() and pr.sensitivity.min() < cr.sensitivity.min()
    assert pr.fpr.max() > cr.fpr.max() and pr.fpr.min() < cr.fpr.min()


def test_meta_regression_has_no_summary_point(datasets: dict[str, pd.DataFrame]) -> None:
    d = datasets["smoking"]
    reg = fit_reitsma(d.TP, d.FP, d.FN, d.TN, covariates=d[["type"]])
    with pytest.raises(ValueError, match="meta-regression"):
        _ = reg.sensitivity
    pred = reg.predict_logits({"typeSAQ": [0.0, 1.0]})
    np.testing.assert_allclose(pred.tsens, [reg.coefficients[0], reg.coefficients[0] + reg.coefficients[1]])
    sub = d[d.type == "IAQ"]
    alone = fit_reitsma(sub.TP, sub.FP, sub.FN, sub.TN)
    assert alone.n_studies == 20


def test_summary_is_json(fit: ReitsmaFit) -> None:
    out = json.loads(json.dumps(fit.summary()))
    assert out["n_studies"] == 33 and out["continuity_corrected"] is True
    assert out["sensitivity"]["estimate"] == pytest.approx(fit.sensitivity.estimate)


def test_figures(fit: ReitsmaFit, dementia: pd.DataFrame, tmp_path) -> None:
    d = dementia
    f1 = sroc_plot(fit, title="Dementia")
    f2 = forest_plot(d.TP, d.FP, d.FN, d.TN, fit=fit)
    f3 = forest_plot(d.TP[:3], d.FP[:3], d.FN[:3], d.TN[:3], fit=fit_accuracy(d.TP[:3], d.FP[:3], d.FN[:3], d.TN[:3]))
    for i, f in enumerate((f1, f2, f3)):
        assert isinstance(f, Figure)
        f.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000


def test_no_heterogeneity_reaches_the_boundary(tmp_path) -> None:
    """8 studies simulated without heterogeneity (numpy seed 2026, sens 0.85, FPR 0.10): REML puts Ψ at 0
    (mada 0.5.12 gives the same coefficients, 1.458802 and -2.300392, and Ψ ≈ 1e-9), so β is the
    inverse-variance (fixed-effect) mean of each margin, and the SROC is refused, not invented."""
    d = pd.DataFrame({"TP": [59, 27, 15, 45, 34, 39, 20, 34], "FN": [12, 3, 6, 13, 7, 9, 4, 8],
                      "FP": [11, 7, 12, 11, 12, 14, 14, 2], "TN": [106, 75, 127, 123, 112, 134, 112, 59]})
    fit = fit_reitsma(d.TP, d.FP, d.FN, d.TN)
    assert fit.converged and fit.psi_singular and np.max(np.abs(fit.psi)) < 1e-8
    for k, (a, b) in enumerate((("TP", "FN"), ("FP", "TN"))):
        y = np.log(d[a] / d[b])
        w = 1 / (1 / d[a] + 1 / d[b])
        assert fit.coefficients[k] == pytest.approx(np.sum(w * y) / np.sum(w), abs=1e-6)
    np.testing.assert_allclose(fit.coefficients, [1.458802, -2.300392], atol=1e-6)
    with pytest.raises(ValueError, match="not identified"):
        fit.sroc()
    json.dumps(fit.summary())
    sroc_plot(fit).savefig(tmp_path / "boundary.png")


def test_predictive_distribution_is_wider_than_the_confidence_interval(fit: ReitsmaFit) -> None:
    """The predictive (new-study) intervals contain the confidence intervals; medians are the plug-in values
    for sens, spec and DOR (exact) and close to them for the LRs (Monte Carlo, fixed seed: reproducible)."""
    pred = fit.predictive()
    for name in ("sensitivity", "specificity", "dor", "lr_positive", "lr_negative"):
        ci, pi = getattr(fit, name), pred[name]
        assert pi.lower < ci.lower and ci.upper < pi.upper, name
    assert pred["sensitivity"].estimate == pytest.approx(fit.sensitivity.estimate)
    assert pred["dor"].estimate == pytest.approx(fit.dor.estimate)
    assert pred["lr_positive"].estimate == pytest.approx(fit.lr_positive.estimate, rel=0.05)
    assert fit.predictive() == pred  # same seed, same draws
    # the sensitivity interval is expit(mu ± z·sqrt(tau² + se²))
    sd = math.sqrt(fit.psi[0, 0] + fit.vcov[0, 0])
    assert pred["sensitivity"].upper == pytest.approx(expit(fit.coefficients[0] + 1.959963984540054 * sd))


_study = st.tuples(*(st.integers(1, 60) for _ in range(4)))


@settings(max_examples=25, deadline=None)
@given(st.lists(_study, min_size=5, max_size=12), st.randoms(use_true_random=False))
def test_fit_is_a_maximum_and_ignores_study_order(studies, rnd) -> None:
    """For random tables: the REML fit beats nearby Ψ (a maximum) and does not depend on the order of studies."""
    from imln.synthesis.reitsma import _Problem  # noqa: PLC0415

    tp, fp, fn, tn = (np.array(c, dtype=float) for c in zip(*studies, strict=True))
    fit = fit_reitsma(tp, fp, fn, tn)
    order = list(range(len(studies)))
    rnd.shuffle(order)
    again = fit_reitsma(tp[order], fp[order], fn[order], tn[order])
    assert again.loglik == pytest.approx(fit.loglik, abs=1e-7)
    np.testing.assert_allclose(again.coefficients, fit.coefficients, atol=1e-5)
    c = fit.cells
    pos, neg = c.tp + c.fn, c.fp + c.tn
    se, fpr = c.tp / pos, c.fp / neg
    problem = _Problem(np.column_stack([np.log(se / (1 - se)), np.log(fpr / (1 - fpr))]),
                       np.column_stack([1 / (pos * se * (1 - se)), 1 / (neg * fpr * (1 - fpr))]), fit.design)
    L = np.linalg.cholesky(fit.psi + 1e-12 * np.eye(2))
    best = problem.loglik(np.array([L[0, 0], L[1, 0], L[1, 1]]))
    assert best == pytest.approx(fit.loglik_reml, abs=1e-6)
    for delta in np.eye(3) * 0.05:
        for sign in (1, -1):
            par = np.array([L[0, 0], L[1, 0], L[1, 1]]) + sign * delta
            assert problem.loglik(par) <= best + 1e-8
