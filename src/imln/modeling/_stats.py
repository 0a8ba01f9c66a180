"""Rank and dispersion statistics as Hmisc computes them, one vector or many at once.

``somers2`` (C-index and Somers' Dxy from mid-ranks) and ``gini_md`` (Gini's mean
difference) follow ``Hmisc::somers2`` and ``Hmisc::GiniMd``. The batched versions
take a matrix of linear predictors (one row per bootstrap resample) and optional
frequency weights, so a resample can be scored without expanding it: a row used
``w`` times counts ``w`` times, exactly as the expanded sample would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit


def somers2(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(C, Dxy) of predictions ``x`` for binary ``y`` (``Hmisc::somers2``)."""
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n1 = y.sum()
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan"), float("nan")
    mean_rank = rankdata(x)[y == 1].mean()
    c = (mean_rank - (n1 + 1) / 2) / n0
    return float(c), float(2 * (c - 0.5))


def gini_md(x: np.ndarray) -> float:
    """Gini's mean difference, mean |x_i - x_j| over pairs (``Hmisc::GiniMd``)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n < 2:
        return float("nan")
    w = 4 * (np.arange(1, n + 1) - (n - 1) / 2) / n / (n - 1)
    return float(np.sum(w * (x - x.mean())))


def softplus(eta: np.ndarray) -> np.ndarray:
    """log(1 + exp(eta)), accurate for moderate and large |eta|."""
    out = np.log1p(np.exp(-np.abs(eta)))
    out += np.maximum(eta, 0)
    return out


def log_expit(prob: np.ndarray, eta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """log(plogis(eta)) from already computed ``prob = plogis(eta)``; exact where prob underflows."""
    out = np.log(prob, out=out)
    tiny = prob < 1e-250
    if tiny.any():
        out[tiny] = eta[tiny] - np.log1p(np.exp(eta[tiny]))
    return out


def binomial_deviance(eta: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """-2 log-likelihood of linear predictors ``eta`` (last axis = subjects)."""
    term = softplus(eta) - y * eta
    if weights is not None:
        term = term * weights
    return 2 * term.sum(axis=-1)


def null_deviance(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray | float:
    """-2 log-likelihood of the intercept-only model (rms ``deviance[1]``)."""
    if weights is None:
        n1 = y.sum()
        n = y.size
    else:
        n1 = (weights * y).sum(axis=-1) if np.ndim(y) == 2 else weights @ y
        n = weights.sum(axis=-1)
    n0 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -2 * (np.where(n1 > 0, n1 * np.log(n1 / n), 0.0) + np.where(n0 > 0, n0 * np.log(n0 / n), 0.0))
    return out


def nagelkerke_r2(lr: np.ndarray | float, null_dev: np.ndarray | float, n: float) -> np.ndarray | float:
    """Nagelkerke R² as ``lrm.fit`` computes it from the LR chi-square."""
    return (1 - np.exp(-lr / n)) / (1 - np.exp(-null_dev / n))


@dataclass(frozen=True)
class SortedRows:
    """Each row of a matrix sorted ascending, with tie-group boundaries."""

    order: np.ndarray  # (m, n) argsort
    values: np.ndarray  # (m, n) sorted values
    group_start: np.ndarray | None  # (m, n) index of the first member of each tie group; None: no ties
    group_end: np.ndarray | None


def sort_rows(x: np.ndarray) -> SortedRows:
    """Sort each row and locate ties (needed for mid-ranks)."""
    order = np.argsort(x, axis=1)
    xs = np.take_along_axis(x, order, axis=1)
    new = np.empty(xs.shape, dtype=bool)
    new[:, 0] = True
    np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    if new.all():
        return SortedRows(order, xs, None, None)
    m, n = xs.shape
    idx = np.broadcast_to(np.arange(n), (m, n))
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    last = np.empty_like(new)
    last[:, -1] = True
    last[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(last, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return SortedRows(order, xs, start, end)


def batched_c_index(s: SortedRows, y_sorted: np.ndarray, w_sorted: np.ndarray | None = None,
                    cum: np.ndarray | None = None) -> np.ndarray:
    """C-index per row (``somers2`` mid-rank formula); ``w_sorted``: frequency weights, ``cum`` their cumsum."""
    m, n = s.values.shape
    if w_sorted is None:
        if s.group_start is None:
            ranks = np.arange(1, n + 1, dtype=float)
            rank_sum = y_sorted @ ranks if y_sorted.ndim == 1 else y_sorted @ ranks
        else:
            ranks = (s.group_start + s.group_end) / 2 + 1
            rank_sum = np.einsum("ij,ij->i", ranks, y_sorted)
        n1 = y_sorted.sum(axis=-1)
        total = float(n)
    else:
        cum = np.cumsum(w_sorted, axis=1) if cum is None else cum
        if s.group_start is None:
            ranks = cum - (w_sorted - 1) / 2
        else:
            before = np.take_along_axis(cum - w_sorted, s.group_start, axis=1)
            through = np.take_along_axis(cum, s.group_end, axis=1)
            ranks = (before + through + 1) / 2
        wy = w_sorted * y_sorted
        rank_sum = np.einsum("ij,ij->i", ranks, wy)
        n1 = wy.sum(axis=1)
        total = cum[:, -1]
    n0 = total - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rank_sum / n1 - (n1 + 1) / 2) / n0


def gini_weights(w_sorted: np.ndarray | None, n: int, cum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients k and totals N with GiniMd = |Σ k·x_sorted| · 2/(N(N−1)) (frequency weights allowed).

    For sorted values with weights w and cumulative weights S, the expanded sample's
    sum of (2i − N − 1)·x over positions i is Σ w·x·(2S − w − N).
    """
    if w_sorted is None:
        return 2 * np.arange(1, n + 1, dtype=float) - n - 1, np.array(float(n))
    cum = np.cumsum(w_sorted, axis=1) if cum is None else cum
    total = cum[:, -1:]
    k = 2 * cum
    k -= w_sorted
    k -= total
    k *= w_sorted
    return k, total[:, 0]


def batched_gini_md(values_sorted: np.ndarray, w_sorted: np.ndarray | None = None,
                    weights: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Gini's mean difference per row of row-sorted values (ascending or descending)."""
    k, total = weights if weights is not None else gini_weights(w_sorted, values_sorted.shape[1])
    s = values_sorted @ k if k.ndim == 1 else np.einsum("ij,ij->i", values_sorted, k)
    return np.abs(s) * 2 / (total * (total - 1))


def logistic_recalibration(x: np.ndarray, y: np.ndarray, max_iter: int = 50, tol: float = 1e-10,
                           prob_at_start: np.ndarray | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``y ~ a + b x`` for every row of ``x`` at once (Newton–Raphson from a=0, b=1).

    This is the ``lrm.fit(x, y)`` refit ``validate.lrm`` uses on test samples.
    Iterates until the Newton step is below ~1e-5 standard errors (so the estimate
    is within ~1e-10 SE of the maximum). ``prob_at_start`` may pass ``plogis(x)``
    if already computed. Returns intercepts, slopes, deviances, a converged flag,
    and the recalibrated probabilities ``plogis(a + b x)`` (same shape as ``x``).
    """
    m, n = x.shape
    a = np.zeros(m)
    b = np.ones(m)
    converged = np.zeros(m, dtype=bool)
    active = np.arange(m)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        a, b, converged = _recalibration_newton(x, y, a, b, converged, active, m, max_iter, tol, prob_at_start)
    for k in np.flatnonzero(~converged):  # rare: undamped Newton from (0, 1) overshot; refit with step-halving
        a[k], b[k], converged[k] = _recalibrate_damped(x[k], y[k] if y.ndim == 2 else y)
    eta = x * b[:, None]
    eta += a[:, None]
    prob = expit(eta)
    np.subtract((1.0 - y) * eta, log_expit(prob, eta), out=eta)  # -log L_i, as in _score_resamples
    dev = 2 * eta.sum(axis=1)
    return a, b, dev, converged, prob


def _recalibration_newton(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, converged: np.ndarray,
                          active: np.ndarray, m: int, max_iter: int, tol: float,
                          prob_at_start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undamped Newton steps for all rows still active (see ``logistic_recalibration``)."""
    for it in range(max_iter):
        xa = x if active.size == m else x[active]
        ya = y if (y.ndim == 1 or active.size == m) else y[active]
        if it == 0 and prob_at_start is not None:
            p = prob_at_start.copy()
        else:
            p = xa * b[active, None]
            p += a[active, None]
            expit(p, out=p)
        w = 1.0 - p
        w *= p
        np.subtract(ya, p, out=p)  # residuals
        g0 = p.sum(axis=1)
        g1 = np.einsum("ij,ij->i", p, xa)
        h00 = w.sum(axis=1)
        w *= xa
        h01 = w.sum(axis=1)
        h11 = np.einsum("ij,ij->i", w, xa)
        det = h00 * h11 - h01 * h01
        da = (h11 * g0 - h01 * g1) / det
        db = (h00 * g1 - h01 * g0) / det
        a[active] += da
        b[active] += db
        decrement = da * g0 + db * g1
        done = ~(decrement >= tol)  # Newton decrement small (NaN: give up)
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    converged &= np.isfinite(a) & np.isfinite(b)
    return a, b, converged


def _recalibrate_damped(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """One ``y ~ a + b x`` fit with step-halving from the intercept-only model (as ``lrm.fit``)."""
    from imln.modeling._fit import newton_logistic  # local: _fit imports this module

    try:
        res = newton_logistic(x[:, None], y, max_iter=100)
    except ValueError:
        return float("nan"), float("nan"), False
    return float(res.coef[0]), float(res.coef[1]), True
