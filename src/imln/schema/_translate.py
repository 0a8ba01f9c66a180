"""Turn pydantic's ValidationError into Problems a clinician can act on.

Pydantic's own wording, locations and tracebacks never reach the user: each error type maps
to a plain message, the allowed values come from the field's ``x-allowed`` declaration, and
likely unit mix-ups (cm for mm, cGy for Gy) get a suggestion, never a silent conversion.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from imln.schema._errors import Conflict, Problem, format_path, short_repr

__all__ = ["translate", "field_info_at"]

_NUMBER = "must be a number"
_MAPPING = "must be a mapping of field: value pairs"

#: Plain-language message for each pydantic error type.
_MESSAGES: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "finite_number": "must be a finite number (NaN and Infinity are not allowed)",
    "int_from_float": "must be a whole number",
    "int_parsing": _NUMBER,
    "int_type": _NUMBER,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "bool_not_number": "must be a number, not true/false",
    "bool_parsing": "must be true or false (write null if unknown)",
    "bool_type": "must be true or false (write null if unknown)",
    "enum": "is not one of the allowed values",
    "literal_error": "is not one of the allowed values",
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
    "dict_type": _MAPPING,
    "list_type": "must be a list",
    "too_long": "has too many entries",
    "string_type": "must be text",
    "string_too_long": "is too long",
    "string_pattern_mismatch": "contains characters that are not allowed",
    "multiple_of": "is not an allowed step",
    "greater_than_equal": "is out of range",
    "greater_than": "is out of range",
    "less_than_equal": "is out of range",
    "less_than": "is out of range",
    "date_format": "must be an ISO date YYYY-MM-DD",
    "date_parsing": "must be an ISO date YYYY-MM-DD",
    "date_from_datetime_parsing": "must be an ISO date YYYY-MM-DD",
    "date_from_datetime_inexact": "must be an ISO date YYYY-MM-DD",
    "date_type": "must be an ISO date YYYY-MM-DD",
    "date_future": "must not be in the future",
    "recursion_loop": "is nested too deeply",
}

# unit written in a string -> (field unit, factor to the field unit)
_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "mm": ("mm", 1.0),
    "cm": ("mm", 10.0),
    "m": ("mm", 1000.0),
    "gy": ("Gy", 1.0),
    "cgy": ("Gy", 0.01),
    "%": ("%", 1.0),
    "percent": ("%", 1.0),
    "y": ("years", 1.0),
    "yr": ("years", 1.0),
    "yrs": ("years", 1.0),
    "years": ("years", 1.0),
    "nodes": ("nodes", 1.0),
}
_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*([A-Za-z%]+)\s*$")
_CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X | None``, ``list[X]`` or ``Annotated[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Model owning the last name in ``loc`` and that field's FieldInfo (None when unknown)."""
    current: type[BaseModel] | None = model
    info: FieldInfo | None = None
    names = [p for p in loc if isinstance(p, str)]
    for i, name in enumerate(names):
        if current is None or name not in current.model_fields:
            return current if i == len(names) - 1 else None, None
        info = current.model_fields[name]
        if i < len(names) - 1:
            current = _submodel(info.annotation)
    return current, info


def field_info_at(model: type[BaseModel], loc: tuple[Any, ...]) -> FieldInfo | None:
    return _walk(model, loc)[1]


def _extra(info: FieldInfo | None, key: str) -> Any:
    extra = info.json_schema_extra if info is not None else None
    return extra.get(key) if isinstance(extra, dict) else None


def _range_hint(unit: str | None, value: Any, ctx: dict[str, Any]) -> str:
    """Suggest the value the user probably meant when a too-large number looks like a unit slip."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    limit = ctx.get("le", ctx.get("lt"))
    if limit is None or value <= limit:
        return ""
    if unit == "mm":
        return f"{value:g} mm — did you mean {value / 10:g} mm ({value / 100:g} cm)? Give sizes in mm"
    if unit == "Gy":
        return f"{value:g} Gy — did you mean {value / 100:g} Gy ({value:g} cGy)? Give doses in Gy"
    return ""


def _string_hint(unit: str | None, value: Any) -> str:
    """For '2.5 cm' in a mm field: the number the user probably meant, in the field's unit."""
    if not isinstance(value, str):
        return ""
    clock = _CLOCK_TIME.match(value)
    if clock:
        hours = int(clock.group(1)) + int(clock.group(2)) / 60
        return f"write {hours:g} for {value.strip()}" if clock.group(2) in ("00", "30") else "whole or half hours"
    if _DECIMAL_COMMA.match(value):
        return f"use a decimal point: {value.strip().replace(',', '.')}"
    m = _NUMBER_WITH_UNIT.match(value)
    if not m:
        return ""
    number = float(m.group(1).replace(",", "."))
    written = m.group(2).casefold()
    target = _UNIT_FACTORS.get(written)
    if target is None or unit is None or target[0] != unit:
        return f"write the number alone, in {unit}" if unit else "write the number alone"
    converted = number * target[1]
    if target[1] == 1.0:
        return f"write the number alone: {converted:g}"
    return f"units are not converted: did you mean {converted:g} ({unit})? Write the number alone"


def _unknown_field_hint(owner: type[BaseModel] | None, name: str) -> str:
    if owner is None:
        return ""
    known = list(owner.model_fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        stem = re.sub(r"_(cm|mm|m|gy|cgy|years|yrs|percent|pct)$", "", name.casefold())
        close = [k for k in known if re.sub(r"_(mm|gy|years|percent)$", "", k) == stem][:1]
    return f"did you mean {close[0]!r}?" if close else ""


def _enum_hint(value: Any, allowed: str | None) -> str:
    if not isinstance(value, str) or not allowed:
        return ""
    options = [a.strip() for a in allowed.split(",")]
    close = difflib.get_close_matches(value.casefold(), [o.casefold() for o in options], n=1, cutoff=0.6)
    if close:
        original = next(o for o in options if o.casefold() == close[0])
        return f"did you mean {original!r}?"
    return ""


def _allowed(info: FieldInfo | None, error_type: str) -> str | None:
    allowed = _extra(info, "x-allowed")
    if allowed is None and error_type in ("model_type", "model_attributes_type", "dict_type"):
        return "a mapping (key: value pairs)"
    if allowed is None and error_type == "list_type":
        return "a list"
    return allowed


def _problem(model: type[BaseModel], error: dict[str, Any], rename: Callable[[str], str]) -> list[Problem]:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, Conflict):
        base = format_path(loc) if loc else ""

        def join(path: str) -> str:
            return rename(f"{base}.{path}" if base else path)

        return [
            Problem(join(p.field), p.message, p.value, p.allowed, tuple(join(r) for r in p.related))
            for p in cause.problems
        ]
    owner, info = _walk(model, loc)
    allowed = _allowed(info, kind)
    message = _MESSAGES.get(kind) or str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    unit = _extra(info, "x-unit")
    hint = ""
    if kind == "extra_forbidden":
        name = next((p for p in reversed(loc) if isinstance(p, str)), "")
        hint = _unknown_field_hint(owner, name)
        if owner is not None:
            allowed = f"fields of {owner.__name__}"
    elif kind in ("less_than_equal", "less_than"):
        hint = _range_hint(unit, value, ctx)
    elif kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        hint = _string_hint(unit, value)
    elif kind in ("enum", "literal_error"):
        hint = _enum_hint(value, allowed)
    elif kind in ("model_type", "model_attributes_type", "dict_type") and isinstance(value, list):
        message += ", not a list"
    elif kind == "list_type" and isinstance(value, dict):
        message += ", not a single mapping"
    if hint:
        message = f"{message}: {hint}"
    shown = None if kind == "missing" else short_repr(value)
    return [Problem(rename(format_path(loc)), message, shown, allowed)]


def translate(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    rename: Callable[[str], str] = lambda path: path,
) -> list[Problem]:
    """Problems for every error in ``exc``; ``rename`` maps field paths (e.g. to table columns)."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        problems.extend(_problem(model, error, rename))
    return problems
