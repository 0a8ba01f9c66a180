"""Monte Carlo draws shared by the decision section: seeded streams, cached, and exact means.

Every Monte Carlo quantity of :mod:`imln.decision` comes from
``numpy.random.SeedSequence(seed)`` spawned into independent child streams, so the
same seed gives the same numbers. The draws that do not depend on the patient (the
standard normals of a child stream, the Beta posteriors of a test's accuracy) are
the same for every patient assessed with the same seed; they are computed once per
process and reused read-only. Caching changes no number: a cached draw is exactly
the draw the stream would give again.

Expectations that have a closed form are computed exactly instead of by Monte
Carlo; :func:`logitnormal_mean` is one (Gauss–Hermite quadrature).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import integrate, special

__all__ = ["DEFAULT_DRAWS", "DEFAULT_SEED", "accuracy_draws", "logitnormal_mean", "standard_normals"]

DEFAULT_SEED = 20261124
#: Draws per Monte Carlo summary (percentiles, shares of draws). A share's Monte Carlo
#: standard error is at most 0.5/sqrt(5000) ≈ 0.007; each result reports its own.
DEFAULT_DRAWS = 5_000

#: Probabilists' Gauss–Hermite rule: E[f(Z)], Z ~ N(0, 1), = Σ w_i f(x_i) / sqrt(2π).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(201)
_GH_WEIGHTS = _GH_WEIGHTS / np.sqrt(2.0 * np.pi)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@lru_cache(maxsize=64)
def standard_normals(seed: int, stream: int, of: int, n: int) -> np.ndarray:
    """``n`` standard normals from child ``stream`` of ``SeedSequence(seed).spawn(of)`` (read-only)."""
    child = np.random.SeedSequence(seed).spawn(of)[stream]
    return _readonly(np.random.default_rng(child).standard_normal(n))


@lru_cache(maxsize=64)
def accuracy_draws(accuracy: object, seed: int, stream: int, of: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` joint posterior draws (sensitivity, specificity) of an
    :class:`~imln.imaging.AccuracyPosterior` from child ``stream`` of ``SeedSequence(seed).spawn(of)``."""
    child = np.random.SeedSequence(seed).spawn(of)[stream]
    sens, spec = accuracy.sample(n, np.random.default_rng(child))  # type: ignore[attr-defined]
    return _readonly(np.asarray(sens, dtype=float)), _readonly(np.asarray(spec, dtype=float))


def logitnormal_mean(centre: float, sd: float) -> float:
    """E[expit(centre + sd·Z)], Z ~ N(0, 1), to about 1e-10.

    201-node Gauss–Hermite quadrature up to sd = 4 (error below 1e-9); wider
    distributions (the integrand's poles at ±iπ/sd come close to the real axis) go
    to adaptive quadrature with a break point at the logit's zero.
    """
    if sd == 0:
        return float(special.expit(centre))
    if sd <= 4.0:
        return float(_GH_WEIGHTS @ special.expit(centre + sd * _GH_NODES))
    zero = -centre / sd
    value, _ = integrate.quad(lambda z: special.expit(centre + sd * z) * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi),
                              -40.0, 40.0, points=[zero] if abs(zero) < 40 else None, limit=200,
                              epsabs=1e-12, epsrel=1e-10)
    return float(value)

