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
    """``numpy.quantile(draws, qs)`` for a 1-D array (all NaN when ``draws`` holds a NaN, as numpy)."""
    x = np.asarray(draws, dtype=float)
    lo, hi, gamma = order_positions(x.size, qs)
    kth = np.unique(np.concatenate([lo, hi]))
    part = np.partition(x, kth)
    if np.isnan(part[kth[-1]:]).any():  # a partition puts NaN after every number
        return np.full(gamma.shape, np.nan)
    return np.asarray([lerp(part[a], part[b], g) for a, b, g in zip(lo, hi, gamma)])
