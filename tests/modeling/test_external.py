"""External validation: exact answers where the theory gives them, and DeLong against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from imln.modeling import (
    CoefficientModel,
    LogisticModel,
    ModelingInputError,
    external_validation,
)
from imln.modeling._external import delong_c_index


def test_development_data_are_perfectly_calibrated_in_the_large(model: LogisticModel,
                                                                rotterdam: pd.DataFrame) -> None:
    """An MLE logistic fit reproduces its own event count and is its own best recalibration: O/E = 1,
    calibration-in-the-large = 0 and slope = 1 exactly (score equations of the intercept and of lp)."""
    r = external_validation(model, rotterdam, "nodepos")
    assert r.observed_expected.estimate == pytest.approx(1.0, abs=1e-10)
    assert r.calibration_in_the_large.estimate == pytest.approx(0.0, abs=1e-9)
    assert r.calibration_slope.estimate == pytest.approx(1.0, abs=1e-8)
    assert r.calibration_intercept == pytest.approx(0.0, abs=1e-8)
    assert r.c_index.estimate == pytest.approx(model.stats_.c_index, rel=1e-12)
    assert r.brier == pytest.approx(model.stats_.brier, rel=1e-12)


def test_shifted_and_scaled_models_are_detected(model: LogisticModel, rotterdam: pd.DataFrame) -> None:
    """Intercept + 0.5 → calibration-in-the-large −0.5; every coefficient × 2 → slope 0.5."""
    base = CoefficientModel.from_model(model)
    shifted = CoefficientModel("shifted", base.design, base.coefficients + np.r_[0.5, np.zeros(9)])
    r = external_validation(shifted, rotterdam, "nodepos")
    assert r.calibration_in_the_large.estimate == pytest.approx(-0.5, abs=1e-8)
    assert r.calibration_slope.estimate == pytest.approx(1.0, abs=1e-8)
    assert r.observed_expected.estimate < 0.95  # risks overstated: fewer events than expected
    scaled = CoefficientModel("scaled", base.design, base.coefficients * 2)
    r = external_validation(scaled, rotterdam, "nodepos")
    assert r.calibration_slope.estimate == pytest.approx(0.5, abs=1e-8)
    assert r.calibration_intercept == pytest.approx(0.0, abs=1e-8)
    assert r.calibration_slope.lower < 0.5 < r.calibration_slope.upper


def test_delong_standard_error_by_brute_force() -> None:
    """DeLong's variance from the placement values, computed pair by pair."""
    rng = np.random.default_rng(8)
    y = (rng.random(120) < 0.4).astype(float)
    risk = np.round(rng.random(120) * 0.5 + 0.3 * y, 2)  # ties included
    pos, neg = risk[y == 1], risk[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)
    c, se_ours = delong_c_index(risk, y)
    assert c == pytest.approx(psi.mean(), rel=1e-12)
    assert se_ours == pytest.approx(se, rel=1e-12)


def test_missing_predictors_are_excluded_and_reported(model: LogisticModel, rotterdam: pd.DataFrame) -> None:
    d = rotterdam.copy()
    d.loc[:9, "er"] = np.nan
    r = external_validation(model, d, "nodepos")
    assert r.n == 2972 and r.complete_cases.missing_by_column["er"] == 10


def test_risk_groups_partition_the_cohort(model: LogisticModel, rotterdam: pd.DataFrame) -> None:
    g = external_validation(model, rotterdam, "nodepos", groups=5).groups
    assert g["n"].sum() == 2982 and len(g) == 5
    assert (np.diff(g["mean_predicted"]) > 0).all()
    assert_allclose((g["observed"] * g["n"]).sum(), 1546)


def test_refuses_what_it_cannot_validate(rotterdam: pd.DataFrame, model: LogisticModel) -> None:
    with pytest.raises(ModelingInputError, match="cannot validate a dict"):
        external_validation({"a": 1}, rotterdam, "nodepos")
    with pytest.raises(ModelingInputError, match="at least 10 complete rows"):
        external_validation(model, rotterdam.head(5), "nodepos")
