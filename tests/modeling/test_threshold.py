"""Threshold report: counts by hand, intervals against their closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from imln.modeling import ModelingInputError, threshold_report
from imln.modeling._threshold import proportion

Y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0])
P = np.array([0.9, 0.6, 0.7, 0.2, 0.04, 0.1, 0.3, 0.05, 0.8, 0.5, 0.08, 0.02])


def test_counts_and_rates_by_hand() -> None:
    """Threshold 0.1: high risk = p >= 0.1 → TP 3 (0.9, 0.6, 0.8), FP 5 (0.7, 0.2, 0.1, 0.3, 0.5),
    FN 2 (0.04, 0.08), TN 2 (0.05, 0.02). Spared = 4/12; FNR = 2/5; metastasis among spared = 2/4."""
    r = threshold_report(Y, P, 0.1)
    assert (r.true_positives, r.false_positives, r.false_negatives, r.true_negatives) == (3, 5, 2, 2)
    assert r.proportion_spared.estimate == pytest.approx(4 / 12)
    assert r.false_negative_rate.estimate == pytest.approx(2 / 5)
    assert r.risk_in_low_risk_group.estimate == pytest.approx(2 / 4)
    assert r.sensitivity.estimate == pytest.approx(3 / 5)
    assert r.specificity.estimate == pytest.approx(2 / 7)
    assert r.ppv.estimate == pytest.approx(3 / 8)
    assert r.npv.estimate == pytest.approx(2 / 4)
    assert r.n == 12
    assert "false-negative rate FN/(FN+TP): 40.0%" in r.describe()


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 230)])
def test_wilson_interval_closed_form(k: int, n: int) -> None:
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    w = proportion(k, n, method="wilson")
    assert (w.lower, w.upper) == pytest.approx((max(0.0, centre - half), min(1.0, centre + half)), abs=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 230)])
def test_clopper_pearson_is_beta_quantiles(k: int, n: int) -> None:
    lower = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    upper = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    cp = proportion(k, n, method="clopper-pearson")
    assert (cp.lower, cp.upper) == pytest.approx((lower, upper), abs=1e-10)


def test_empty_group_gives_nan_not_an_error() -> None:
    r = threshold_report(Y, P, 0.01)  # nobody is low risk
    assert r.proportion_spared.estimate == 0
    assert np.isnan(r.npv.estimate) and str(r.npv) == "— (0/0)"


def test_bad_threshold_and_method() -> None:
    with pytest.raises(ModelingInputError, match="strictly between 0 and 1"):
        threshold_report(Y, P, 1.0)
    with pytest.raises(ModelingInputError, match="ci_method must be 'wilson' or 'clopper-pearson'"):
        threshold_report(Y, P, 0.2, ci_method="wald")  # type: ignore[arg-type]
