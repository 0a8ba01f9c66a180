"""The fallback for few studies: separate univariate random-effects meta-analyses, and the dispatcher.

Rule (``fit_accuracy``): with at least ``MIN_STUDIES_BIVARIATE`` (4) studies the bivariate model
is fitted; with 2 or 3 studies, or when the bivariate REML does not converge, logit sensitivity
and logit FPR are pooled separately, each by a univariate random-effects model with REML τ²
(as ``metafor::rma(yi, vi, method = "REML")``), and their correlation is not estimated, so
there is no SROC curve and no joint region. One study is not pooled.

Why a fallback: Takwoingi, Guo, Riley and Deeks, "Performance of methods for meta-analysis of
diagnostic test accuracy with few studies or sparse data", Stat Methods Med Res
2017;26(4):1896-1911 (doi:10.1177/0962280215592269), abstract: hierarchical models "may not
converge, or give unreliable parameter estimates" with few studies or sparse data, and
"univariate random effects logistic regression models are appropriate when a bivariate model
cannot be fitted". Two differences from that advice, stated plainly: (1) the threshold of 4
studies (``MIN_STUDIES_BIVARIATE``) is this package's choice, not a number from that paper
(the bivariate model has 5 parameters from 2k logits; with 3 studies Ψ rests on 6 numbers);
(2) the fallback pools the logits with their normal approximation (as ``metafor::rma``, the
reference it is tested against), not by random-effects logistic regression on the counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, logit

from .reitsma import MIN_STUDIES_BIVARIATE, CorrectionControl, Estimate, ReitsmaFit, TwoByTwo, fit_reitsma, prepare_cells


@dataclass(frozen=True)
class UnivariateRE:
    """One margin (logit sensitivity or logit FPR) pooled by REML random effects."""

    estimate: float
    se: float
    tau2: float
    k: int


def reml_univariate(y: np.ndarray, v: np.ndarray) -> UnivariateRE:
    """REML random-effects meta-analysis of y with known variances v (``metafor::rma(method="REML")``).

    τ² maximises the restricted likelihood -½Σlog(vᵢ+τ²) - ½log Σwᵢ - ½Σwᵢ(yᵢ-μ̂)² over τ² ≥ 0
    (scipy's bounded Brent search on [0, upper], then the boundary checked).
    """
    y, v = np.asarray(y, float), np.asarray(v, float)
    k = len(y)

    def negll(t2: float) -> float:
        w = 1 / (v + t2)
        mu = np.sum(w * y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v + t2)) + math.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    if k == 1:
        t2 = 0.0
    else:
        upper = max(10 * np.var(y, ddof=1), 10 * float(np.max(v)), 1.0)
        res = optimize.minimize_scalar(negll, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-12})
        t2 = float(res.x) if negll(res.x) < negll(0.0) else 0.0
    w = 1 / (v + t2)
    mu = float(np.sum(w * y) / np.sum(w))
    return UnivariateRE(mu, float(math.sqrt(1 / np.sum(w))), t2, k)


@dataclass(frozen=True)
class UnivariateFit:
    """Sensitivity and FPR pooled separately (no correlation, no SROC)."""

    sens: UnivariateRE
    fpr: UnivariateRE
    n_studies: int
    level: float
    cells: TwoByTwo
    reason: str

    @property
    def mu(self) -> np.ndarray:
        return np.array([self.sens.estimate, self.fpr.estimate])

    @property
    def vcov(self) -> np.ndarray:
        return np.diag([self.sens.se**2, self.fpr.se**2])

    def predictive_logits(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of a new study's (logit sens, logit FPR): μ̂ and diag(τ² + SE²), no correlation."""
        return self.mu, np.diag([self.sens.tau2 + self.sens.se**2, self.fpr.tau2 + self.fpr.se**2])

    def _z(self) -> float:
        return float(stats.norm.ppf(1 - (1 - self.level) / 2))

    def _ci(self, m: UnivariateRE) -> Estimate:
        z = self._z()
        return Estimate(float(expit(m.estimate)), float(expit(m.estimate - z * m.se)), float(expit(m.estimate + z * m.se)))

    @property
    def sensitivity(self) -> Estimate:
        return self._ci(self.sens)

    @property
    def false_positive_rate(self) -> Estimate:
        return self._ci(self.fpr)

    @property
    def specificity(self) -> Estimate:
        f = self.false_positive_rate
        return Estimate(1 - f.estimate, 1 - f.upper, 1 - f.lower)

    def _log_ratio(self, value: float, grad: np.ndarray) -> Estimate:
        z = self._z()
        se = float(np.sqrt(grad @ self.vcov @ grad))
        return Estimate(value, math.exp(math.log(value) - z * se), math.exp(math.log(value) + z * se))

    @property
    def lr_positive(self) -> Estimate:
        se, fpr = expit(self.mu)
        return self._log_ratio(float(se / fpr), np.array([1 - se, -(1 - fpr)]))

    @property
    def lr_negative(self) -> Estimate:
        se, fpr = expit(self.mu)
        return self._log_ratio(float((1 - se) / (1 - fpr)), np.array([-se, fpr]))

    @property
    def dor(self) -> Estimate:
        return self._log_ratio(float(math.exp(self.mu[0] - self.mu[1])), np.array([1.0, -1.0]))

    def summary(self) -> dict:
        out: dict = {
            "model": "separate univariate random effects (REML) for logit sensitivity and logit FPR",
            "reason": self.reason,
            "n_studies": self.n_studies,
            "continuity_corrected": self.cells.corrected,
            "tau2_sens": self.sens.tau2,
            "tau2_fpr": self.fpr.tau2,
            "level": self.level,
        }
        for name in ("sensitivity", "specificity", "false_positive_rate", "lr_positive", "lr_negative", "dor"):
            e = getattr(self, name)
            out[name] = {"estimate": e.estimate, "lower": e.lower, "upper": e.upper}
        return out


def fit_univariate(
    tp: Sequence[float],
    fp: Sequence[float],
    fn: Sequence[float],
    tn: Sequence[float],
    *,
    correction: float = 0.5,
    correction_control: CorrectionControl = "all",
    level: float = 0.95,
    reason: str = "requested",
) -> UnivariateFit:
    """Pool logit sensitivity and logit FPR separately (same cells, correction and variances as the bivariate model)."""
    cells = prepare_cells(tp, fp, fn, tn, correction, correction_control)
    pos, neg = cells.tp + cells.fn, cells.fp + cells.tn
    sens, fpr = cells.tp / pos, cells.fp / neg
    return UnivariateFit(
        sens=reml_univariate(logit(sens), 1 / (pos * sens * (1 - sens))),
        fpr=reml_univariate(logit(fpr), 1 / (neg * fpr * (1 - fpr))),
        n_studies=len(pos),
        level=level,
        cells=cells,
        reason=reason,
    )


def fit_accuracy(
    tp: Sequence[float],
    fp: Sequence[float],
    fn: Sequence[float],
    tn: Sequence[float],
    *,
    correction: float = 0.5,
    correction_control: CorrectionControl = "all",
    level: float = 0.95,
) -> ReitsmaFit | UnivariateFit:
    """Pool 2×2 tables: the bivariate model from 4 studies, else (or if it fails) the univariate fallback."""
    k = len(np.asarray(tp).ravel())
    if k < 2:
        raise ValueError("one study: nothing to pool")
    kw = {"correction": correction, "correction_control": correction_control, "level": level}
    if k < MIN_STUDIES_BIVARIATE:
        return fit_univariate(tp, fp, fn, tn, reason=f"{k} studies (< {MIN_STUDIES_BIVARIATE}): bivariate model not fitted", **kw)
    fit = fit_reitsma(tp, fp, fn, tn, **kw)
    if not fit.converged:
        return fit_univariate(tp, fp, fn, tn, reason="bivariate REML did not converge", **kw)
    return fit
