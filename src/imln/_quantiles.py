"""Quantiles of Monte Carlo draws from one partial sort, equal to ``numpy.quantile`` bit for bit.

``numpy.quantile`` (its default 'linear' method) partitions once per call and adds Python
overhead; the Monte Carlo summaries of imaging and decision ask for a few quantiles of
many fresh arrays. :func:`quantiles` takes every order statistic it needs from one
``numpy.partition`` and interpolates exactly as numpy does (:func:`lerp`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["lerp", "order_positions", "quantiles"]


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
    for it alone; a row holding a NaN gives NaN everywhere, as numpy. Several rows cost
    one partition call.
    """
    x = np.asarray(draws, dtype=float)
    lo, hi, gamma = order_positions(x.shape[-1], qs)
    kth = np.unique(np.concatenate([lo, hi]))
    part = np.partition(x, kth, axis=-1)
    below, above = part[..., lo], part[..., hi]
    diff = above - below
    # numpy's lerp: from the upper value when the weight is at least one half
    out = np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)
    nan_rows = np.isnan(part[..., kth[-1]:]).any(axis=-1)  # a partition puts NaN after every number
    if nan_rows.any():
        out[nan_rows] = np.nan
    return out
