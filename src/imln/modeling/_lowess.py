"""R's ``lowess(x, y, f = 2/3, iter = 0)`` and ``approx(..., ties = first)``, exactly.

``rms::calibrate`` smooths with R's ``lowess`` (Cleveland's ``clowess``), not
``loess``: local linear fits with tricube weights over the nearest ``f·n`` points,
computed only at points more than ``delta = 0.01·range(x)`` apart and linearly
interpolated in between. This port follows ``src/library/stats/src/lowess.c``
(no robustness iterations, which calibrate does not use), with the per-point
local fits vectorised. Where the C code's choices matter — stable ordering of ties,
the window-moving rule, the 0.999/0.001 weight cut-offs, the slope guard — they
are kept, so results agree with R to rounding error.
"""

from __future__ import annotations

import numpy as np


def _estimation_points(x: np.ndarray, delta: float) -> np.ndarray:
    """Indices where clowess fits locally (others are tied copies or interpolated)."""
    n = x.size
    points = []
    i = 0
    while True:
        points.append(i)
        last = int(np.searchsorted(x, x[i], side="right")) - 1  # ties with x[i] copy its value
        if last >= n - 1:
            break
        k = int(np.searchsorted(x, x[i] + delta, side="right"))  # first point beyond the cut
        i = max(last + 1, k - 1)
    return np.asarray(points, dtype=np.int64)


def _window_starts(x: np.ndarray, points: np.ndarray, ns: int) -> np.ndarray:
    """Left end of each point's ns-nearest-neighbour window (clowess's moving rule)."""
    n = x.size
    lo = np.zeros(points.size, dtype=np.int64)
    hi = np.full(points.size, n - ns, dtype=np.int64)
    xi = x[points]
    # first s in [0, n-ns] where NOT (x[i] - x[s] > x[s+ns] - x[i]); s = n-ns means "at the end"
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2
        move = (xi - x[mid]) > (x[np.minimum(mid + ns, n - 1)] - xi)
        move &= mid + ns <= n - 1
        lo = np.where(open_ & move, mid + 1, lo)
        hi = np.where(open_ & ~move, mid, hi)
    return np.maximum.accumulate(lo)  # the window never moves left


def lowess(x: np.ndarray, y: np.ndarray, f: float = 2 / 3, delta: float | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """``lowess(x, y, f, iter = 0)``: the sorted x and the smoothed y at each."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ysrc = y[order]
    n = xs.size
    if n < 2:
        return xs, ysrc.copy()
    if delta is None:
        delta = 0.01 * (xs[-1] - xs[0])
    ns = max(2, min(n, int(f * n + 1e-7)))
    points = _estimation_points(xs, delta)
    starts = _window_starts(xs, points, ns)
    fitted_points = _local_linear(xs, ysrc, points, starts, ns)
    return xs, _fill(xs, points, fitted_points)


def _local_linear(x: np.ndarray, y: np.ndarray, points: np.ndarray, starts: np.ndarray, ns: int,
                  block: int = 16) -> np.ndarray:
    """clowess's ``lowest`` at each estimation point (tricube-weighted local line).

    Weights are (1 − (r/h)³)³ for r ≤ 0.999h (1 for r ≤ 0.001h), h the distance to
    the farther end of the window; the local slope is used only when the weighted
    spread of x exceeds 0.001·range(x), as in the C code.
    """
    span = x[-1] - x[0]
    out = np.empty(points.size)
    offsets = np.arange(ns)
    for b0 in range(0, points.size, block):
        pts = points[b0:b0 + block]
        st = starts[b0:b0 + block]
        idx = st[:, None] + offsets[None, :]
        xw = x[idx]
        yw = y[idx]
        xi = x[pts]
        h = np.maximum(xi - x[st], x[st + ns - 1] - xi)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.abs(xw - xi[:, None])
            u *= (1.0 / h)[:, None]
        w = u * u
        w *= u
        np.subtract(1.0, w, out=w)
        w3 = w * w
        w3 *= w
        w3[u > 0.999] = 0.0
        w3[u <= 0.001] = 1.0
        if np.any(h == 0):  # all window points tied with x[i]: only r = 0 counts
            zero = h == 0
            w3[zero] = (xw[zero] == xi[zero, None]).astype(float)
        s0 = w3.sum(axis=1)
        s1 = np.einsum("ij,ij->i", w3, xw)
        sy = np.einsum("ij,ij->i", w3, yw)
        ok = s0 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            center = s1 / s0
            dev = xw - center[:, None]
            wd = w3 * dev
            c = np.einsum("ij,ij->i", wd, dev) / s0
            slope_ok = (h > 0) & (np.sqrt(c) > 0.001 * span)
            bcoef = np.where(slope_ok, (xi - center) / c, 0.0)
            est = (sy + bcoef * np.einsum("ij,ij->i", wd, yw)) / s0
        out[b0:b0 + block] = np.where(ok, est, y[pts])
    return out


def _fill(x: np.ndarray, points: np.ndarray, fitted_points: np.ndarray) -> np.ndarray:
    """Copy fitted values to ties and interpolate skipped points, as clowess does."""
    n = x.size
    out = np.empty(n)
    out[points] = fitted_points
    right = np.searchsorted(points, np.arange(n), side="left")  # next estimation point at or after j
    between = np.ones(n, dtype=bool)
    between[points] = False
    j = np.flatnonzero(between)
    if j.size:
        prv = points[right[j] - 1]
        tie = x[j] == x[prv]  # ties of an estimated point take its value
        out[j[tie]] = out[prv[tie]]
        j, prv = j[~tie], prv[~tie]
        nxt = points[right[j]]
        # skipped points: the C code's interpolation between neighbouring fits
        alpha = (x[j] - x[prv]) / (x[nxt] - x[prv])
        out[j] = alpha * out[nxt] + (1.0 - alpha) * out[prv]
    return out


def approx_first(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """``approx(x, y, xout, ties = function(v) v[1])$y`` for sorted ``x``; NaN outside the range."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.ones(x.size, dtype=bool)
    keep[1:] = x[1:] != x[:-1]  # first of each run of ties
    ux, uy = x[keep], y[keep]
    xout = np.asarray(xout, dtype=float)
    out = np.full(xout.shape, np.nan)
    if ux.size == 1:
        out[xout == ux[0]] = uy[0]
        return out
    inside = (xout >= ux[0]) & (xout <= ux[-1])
    v = xout[inside]
    i = np.clip(np.searchsorted(ux, v, side="right") - 1, 0, ux.size - 2)
    j = i + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        val = uy[i] + (uy[j] - uy[i]) * ((v - ux[i]) / (ux[j] - ux[i]))
    val = np.where(v == ux[j], uy[j], np.where(v == ux[i], uy[i], val))
    out[inside] = val
    return out


def approx_mean(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """``approx(x, y, xout, ties = mean)$y`` (x need not be sorted); NaN outside the range."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    return approx_first(ux, uy, xout)
