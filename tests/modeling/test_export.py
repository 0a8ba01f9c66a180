"""Export: the plain dictionary round trip and the risk registry's ModelSpec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.testing import assert_allclose

from imln.modeling import (
    CoefficientModel,
    LogisticModel,
    ModelingInputError,
    external_validation,
    model_to_dict,
    to_model_spec,
    validate,
)


def test_dict_round_trip_through_yaml(model: LogisticModel, rotterdam: pd.DataFrame) -> None:
    payload = yaml.safe_load(yaml.safe_dump(model_to_dict(model)))
    again = CoefficientModel.from_dict(payload)
    assert_allclose(again.predict_proba(rotterdam), model.predict_proba(rotterdam), rtol=1e-14)
    assert payload["terms"][0] == {"kind": "rcs", "column": "age", "transform": None,
                                   "knots": [35.0, 49.0, 61.0, 77.0], "columns": ["age", "age'", "age''"]}
    assert payload["terms"][2]["levels"] == ["<=20", "20-50", ">50"]
    assert payload["fit"]["n"] == 2982


def test_dict_errors_name_the_problem(model: LogisticModel) -> None:
    payload = model_to_dict(model)
    del payload["coefficients"]["meno"]
    with pytest.raises(ModelingInputError, match=r"coefficients missing for \['meno'\]"):
        CoefficientModel.from_dict(payload)
    with pytest.raises(ModelingInputError, match="not an imln model export"):
        CoefficientModel.from_dict({"format": "something else"})


def test_splines_cannot_go_into_the_registry_format(model: LogisticModel) -> None:
    with pytest.raises(ModelingInputError, match=r"only indicator and linear terms, so rcs\(age\), log1p\(pgr\), "
                                                 r"log1p\(er\) cannot be exported"):
        to_model_spec(model, id="rotterdam-nodes", title="t", outcome="o", ascertainment="mixed",
                      intended_population="p")


@pytest.fixture(scope="module")
def linear_model(rotterdam: pd.DataFrame) -> LogisticModel:
    return LogisticModel("age + cat(size, ref='<=20') + grade + meno").fit(rotterdam, "nodepos")


def test_linear_model_becomes_a_valid_registry_spec(linear_model: LogisticModel) -> None:
    v = validate(linear_model, B=10, seed=1)
    spec = to_model_spec(linear_model, id="rotterdam-nodes", title="Rotterdam nodal model",
                         outcome="any positive axillary node", ascertainment="pathological_dissection",
                         intended_population="primary breast cancer (Rotterdam 1978–1993)",
                         feature_names={"age": "age_years"}, units={"age": "years"}, validation=v)
    assert spec.obtained.value == "fitted_by_workbench"
    assert [t.name for t in spec.terms] == ["age_years", "size_20-50", "size_>50", "grade", "meno"]
    assert_allclose([t.log_odds for t in spec.terms], linear_model.coef_.iloc[1:])
    assert spec.settings[0].intercept == pytest.approx(linear_model.coef_.iloc[0])
    assert_allclose(spec.parameter_covariance(), linear_model.cov_.to_numpy())
    assert spec.terms[1].when is not None and spec.terms[1].when.in_ == ["20-50"]
    assert "internal only: bootstrap validation" in spec.validation
    assert spec.feature("age_years").minimum == 24


def test_registry_spec_predicts_what_the_model_predicts(linear_model: LogisticModel,
                                                         rotterdam: pd.DataFrame) -> None:
    from imln.risk import predict_proba

    spec = to_model_spec(linear_model, id="rotterdam-nodes", title="t", outcome="o", ascertainment="mixed",
                         intended_population="p")
    ours = linear_model.predict_proba(rotterdam)
    theirs = predict_proba(rotterdam, spec, interval=False)["probability"].to_numpy()
    assert_allclose(theirs, ours, rtol=1e-12)
    r = external_validation(spec, rotterdam, "nodepos")
    assert r.calibration_slope.estimate == pytest.approx(1.0, abs=1e-8)
    assert np.isfinite(r.c_index.estimate)
