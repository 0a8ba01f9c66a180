"""The logistic fitter against independent implementations, and its failure modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from imln.modeling import ConvergenceError, LogisticModel
from imln.modeling._fit import _with_intercept, newton_logistic, newton_logistic_batch


def test_matches_statsmodels(model: LogisticModel) -> None:
    """statsmodels' Logit (an independent Newton/BFGS implementation) on the same design matrix."""
    sm = pytest.importorskip("statsmodels.api")
    res = sm.Logit(model.y_, _with_intercept(model.X_)).fit(disp=0, tol=1e-12, maxiter=100)
    assert_allclose(model.coef_.to_numpy(), res.params, rtol=1e-7)
    assert_allclose(np.sqrt(np.diag(model.cov_.to_numpy())), res.bse, rtol=1e-7)
    assert_allclose(model.deviance_[1], -2 * res.llf, rtol=1e-12)


def test_summary_intervals_are_wald(model: LogisticModel) -> None:
    t = model.summary(alpha=0.1)
    z = stats.norm.ppf(0.95)
    assert_allclose(t["ci_lower"], t["coef"] - z * t["se"])
    assert_allclose(t["or_ci_upper"].iloc[1:], np.exp(t["coef"] + z * t["se"]).iloc[1:])
    assert_allclose(t["p"], 2 * stats.norm.sf(np.abs(t["coef"] / t["se"])))


def test_batch_fits_equal_fits_on_expanded_resamples(model: LogisticModel) -> None:
    """Frequency weights in the batched fitter = fitting the resample with rows repeated."""
    rng = np.random.default_rng(3)
    n = model.y_.size
    X1 = _with_intercept(model.X_)
    idx = rng.integers(0, n, size=(4, n))
    counts = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(float)
    beta, ok, iters = newton_logistic_batch(X1, model.y_, counts, model.coef_.to_numpy())
    assert ok.all() and iters.max() <= 6
    for k in range(4):
        single = newton_logistic(model.X_[idx[k]], model.y_[idx[k]])
        assert_allclose(beta[k], single.coef, rtol=1e-8, atol=1e-10)


def test_penalty_shrinks_towards_zero(rotterdam: pd.DataFrame, model: LogisticModel,
                                      penalised_model: LogisticModel) -> None:
    assert np.abs(penalised_model.coef_.iloc[1:]).sum() < np.abs(model.coef_.iloc[1:]).sum()
    assert penalised_model.stats_.df < model.stats_.df  # effective degrees of freedom
    with pytest.raises(ValueError, match="penalty must be >= 0"):
        LogisticModel("age", penalty=-1)


def test_collinear_columns_are_named(rotterdam: pd.DataFrame) -> None:
    d = rotterdam.assign(age_months=rotterdam["age"] * 12)
    with pytest.raises(ConvergenceError, match=r"singular \(collinear columns: \['age_months'\]\)"):
        LogisticModel("age + age_months + grade").fit(d, "nodepos")


def test_separation_is_refused() -> None:
    x = np.arange(40.0)
    d = pd.DataFrame({"x": x, "y": (x >= 20).astype(int)})
    with pytest.raises(ConvergenceError, match="perfectly predicted by some predictor \\(separation\\)"):
        LogisticModel("x").fit(d, "y")


def test_apparent_statistics_definitions(model: LogisticModel) -> None:
    """Nagelkerke R², Brier and Dxy recomputed from their textbook definitions."""
    lp = model.fitted_linear_predictor_
    y = model.y_
    p = 1 / (1 + np.exp(-lp))
    n = y.size
    ll = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    ll0 = n * (y.mean() * np.log(y.mean()) + (1 - y.mean()) * np.log(1 - y.mean()))
    r2 = (1 - np.exp(2 * (ll0 - ll) / n)) / (1 - np.exp(2 * ll0 / n))
    s = model.stats_
    assert_allclose(s.r2, r2, rtol=1e-10)
    assert_allclose(s.brier, np.mean((y - p) ** 2), rtol=1e-12)
    concordant = (lp[y == 1][:, None] > lp[y == 0][None, :]).mean() + 0.5 * (
        lp[y == 1][:, None] == lp[y == 0][None, :]).mean()
    assert_allclose(s.c_index, concordant, rtol=1e-12)
    assert_allclose(s.dxy, 2 * concordant - 1, rtol=1e-12)
