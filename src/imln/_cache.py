"""Cache keys for immutable objects that cannot be hashed by value (evidence bases, audits)."""

from __future__ import annotations

__all__ = ["Same"]


class Same:
    """Hashes and compares by identity. A cache holding the key holds the object, so its id stays unique."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj
