"""Optimism-corrected validation exactly as ``rms::validate.lrm`` defines it.

Bootstrap (Efron–Gong optimism): each resample's model is scored on the resample
("training") and on the original rows ("test"); optimism = mean(training) −
mean(test); corrected = apparent − optimism. Cross-validation (``method=
"crossvalidation"``, ``B`` folds) scores each fold's model on its held-out rows.

The indexes (rows) and columns are those of ``validate.lrm`` (rms 6.5):
``Dxy`` (Somers' D, 2(C − ½)), ``R2`` (Nagelkerke), ``Intercept`` and ``Slope`` of
the recalibration ``y ~ a + b·lp`` on test rows, ``Emax`` (maximum |p − calibrated p|
from the corrected intercept and slope), ``D`` = (LR − 1)/n, ``U`` = unreliability,
``Q`` = D − U, ``B`` = Brier score of the uncalibrated predictions, ``g`` (Gini's mean
difference of lp), ``gp`` (of the probabilities).

Resamples are fitted many at once (frequency weights on the original rows; see
``newton_logistic_batch``); with ``rng="R"`` the resamples are those R draws after
``set.seed(seed)``, so results agree with R's to rounding error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from imln.modeling._design import ModelingInputError
from imln.modeling._fit import (
    LogisticModel,
    _full_penalty,
    _with_intercept,
    design_products,
    newton_logistic,
    newton_logistic_batch,
    single_threaded_blas,
)
from imln.modeling._rng import IndexSampler, RngKind, make_rng
from imln.modeling._stats import (
    batched_c_index,
    batched_gini_md,
    binomial_deviance,
    gini_md,
    gini_weights,
    log_expit,
    logistic_recalibration,
    nagelkerke_r2,
    null_deviance,
    somers2,
    sort_rows,
)

INDEX_NAMES = ("Dxy", "R2", "Intercept", "Slope", "Emax", "D", "U", "Q", "B", "g", "gp")
COLUMNS = ("index.orig", "training", "test", "optimism", "index.corrected", "n")
_BASE = ("Dxy", "R2", "Intercept", "Slope", "D", "U", "Q", "B", "g", "gp")  # order inside rms's discrim()
Progress = Callable[[int, int], None]
Method = Literal["boot", "crossvalidation"]


@dataclass(frozen=True)
class ValidationResult:
    """A ``validate.lrm`` table plus how it was produced."""

    table: pd.DataFrame
    method: Method
    B: int
    seed: int
    rng: RngKind
    failed_resamples: tuple[int, ...] = field(default=())
    elapsed_seconds: float = 0.0
    monte_carlo_se: pd.Series | None = None  # SE of each optimism (hence corrected index) from resampling

    @property
    def n_failed(self) -> int:
        return len(self.failed_resamples)

    @property
    def corrected(self) -> pd.Series:
        return self.table["index.corrected"]

    @property
    def corrected_c_index(self) -> float:
        return 0.5 + self.table.loc["Dxy", "index.corrected"] / 2

    def describe(self) -> str:
        kind = "bootstrap" if self.method == "boot" else f"{self.B}-fold cross-validation"
        what = f"B={self.B} resamples" if self.method == "boot" else f"{self.B} folds"
        fail = (f"; {self.n_failed} resample(s) did not converge and were dropped "
                f"(#{', #'.join(map(str, self.failed_resamples[:10]))}{'…' if self.n_failed > 10 else ''})"
                if self.n_failed else "; all fits converged")
        return f"{kind} validation, {what}, seed {self.seed} (rng={self.rng}){fail}"


def _score_resamples(y: np.ndarray, eta: np.ndarray, counts: np.ndarray, null_orig: float,
                     penalty_terms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training and test indexes of ``m`` resample fits, each shape (m, 10).

    ``eta`` holds each resample model's linear predictor on the original rows;
    ``counts`` how often each row was drawn. Training indexes are those of the
    resample (rms ``discrim(evalfit=TRUE)``: read from the fit), test indexes those
    on the original rows (``discrim(evalfit=FALSE)``: after refitting y ~ a + b·lp).
    Everything is computed on each row sorted by lp, which the rank statistics need.
    ``penalty_terms`` (β'Pβ of each penalised fit) enter the training LR as in
    ``lrm.fit``, whose likelihood-ratio statistic is penalised.
    """
    m, n = eta.shape
    srt = sort_rows(eta)
    xs = srt.values
    ys = y[srt.order]
    cs = np.take_along_axis(counts, srt.order, axis=1)
    ps = expit(xs)
    dev_terms = log_expit(ps, xs)  # -log L_i = (1 - y_i)·lp_i − log p_i  (accurate to |lp|·eps)
    np.subtract((1.0 - ys) * xs, dev_terms, out=dev_terms)
    train = np.empty((m, 10))
    test = np.empty((m, 10))

    # training: the resample itself (frequency weights)
    total = float(n)
    dev = 2 * np.einsum("ij,ij->i", cs, dev_terms)
    if penalty_terms is not None:
        dev = dev + penalty_terms
    null = null_deviance(ys, cs)
    lr = null - dev
    cum = np.cumsum(cs, axis=1)
    gw = gini_weights(cs, n, cum)
    train[:, 0] = 2 * (batched_c_index(srt, ys, cs, cum) - 0.5)
    train[:, 1] = nagelkerke_r2(lr, null, total)
    train[:, 2] = 0.0
    train[:, 3] = 1.0
    train[:, 4] = (lr - 1) / total
    train[:, 5] = -2 / total
    train[:, 6] = train[:, 4] - train[:, 5]
    resid2 = (ys - ps) ** 2
    train[:, 7] = np.einsum("ij,ij->i", cs, resid2) / total
    train[:, 8] = batched_gini_md(xs, weights=gw)
    train[:, 9] = batched_gini_md(ps, weights=gw)

    # test: the original rows, after recalibrating y ~ a + b·lp
    a, b, dev_refit, ok, p_refit = logistic_recalibration(xs, ys, prob_at_start=ps)
    lr_test = null_orig - dev_refit
    test[:, 0] = 2 * (batched_c_index(srt, ys) - 0.5)
    test[:, 1] = nagelkerke_r2(lr_test, null_orig, total)
    test[:, 2] = a
    test[:, 3] = b
    test[:, 4] = (lr_test - 1) / total
    l01 = 2 * dev_terms.sum(axis=1)
    test[:, 5] = (l01 - dev_refit - 2) / total
    test[:, 6] = test[:, 4] - test[:, 5]
    test[:, 7] = resid2.mean(axis=1)
    gw1 = gini_weights(None, n)
    test[:, 8] = np.abs(b) * batched_gini_md(xs, weights=gw1)
    test[:, 9] = batched_gini_md(p_refit, weights=gw1)
    test[~ok, 1:7] = np.nan  # refit failed: rms gives NA for the refit-based indexes
    test[~ok, 8:] = np.nan
    return train, test


def _discrim_single(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Test indexes of one linear predictor on a subset (used by cross-validation)."""
    a, b, dev, ok, _ = logistic_recalibration(x[None, :], y)
    n = y.size
    null = float(null_deviance(y))
    lr = null - dev[0]
    d = (lr - 1) / n
    u = (float(binomial_deviance(x, y)) - dev[0] - 2) / n
    return np.array([
        somers2(x, y)[1], nagelkerke_r2(lr, null, n), a[0], b[0], d, u, d - u,
        np.mean((y - expit(x)) ** 2), abs(b[0]) * gini_md(x), gini_md(expit(a[0] + b[0] * x)),
    ])


def _apparent(model: LogisticModel) -> np.ndarray:
    s = model.stats_
    n = s.n
    d = (s.lr_chi2 - 1) / n
    u = -2 / n
    return np.array([s.dxy, s.r2, 0.0, 1.0, d, u, d - u, s.brier, s.g, s.gp])


def emax_from_calibration(intercept: float, slope: float, lim: tuple[float, float] = (0.0, 1.0)) -> float:
    """max |p − plogis(a + b·logit p)| over p in a 0.0005 grid (as ``validate.lrm``)."""
    p = np.arange(lim[0], lim[1] + 1e-12, 0.0005)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logit = np.log(p / (1 - p))
        cal = expit(intercept + slope * logit)
        return float(np.nanmax(np.abs(p - cal)))


class _Accumulator:
    """Running sums of training and test indexes over resamples (NaN entries skipped, as rms)."""

    def __init__(self) -> None:
        self.train = np.zeros(10)
        self.test = np.zeros(10)
        self.num = np.zeros(10)
        self.diff_sq = np.zeros(10)

    def add(self, train: np.ndarray, test: np.ndarray) -> None:
        train = np.atleast_2d(train)
        test = np.atleast_2d(test)
        valid = ~np.isnan(train + test)
        diff = np.where(valid, train - test, 0.0)
        self.train += np.where(valid, train, 0.0).sum(axis=0)
        self.test += np.where(valid, test, 0.0).sum(axis=0)
        self.num += valid.sum(axis=0)
        self.diff_sq += (diff * diff).sum(axis=0)

    def monte_carlo_se(self) -> pd.Series:
        """Standard error of each optimism estimate: sd(training − test)/√n."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (self.train - self.test) / self.num
            var = (self.diff_sq - self.num * mean * mean) / (self.num - 1)
            se = np.sqrt(np.maximum(var, 0.0) / self.num)
        return pd.Series(se, index=list(_BASE), name="monte_carlo_se")

    def table(self, orig: np.ndarray) -> pd.DataFrame:
        with np.errstate(invalid="ignore", divide="ignore"):
            train = self.train / self.num
            test = self.test / self.num
        optimism = train - test
        corrected = orig - optimism
        rows = {name: [orig[k], train[k], test[k], optimism[k], corrected[k], self.num[k]]
                for k, name in enumerate(_BASE)}
        emax = emax_from_calibration(corrected[2], corrected[3])
        rows["Emax"] = [0.0, 0.0, emax, emax, emax, self.num[0]]
        table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS)).loc[list(INDEX_NAMES)]
        table["n"] = table["n"].astype(int)
        return table


def _auto_chunk(n: int, p: int) -> int:
    """Resamples per batch: arrays of about 1 MB keep the elementwise work in cache."""
    return int(max(8, min(128, 160_000 // max(n, 1))))


def validate(
    model: LogisticModel,
    *,
    B: int = 200,
    method: Method = "boot",
    seed: int = 1,
    rng: RngKind = "R",
    progress: Progress | None = None,
    chunk_size: int | None = None,
    n_threads: int = 2,
) -> ValidationResult:
    """Bootstrap (or cross-validated) optimism-corrected indexes of a fitted model.

    ``B`` is the number of resamples (``method="boot"``) or folds
    (``"crossvalidation"``). ``seed`` and ``rng="R"`` reproduce the resamples of
    ``set.seed(seed); validate(fit, B=B)`` in R. ``progress(done, total)`` is called
    as resamples finish. Resamples whose fit does not converge (separation) are
    dropped and listed in ``failed_resamples``, like rms does.
    """
    model._check_fitted()
    if B < 1 or int(B) != B:
        raise ModelingInputError(f"B must be a positive integer (got {B})")
    if method not in ("boot", "crossvalidation"):
        raise ModelingInputError(f"method must be 'boot' or 'crossvalidation' (got {method!r})")
    start_time = time.perf_counter()
    sampler = make_rng(seed, rng)
    X1 = _with_intercept(model.X_)
    y = model.y_
    n = y.size
    orig = _apparent(model)
    pen_full = _full_penalty(model.penalty_matrix_, model.X_.shape[1]) if model.penalty_matrix_ is not None else None
    if method == "crossvalidation":
        acc, failed = _crossvalidate(model, X1, y, B, sampler, pen_full, progress)
    else:
        acc, failed = _bootstrap(model, X1, y, B, sampler, pen_full, progress,
                                 chunk_size or _auto_chunk(n, X1.shape[1]), n_threads)
    return ValidationResult(acc.table(orig), method, int(B), int(seed), rng, tuple(failed),
                            time.perf_counter() - start_time, acc.monte_carlo_se())


def _bootstrap(model: LogisticModel, X1: np.ndarray, y: np.ndarray, B: int, sampler: IndexSampler,
               pen_full: np.ndarray | None, progress: Progress | None, chunk: int, n_threads: int
               ) -> tuple[_Accumulator, list[int]]:
    """Bootstrap resamples in chunks: drawn in R's order, fitted and scored in worker threads."""
    n = y.size
    beta_hat = model.coef_.to_numpy()
    products = design_products(X1)
    null = float(null_deviance(y))

    X1T = np.ascontiguousarray(X1.T)

    def work(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        beta, ok, _ = newton_logistic_batch(X1, y, counts, beta_hat, penalty_full=pen_full, products=products)
        b = beta[ok]
        pen_terms = None if pen_full is None else np.einsum("ij,jk,ik->i", b, pen_full, b)
        train, test = _score_resamples(y, b @ X1T, counts[ok], null, pen_terms)
        return ok, train, test

    acc = _Accumulator()
    failed: list[int] = []
    done = 0
    starts = list(range(0, B, chunk))

    def draw(first: int) -> np.ndarray:
        m = min(chunk, B - first)
        idx = sampler.sample_with_replacement(n, n * m).reshape(m, n)
        flat = (idx + (np.arange(m) * n)[:, None]).ravel()
        return np.bincount(flat, minlength=m * n).reshape(m, n).astype(float)

    def absorb(first: int, result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        nonlocal done
        ok, train, test = result
        failed.extend(first + int(k) + 1 for k in np.flatnonzero(~ok))
        acc.add(train, test)
        done += ok.size
        if progress:
            progress(done, B)

    # our threads share the cores; BLAS (tiny products here) runs single-threaded inside each
    with single_threaded_blas():
        _run_chunks(starts, draw, work, absorb, n_threads)
    return acc, sorted(failed)


def _run_chunks(starts: list[int], draw: Callable[[int], np.ndarray],
                work: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
                absorb: Callable[[int, tuple[np.ndarray, np.ndarray, np.ndarray]], None], n_threads: int) -> None:
    """Draw chunks in order (R's stream), fit them in ``n_threads`` workers, absorb results in order."""
    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            pending = []
            for first in starts:  # draws stay in R's order; fits run in parallel
                pending.append((first, pool.submit(work, draw(first))))
                while len(pending) > n_threads:
                    f0, fut = pending.pop(0)
                    absorb(f0, fut.result())
            for f0, fut in pending:
                absorb(f0, fut.result())
    else:
        for first in starts:
            absorb(first, work(draw(first)))


def _crossvalidate(model: LogisticModel, X1: np.ndarray, y: np.ndarray, B: int, sampler: IndexSampler,
                   pen_full: np.ndarray | None, progress: Progress | None) -> tuple[_Accumulator, list[int]]:
    """rms's B-group cross-validation: fold i holds rows is..ie of one random permutation."""
    n = y.size
    if n / B < 2:
        raise ModelingInputError(f"B={B} folds leaves fewer than 2 rows per fold (n={n}); use B <= {n // 2}")
    per_group = n / B
    order = sampler.permutation(n)
    acc = _Accumulator()
    failed: list[int] = []
    pen = None if pen_full is None else pen_full[1:, 1:]
    for i in range(1, B + 1):
        start = 1 + int(np.round((i - 1) * per_group))
        end = min(n, int(np.round(start + per_group - 1)))
        test_idx = order[start - 1:end]
        train_mask = np.ones(n, dtype=bool)
        train_mask[test_idx] = False
        Xt, yt = model.X_[train_mask], y[train_mask]
        try:
            res = newton_logistic(Xt, yt, penalty_matrix=pen, start=model.coef_.to_numpy())
        except ModelingInputError:
            failed.append(i)
            continue
        x_all = X1 @ res.coef
        xt = x_all[train_mask]
        nt = yt.size
        null_t = float(null_deviance(yt))
        lr = null_t - res.deviance
        if pen is not None:  # lrm.fit's LR (and R2) are penalised
            lr -= float(res.coef[1:] @ pen @ res.coef[1:])
        d = (lr - 1) / nt
        train = np.array([
            somers2(xt, yt)[1], nagelkerke_r2(lr, null_t, nt), 0.0, 1.0, d, -2 / nt, d + 2 / nt,
            np.mean((yt - expit(xt)) ** 2), gini_md(xt), gini_md(expit(xt)),
        ])
        test = _discrim_single(x_all[test_idx], y[test_idx])
        acc.add(train, test)
        if progress:
            progress(i, B)
    return acc, failed
