"""Quantiles of Monte Carlo draws, equal to ``numpy.quantile`` bit for bit, for several rows at once.

``numpy.quantile`` (its default 'linear' method) partitions once per call and adds Python
overhead; the Monte Carlo summaries of imaging and decision ask for a few quantiles of
many fresh arrays. :func:`quantiles` finds every order statistic it needs and interpolates
exactly as numpy does (:func:`lerp`).

Finding the order statistics of thousands of draws: a multi-point ``numpy.partition``
costs about a full sort (about 0.1 ms for 5,000 fresh doubles). Bucket selection costs
about 40% of that: each value goes to one of ``n/8`` equal-width buckets between the
row's minimum and maximum, through a non-decreasing map (``floor((x − min)·scale)``;
rounded subtraction and multiplication by a positive number never reverse an order), so
every value of a bucket is at most every value of the next. Counting the buckets tells
in which bucket, and at which place in it, each wanted order statistic lies; only the few
buckets holding one are sorted. The result is the order statistic itself, not an
approximation. Rows with a non-finite value, and short rows, go to ``numpy.partition``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["lerp", "order_positions", "quantiles"]

#: Rows shorter than this use ``numpy.partition`` (bucket bookkeeping costs more there).
BUCKET_MIN_SIZE = 1024


def lerp(a: np.ndarray | float, b: np.ndarray | float, t: float) -> np.ndarray | float:
    """numpy's quantile interpolation between ``a`` and ``b`` (``numpy.lib._function_base_impl._lerp``)."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def order_positions(n: int, qs: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each quantile of ``n`` values: the order statistics around it and the weight between them,
    as numpy's 'linear' method computes them (``previous``, ``following``, ``gamma``)."""
    virtual = (n - 1) * np.asarray(qs, dtype=float)
    previous = np.floor(virtual)
    following = previous + 1
    above, below = virtual >= n - 1, virtual < 0
    previous[above] = following[above] = -1  # the largest value
    previous[below] = following[below] = 0
    gamma = virtual - previous
    return previous.astype(np.intp) % n, following.astype(np.intp) % n, gamma


def quantiles(draws: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """``numpy.quantile(draws, qs, axis=-1)``, moved to the last axis: shape ``draws.shape[:-1] + (len(qs),)``.

    Each row (1-D slice along the last axis) gives exactly what ``numpy.quantile`` gives
    for it alone; a row holding a NaN gives NaN everywhere, as numpy.
    """
    x = np.asarray(draws, dtype=float)
    lo, hi, gamma, kth = _positions(x.shape[-1], tuple(float(q) for q in qs))
    if x.shape[-1] >= BUCKET_MIN_SIZE:
        rows = x.reshape(-1, x.shape[-1])
        values = _bucket_select(rows, kth)
        if values is not None:
            values = values.reshape(*x.shape[:-1], kth.size)
            return _interpolate(values[..., np.searchsorted(kth, lo)], values[..., np.searchsorted(kth, hi)], gamma)
    part = np.partition(x, kth, axis=-1)
    out = _interpolate(part[..., lo], part[..., hi], gamma)
    nan_rows = np.isnan(part[..., kth[-1]:]).any(axis=-1)  # a partition puts NaN after every number
    if nan_rows.any():
        out[nan_rows] = np.nan
    return out


@lru_cache(maxsize=64)
def _positions(n: int, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lo, hi, gamma = order_positions(n, qs)
    kth = np.unique(np.concatenate([lo, hi]))
    for a in (lo, hi, gamma, kth):
        a.setflags(write=False)
    return lo, hi, gamma, kth


def _interpolate(below: np.ndarray, above: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """:func:`lerp` for arrays: from the upper value when the weight is at least one half, as numpy."""
    diff = above - below
    return np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)


def _bucket_select(x: np.ndarray, kth: np.ndarray) -> np.ndarray | None:
    """The order statistics ``kth`` (0-based) of each row of the 2-D ``x``, by bucket selection.

    None when a row holds a non-finite value or its range cannot be scaled (the caller
    then partitions).
    """
    rows, n = x.shape
    buckets = max(16, n // 8)
    low = x.min(axis=1, keepdims=True)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # a range beyond the doubles: partition
        width = x.max(axis=1, keepdims=True) - low
        scale = buckets / np.where(width > 0, width, 1.0)
    if not (np.isfinite(width).all() and np.isfinite(scale).all()):
        return None
    offsets = np.arange(rows) * buckets
    # bucket of each value, numbered across rows: row r owns buckets [r·B, (r + 1)·B)
    scaled = np.subtract(x, low)
    scaled *= scale
    index = scaled.astype(np.intp)
    np.minimum(index, buckets - 1, out=index)
    index += offsets[:, None]
    flat = index.ravel()
    counts = np.bincount(flat, minlength=rows * buckets)
    before = np.cumsum(counts) - counts  # values before each bucket, over all rows
    # each wanted rank (numbered across rows as well) lies in the last bucket starting at or before it;
    # that bucket is never empty (an empty one starts where the next begins)
    targets = (kth[None, :] + (np.arange(rows) * n)[:, None]).ravel()
    where = np.searchsorted(before, targets, side="right") - 1
    wanted = np.zeros(rows * buckets, dtype=bool)
    wanted[where] = True
    kept_counts = np.where(wanted, counts, 0)
    kept_before = np.cumsum(kept_counts) - kept_counts  # place of each wanted bucket among the kept values
    kept = _segments_sorted(x.ravel()[wanted[flat]], kept_counts.reshape(rows, buckets).sum(axis=1))
    return kept[kept_before[where] + (targets - before[where])].reshape(rows, kth.size)


def _segments_sorted(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``values`` with each consecutive segment (one per row) sorted in place."""
    start = 0
    for length in lengths.tolist():
        values[start:start + length].sort()
        start += length
    return values
