"""Cache keys for immutable objects that cannot be hashed by value (evidence bases, audits)."""

from __future__ import annotations

__all__ = ["RESULT_CACHE_SIZE", "Same"]

#: Results kept by each decision-level cache (next tests, recommendation, threshold sweep; least recently used
#: dropped). They are keyed by the probability estimate and the decision context: a risk model of categorical
#: terms gives few distinct pre-test probabilities (the bundled one at most 48), so patients share entries.
RESULT_CACHE_SIZE = 256


class Same:
    """Hashes and compares by identity. A cache holding the key holds the object, so its id stays unique."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj
