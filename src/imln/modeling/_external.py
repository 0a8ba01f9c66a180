"""External validation of a finished model on a new cohort.

The model is applied unchanged; then

- **O/E** = observed events / sum of predicted risks, with CI exp(ln(O/E) ± z·√((1 − O/n)/O))
  (Debray et al., BMJ 2017);
- **calibration-in-the-large**: the intercept ``a`` of ``logit P(y) = a + lp`` (lp as offset),
  0 when the average risk is right; Wald CI;
- **calibration slope**: ``b`` of ``logit P(y) = a + b·lp``, 1 when predictions are neither
  too extreme nor too moderate; Wald CI;
- **C-index** with DeLong's standard error (Wald CI, clipped to [0, 1]);
- **Brier score**; and a calibration plot: risk deciles (observed proportion with
  Wilson CI) and R's lowess smoother.

Any of these models can be validated: a fitted :class:`LogisticModel`, a
:class:`CoefficientModel` (a model known by its coefficients), or a registered
``imln.risk.ModelSpec`` (by object or id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from imln.modeling._design import (
    CompleteCaseReport,
    ModelingInputError,
    as_dataframe,
    code_outcome,
    complete_cases,
)
from imln.modeling._lowess import lowess
from imln.modeling._stats import logistic_recalibration
from imln.modeling._threshold import proportion

Z975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% CI."""

    estimate: float
    lower: float
    upper: float

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.lower:.3f} to {self.upper:.3f})"


@dataclass(frozen=True)
class ExternalValidationResult:
    """How a model performed on a cohort it was not fitted on."""

    model_name: str
    n: int
    events: int
    complete_cases: CompleteCaseReport
    observed_risk: float
    mean_predicted_risk: float
    observed_expected: Estimate
    calibration_in_the_large: Estimate
    calibration_intercept: float
    calibration_slope: Estimate
    c_index: Estimate
    brier: float
    groups: pd.DataFrame
    predicted: np.ndarray
    outcome: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        def e(x: Estimate) -> dict[str, float]:
            return {"estimate": x.estimate, "ci_lower": x.lower, "ci_upper": x.upper}

        return {
            "model": self.model_name, "n": self.n, "events": self.events,
            "rows_excluded": self.complete_cases.n_excluded,
            "observed_risk": self.observed_risk, "mean_predicted_risk": self.mean_predicted_risk,
            "observed_expected": e(self.observed_expected),
            "calibration_in_the_large": e(self.calibration_in_the_large),
            "calibration_slope": e(self.calibration_slope), "calibration_intercept": self.calibration_intercept,
            "c_index": e(self.c_index), "brier": self.brier,
        }

    def describe(self) -> str:
        return (
            f"external validation of {self.model_name}: n={self.n}, {self.events} events "
            f"({self.complete_cases.describe()})\n"
            f"  observed risk {self.observed_risk:.3f}, mean predicted {self.mean_predicted_risk:.3f}, "
            f"O/E {self.observed_expected}\n"
            f"  calibration-in-the-large {self.calibration_in_the_large}; slope {self.calibration_slope}\n"
            f"  C-index {self.c_index}; Brier {self.brier:.4f}"
        )


def delong_c_index(risk: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """C-index and DeLong's standard error (mid-ranks; ties count ½)."""
    pos = risk[y == 1]
    neg = risk[y == 0]
    n1, n0 = pos.size, neg.size
    if n1 < 2 or n0 < 2:
        raise ModelingInputError("a C-index with a standard error needs at least 2 events and 2 non-events")
    all_ranks = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:n1] - stats.rankdata(pos)) / n0  # P(neg < this pos)
    v01 = 1 - (all_ranks[n1:] - stats.rankdata(neg)) / n1  # P(pos > this neg)
    c = float(v10.mean())
    var = v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0
    return c, float(np.sqrt(var))


def _calibration_in_the_large(lp: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a = 0.0
    for _ in range(100):
        p = expit(a + lp)
        step = (y - p).sum() / (p * (1 - p)).sum()
        a += step
        if abs(step) < 1e-12:
            break
    p = expit(a + lp)
    return a, float(1 / np.sqrt((p * (1 - p)).sum()))


def _slope(lp: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    a, b, _, ok, _ = logistic_recalibration(lp[None, :], y)
    if not ok[0]:
        raise ModelingInputError("the calibration slope could not be estimated (the outcome is separated by the risk)")
    p = expit(a[0] + b[0] * lp)
    w = p * (1 - p)
    info = np.array([[w.sum(), (w * lp).sum()], [(w * lp).sum(), (w * lp * lp).sum()]])
    cov = np.linalg.inv(info)
    return float(a[0]), float(b[0]), float(np.sqrt(cov[1, 1]))


def risk_groups(risk: np.ndarray, y: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Observed vs mean predicted risk by quantile group (Wilson 95% CI for the observed)."""
    order = np.argsort(risk, kind="stable")
    bins = np.array_split(order, groups)
    rows = []
    for k, idx in enumerate(bins, start=1):
        if idx.size == 0:
            continue
        obs = proportion(int(y[idx].sum()), int(idx.size))
        rows.append({"group": k, "n": int(idx.size), "mean_predicted": float(risk[idx].mean()),
                     "observed": obs.estimate, "observed_ci_lower": obs.lower, "observed_ci_upper": obs.upper})
    return pd.DataFrame(rows)


def _predictions(model: Any, data: pd.DataFrame, setting: str | None) -> tuple[np.ndarray, list[str], str]:
    """Linear predictor of ``model`` on complete rows, the predictor columns it reads, and its name."""
    if isinstance(model, str):
        from imln.risk import get_model

        model = get_model(model)
    if hasattr(model, "linear_predictor") and hasattr(model, "design_"):
        return model.linear_predictor(data), model.design_.columns_used, f"model for {model.outcome_}"
    if hasattr(model, "linear_predictor") and hasattr(model, "design"):
        return model.linear_predictor(data), model.design.columns_used, model.name
    if hasattr(model, "terms") and hasattr(model, "settings"):  # imln.risk.ModelSpec
        from imln.risk import predict_proba

        columns = list(dict.fromkeys(t.feature for t in model.terms))
        probs = predict_proba(data[columns], model, setting=setting, interval=False)["probability"].to_numpy()
        with np.errstate(divide="ignore"):
            return logit(probs), columns, f"{model.id} v{model.version}"
    raise ModelingInputError(f"cannot validate a {type(model).__name__}; give a LogisticModel, CoefficientModel, "
                             "or a registered model (ModelSpec or its id)")


def _predictor_columns(model: Any) -> list[str]:
    if isinstance(model, str):
        from imln.risk import get_model

        model = get_model(model)
    if hasattr(model, "design_"):
        return model.design_.columns_used
    if hasattr(model, "design"):
        return model.design.columns_used
    if hasattr(model, "terms"):
        return list(dict.fromkeys(t.feature for t in model.terms))
    return []


def external_validation(
    model: Any,
    data: pd.DataFrame | Mapping[str, Sequence[Any]],
    outcome: str,
    *,
    event: Any = None,
    groups: int = 10,
    setting: str | None = None,
) -> ExternalValidationResult:
    """Apply ``model`` unchanged to ``data`` and measure calibration and discrimination."""
    data = as_dataframe(data)
    predictors = _predictor_columns(model)
    used, report = complete_cases(data, [outcome, *predictors])
    if report.n_used < 10:
        raise ModelingInputError(f"external validation needs at least 10 complete rows: {report.describe()}")
    y, _ = code_outcome(used[outcome], outcome, event)
    lp, _, name = _predictions(model, used, setting)
    if np.any(~np.isfinite(lp)):
        raise ModelingInputError(f"the model gave no finite prediction for {int((~np.isfinite(lp)).sum())} rows")
    risk = expit(lp)
    n, o = y.size, float(y.sum())
    e = float(risk.sum())
    if o == 0 or o == n:
        raise ModelingInputError(f"outcome {outcome!r} has no variation in the {n} complete rows (events: {int(o)})")
    oe = o / e
    se_log_oe = float(np.sqrt((1 - o / n) / o))
    citl, se_citl = _calibration_in_the_large(lp, y)
    a, b, se_b = _slope(lp, y)
    c, se_c = delong_c_index(risk, y)
    return ExternalValidationResult(
        model_name=name, n=n, events=int(o), complete_cases=report,
        observed_risk=o / n, mean_predicted_risk=e / n,
        observed_expected=Estimate(oe, oe * np.exp(-Z975 * se_log_oe), oe * np.exp(Z975 * se_log_oe)),
        calibration_in_the_large=Estimate(citl, citl - Z975 * se_citl, citl + Z975 * se_citl),
        calibration_intercept=a,
        calibration_slope=Estimate(b, b - Z975 * se_b, b + Z975 * se_b),
        c_index=Estimate(c, max(0.0, c - Z975 * se_c), min(1.0, c + Z975 * se_c)),
        brier=float(np.mean((y - risk) ** 2)),
        groups=risk_groups(risk, y, groups),
        predicted=risk, outcome=y,
    )


def plot_external_calibration(result: ExternalValidationResult, ax: Any = None, *, title: str | None = None) -> Any:
    """Calibration plot: grouped observed vs predicted (with CIs), lowess curve, ideal line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    g = result.groups
    ax.plot((0, 1), (0, 1), color="0.6", ls="--", lw=1, label="Ideal")
    ax.errorbar(g["mean_predicted"], g["observed"],
                yerr=[g["observed"] - g["observed_ci_lower"], g["observed_ci_upper"] - g["observed"]],
                fmt="o", color="tab:blue", ms=4, capsize=2, label=f"{len(g)} risk groups (95% CI)")
    xs, fit = lowess(result.predicted, result.outcome)
    ax.plot(xs, fit, color="tab:red", lw=1.6, label="lowess")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed proportion")
    ax.set_title(title or f"External calibration: {result.model_name}")
    ax.text(0.98, 0.02, f"O/E {result.observed_expected.estimate:.2f}\nslope {result.calibration_slope.estimate:.2f}\n"
                        f"C {result.c_index.estimate:.3f}", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=8)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return ax
