"""Writing a fitted model out: a complete plain dictionary, or the risk registry's ModelSpec.

``model_to_dict`` keeps everything needed to predict again — terms with their
knots and levels, coefficients, covariance — and ``CoefficientModel.from_dict``
reads it back (so a model published as coefficients can be validated externally).
Layout (``format: imln.modeling/logistic-model``, ``format_version: 1``)::

    outcome: {column: nodepos, event: "1"}
    terms:                                   # in design order
      - {kind: rcs, column: age, transform: null, knots: [35, 49, 61, 77], columns: [age, "age'", "age''"]}
      - {kind: linear, column: grade, transform: null, columns: [grade]}
      - {kind: category, column: size, levels: ["<=20", "20-50", ">50"], columns: ["size=20-50", "size=>50"]}
    coefficients: {Intercept: -1.33, age: 0.0042, ...}
    covariance: {parameters: [...], matrix: [[...], ...]}
    fit: {n: 2982, events: 1546, penalty: 0.0, rows_excluded: 0, c_index: 0.685}

``to_model_spec`` targets ``imln.risk.ModelSpec`` (``obtained:
fitted_by_workbench``). That format has indicator and linear terms only, so a model
with splines or log/sqrt transforms cannot be expressed in it; this is refused with
a message saying so, and ``model_to_dict`` remains available for such models.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from imln.modeling._design import (
    Categorical,
    Design,
    FittedTerm,
    Linear,
    ModelingInputError,
    Spline,
    as_dataframe,
    complete_cases,
)
from imln.modeling._fit import LogisticModel

FORMAT = "imln.modeling/logistic-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CoefficientModel:
    """A logistic model known only by its terms and coefficients (e.g. from a paper or an export)."""

    name: str
    design: Design
    coefficients: pd.Series  # "Intercept" then the design columns
    covariance: pd.DataFrame | None = None
    outcome: str | None = None
    event: str | None = None

    def linear_predictor(self, data: pd.DataFrame | Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Log-odds for each row (NaN where a predictor is missing)."""
        data = as_dataframe(data)
        out = np.full(len(data), np.nan)
        used, _ = complete_cases(data, self.design.columns_used)
        if len(used):
            pos = data.index.get_indexer(used.index)
            beta = self.coefficients.to_numpy()
            out[pos] = beta[0] + self.design.matrix(used) @ beta[1:]
        return out

    def predict_proba(self, data: pd.DataFrame | Mapping[str, Sequence[Any]]) -> np.ndarray:
        return expit(self.linear_predictor(data))

    @classmethod
    def from_model(cls, model: LogisticModel, name: str = "fitted model") -> CoefficientModel:
        model._check_fitted()
        return cls(name, model.design_, model.coef_.copy(), model.cov_.copy(), model.outcome_, model.event_)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], name: str | None = None) -> CoefficientModel:
        """Read the ``model_to_dict`` layout; errors name the offending entry."""
        if spec.get("format") != FORMAT:
            raise ModelingInputError(f"not an imln model export (format {spec.get('format')!r}; expected {FORMAT!r})")
        terms: list[FittedTerm] = []
        for k, t in enumerate(spec.get("terms") or []):
            kind = t.get("kind")
            column = t.get("column")
            if not column:
                raise ModelingInputError(f"terms[{k}]: 'column' is required")
            transform = t.get("transform")
            if kind == "rcs":
                knots = tuple(float(v) for v in t["knots"])
                term = Spline(column, n_knots=len(knots), knots=knots, transform=transform)
                names = tuple(t.get("columns") or [column] + [column + "'" * (j + 1) for j in range(len(knots) - 2)])
                terms.append(FittedTerm(term, names, knots=knots))
            elif kind == "linear":
                term = Linear(column, transform=transform)
                terms.append(FittedTerm(term, tuple(t.get("columns") or [term.label])))
            elif kind == "category":
                levels = tuple(str(v) for v in t["levels"])
                names = tuple(t.get("columns") or [f"{column}={lv}" for lv in levels[1:]])
                terms.append(FittedTerm(Categorical(column, reference=levels[0], levels=levels), names, levels=levels))
            else:
                raise ModelingInputError(f"terms[{k}]: kind must be rcs, linear or category (got {kind!r})")
        design = Design(tuple(terms))
        coef = spec.get("coefficients") or {}
        names = ["Intercept", *design.column_names]
        missing = [n for n in names if n not in coef]
        if missing:
            raise ModelingInputError(f"coefficients missing for {missing}; needed: {names}")
        cov = None
        if spec.get("covariance"):
            c = spec["covariance"]
            cov = pd.DataFrame(np.asarray(c["matrix"], dtype=float), index=c["parameters"], columns=c["parameters"])
        outcome = spec.get("outcome") or {}
        return cls(name or str(spec.get("name", "exported model")), design,
                   pd.Series([float(coef[n]) for n in names], index=names), cov,
                   outcome.get("column"), outcome.get("event"))


def _term_dict(term: FittedTerm) -> dict[str, Any]:
    t = term.term
    if isinstance(t, Spline):
        return {"kind": "rcs", "column": t.column, "transform": t.transform, "knots": list(term.knots or ()),
                "columns": list(term.column_names)}
    if isinstance(t, Categorical):
        return {"kind": "category", "column": t.column, "levels": list(term.levels or ()),
                "columns": list(term.column_names)}
    return {"kind": "linear", "column": t.column, "transform": t.transform, "columns": list(term.column_names)}


def model_to_dict(model: LogisticModel, *, name: str = "fitted model") -> dict[str, Any]:
    """Everything needed to predict with ``model`` again, as plain data (YAML/JSON-ready)."""
    model._check_fitted()
    names = list(model.coef_.index)
    s = model.stats_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "formula": model.formula if isinstance(model.formula, str) else None,
        "outcome": {"column": model.outcome_, "event": model.event_},
        "terms": [_term_dict(t) for t in model.design_.terms],
        "coefficients": {k: float(v) for k, v in model.coef_.items()},
        "covariance": {"parameters": names, "matrix": model.cov_.to_numpy().tolist()},
        "fit": {
            "n": s.n, "events": s.events, "penalty": model.penalty,
            "rows_excluded": model.complete_cases_.n_excluded,
            "lr_chi2": s.lr_chi2, "df": s.df, "c_index": s.c_index, "r2": s.r2, "brier": s.brier,
        },
    }


def to_model_spec(
    model: LogisticModel,
    *,
    id: str,
    title: str,
    outcome: str,
    ascertainment: str,
    intended_population: str,
    version: str = "1.0",
    summary: str | None = None,
    feature_names: Mapping[str, str] | None = None,
    feature_descriptions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    cohort: str = "development cohort",
    validation: Any = None,
    citations: Sequence[str] = (),
) -> Any:
    """The model as an ``imln.risk.ModelSpec`` (validated), ready for ``imln models add``.

    ``feature_names`` maps data columns to feature names of ``imln.risk.FEATURES``
    so that ``imln assess`` can feed the model a patient record. ``validation`` may
    be a :class:`~imln.modeling.ValidationResult`; its corrected C-index is recorded.
    """
    from imln.risk import (  # the risk registry's format (imported only when exporting)
        FEATURES,
        ModelSpec,
    )

    model._check_fitted()
    unsupported = [t for t in model.design_.terms if isinstance(t.term, Spline) or getattr(t.term, "transform", None)]
    if unsupported:
        labels = ", ".join(f"{'rcs(' + t.term.label + ')' if isinstance(t.term, Spline) else t.term.label}"
                           for t in unsupported)
        raise ModelingInputError(
            f"the risk registry's model format has only indicator and linear terms, so {labels} cannot be "
            "exported to it; refit with linear or categorical terms, or use model_to_dict() (imln model fit "
            "--export-dict) which keeps splines and transforms"
        )
    feature_names = dict(feature_names or {})
    feature_descriptions = dict(feature_descriptions or {})
    units = dict(units or {})
    cov = model.cov_.to_numpy()
    se = np.sqrt(np.diag(cov))
    features: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    param_names = ["(intercept)"]
    for fitted, sl in zip(model.design_.terms, model.design_.term_slices(), strict=True):
        column = fitted.column
        fname = feature_names.get(column, column)
        desc = feature_descriptions.get(column) or (FEATURES[fname].description if fname in FEATURES else column)
        if isinstance(fitted.term, Categorical):
            levels = list(fitted.levels or ())
            binary = set(levels) == {"False", "True"}
            features.append({"name": fname, "description": desc, "kind": "binary" if binary else "categorical",
                             **({} if binary else {"levels": levels})})
            for j, lev in enumerate(levels[1:]):
                k = sl.start + j
                tname = f"{fname}_{lev}".replace(" ", "_")
                terms.append({
                    "name": tname, "label": f"{fname} {lev} (vs {levels[0]})", "feature": fname,
                    "kind": "indicator", "when": {"in": [lev == "True"] if binary else [lev]},
                    "log_odds": float(model.coef_.iloc[k + 1]), "standard_error": float(se[k + 1]),
                    "sources": [cohort], "derivation": "maximum likelihood (imln.modeling.LogisticModel)",
                })
                param_names.append(tname)
        else:
            k = sl.start
            lo, hi = fitted.value_range or (None, None)
            features.append({"name": fname, "description": desc, "kind": "numeric", "unit": units.get(column, ""),
                             "minimum": lo, "maximum": hi})
            terms.append({
                "name": fname, "label": f"{fname}, per {units.get(column, 'unit') or 'unit'}", "feature": fname,
                "kind": "linear", "centre": 0.0, "per": 1.0,
                "log_odds": float(model.coef_.iloc[k + 1]), "standard_error": float(se[k + 1]),
                "sources": [cohort], "derivation": "maximum likelihood (imln.modeling.LogisticModel)",
            })
            param_names.append(fname)
    s = model.stats_
    performance = [{"measure": "C-index (apparent)", "value": s.c_index, "cohort": cohort, "source": cohort}]
    validation_text = "none"
    if validation is not None:
        performance.append({"measure": "C-index (optimism-corrected)", "value": validation.corrected_c_index,
                            "cohort": cohort, "source": cohort})
        performance.append({"measure": "calibration slope (optimism-corrected)",
                            "value": float(validation.table.loc["Slope", "index.corrected"]),
                            "cohort": cohort, "source": cohort})
        validation_text = f"internal only: {validation.describe()}"
    spec = {
        "id": id, "version": version, "title": title,
        "summary": summary or f"Logistic model fitted with imln's modelling workbench on {cohort} "
                              f"({s.n} patients, {s.events} events).",
        "obtained": "fitted_by_workbench", "outcome": outcome, "ascertainment": ascertainment,
        "intended_population": intended_population,
        "features": features, "terms": terms,
        "settings": [{
            "id": "development_cohort", "description": f"calibrated to {cohort}",
            "intercept": float(model.coef_.iloc[0]), "standard_error": float(se[0]),
            "anchor": f"event rate of {cohort}: {s.events}/{s.n}", "sources": [cohort],
        }],
        "default_setting": "development_cohort",
        "covariance": {"parameters": param_names, "matrix": cov.tolist()},
        "performance": performance,
        "validation": validation_text,
        "assumptions": [f"complete-case analysis: {model.complete_cases_.describe()}"],
        "limitations": [] if validation is not None else ["not validated: run imln model validate / external"],
        "citations": list(citations),
        "generated_by": f"imln.modeling {_dt.date.today().isoformat()}",
    }
    return ModelSpec.model_validate(spec)
