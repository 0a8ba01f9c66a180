"""Logistic regression as ``rms::lrm`` fits it: Newton–Raphson maximum likelihood,
optional quadratic penalty (``lrm(..., penalty=)``), and the statistics lrm prints.

``newton_logistic`` fits one model; ``newton_logistic_batch`` fits many weighted
versions of the same design at once (one row of frequency weights per bootstrap
resample), which is what makes ``validate`` fast: the Hessians of all resamples are
one matrix product ``W @ Z`` where ``Z`` holds the products of design columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.special import expit

from imln.modeling._design import (
    Categorical,
    CompleteCaseReport,
    Design,
    ModelingInputError,
    Term,
    as_dataframe,
    check_events,
    code_outcome,
    complete_cases,
    events_per_parameter,
    learn_design,
    parse_formula,
)
from imln.modeling._stats import (
    binomial_deviance,
    gini_md,
    nagelkerke_r2,
    null_deviance,
    somers2,
)

# Resampling fits stop when the Newton decrement (the squared step in standard-error units) falls
# below this: the last step was under 1e-5 SE, so by quadratic convergence the estimate is within
# ~1e-10 SE of the maximum — far inside R's own convergence slack, at one Newton step less than 1e-14.
NEWTON_TOL = 1e-10
# ... and only if the decrement also fell by at least this factor in the last step. Newton converges
# quadratically when a maximum exists; under separation the coefficients drift off to infinity and the
# decrement shrinks only geometrically (by ~e per step), so without this test such fits would "converge".
SUPERLINEAR = 0.01


class ConvergenceError(ModelingInputError):
    """The likelihood has no finite maximum (separation) or the design is singular."""


@dataclass(frozen=True)
class NewtonResult:
    """One Newton–Raphson fit."""

    coef: np.ndarray
    information: np.ndarray  # penalised observed information at coef
    deviance: float  # -2 log-likelihood, unpenalised
    n_iter: int
    converged: bool
    max_abs_score: float


def _with_intercept(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X])


def _full_penalty(penalty_matrix: np.ndarray | None, p: int) -> np.ndarray:
    full = np.zeros((p + 1, p + 1))
    if penalty_matrix is not None:
        full[1:, 1:] = penalty_matrix
    return full


def singular_columns(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Design columns that are linear combinations of the intercept and the columns before them."""
    X1 = _with_intercept(X)
    scale = np.abs(X1).max(axis=0)
    scale[scale == 0] = 1
    r = linalg.qr(X1 / scale, mode="r")[0]
    diag = np.abs(np.diag(r))
    names1 = ["Intercept", *names]
    return [names1[i] for i in range(X1.shape[1]) if diag[i] <= 1e-9 * max(diag.max(), 1e-300)]


def _separation_error(max_iter: int, beta: np.ndarray) -> ConvergenceError:
    return ConvergenceError(
        f"logistic regression did not converge in {max_iter} iterations "
        f"(largest |coefficient| {np.nanmax(np.abs(beta)):.3g}); the outcome is probably perfectly "
        "predicted by some predictor (separation) — check sparse categories or use penalty="
    )


def newton_logistic(
    X: np.ndarray,
    y: np.ndarray,
    *,
    penalty_matrix: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    column_names: Sequence[str] | None = None,
) -> NewtonResult:
    """Maximise the (penalised) log-likelihood; ``X`` excludes the intercept column.

    Starts, like ``lrm.fit``, from the intercept-only fit; stops when the Newton step
    is below 1e-10 standard errors. Raises :class:`ConvergenceError` on separation or
    a singular design, naming the offending columns.
    """
    X1 = _with_intercept(np.asarray(X, dtype=float))
    y = np.asarray(y, dtype=float)
    p1 = X1.shape[1]
    P = _full_penalty(penalty_matrix, p1 - 1)
    if start is None:
        beta = np.zeros(p1)
        ybar = y.mean()
        beta[0] = np.log(ybar / (1 - ybar))
    else:
        beta = np.array(start, dtype=float)

    def objective(b: np.ndarray) -> float:
        return float(binomial_deviance(X1 @ b, y) + b @ P @ b)

    obj = objective(beta)
    converged = False
    info = np.eye(p1)
    it = 0
    previous = np.inf
    for it in range(1, max_iter + 1):
        eta = X1 @ beta
        prob = expit(eta)
        w = prob * (1 - prob)
        score = X1.T @ (y - prob) - P @ beta
        info = (X1 * w[:, None]).T @ X1 + P
        try:
            chol = linalg.cho_factor(info)
            step = linalg.cho_solve(chol, score)
        except linalg.LinAlgError:
            bad = singular_columns(X, column_names or [f"x{i}" for i in range(X.shape[1])])
            if not bad:  # the design is fine: the fitted probabilities went to 0/1
                raise _separation_error(it, beta) from None
            raise ConvergenceError(
                f"the design matrix is singular (collinear columns: {bad}); remove or merge them"
            ) from None
        decrement = float(score @ step)
        new = beta + step
        new_obj = objective(new)
        halvings = 0
        while not (new_obj <= obj + 1e-9 * abs(obj)) and halvings < 30:  # step-halving, as lrm.fit
            step /= 2
            new = beta + step
            new_obj = objective(new)
            halvings += 1
        beta, obj = new, new_obj
        if decrement < 1e-20 and decrement <= SUPERLINEAR * previous:
            converged = True
            break
        previous = decrement
    eta = X1 @ beta
    prob = expit(eta)
    w = prob * (1 - prob)
    info = (X1 * w[:, None]).T @ X1 + P
    score = X1.T @ (y - prob) - P @ beta
    if not converged or not np.all(np.isfinite(beta)):
        raise _separation_error(max_iter, beta)
    return NewtonResult(beta, info, float(binomial_deviance(eta, y)), it, converged, float(np.abs(score).max()))


def design_products(X1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column products ``Z[:, k] = X1[:, i_k] * X1[:, j_k]`` for i <= j, and (i, j)."""
    i, j = np.triu_indices(X1.shape[1])
    return X1[:, i] * X1[:, j], i, j


def newton_logistic_batch(
    X1: np.ndarray,
    y: np.ndarray,
    counts: np.ndarray,
    start: np.ndarray,
    *,
    penalty_full: np.ndarray | None = None,
    products: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    max_iter: int = 25,
    tol: float = NEWTON_TOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``m`` frequency-weighted logistic models sharing design ``X1`` (with intercept).

    ``counts`` is (m, n): how often each subject appears in each resample. Every fit
    starts at ``start`` (the full-data estimate) and takes undamped Newton steps until
    the Newton decrement (squared step in standard-error units) is below ``tol`` and
    still falling superlinearly (see ``SUPERLINEAR``).
    Returns coefficients (m, p), a converged flag and the iteration count per fit.
    Fits that have not converged after ``max_iter`` steps, or go non-finite, are
    flagged (separation in the resample).
    """
    m = counts.shape[0]
    p = X1.shape[1]
    X1T = np.ascontiguousarray(X1.T)
    Z, ii, jj = products if products is not None else design_products(X1)
    beta = np.tile(np.asarray(start, dtype=float), (m, 1))
    converged = np.zeros(m, dtype=bool)
    iterations = np.zeros(m, dtype=int)
    active = np.arange(m)
    H = np.empty((m, p, p))
    previous = np.full(m, np.inf)
    start = np.asarray(start, dtype=float)
    p0 = expit(X1 @ start)
    for it in range(1, max_iter + 1):
        b = beta[active]
        c = counts[active] if active.size < m else counts
        if it == 1:  # every fit starts at the same point: score and Hessian are products with counts
            score = c @ (X1 * (y - p0)[:, None])
            hq = c @ (Z * (p0 * (1 - p0))[:, None])
        else:
            prob = b @ X1T
            expit(prob, out=prob)
            wgt = 1.0 - prob
            wgt *= prob
            wgt *= c
            np.subtract(y, prob, out=prob)
            prob *= c  # prob now holds the weighted residuals
            score = prob @ X1
            hq = wgt @ Z
        Ha = H[: active.size]
        Ha[:, ii, jj] = hq
        Ha[:, jj, ii] = hq
        if penalty_full is not None:
            score -= b @ penalty_full
            Ha += penalty_full
        try:
            step = np.linalg.solve(Ha, score[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.full_like(score, np.nan)
            for k in range(active.size):
                try:
                    step[k] = np.linalg.solve(Ha[k], score[k])
                except np.linalg.LinAlgError:
                    pass
        decrement = np.einsum("ij,ij->i", score, step)
        b += step
        beta[active] = b
        iterations[active] = it
        finite = np.isfinite(decrement) & np.all(np.isfinite(b), axis=1)
        done = finite & (decrement < tol) & (decrement <= SUPERLINEAR * previous[active])
        previous[active] = decrement
        converged[active[done]] = True
        active = active[finite & ~done]
        if active.size == 0:
            break
    return beta, converged, iterations


_BLAS_CONTROLLER: list = []


def single_threaded_blas():
    """Let our own worker threads share the cores instead of BLAS's (if threadpoolctl is there)."""
    import contextlib

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def rms_penalty_matrix(design: Design, X: np.ndarray) -> np.ndarray:
    """``rms:::Penalty.matrix``: column variances for continuous terms, and
    ``I - 1/(k+1)`` for a categorical term with k dummy columns (unscaled)."""
    v = X.var(axis=0, ddof=1)
    pen = np.diag(v)
    for term, sl in zip(design.terms, design.term_slices(), strict=True):
        if isinstance(term.term, Categorical):
            k = sl.stop - sl.start
            pen[sl, sl] = np.eye(k) - 1 / (k + 1)
    return pen


@dataclass(frozen=True)
class FitStatistics:
    """The model statistics ``rms::lrm`` prints (C and Dxy exact, not binned)."""

    n: int
    events: int
    lr_chi2: float
    df: float
    p_value: float
    c_index: float
    dxy: float
    r2: float
    brier: float
    g: float
    gr: float
    gp: float
    max_abs_score: float
    events_per_parameter: float

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _apparent_statistics(X1: np.ndarray, y: np.ndarray, beta: np.ndarray, lr: float, df: float,
                         max_score: float, lr_for_r2: float | None = None) -> FitStatistics:
    eta = X1 @ beta
    prob = expit(eta)
    c, dxy = somers2(eta, y)
    null = float(null_deviance(y))
    n = y.size
    g = gini_md(eta)
    return FitStatistics(
        n=int(n), events=int(y.sum()), lr_chi2=lr, df=df,
        p_value=float(stats.chi2.sf(lr, df)) if df > 0 else 1.0,
        c_index=c, dxy=dxy, r2=float(nagelkerke_r2(lr if lr_for_r2 is None else lr_for_r2, null, n)),
        brier=float(np.mean((prob - y) ** 2)), g=g, gr=float(np.exp(g)), gp=gini_md(prob),
        max_abs_score=max_score, events_per_parameter=events_per_parameter(y, X1.shape[1] - 1),
    )


class LogisticModel:
    """Binary logistic regression with rms-style terms (``rcs``, ``cat``), like ``rms::lrm``.

    Example::

        model = LogisticModel("rcs(age, 4) + cat(size) + log1p(pgr)").fit(df, outcome="nodepos")
        model.summary()          # coefficients, SEs, Wald z, p, CIs, odds ratios
        model.predict_proba(df)  # risks for new rows

    Rows with a missing value in the outcome or any predictor are left out (rms's
    ``na.delete``); ``complete_cases_`` says how many and which columns caused it.
    ``penalty`` (λ ≥ 0) maximises ``logL - λ/2 β'Pβ`` with rms's penalty matrix P
    (``lrm(..., penalty=λ)``), whose variance is then ``var.penalty="simple"``.
    """

    def __init__(self, formula: str | Sequence[Term], *, penalty: float = 0.0, min_events: int = 10) -> None:
        if penalty < 0:
            raise ModelingInputError(f"penalty must be >= 0 (got {penalty})")
        self.formula = formula
        self.penalty = float(penalty)
        self.min_events = int(min_events)

    # ---------------------------------------------------------------- fitting
    def fit(self, data: pd.DataFrame | Mapping[str, Sequence[Any]], outcome: str, *, event: Any = None
            ) -> LogisticModel:
        """Fit on the complete cases of ``data``; ``outcome`` names the binary outcome column."""
        data = as_dataframe(data)
        terms = parse_formula(self.formula)
        predictors = list(dict.fromkeys(t.column for t in terms))
        if outcome in predictors:
            raise ModelingInputError(f"outcome {outcome!r} also appears as a predictor in the formula")
        used, report = complete_cases(data, [outcome, *predictors])
        if report.n_used == 0:
            raise ModelingInputError(f"no complete rows: {report.describe()}")
        y, event_label = code_outcome(used[outcome], outcome, event)
        check_events(y, outcome, self.min_events)
        design = learn_design(terms, used)
        X = design.matrix(used)
        pen = rms_penalty_matrix(design, X) * self.penalty if self.penalty > 0 else None
        result = newton_logistic(X, y, penalty_matrix=pen, column_names=design.column_names)
        X1 = _with_intercept(X)
        null = float(null_deviance(y))
        cov = np.linalg.inv(result.information)
        lr = null - result.deviance
        lr_for_r2 = None
        df = float(X.shape[1])
        if pen is not None:
            # as rms::lrm: LR of the penalised estimates on the unpenalised likelihood, effective
            # d.f. = trace(I_unpenalised · V) over the slopes; R2 from the *penalised* LR (lrm.fit)
            prob = expit(X1 @ result.coef)
            info_unpen = (X1 * (prob * (1 - prob))[:, None]).T @ X1
            df = float(np.diag(info_unpen @ cov)[1:].sum())
            lr_for_r2 = lr - float(result.coef[1:] @ pen @ result.coef[1:])
        names = ["Intercept", *design.column_names]
        self.design_ = design
        self.terms_ = terms
        self.outcome_ = outcome
        self.event_ = event_label
        self.complete_cases_: CompleteCaseReport = report
        self.X_ = X
        self.y_ = y
        self.penalty_matrix_ = pen
        self.coef_ = pd.Series(result.coef, index=names, name="coef")
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.deviance_ = (null, result.deviance)
        self.n_iter_ = result.n_iter
        self.stats_ = _apparent_statistics(X1, y, result.coef, lr, df, result.max_abs_score, lr_for_r2)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("this LogisticModel is not fitted yet; call fit(data, outcome=...) first")

    # ---------------------------------------------------------------- results
    @property
    def column_names(self) -> list[str]:
        self._check_fitted()
        return list(self.coef_.index[1:])

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Coefficient table: estimate, SE, Wald z and p, (1-alpha) CI, odds ratio and its CI."""
        self._check_fitted()
        se = np.sqrt(np.diag(self.cov_.to_numpy()))
        coef = self.coef_.to_numpy()
        z = coef / se
        q = stats.norm.ppf(1 - alpha / 2)
        table = pd.DataFrame(
            {
                "coef": coef, "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower": coef - q * se, "ci_upper": coef + q * se,
            },
            index=self.coef_.index,
        )
        table["odds_ratio"] = np.exp(table["coef"])
        table["or_ci_lower"] = np.exp(table["ci_lower"])
        table["or_ci_upper"] = np.exp(table["ci_upper"])
        table.loc["Intercept", ["odds_ratio", "or_ci_lower", "or_ci_upper"]] = np.nan
        return table

    def linear_predictor(self, data: pd.DataFrame | Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Log-odds for each row (rows with missing predictors give NaN)."""
        self._check_fitted()
        data = as_dataframe(data)
        out = np.full(len(data), np.nan)
        used, _ = complete_cases(data, self.design_.columns_used)
        if len(used):
            pos = data.index.get_indexer(used.index)
            out[pos] = self.coef_.iloc[0] + self.design_.matrix(used) @ self.coef_.to_numpy()[1:]
        return out

    def predict_proba(self, data: pd.DataFrame | Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Predicted probability of the event for each row."""
        return expit(self.linear_predictor(data))

    @property
    def fitted_linear_predictor_(self) -> np.ndarray:
        self._check_fitted()
        return self.coef_.iloc[0] + self.X_ @ self.coef_.to_numpy()[1:]

    def describe(self) -> str:
        """A short plain-text account of the fit (rows used, events, fit statistics)."""
        self._check_fitted()
        s = self.stats_
        return (
            f"logistic model for {self.outcome_}={self.event_}: {self.complete_cases_.describe()}; "
            f"{s.events} events, {len(self.coef_) - 1} coefficients ({s.events_per_parameter:.1f} events per "
            f"coefficient); LR chi2 {s.lr_chi2:.2f} on {s.df:.2f} d.f., C {s.c_index:.3f}, R2 {s.r2:.3f}, "
            f"Brier {s.brier:.4f}" + (f"; penalty {self.penalty:g}" if self.penalty else "")
        )
