"""One error type for every problem with patient input, readable by people and programs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem", "PatientInputError", "ROOT", "format_path", "short_repr"]

#: Field path used for problems with the input as a whole (empty file, not a mapping, ...).
ROOT = "<input>"

_MAX_REPR = 60


def short_repr(value: Any, limit: int = _MAX_REPR) -> str:
    """``repr(value)`` cut to ``limit`` characters so a huge input never floods a message."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real problem
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_path(loc: Iterable[str | int]) -> str:
    """``('findings', 0, 'short_axis_mm')`` -> ``'findings[0].short_axis_mm'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or ROOT


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where, what was given, what is allowed, and why."""

    field: str
    message: str
    value: str | None = None
    allowed: str | None = None
    related: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """The field this problem is about followed by the fields it conflicts with."""
        return (self.field, *self.related)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "allowed": self.allowed,
            "message": self.message,
            "related": list(self.related),
        }

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value})"
        if self.allowed:
            text += f" [allowed: {self.allowed}]"
        return text


@dataclass(eq=False)
class PatientInputError(ValueError):
    """Patient input that cannot be used as given; ``problems`` lists every reason found."""

    problems: list[Problem] = field(default_factory=list)
    source: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __reduce__(self) -> tuple[Any, ...]:  # keep problems when pickled (multiprocessing)
        return (type(self), (self.problems, self.source))

    @property
    def fields(self) -> list[str]:
        """Every field path named by any problem (primary and related)."""
        return [f for p in self.problems for f in p.fields]

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source else ""
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} with the patient input{where}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"error": "patient_input", "source": ..., "problems": [...]}``."""
        return {
            "error": "patient_input",
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }

    @classmethod
    def single(
        cls,
        field: str,
        message: str,
        *,
        value: Any = None,
        allowed: str | None = None,
        source: str | None = None,
    ) -> PatientInputError:
        """An error with one problem; ``value`` is stored as a truncated repr."""
        shown = None if value is None else short_repr(value)
        return cls([Problem(field, message, shown, allowed)], source)


class Conflict(ValueError):
    """Raised inside model validators: contradictions between fields, already as Problems.

    Paths are relative to the model raising it; the translator prefixes the model's location.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))
