"""Bivariate random-effects meta-analysis of diagnostic accuracy (Reitsma et al. 2005).

The model and every default follow R ``mada::reitsma`` (Doebler, mada 0.5.12, file
``R/reitsma.R``), which hands the work to ``mvmeta::mvmeta.fit`` (Gasparrini):

* per study, y_i = (logit sensitivity, logit false-positive rate) with the within-study
  variances 1/(n_pos·se·(1-se)) and 1/(n_neg·fpr·(1-fpr)) and no within-study covariance;
* y_i ~ N(X_i β, S_i + Ψ) with Ψ an unstructured 2×2 between-study covariance;
* Ψ by restricted maximum likelihood (REML) over the lower Cholesky factor of Ψ (mvmeta's
  parametrisation, so singular Ψ at the boundary is reachable), β by generalised least
  squares given Ψ, Var(β) = (Σ X_i' W_i X_i)^-1;
* continuity correction ``correction`` (0.5) added to **every cell of every study** when any
  cell of any study is zero (``correction_control="all"``, mada's default); ``"single"``
  corrects only the studies with a zero cell; ``"none"`` never corrects;
* the SROC curve is Rutter and Gatsonis' HSROC curve, its parameters computed from the
  bivariate fit with Harbord et al.'s (2007) identities, as ``mada::calc_hsroc_coef``;
* confidence region: ellipse of Var(β) around the summary point; prediction region:
  ellipse of Ψ + Var(β) (``plot.reitsma(predict=TRUE)``), both from ``ellipse::ellipse``.

The optimiser is scipy's BFGS on the analytic REML gradient, then Newton steps to the
stationary point, so the result is the REML maximum to ~1e-10, not merely where mvmeta's
``optim(reltol = 1.5e-8)`` stops; see ``tests/synthesis`` for the parity with mada.

Only the logit link (mada's ``alphasens = alphafpr = 1``, its default) is implemented.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, logit

CorrectionControl = Literal["all", "single", "none"]

#: Fewer studies than this and fit_accuracy() pools sensitivity and specificity separately.
MIN_STUDIES_BIVARIATE = 4


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class TwoByTwo:
    """The studies' cells after the continuity correction, and the raw cells."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    raw: pd.DataFrame
    corrected: bool


def prepare_cells(
    tp: Sequence[float],
    fp: Sequence[float],
    fn: Sequence[float],
    tn: Sequence[float],
    correction: float = 0.5,
    correction_control: CorrectionControl = "all",
) -> TwoByTwo:
    """Check the cells (as ``mada:::checkdata``) and apply mada's continuity correction."""
    cells = [np.asarray(v, dtype=float).ravel() for v in (tp, fp, fn, tn)]
    n = len(cells[0])
    if any(len(c) != n for c in cells):
        raise ValueError("tp, fp, fn and tn must have the same length")
    if n == 0:
        raise ValueError("no studies")
    if correction < 0:
        raise ValueError("correction must be >= 0")
    if correction_control not in ("all", "single", "none"):
        raise ValueError("correction_control must be 'all', 'single' or 'none'")
    for name, c in zip(("tp", "fp", "fn", "tn"), cells, strict=True):
        if np.any(~np.isfinite(c)) or np.any(c < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    tp_, fp_, fn_, tn_ = cells
    zeros = (tp_ == 0).astype(int) + (fp_ == 0) + (fn_ == 0) + (tn_ == 0)
    if np.any(zeros > 2):
        raise ValueError(f"study (row {int(np.argmax(zeros > 2))}) has three or more zero cells")
    if np.any(tp_ + fn_ == 0) or np.any(fp_ + tn_ == 0):
        raise ValueError("every study needs at least one diseased and one non-diseased patient")
    raw = pd.DataFrame({"tp": tp_, "fp": fp_, "fn": fn_, "tn": tn_})
    has_zero = zeros > 0
    if correction_control == "all":
        add = np.full(n, correction if has_zero.any() else 0.0)
    elif correction_control == "single":
        add = np.where(has_zero, correction, 0.0)
    else:
        add = np.zeros(n)
    if correction_control == "none" and has_zero.any():
        raise ValueError("a zero cell with correction_control='none': the logit is infinite")
    return TwoByTwo(tp_ + add, fp_ + add, fn_ + add, tn_ + add, raw, bool(np.any(add > 0)))


def _design(covariates: pd.DataFrame | Mapping[str, Sequence] | None, n: int) -> tuple[np.ndarray, list[str]]:
    """Intercept plus covariates (categorical columns become treatment dummies, first level = reference)."""
    if covariates is None:
        return np.ones((n, 1)), ["(Intercept)"]
    frame = pd.DataFrame(covariates).reset_index(drop=True)
    if len(frame) != n:
        raise ValueError("covariates must have one row per study")
    parts = [pd.Series(1.0, index=frame.index, name="(Intercept)")]
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            parts.append(s.astype(float).rename(f"{col}"))
        elif pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).rename(str(col)))
        else:
            cat = s.astype("category")
            for level in cat.cat.categories[1:]:
                parts.append((cat == level).astype(float).rename(f"{col}{level}"))
    X = pd.concat(parts, axis=1)
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise ValueError("the covariates' design matrix is rank deficient")
    return X.to_numpy(), list(X.columns)


# --------------------------------------------------------------------------- REML


class _Problem:
    """y_i (n×2), S_i diagonal (n×2), X (n×p) shared by both outcomes (mvmeta's Xlist = I2 ⊗ x_i')."""

    def __init__(self, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> None:
        self.y, self.v, self.X = y, v, X
        self.n, self.p = X.shape

    @staticmethod
    def psi(par: np.ndarray) -> np.ndarray:
        L = np.array([[par[0], 0.0], [par[1], par[2]]])
        return L @ L.T

    def _blocks(self, psi: np.ndarray):
        a = self.v[:, 0] + psi[0, 0]
        c = self.v[:, 1] + psi[1, 1]
        b = np.full(self.n, psi[0, 1])
        det = a * c - b * b
        W = np.empty((self.n, 2, 2))
        W[:, 0, 0] = c / det
        W[:, 1, 1] = a / det
        W[:, 0, 1] = W[:, 1, 0] = -b / det
        return W, det

    def gls(self, psi: np.ndarray):
        W, det = self._blocks(psi)
        X, y, p = self.X, self.y, self.p
        # Full design per study: Z_i = I2 ⊗ x_i' (2 × 2p); coefficient order (sens: p, fpr: p) as mvmeta.
        Z = np.zeros((self.n, 2, 2 * p))
        Z[:, 0, :p] = X
        Z[:, 1, p:] = X
        WZ = W @ Z
        A = np.einsum("nki,nkj->ij", Z, WZ)
        bvec = np.einsum("nki,nk->i", WZ, y)
        A = (A + A.T) / 2
        cho = np.linalg.cholesky(A)
        beta = np.linalg.solve(A, bvec)
        return W, det, Z, A, cho, beta

    def loglik(self, par: np.ndarray) -> float:
        """REML log-likelihood exactly as ``mvmeta:::remlprof.fn`` (constant included)."""
        return self.value_and_gradient(par, gradient=False)[0]

    def gradient(self, par: np.ndarray) -> np.ndarray:
        return self.value_and_gradient(par)[1]

    def value_and_gradient(self, par: np.ndarray, gradient: bool = True) -> tuple[float, np.ndarray]:
        """The REML log-likelihood and its gradient in (L11, L21, L22).

        dℓ = tr(G dΨ) with G = ½ Σ_i (W_i r_i r_i' W_i − P_ii), P_ii the i-th diagonal block of
        P = W − W Z (Z'WZ)⁻¹ Z'W; with Ψ = LL', dℓ/dL = 2 G L (lower triangle).
        """
        psi = self.psi(par)
        W, det, Z, A, cho, beta = self.gls(psi)
        if np.any(det <= 0):
            return -np.inf, np.full(3, np.nan)
        r = self.y - np.einsum("nkj,j->nk", Z, beta)
        Wr = np.einsum("nkl,nl->nk", W, r)
        nall, p2 = 2 * self.n, 2 * self.p
        value = float(
            -0.5 * (nall - p2) * math.log(2 * math.pi)
            - 0.5 * np.sum(np.log(det))
            - np.sum(np.log(np.diag(cho)))
            - 0.5 * np.sum(r * Wr)
        )
        if not gradient:
            return value, np.full(3, np.nan)
        WZ = W @ Z
        Ainv = np.linalg.inv(A)
        Pii = W - np.einsum("nki,ij,nlj->nkl", WZ, Ainv, WZ)
        G = 0.5 * (np.einsum("nk,nl->kl", Wr, Wr) - Pii.sum(axis=0))
        L = np.array([[par[0], 0.0], [par[1], par[2]]])
        D = 2 * G @ L
        return value, np.array([D[0, 0], D[1, 0], D[1, 1]])


def _start(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """DerSimonian-Laird τ² per outcome, zero correlation (a starting point only)."""
    taus = []
    for k in range(2):
        w = 1 / v[:, k]
        mu = np.sum(w * y[:, k]) / np.sum(w)
        q = np.sum(w * (y[:, k] - mu) ** 2)
        denom = np.sum(w) - np.sum(w**2) / np.sum(w)
        t2 = max((q - (len(y) - 1)) / denom, 0.0) if denom > 0 else 0.0
        taus.append(math.sqrt(max(t2, 0.01)))
    return np.array([taus[0], 0.0, taus[1]])


def _newton_polish(problem: _Problem, par: np.ndarray) -> tuple[np.ndarray, bool]:
    """Newton steps on the analytic gradient (central-difference Hessian); True if at a strict maximum."""
    for _ in range(20):
        grad = problem.gradient(par)
        H = np.empty((3, 3))
        for j in range(3):
            h = 1e-6 * max(1.0, abs(par[j]))
            e = np.zeros(3)
            e[j] = h
            H[:, j] = (problem.gradient(par + e) - problem.gradient(par - e)) / (2 * h)
        H = (H + H.T) / 2
        if not np.all(np.isfinite(H)) or not np.all(np.linalg.eigvalsh(H) < 0):
            return par, False
        if np.max(np.abs(grad)) < 1e-10:
            return par, True
        new = par - np.linalg.solve(H, grad)
        if not problem.loglik(new) >= problem.loglik(par) - 1e-12:
            return par, np.max(np.abs(grad)) < 1e-6
        par = new
    return par, bool(np.max(np.abs(problem.gradient(par))) < 1e-6)


def _maximise(problem: _Problem) -> tuple[np.ndarray, bool, int]:
    """BFGS (scipy) from a DerSimonian–Laird start, then Newton; more starts only if that does not
    end at a strict interior maximum (e.g. Ψ singular, ρ = ±1), keeping the highest likelihood."""

    def negative(par: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = problem.value_and_gradient(par)
        return -v, -g

    best: tuple[float, np.ndarray, bool, int] | None = None
    starts = (_start(problem.y, problem.v), np.array([0.3, 0.0, 0.3]), np.array([1.0, -0.5, 1.0]),
              np.array([1.0, 0.5, 1.0]))
    for start in starts:
        res = optimize.minimize(negative, start, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
        par, strict = _newton_polish(problem, res.x)
        value = problem.loglik(par)
        ok = strict or bool(res.success)
        if best is None or value > best[0] + 1e-10:
            best = (value, par, ok, int(res.nit))
        if strict:
            break
    assert best is not None
    return best[1], best[2], best[3]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class HSROC:
    """Rutter–Gatsonis parameters implied by the bivariate fit (Harbord et al. 2007; mada's names)."""

    Theta: float
    Lambda: float
    beta: float
    sigma2theta: float
    sigma2alpha: float


@dataclass(frozen=True)
class Estimate:
    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class ReitsmaFit:
    """A fitted bivariate model. Coefficient order as mada/mvmeta: tsens.* then tfpr.*."""

    coef_names: list[str]
    coefficients: np.ndarray
    vcov: np.ndarray
    psi: np.ndarray
    loglik_reml: float
    loglik: float  # mada's logLik: REML log-likelihood plus the logit transformation's Jacobian
    n_studies: int
    level: float
    converged: bool
    iterations: int
    cells: TwoByTwo
    design: np.ndarray = field(repr=False)

    # -- fixed effects
    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def n_fixed(self) -> int:
        return len(self.coefficients)

    @property
    def is_regression(self) -> bool:
        return self.n_fixed > 2

    def coef_table(self) -> pd.DataFrame:
        z = stats.norm.ppf(1 - (1 - self.level) / 2)
        se = self.se
        zval = self.coefficients / se
        return pd.DataFrame(
            {
                "estimate": self.coefficients,
                "se": se,
                "z": zval,
                "p": 2 * stats.norm.sf(np.abs(zval)),
                "lower": self.coefficients - z * se,
                "upper": self.coefficients + z * se,
            },
            index=self.coef_names,
        )

    # -- variance components
    @property
    def tau(self) -> np.ndarray:
        """Between-study standard deviations of logit sensitivity and logit FPR."""
        return np.sqrt(np.diag(self.psi))

    @property
    def rho(self) -> float:
        t = self.tau
        return float(self.psi[0, 1] / (t[0] * t[1])) if t[0] > 0 and t[1] > 0 else float("nan")

    @property
    def psi_singular(self) -> bool:
        """Ψ at the boundary of its space (a variance ≈ 0 or |ρ| ≈ 1): the SROC is then not identified."""
        return bool(np.linalg.eigvalsh(self.psi)[0] <= 1e-8 * max(float(np.trace(self.psi)), 1e-300) or
                    np.min(np.diag(self.psi)) < 1e-10)

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * (self.n_fixed + 3)

    @property
    def bic(self) -> float:
        return -2 * self.loglik + (self.n_fixed + 3) * math.log(2 * self.n_studies)

    # -- summary point (intercept-only model)
    def _require_summary(self) -> None:
        if self.is_regression:
            raise ValueError("a meta-regression has no single summary point; use predict_logits() per covariate value")

    @property
    def mu(self) -> np.ndarray:
        """(logit sensitivity, logit FPR) of the summary point."""
        self._require_summary()
        return self.coefficients[:2]

    def _ci(self, k: int) -> Estimate:
        z = stats.norm.ppf(1 - (1 - self.level) / 2)
        m, s = self.coefficients[k], self.se[k]
        return Estimate(float(expit(m)), float(expit(m - z * s)), float(expit(m + z * s)))

    @property
    def sensitivity(self) -> Estimate:
        self._require_summary()
        return self._ci(0)

    @property
    def false_positive_rate(self) -> Estimate:
        self._require_summary()
        return self._ci(1)

    @property
    def specificity(self) -> Estimate:
        f = self.false_positive_rate
        return Estimate(1 - f.estimate, 1 - f.upper, 1 - f.lower)

    def _log_ratio(self, value: float, grad: np.ndarray) -> Estimate:
        z = stats.norm.ppf(1 - (1 - self.level) / 2)
        se = float(np.sqrt(grad @ self.vcov[:2, :2] @ grad))
        lv = math.log(value)
        return Estimate(value, math.exp(lv - z * se), math.exp(lv + z * se))

    @property
    def lr_positive(self) -> Estimate:
        """LR+ = sens/FPR at the summary point; CI by the delta method on log LR+."""
        self._require_summary()
        se, fpr = expit(self.mu)
        return self._log_ratio(float(se / fpr), np.array([1 - se, -(1 - fpr)]))

    @property
    def lr_negative(self) -> Estimate:
        """LR− = (1−sens)/(1−FPR) at the summary point; CI by the delta method on log LR−."""
        self._require_summary()
        se, fpr = expit(self.mu)
        return self._log_ratio(float((1 - se) / (1 - fpr)), np.array([-se, fpr]))

    @property
    def dor(self) -> Estimate:
        """DOR = exp(logit sens − logit FPR); its log is linear in β, so the CI is exact Wald."""
        self._require_summary()
        return self._log_ratio(float(math.exp(self.mu[0] - self.mu[1])), np.array([1.0, -1.0]))

    # -- SROC
    @property
    def hsroc(self) -> HSROC:
        """As ``mada:::calc_hsroc_coef`` (Harbord et al. 2007, with the FPR sign convention).

        Needs both between-study variances > 0 (β = log(τ_fpr/τ_sens)); mada returns
        arbitrary numbers when one is 0, this raises instead.
        """
        self._require_summary()
        if np.min(np.diag(self.psi)) < 1e-10:
            raise ValueError("a between-study variance is 0: the Rutter–Gatsonis SROC is not identified")
        c, psi = self.coefficients, self.psi
        s1, s2 = self.tau
        return HSROC(
            Theta=float(0.5 * (math.sqrt(s2 / s1) * c[0] + math.sqrt(s1 / s2) * c[1])),
            Lambda=float(math.sqrt(s2 / s1) * c[0] - math.sqrt(s1 / s2) * c[1]),
            beta=float(math.log(s2 / s1)),
            sigma2theta=float(0.5 * (s1 * s2 + psi[0, 1])),
            sigma2alpha=float(2 * (s1 * s2 - psi[0, 1])),
        )

    def sroc(self, fpr: Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
        """Rutter–Gatsonis SROC: sens = expit(Λ e^{−β/2} + e^{−β} logit FPR) (``mada::sroc``, fpr = 1:99/100)."""
        h = self.hsroc
        x = np.arange(1, 100) / 100 if fpr is None else np.asarray(fpr, dtype=float)
        sens = expit(h.Lambda * math.exp(-h.beta / 2) + math.exp(-h.beta) * logit(x))
        return pd.DataFrame({"fpr": x, "sensitivity": sens})

    def auc(self) -> tuple[float, float]:
        """(AUC, partial AUC over the observed FPR range) by mada's trapezoid rule on 99 points."""
        def trap(s: np.ndarray) -> float:
            return float((s[0] / 2 + s[1:-1].sum() + s[-1] / 2) / len(s))

        full = trap(self.sroc()["sensitivity"].to_numpy())
        raw = self.cells.raw
        obs = raw.fp / (raw.fp + raw.tn)
        lo, hi = max(0.01, float(obs.min())), min(0.99, float(obs.max()))
        part = trap(self.sroc(np.linspace(lo, hi, 99))["sensitivity"].to_numpy())
        return full, part

    # -- regions
    def _ellipse(self, sigma: np.ndarray, level: float | None, npoints: int) -> pd.DataFrame:
        """``ellipse::ellipse`` on the logit scale, mapped back to (FPR, sensitivity)."""
        level = self.level if level is None else level
        t = math.sqrt(stats.chi2.ppf(level, 2))
        scale = np.sqrt(np.diag(sigma))
        r = sigma[0, 1] / (scale[0] * scale[1]) if scale.min() > 0 else 0.0
        d = math.acos(min(max(r, -1.0), 1.0))
        a = np.linspace(0, 2 * math.pi, npoints)
        ls = t * scale[0] * np.cos(a + d / 2) + self.mu[0]
        lf = t * scale[1] * np.cos(a - d / 2) + self.mu[1]
        return pd.DataFrame({"fpr": expit(lf), "sensitivity": expit(ls)})

    def confidence_region(self, level: float | None = None, npoints: int = 100) -> pd.DataFrame:
        """Confidence region of the summary point (``mada:::ROC.ellipse2``)."""
        return self._ellipse(self.vcov[:2, :2], level, npoints)

    def prediction_region(self, level: float | None = None, npoints: int = 100) -> pd.DataFrame:
        """Prediction region for a new study's (FPR, sensitivity): ellipse of Ψ + Var(β), as ``plot.reitsma(predict=TRUE)``."""
        return self._ellipse(self.psi + self.vcov[:2, :2], level, npoints)

    def predictive_logits(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of a new study's (logit sens, logit FPR): (μ̂, Ψ + Var(μ̂)), behind :meth:`predictive`."""
        self._require_summary()
        return self.mu.copy(), self.psi + self.vcov[:2, :2]

    def predictive(self, level: float | None = None, n_draws: int = 200_000, seed: int = 20261206) -> dict[str, Estimate]:
        """What a new study (or a new patient's setting) may show: the predictive distribution
        (logit sens, logit FPR) ~ N(μ̂, Ψ + Var(μ̂)), the distribution behind the prediction region.

        Sensitivity and specificity: the median and the central ``level`` interval, exact
        (expit of normal quantiles). LR+, LR− and DOR: the median and interval of ``n_draws``
        Monte Carlo draws (numpy's default generator with the fixed, reported ``seed``); DOR's
        are exact as well, since log DOR is normal.
        """
        level = self.level if level is None else level
        mu, sigma = self.predictive_logits()
        z = stats.norm.ppf(1 - (1 - level) / 2)
        sd = np.sqrt(np.diag(sigma))
        mu = self.mu
        out = {
            "sensitivity": Estimate(float(expit(mu[0])), float(expit(mu[0] - z * sd[0])), float(expit(mu[0] + z * sd[0]))),
            "specificity": Estimate(float(1 - expit(mu[1])), float(1 - expit(mu[1] + z * sd[1])),
                                    float(1 - expit(mu[1] - z * sd[1]))),
        }
        sd_dor = math.sqrt(sigma[0, 0] + sigma[1, 1] - 2 * sigma[0, 1])
        ldor = mu[0] - mu[1]
        out["dor"] = Estimate(math.exp(ldor), math.exp(ldor - z * sd_dor), math.exp(ldor + z * sd_dor))
        draws = np.random.default_rng(seed).multivariate_normal(mu, sigma, size=n_draws, method="cholesky")
        se, fpr = expit(draws[:, 0]), expit(draws[:, 1])
        q = [(1 - level) / 2, 0.5, 1 - (1 - level) / 2]
        for name, values in (("lr_positive", se / fpr), ("lr_negative", (1 - se) / (1 - fpr))):
            lo, med, hi = np.quantile(values, q)
            out[name] = Estimate(float(med), float(lo), float(hi))
        return out

    # -- regression
    def predict_logits(self, covariates: pd.DataFrame | Mapping[str, Sequence]) -> pd.DataFrame:
        """Summary (logit sens, logit FPR) and their SEs at given design rows (columns as ``coef_names[:p]``)."""
        p = self.n_fixed // 2
        names = [n.split(".", 1)[1] for n in self.coef_names[:p]]
        frame = pd.DataFrame(covariates)
        Xn = np.column_stack([np.ones(len(frame)) if n == "(Intercept)" else frame[n].to_numpy(float) for n in names])
        out = {}
        for k, lab in enumerate(("tsens", "tfpr")):
            b = self.coefficients[k * p:(k + 1) * p]
            V = self.vcov[k * p:(k + 1) * p, k * p:(k + 1) * p]
            out[lab] = Xn @ b
            out[f"{lab}_se"] = np.sqrt(np.einsum("ij,jk,ik->i", Xn, V, Xn))
        return pd.DataFrame(out)

    def summary(self) -> dict:
        """A plain dictionary (JSON-ready) of the main results."""
        out: dict = {
            "model": "bivariate random effects (Reitsma), REML",
            "n_studies": self.n_studies,
            "continuity_corrected": self.cells.corrected,
            "coefficients": self.coef_table().reset_index(names="name").to_dict(orient="records"),
            "tau_sens": float(self.tau[0]),
            "tau_fpr": float(self.tau[1]),
            "rho": self.rho,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "level": self.level,
            "converged": self.converged,
            "psi_singular": self.psi_singular,
        }
        if not self.is_regression:
            for name in ("sensitivity", "specificity", "false_positive_rate", "lr_positive", "lr_negative", "dor"):
                e = getattr(self, name)
                out[name] = {"estimate": e.estimate, "lower": e.lower, "upper": e.upper}
            if np.min(np.diag(self.psi)) >= 1e-10:
                out["hsroc"] = self.hsroc.__dict__
                out["auc"], out["pauc"] = self.auc()
        return out


def fit_reitsma(
    tp: Sequence[float],
    fp: Sequence[float],
    fn: Sequence[float],
    tn: Sequence[float],
    covariates: pd.DataFrame | Mapping[str, Sequence] | None = None,
    *,
    correction: float = 0.5,
    correction_control: CorrectionControl = "all",
    level: float = 0.95,
) -> ReitsmaFit:
    """Fit the bivariate model by REML, as ``mada::reitsma(data, formula = cbind(tsens, tfpr) ~ covariates)``.

    ``covariates`` (optional) enter both logit sensitivity and logit FPR (mada's formula interface);
    text/categorical columns become treatment dummies with the first level as reference.
    """
    cells = prepare_cells(tp, fp, fn, tn, correction, correction_control)
    n = len(cells.tp)
    if n < 3:
        raise ValueError("the bivariate model needs at least 3 studies (fit_accuracy() falls back below 4)")
    pos, neg = cells.tp + cells.fn, cells.fp + cells.tn
    sens, fpr = cells.tp / pos, cells.fp / neg
    y = np.column_stack([logit(sens), logit(fpr)])
    v = np.column_stack([1 / (pos * sens * (1 - sens)), 1 / (neg * fpr * (1 - fpr))])
    X, xnames = _design(covariates, n)
    if n * 2 - 2 * X.shape[1] < 3:
        raise ValueError("too few studies for the number of coefficients and 3 variance parameters")
    problem = _Problem(y, v, X)
    par, converged, nit = _maximise(problem)
    psi = problem.psi(par)
    _, _, _, A, _, beta = problem.gls(psi)
    ll = problem.loglik(par)
    jac = np.sum(np.log(1 / sens + 1 / (1 - sens)) + np.log(1 / fpr + 1 / (1 - fpr)))
    names = [f"tsens.{x}" for x in xnames] + [f"tfpr.{x}" for x in xnames]
    return ReitsmaFit(
        coef_names=names,
        coefficients=beta,
        vcov=np.linalg.inv(A),
        psi=psi,
        loglik_reml=ll,
        loglik=float(ll + jac),
        n_studies=n,
        level=level,
        converged=converged,
        iterations=nit,
        cells=cells,
        design=X,
    )
