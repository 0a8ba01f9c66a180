"""Caches of pure results: identity keys for objects hashed by identity, and the decision caches' size."""

from __future__ import annotations

import os
import warnings

__all__ = ["RESULT_CACHE_ENV", "RESULT_CACHE_PROBLEM", "RESULT_CACHE_SIZE", "Same", "result_cache_size"]

#: Environment variable setting :data:`RESULT_CACHE_SIZE` (read once, at import).
RESULT_CACHE_ENV = "IMLN_RESULT_CACHE_SIZE"
DEFAULT_RESULT_CACHE_SIZE = 256


def result_cache_size(raw: str | None) -> int:
    """The cache size an :data:`RESULT_CACHE_ENV` value asks for (unset: the default); refused unless an
    integer ≥ 0."""
    if raw is None or raw.strip() == "":
        return DEFAULT_RESULT_CACHE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError(f"{RESULT_CACHE_ENV} must be an integer ≥ 0 (results kept per decision cache; 0 turns "
                         f"the caches off); got {raw!r}")
    return size


#: Results kept by each result cache (post-test result, recommendation, default threshold sweep, next tests;
#: least recently used dropped; 0: none). They are keyed by the probability estimate and the decision context: a
#: risk model of categorical terms gives few distinct pre-test probabilities (the bundled one at most 48), so
#: patients share entries. About 65 KB per pattern over the decision caches: 16 MB at most with 256.
RESULT_CACHE_SIZE = DEFAULT_RESULT_CACHE_SIZE
#: Why :data:`RESULT_CACHE_ENV` was not used, if it was bad: the default stays, with a warning (the size changes
#: no result, only speed and memory); the ``imln`` command refuses to start with this message instead.
RESULT_CACHE_PROBLEM: str | None = None
try:
    RESULT_CACHE_SIZE = result_cache_size(os.environ.get(RESULT_CACHE_ENV))
except ValueError as _exc:
    RESULT_CACHE_PROBLEM = str(_exc)
    warnings.warn(f"{_exc}; using {DEFAULT_RESULT_CACHE_SIZE}", RuntimeWarning, stacklevel=2)


class Same:
    """Hashes and compares by identity. A cache holding the key holds the object, so its id stays unique."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj
