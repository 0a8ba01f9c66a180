"""The model specification: one YAML file per pre-test risk model, validated on load.

A model is a logistic model written out as data: the patient features it reads,
its terms (indicator or linear functions of one feature, each with a log-odds
coefficient and the evidence it came from), an intercept per clinical setting,
and the covariance of the estimates. Nothing about a model lives in code.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Ascertainment",
    "Condition",
    "Feature",
    "ModelSpec",
    "ModelSpecError",
    "Obtained",
    "Performance",
    "SettingIntercept",
    "Term",
    "load_model_spec",
]

SPEC_SCHEMA_VERSION = "1"
Z95 = 1.959963984540054  # standard normal 97.5th percentile


def odds_ratio_ci95(log_odds: float, variance: float) -> tuple[float, float] | None:
    """95% Wald interval of an odds ratio from its log-odds estimate and variance (None without one)."""
    if variance <= 0:
        return None
    se = math.sqrt(variance)
    return (math.exp(log_odds - Z95 * se), math.exp(log_odds + Z95 * se))


class ModelSpecError(ValueError):
    """A model file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Ascertainment(StrEnum):
    """How the outcome 'IMLN metastasis' was established in the model's source data."""

    pathological_dissection = "pathological_dissection"  # extended radical mastectomy / IMN dissection
    im_sln_biopsy = "im_sln_biopsy"
    imaging = "imaging"
    mixed = "mixed"


class Obtained(StrEnum):
    """Where the coefficients come from."""

    synthesised_from_aggregate_data = "synthesised_from_aggregate_data"
    published_coefficients = "published_coefficients"
    fitted_by_workbench = "fitted_by_workbench"


class FeatureKind(StrEnum):
    numeric = "numeric"
    categorical = "categorical"
    binary = "binary"


class Feature(_Strict):
    """A patient feature the model reads (a name from imln's feature vocabulary)."""

    name: str
    description: str
    kind: FeatureKind
    unit: str = ""
    levels: list[str] | None = None  # categorical only
    minimum: float | None = None  # numeric: the range the model's sources covered
    maximum: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Feature:
        if self.kind is FeatureKind.categorical and not self.levels:
            raise ValueError(f"feature {self.name!r}: a categorical feature needs 'levels'")
        return self


class Condition(_Strict):
    """When an indicator term is 1: a value in a list, or a number in a closed range."""

    in_: list[str | bool] | None = Field(None, alias="in")
    minimum: float | None = Field(None, alias="min")
    maximum: float | None = Field(None, alias="max")

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        has_set = self.in_ is not None
        has_range = self.minimum is not None or self.maximum is not None
        if has_set == has_range:
            raise ValueError("a condition needs either 'in' (a list of levels) or 'min'/'max' (a range)")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"condition min {self.minimum:g} is above max {self.maximum:g}")
        return self

    def describe(self, unit: str = "") -> str:
        u = f" {unit}" if unit else ""
        if self.in_ is not None:
            return " or ".join(str(v) for v in self.in_)
        if self.minimum is not None and self.maximum is not None:
            if self.minimum == self.maximum:
                return f"{self.minimum:g}{u}"
            return f"{self.minimum:g}–{self.maximum:g}{u}"
        if self.minimum is not None:
            return f"≥ {self.minimum:g}{u}"
        return f"≤ {self.maximum:g}{u}"


class Term(_Strict):
    """One term of the linear predictor with its coefficient and provenance."""

    name: str
    label: str = Field(description="Clinical wording, e.g. '4–6 positive axillary nodes'.")
    feature: str
    kind: Literal["indicator", "linear"]
    when: Condition | None = None  # indicator
    centre: float = 0.0  # linear: (x - centre) / per
    per: float = 1.0
    log_odds: float
    standard_error: float | None = Field(None, gt=0)
    sources: list[str] = Field(default_factory=list, description="Evidence record ids or reference keys.")
    derivation: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Term:
        if self.kind == "indicator" and self.when is None:
            raise ValueError(f"term {self.name!r}: an indicator term needs 'when'")
        if self.kind == "linear" and self.when is not None:
            raise ValueError(f"term {self.name!r}: a linear term takes 'centre' and 'per', not 'when'")
        if self.per == 0:
            raise ValueError(f"term {self.name!r}: 'per' must not be 0")
        return self

    @property
    def odds_ratio(self) -> float:
        return math.exp(self.log_odds)


class SettingIntercept(_Strict):
    """The intercept that calibrates the model to one clinical setting."""

    id: str
    description: str
    intercept: float
    standard_error: float | None = Field(None, gt=0)
    anchor: str = Field(description="What the intercept is calibrated to, with its evidence record.")
    sources: list[str] = Field(default_factory=list)
    patient_settings: list[str] = Field(
        default_factory=list,
        description="The patient record's settings (diagnosis, after_nac, after_surgery, follow_up) that pick this intercept.",
    )

    @field_validator("patient_settings")
    @classmethod
    def _known_patient_settings(cls, values: list[str]) -> list[str]:
        from imln.schema._patient import Setting

        allowed = [s.value for s in Setting]
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ValueError(f"unknown patient setting(s) {unknown}; allowed: {', '.join(allowed)}")
        return values


class Performance(_Strict):
    """A reported performance figure (C-index, calibration) with its citation."""

    measure: str
    value: float
    cohort: str
    source: str


class Covariance(_Strict):
    """Covariance of the estimates, ordered as ``parameters`` (an intercept is named '(intercept)')."""

    parameters: list[str]
    matrix: list[list[float]]

    @model_validator(mode="after")
    def _square(self) -> Covariance:
        k = len(self.parameters)
        if len(self.matrix) != k or any(len(row) != k for row in self.matrix):
            raise ValueError(f"covariance matrix must be {k}×{k} to match 'parameters'")
        m = np.asarray(self.matrix, dtype=float)
        if not np.allclose(m, m.T, atol=1e-12):
            raise ValueError("covariance matrix must be symmetric")
        if np.linalg.eigvalsh(m).min() < -1e-10:
            raise ValueError("covariance matrix must be positive semi-definite")
        return self


class FitCell(_Strict):
    """One published subgroup rate a synthesised model was fitted to."""

    record: str
    cohort: str
    table: str
    printed: str
    weight_n: int = Field(gt=0)
    n_range: tuple[int, int]
    weight_derivation: str
    terms: list[str]
    fitted: float = Field(ge=0, le=1)
    # joint fits (imln.risk._joint) also report:
    stratum: str | None = None  # the patients in the cell, in words
    factors: int | None = Field(None, ge=0, description="Number of factors the cell's definition fixes.")
    ci95: tuple[float, float] | None = None  # exact binomial interval of the published rate at weight_n
    in_ci95: bool | None = None
    observed_expected: float | None = None
    loso: float | None = Field(None, ge=0, le=1, description="Predicted with the cell's series left out of the fit.")
    loso_in_ci95: bool | None = None


class CalibrationGroup(_Strict):
    """Observed and expected events over the cells defined by the same number of factors."""

    factors: int
    cells: int
    observed: float
    expected: float
    observed_expected: float
    expected_loso: float | None = None
    observed_expected_loso: float | None = None


class NamedValue(_Strict):
    """A fitted or derived quantity reported in a model card."""

    name: str
    value: float
    standard_error: float | None = None
    description: str = ""


class FitSummary(_Strict):
    """How a synthesised model was fitted, cell by cell, with its goodness of fit."""

    method: str
    cells: list[FitCell]
    deviance: float
    pearson_chi2: float
    df_residual: int
    held_at_bound: list[str] = Field(default_factory=list)
    calibration: list[CalibrationGroup] = Field(default_factory=list)
    series: list[NamedValue] = Field(default_factory=list)
    nuisance: list[NamedValue] = Field(default_factory=list)
    mix: list[NamedValue] = Field(default_factory=list)
    checks: list[NamedValue] = Field(default_factory=list)


class ModelSpec(_Strict):
    """A pre-test IMLN risk model as data (see ``docs/risk-models.md``)."""

    schema_version: Literal["1"] = SPEC_SCHEMA_VERSION
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    version: str
    title: str
    summary: str
    obtained: Obtained
    outcome: str = Field(description="What 'IMLN metastasis' means for this model.")
    ascertainment: Ascertainment
    intended_population: str
    era: str | None = None
    features: list[Feature]
    terms: list[Term]
    settings: list[SettingIntercept] = Field(min_length=1)
    default_setting: str
    covariance: Covariance | None = None
    performance: list[Performance] = Field(default_factory=list)
    validation: str = Field(description="What validation was done; 'none' when none was.")
    assumptions: list[str] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)
    fit: FitSummary | None = None
    generated_by: str | None = None

    @field_validator("terms")
    @classmethod
    def _unique_terms(cls, terms: list[Term]) -> list[Term]:
        names = [t.name for t in terms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate term names: {', '.join(dupes)}")
        return terms

    @model_validator(mode="after")
    def _references_resolve(self) -> ModelSpec:
        features = {f.name: f for f in self.features}
        for t in self.terms:
            if t.feature not in features:
                raise ValueError(f"term {t.name!r} reads feature {t.feature!r}, which is not in 'features'")
            f = features[t.feature]
            if t.kind == "linear" and f.kind is not FeatureKind.numeric:
                raise ValueError(f"term {t.name!r}: a linear term needs a numeric feature")
            if t.when is not None and t.when.in_ is not None and f.kind is FeatureKind.categorical:
                unknown = [v for v in t.when.in_ if v not in (f.levels or [])]
                if unknown:
                    raise ValueError(
                        f"term {t.name!r}: {unknown} not among levels of {f.name!r} ({', '.join(f.levels or [])})"
                    )
        ids = [s.id for s in self.settings]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate setting ids: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
        claimed = [p for s in self.settings for p in s.patient_settings]
        if len(set(claimed)) != len(claimed):
            twice = sorted({p for p in claimed if claimed.count(p) > 1})
            raise ValueError(f"patient setting(s) {', '.join(twice)} pick more than one model setting")
        if self.default_setting not in ids:
            raise ValueError(f"default_setting {self.default_setting!r} is not one of {', '.join(ids)}")
        if self.covariance is not None:
            expected = {"(intercept)", *(t.name for t in self.terms)}
            extra = set(self.covariance.parameters) - expected
            if extra:
                raise ValueError(f"covariance names unknown parameters: {', '.join(sorted(extra))}")
        return self

    # ------------------------------------------------------------------ helpers

    def setting(self, setting_id: str | None = None) -> SettingIntercept:
        sid = setting_id or self.default_setting
        for s in self.settings:
            if s.id == sid:
                return s
        raise ModelSpecError(
            f"model {self.id!r} has no setting {sid!r}; allowed: {', '.join(s.id for s in self.settings)}"
        )

    def setting_for_patient(self, patient_setting: str | None) -> SettingIntercept:
        """The setting a patient's own setting picks (the default when none lists it)."""
        for s in self.settings:
            if patient_setting is not None and patient_setting in s.patient_settings:
                return s
        return self.setting()

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def parameter_covariance(self) -> np.ndarray:
        """Covariance over ('(intercept)', *term names); diagonal from standard errors if none given."""
        names = ["(intercept)", *(t.name for t in self.terms)]
        k = len(names)
        cov = np.zeros((k, k))
        if self.covariance is not None:
            idx = [names.index(p) for p in self.covariance.parameters]
            m = np.asarray(self.covariance.matrix, dtype=float)
            cov[np.ix_(idx, idx)] = m
            given = set(self.covariance.parameters)
        else:
            given = set()
        for i, name in enumerate(names):
            if name in given:
                continue
            if name == "(intercept)":
                se = None  # the intercept's SE is per setting; added at prediction time
            else:
                se = self.terms[i - 1].standard_error
            cov[i, i] = 0.0 if se is None else se**2
        return cov


def _yaml_error_location(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc or '(top level)'}: {err['msg']}")
    return "\n".join(lines)


def load_model_spec(path: str | Path) -> ModelSpec:
    """Read and validate one model file; errors name the file and each bad field."""
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelSpecError(f"{path}: no such model file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelSpecError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ModelSpecError(f"{path}: a model file must be a mapping of fields, not {type(raw).__name__}")
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        raise ModelSpecError(f"{path}: invalid model specification\n{_yaml_error_location(exc)}") from None
