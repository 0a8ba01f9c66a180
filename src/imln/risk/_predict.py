"""Pre-test probability from a model specification: one patient or a whole table.

The interval is the delta-method 95% interval on the log-odds scale, from the
covariance of the intercept and the coefficients, mapped back to a probability.
Missing predictors are refused by default; ``missing="range"`` instead reports the
span of predictions over every value the missing predictor could take. The
bundled model has no sourced distribution of its predictors, so it cannot average
over a missing value, and does not pretend to.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy.special import expit

from imln.risk._features import FEATURES, patient_features
from imln.risk._registry import get_model
from imln.risk._spec import Z95, FeatureKind, ModelSpec, Term, odds_ratio_ci95
from imln.schema import Patient

__all__ = [
    "FactorContribution",
    "MissingPredictorError",
    "RiskPrediction",
    "predict_proba",
    "predict_risk",
]

MissingPolicy = Literal["refuse", "range"]


class MissingPredictorError(ValueError):
    """A model needs a predictor the patient record does not give."""

    def __init__(self, model_id: str, features: Sequence[str], rows: int | None = None) -> None:
        self.model_id = model_id
        self.features = list(features)
        where = f" in {rows} row(s)" if rows is not None else ""
        super().__init__(
            f"model {model_id!r} needs {', '.join(self.features)}, missing{where}. Give the value(s), "
            "or ask for missing='range' to see the span of predictions over every possible value."
        )


class FactorContribution(BaseModel):
    """One term of the model applied to this patient."""

    term: str
    label: str
    feature: str
    value: Any = Field(description="The patient's value of the feature (None when missing).")
    applies: bool | None = Field(description="Whether the term is active for this patient (None when missing).")
    odds_multiplier: float | None
    odds_multiplier_ci95: tuple[float, float] | None
    term_odds_ratio: float = Field(description="The term's odds ratio per unit, whether or not it applies.")
    term_odds_ratio_ci95: tuple[float, float] | None
    sources: list[str]


class RiskPrediction(BaseModel):
    """A pre-test probability of IMLN metastasis with its interval and its reasons."""

    model_id: str
    model_version: str
    model_title: str
    obtained: str
    validation: str
    setting: str
    setting_anchor: str
    probability: float | None = Field(description="Point estimate; None when a missing predictor leaves a range.")
    ci95: tuple[float, float] = Field(description="95% interval (delta method on the log-odds scale).")
    probability_range: tuple[float, float] | None = Field(
        None, description="With missing='range': lowest and highest point estimate over the missing values."
    )
    interval_method: str = "delta method on the log-odds scale (covariance of intercept and coefficients)"
    baseline_probability: float = Field(description="Probability for the model's reference patient.")
    contributions: list[FactorContribution]
    missing: list[str] = Field(default_factory=list)
    missing_policy: str
    warnings: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- design


def _series(values: Any, n: int) -> pd.Series:
    """A column as a pandas Series (no copy when it already is one)."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.shape == ():
        arr = np.full(n, arr.item(), dtype=object)
    return pd.Series(arr, copy=False)


class _Column:
    """One feature's values, with its missing mask and numeric form computed once."""

    def __init__(self, name: str, values: pd.Series) -> None:
        self.name = name
        self.values = values
        self.missing = values.isna().to_numpy()
        self._numeric: np.ndarray | None = None

    def numeric(self) -> np.ndarray:
        if self._numeric is None:
            v = self.values
            if pd.api.types.is_numeric_dtype(v.dtype) and not pd.api.types.is_bool_dtype(v.dtype):
                x = v.to_numpy(dtype=float, na_value=np.nan)
            else:
                x = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                bad = np.isnan(x) & ~self.missing
                if bad.any():
                    raise ValueError(f"column {self.name!r} must hold numbers; found {v.iloc[int(np.argmax(bad))]!r}")
            self._numeric = x
        return self._numeric


def _term_column(term: Term, column: _Column, kind: FeatureKind) -> np.ndarray:
    """The term's value for every row (NaN where the feature is missing)."""
    if term.kind == "linear":
        return (column.numeric() - term.centre) / term.per
    cond = term.when
    assert cond is not None
    if cond.in_ is not None:
        wanted: list[Any] = [bool(v) for v in cond.in_] if kind is FeatureKind.binary else [str(v) for v in cond.in_]
        hit = column.values.isin(wanted).to_numpy(dtype=bool)
    else:
        x = column.numeric()
        hit = np.ones(x.shape, dtype=bool)
        if cond.minimum is not None:
            hit &= x >= cond.minimum
        if cond.maximum is not None:
            hit &= x <= cond.maximum
    out = hit.astype(float)
    if column.missing.any():
        out[column.missing] = np.nan
    return out


def _check_levels(spec: ModelSpec, columns: Mapping[str, _Column]) -> None:
    for f in spec.features:
        if f.kind is FeatureKind.categorical and f.name in columns:
            present = pd.unique(columns[f.name].values.dropna())
            unknown = sorted({str(v) for v in present} - set(f.levels or []))
            if unknown:
                raise ValueError(
                    f"column {f.name!r}: {', '.join(map(repr, unknown))} not allowed; "
                    f"allowed: {', '.join(f.levels or [])} (or empty for unknown)"
                )


def _columns(raw: Mapping[str, Any], n: int) -> dict[str, _Column]:
    return {name: _Column(name, _series(values, n)) for name, values in raw.items()}


def _design(spec: ModelSpec, columns: Mapping[str, _Column], n: int) -> np.ndarray:
    """Rows × (1 + terms): a leading 1 for the intercept, then each term's value (NaN = missing)."""
    z = np.empty((n, 1 + len(spec.terms)))
    z[:, 0] = 1.0
    kinds = {f.name: f.kind for f in spec.features}
    for j, term in enumerate(spec.terms, start=1):
        z[:, j] = _term_column(term, columns[term.feature], kinds[term.feature])
    return z


def _candidate_values(spec: ModelSpec, feature: str) -> list[Any]:
    """Values that reach every pattern of the feature's terms (for missing='range')."""
    f = spec.feature(feature)
    if f.kind is FeatureKind.categorical:
        return list(f.levels or [])
    if f.kind is FeatureKind.binary:
        return [False, True]
    terms = [t for t in spec.terms if t.feature == feature]
    if any(t.kind == "linear" for t in terms):
        if f.minimum is None or f.maximum is None:
            raise ValueError(
                f"model {spec.id!r}: feature {feature!r} enters linearly and has no stated range, "
                "so a missing value cannot be bounded; give the value"
            )
        points = {f.minimum, f.maximum}
    else:
        points = set()
    for t in terms:
        if t.when is not None and t.when.in_ is None:
            for edge in (t.when.minimum, t.when.maximum):
                if edge is not None:
                    points.update({edge - 1, edge, edge + 1})
    if not points:
        points = {0.0}
    lo = f.minimum if f.minimum is not None else -math.inf
    hi = f.maximum if f.maximum is not None else math.inf
    return sorted(p for p in points if lo <= p <= hi)


def _parameters(spec: ModelSpec, setting_id: str | None) -> tuple[np.ndarray, np.ndarray]:
    setting = spec.setting(setting_id)
    beta = np.array([setting.intercept, *(t.log_odds for t in spec.terms)])
    cov = spec.parameter_covariance()
    if setting.id != spec.default_setting or spec.covariance is None or "(intercept)" not in spec.covariance.parameters:
        # the stored covariance belongs to the default setting's intercept; another setting
        # contributes its own variance and no covariance with the coefficients
        cov[0, :] = 0.0
        cov[:, 0] = 0.0
        cov[0, 0] = (setting.standard_error or 0.0) ** 2
    return beta, cov


def _interval(z: np.ndarray, beta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eta = z @ beta
    sd = np.sqrt(np.einsum("ij,jk,ik->i", z, cov, z))
    return expit(eta), expit(eta - Z95 * sd), expit(eta + Z95 * sd)


# --------------------------------------------------------------------------- public


def predict_proba(
    table: Any,
    model: ModelSpec | str | None = None,
    *,
    setting: str | None = None,
    missing: MissingPolicy = "refuse",
    interval: bool = True,
) -> Any:
    """Predict for every row of a table (pandas DataFrame or mapping of column → array).

    Returns a DataFrame with ``probability``
    and, when ``interval``, ``lower`` and ``upper``; with ``missing='range'`` also
    ``probability_min`` and ``probability_max`` (``probability`` is NaN where a
    predictor is missing).
    """
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    if missing not in ("refuse", "range"):
        raise ValueError(f"missing must be 'refuse' or 'range', not {missing!r}")
    needed = list(dict.fromkeys(t.feature for t in spec.terms))
    columns = {name: table[name] for name in needed if name in table}
    absent = [name for name in needed if name not in columns]
    if absent and missing == "refuse":
        raise MissingPredictorError(spec.id, absent)
    n = len(table) if not isinstance(table, Mapping) else len(next(iter(table.values())))
    for name in absent:
        columns[name] = np.full(n, None, dtype=object)
    cols = _columns(columns, n)
    _check_levels(spec, cols)
    beta, cov = _parameters(spec, setting)
    z = _design(spec, cols, n)
    rows_missing = np.zeros(n, dtype=bool)
    for c in cols.values():
        rows_missing |= c.missing
    if rows_missing.any() and missing == "refuse":
        feats = [t.feature for j, t in enumerate(spec.terms, start=1) if np.isnan(z[:, j]).any()]
        raise MissingPredictorError(spec.id, list(dict.fromkeys(feats)), int(rows_missing.sum()))

    if rows_missing.any():
        z = np.nan_to_num(z)  # rows with a gap are replaced below (range) or were refused
    if interval:
        p, lo, hi = _interval(z, beta, cov)
    else:
        p = expit(z @ beta)
        lo = hi = None
    out: dict[str, np.ndarray] = {"probability": p}
    if interval:
        out["lower"], out["upper"] = lo, hi
    if missing == "range":
        pmin, pmax = p.copy(), p.copy()
        if rows_missing.any():
            idx = np.flatnonzero(rows_missing)
            sub = {k: c.values.iloc[idx].to_numpy(dtype=object) for k, c in cols.items()}
            r = _range_over_missing(spec, sub, beta, cov, len(idx))
            pmin[idx], pmax[idx] = r["pmin"], r["pmax"]
            p[idx] = np.nan
            if interval:
                out["lower"][idx], out["upper"][idx] = r["lower"], r["upper"]
        out["probability_min"], out["probability_max"] = pmin, pmax
    index = table.index if hasattr(table, "index") and not isinstance(table, Mapping) else None
    return pd.DataFrame(out, index=index)


def _range_over_missing(
    spec: ModelSpec, columns: dict[str, np.ndarray], beta: np.ndarray, cov: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Min/max of point and interval over every combination of the missing features' values."""
    features = [f for f in dict.fromkeys(t.feature for t in spec.terms)]
    candidates = {f: _candidate_values(spec, f) for f in features}
    pmin = np.full(n, np.inf)
    pmax = np.full(n, -np.inf)
    lower = np.full(n, np.inf)
    upper = np.full(n, -np.inf)
    masks = {f: np.asarray(pd.isna(columns[f]), dtype=bool) for f in features}
    missing_features = [f for f in features if masks[f].any()]
    for combo in itertools.product(*(candidates[f] for f in missing_features)):
        filled = dict(columns)
        for f, value in zip(missing_features, combo, strict=True):
            col = filled[f].astype(object).copy()
            col[masks[f]] = value
            filled[f] = col
        p, lo, hi = _interval(_design(spec, _columns(filled, n), n), beta, cov)
        pmin, pmax = np.minimum(pmin, p), np.maximum(pmax, p)
        lower, upper = np.minimum(lower, lo), np.maximum(upper, hi)
    return {"pmin": pmin, "pmax": pmax, "lower": lower, "upper": upper}


def predict_risk(
    patient: Patient,
    model: ModelSpec | str | None = None,
    *,
    setting: str | None = None,
    missing: MissingPolicy = "refuse",
) -> RiskPrediction:
    """One patient's pre-test probability, its 95% interval and each factor's contribution."""
    spec = model if isinstance(model, ModelSpec) else get_model(model)
    unknown = [f.name for f in spec.features if f.name not in FEATURES]
    if unknown:
        raise ValueError(
            f"model {spec.id!r} reads {', '.join(unknown)}, which a patient record does not provide; "
            f"use predict_proba on a table with those columns (patient features: {', '.join(FEATURES)})"
        )
    if missing not in ("refuse", "range"):
        raise ValueError(f"missing must be 'refuse' or 'range', not {missing!r}")
    features = patient_features(patient)
    # an explicit setting wins; otherwise the patient's own setting picks one (else the default)
    chosen = spec.setting(setting) if setting is not None else spec.setting_for_patient(_patient_setting(patient))
    setting = chosen.id
    beta, cov = _parameters(spec, setting)
    z = _patient_design(spec, features)
    missing_features = list(dict.fromkeys(t.feature for j, t in enumerate(spec.terms, 1) if math.isnan(z[j])))
    if missing_features and missing == "refuse":
        raise MissingPredictorError(spec.id, missing_features, 1)
    if missing_features:
        variants = []
        for combo in itertools.product(*(_candidate_values(spec, f) for f in missing_features)):
            variants.append(_patient_design(spec, {**features, **dict(zip(missing_features, combo, strict=True))}))
        p, lo, hi = _interval(np.array(variants), beta, cov)
        row = {"probability": math.nan, "lower": float(lo.min()), "upper": float(hi.max()),
               "probability_min": float(p.min()), "probability_max": float(p.max())}
    else:
        p, lo, hi = _interval(z[None, :], beta, cov)
        row = {"probability": float(p[0]), "lower": float(lo[0]), "upper": float(hi[0])}
    contributions = []
    for j, term in enumerate(spec.terms, start=1):
        x = z[j]
        if math.isnan(x):
            mult, ci, applies = None, None, None
        else:
            se = math.sqrt(cov[j, j])
            mult = math.exp(term.log_odds * x)
            ci = (math.exp((term.log_odds - Z95 * se) * x), math.exp((term.log_odds + Z95 * se) * x))
            ci = (min(ci), max(ci))
            applies = bool(x != 0)
        contributions.append(
            FactorContribution(
                term=term.name,
                label=term.label,
                feature=term.feature,
                value=features.get(term.feature),
                applies=applies,
                odds_multiplier=mult,
                odds_multiplier_ci95=ci,
                term_odds_ratio=term.odds_ratio,
                term_odds_ratio_ci95=odds_ratio_ci95(term.log_odds, cov[j, j]),
                sources=term.sources,
            )
        )
    s = chosen
    warnings = _setting_warnings(spec, patient, s)
    if missing_features:
        warnings.append(
            f"{', '.join(missing_features)} unknown: the probability is given as the range over every possible value"
        )
    point = None if math.isnan(row["probability"]) else row["probability"]
    prange = (row["probability_min"], row["probability_max"]) if "probability_min" in row else None
    return RiskPrediction(
        model_id=spec.id,
        model_version=spec.version,
        model_title=spec.title,
        obtained=spec.obtained.value,
        validation=spec.validation,
        setting=s.id,
        setting_anchor=s.anchor,
        probability=point,
        ci95=(row["lower"], row["upper"]),
        probability_range=prange if missing_features else None,
        baseline_probability=float(expit(beta[0])),
        contributions=contributions,
        missing=missing_features,
        missing_policy=missing,
        warnings=warnings,
    )


def _patient_design(spec: ModelSpec, features: Mapping[str, Any]) -> np.ndarray:
    """One patient's design row (the scalar twin of :func:`_design`; tests check they agree)."""
    kinds = {f.name: f for f in spec.features}
    z = np.empty(1 + len(spec.terms))
    z[0] = 1.0
    for j, term in enumerate(spec.terms, start=1):
        value = features.get(term.feature)
        feature = kinds[term.feature]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            z[j] = math.nan
        elif term.kind == "linear":
            z[j] = (float(value) - term.centre) / term.per
        elif term.when.in_ is not None:  # type: ignore[union-attr]
            if feature.kind is FeatureKind.categorical and str(value) not in (feature.levels or []):
                raise ValueError(
                    f"{term.feature} {value!r} not allowed; allowed: {', '.join(feature.levels or [])}"
                )
            if feature.kind is FeatureKind.binary:
                z[j] = float(bool(value) in [bool(v) for v in term.when.in_])  # type: ignore[union-attr]
            else:
                z[j] = float(str(value) in [str(v) for v in term.when.in_])  # type: ignore[union-attr]
        else:
            x = float(value)
            lo, hi = term.when.minimum, term.when.maximum  # type: ignore[union-attr]
            z[j] = float((lo is None or x >= lo) and (hi is None or x <= hi))
    return z


def _patient_setting(patient: Patient) -> str | None:
    value = getattr(patient, "setting", None)
    return getattr(value, "value", value)


def _setting_warnings(spec: ModelSpec, patient: Patient, chosen: Any) -> list[str]:
    """Where the patient lies outside the population the model (setting) describes."""
    out = []
    after_nac = bool(patient.neoadjuvant_chemotherapy) or _patient_setting(patient) == "after_nac"
    if after_nac and "after_nac" in chosen.patient_settings:
        pass  # the intercept is calibrated to patients after neoadjuvant therapy
    elif after_nac and spec.ascertainment.value in ("pathological_dissection", "mixed"):
        out.append(
            f"{spec.id} (setting {chosen.id}) describes untreated patients; after neoadjuvant chemotherapy "
            "the nodal burden is lower and this probability is likely too high"
        )
    if patient.setting.value == "follow_up":
        out.append(
            f"{spec.id} gives the probability of IMLN metastasis at diagnosis; at follow-up the question is "
            "recurrence, which this model does not describe"
        )
    return out
