"""Read patients from files, text, mappings or tables, with guards before any parsing.

Text is recognised by content (JSON if it starts with ``{``, otherwise YAML) unless the
caller says it is JSON (``format="json"``, a ``.json`` file, an ``application/json`` body):
then JSON-looking text must be valid JSON, and a JSON syntax error (a trailing comma, say)
is not rescued by the more lenient YAML reader.
Guards: size limit (``MAX_INPUT_BYTES``) checked before reading, empty or whitespace-only
input, binary or non-UTF-8 bytes, duplicate keys, YAML aliases (no alias bombs), several
YAML documents, a top level that is not a mapping, numbers too long to convert (Python's
4,300-digit limit), impossible dates (``2024-02-30``), dates before 1900.
Documents are typed strictly: a measurement written as text (``age_years: "58"``) and a
flag written as a number (``lvi: 0``) are refused with a message, never coerced. (Tables
from ``patients_from_table`` hold text by nature and are converted as before.)
Everything ends in ``PatientInputError``: whatever a parser raises is turned into one.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import functools
import io
import json
import logging
import math
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from imln.schema._errors import ROOT, PatientInputError, Problem, short_repr
from imln.schema._patient import CardiacContext, ImagingFinding, Modality, Patient, TumorLocation
from imln.schema._translate import translate

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_TABLE_BYTES",
    "load_patient",
    "patients_from_table",
    "table_columns",
]

#: Largest patient file or text accepted (1 MiB); larger input is refused unread.
MAX_INPUT_BYTES = 1024 * 1024
#: Largest CSV table accepted by ``patients_from_table`` (16 MiB).
MAX_TABLE_BYTES = 16 * 1024 * 1024

log = logging.getLogger("imln.schema")

#: Earliest date accepted in a patient document (examination or procedure dates).
MIN_DATE = _dt.date(1900, 1, 1)
#: Longest integer literal read (digits); longer ones are refused by field, never converted.
_MAX_INT_DIGITS = 100
#: Largest magnitude of an integer in a document; every numeric field is far below it.
_MAX_INT = 10**15
#: Most values (mappings, lists and scalars) a document may hold; a full patient has ~1,000. Bounds the
#: work of reading (the pure-Python YAML reader takes seconds for a megabyte of small values) and checking.
MAX_YAML_NODES = 20_000
#: Input formats ``load_patient`` can be told to expect.
FORMATS = ("json", "yaml")

_PATH_LIKE = re.compile(r"^[^\n{}\[\]:]*\.(json|ya?ml|csv)$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- YAML / JSON parsing


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int | None) -> None:
        self.key, self.line = key, line


class _Unreadable:
    """A scalar the parser could not turn into a value (a 5,000-digit integer, ``2024-02-30``).

    Kept in place of the value so the problem is reported under the field it was given for.
    """

    __slots__ = ("text", "reason")

    def __init__(self, text: str, reason: str) -> None:
        self.text, self.reason = text, reason

    def __repr__(self) -> str:
        return short_repr(self.text)


def _long_number(text: str) -> _Unreadable:
    digits = sum(c.isdigit() for c in text)
    return _Unreadable(
        text[:20] + "…", f"a number with {digits} digits is far too large for any field"
    )


def _json_int(text: str) -> int | _Unreadable:
    if len(text) > _MAX_INT_DIGITS:
        return _long_number(text)
    return int(text)


def _guarded(kind: str, base: Any) -> Any:
    """A YAML scalar constructor that returns an :class:`_Unreadable` instead of raising."""

    def construct(loader: yaml.SafeLoader, node: Any) -> Any:
        text = str(getattr(node, "value", ""))
        if kind == "int" and sum(c.isdigit() for c in text) > _MAX_INT_DIGITS:
            return _long_number(text)
        try:
            return base(loader, node)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            reason = {
                "int": "is not a valid whole number",
                "float": "is not a valid number",
                "bool": "is not true or false",
                "timestamp": "is not a calendar date (check the month and the day)",
            }[kind]
            return _Unreadable(text, reason)

    return construct


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no 'billion laughs') and duplicate keys, and never raises
    from a scalar (a huge integer or an impossible date becomes an :class:`_Unreadable`)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        self._node_count = getattr(self, "_node_count", 0) + 1
        if self._node_count > MAX_YAML_NODES:
            # The pure-Python YAML reader takes seconds for a megabyte of small values; a patient has at
            # most a few thousand. Stop before reading the rest.
            raise yaml.composer.ComposerError(
                None, None, f"the document holds more than {MAX_YAML_NODES:,} values; a patient file has at most "
                "a few thousand", self.peek_event().start_mark)
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in patient files", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key; the base constructor reports it
                continue
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep)


for _kind_name in ("int", "float", "bool", "timestamp"):
    _tag = f"tag:yaml.org,2002:{_kind_name}"
    _StrictLoader.add_constructor(_tag, _guarded(_kind_name, yaml.SafeLoader.yaml_constructors[_tag]))


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, None)
        out[key] = value
    return out


def _fail(message: str, *, value: Any = None, allowed: str | None = None, source: str | None = None) -> PatientInputError:
    return PatientInputError.single(ROOT, message, value=value, allowed=allowed, source=source)


def _decode(data: bytes, source: str | None) -> str:
    """UTF-8 text from bytes; binary content is refused with a clear message."""
    if b"\x00" in data:
        raise _fail("this is a binary file, not JSON or YAML text", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(
            f"the file is not UTF-8 text (undecodable byte at position {exc.start}); "
            "save it as UTF-8 JSON or YAML",
            source=source,
        ) from None


def _json_error(text: str, error: json.JSONDecodeError) -> str:
    """'invalid JSON at line 3, column 1: …' with a hint for the usual slip (a trailing comma)."""
    message = f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
    before = text[: error.pos].rstrip()
    if before.endswith(",") and text[error.pos : error.pos + 1] in ("}", "]"):
        message += " (a comma before a closing bracket is not allowed in JSON: remove the trailing comma)"
    return message


def _parse_text(text: str, source: str | None, fmt: str | None = None) -> Any:
    """JSON or YAML to Python objects; any syntax problem becomes PatientInputError.

    Text starting with ``{`` or ``[`` is read as JSON; when that fails and ``fmt`` is not
    ``"json"``, as YAML (a YAML flow mapping like ``{age_years: 60}`` looks the same). With
    ``fmt="json"`` the JSON error stands: a trailing comma is not rescued by the YAML reader.
    Other text is YAML (content decides: a YAML file named ``.json`` is still read).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        raise _fail(f"input is larger than the {MAX_INPUT_BYTES // 1024 // 1024} MiB limit", source=source)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _fail("the input is empty", allowed="a JSON or YAML mapping of patient fields", source=source)
    bad = _CONTROL.search(text)
    if bad:
        raise _fail(
            f"the input contains a control character ({bad.group()!r}) — binary or corrupted file?",
            source=source,
        )
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            try:
                return json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int)
            except json.JSONDecodeError as json_error:
                if fmt == "json":
                    raise _fail(_json_error(text, json_error), allowed="JSON (RFC 8259)", source=source) from None
                try:
                    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
                except yaml.YAMLError:
                    raise _fail(_json_error(text, json_error), source=source) from None
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
    except _DuplicateKey as dup:
        where = f" (line {dup.line})" if dup.line else ""
        key = dup.key if isinstance(dup.key, str) else short_repr(dup.key)
        raise PatientInputError(
            [Problem(key, f"key {short_repr(dup.key)} appears more than once{where}", None, "each key once")],
            source,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "expected a single document" in str(exc):
            problem = "the file holds several YAML documents; give one patient per file"
        raise _fail(f"invalid YAML{where}: {problem}", source=source) from None
    except RecursionError:
        raise _fail("the input is nested too deeply", source=source) from None
    except PatientInputError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError, UnicodeError) as exc:
        # Nothing known reaches here (huge integers and impossible dates are caught per value);
        # a parser surprise is still the input's problem, never a traceback.
        log.debug("parser raised on %s", source or "input", exc_info=True)
        raise _fail(
            f"the input could not be read as {'JSON' if fmt == 'json' else 'JSON or YAML'} "
            f"({type(exc).__name__}: {short_repr(str(exc), 120)})",
            source=source,
        ) from None


def _read_file(path: Path) -> str:
    source = str(path)
    try:
        if not path.exists():
            raise _fail("file not found", value=source, source=source)
        if path.is_dir():
            raise _fail("this is a folder, not a patient file", source=source)
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise _fail(
                f"the file is {size / 1024 / 1024:.1f} MiB; patient files are limited to "
                f"{MAX_INPUT_BYTES // 1024 // 1024} MiB",
                source=source,
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise _fail(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    if len(data) > MAX_INPUT_BYTES:
        raise _fail(f"input is larger than the {MAX_INPUT_BYTES // 1024 // 1024} MiB limit", source=source)
    if not data:
        raise _fail("the file is empty", allowed="a JSON or YAML mapping of patient fields", source=source)
    return _decode(data, source)


def _check_keys(value: Any, path: str, problems: list[Problem]) -> None:
    """Every mapping key must be text; YAML allows numbers, dates and booleans as keys."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(
                    Problem(path or ROOT, f"key {key!r} is not text; field names are words", short_repr(key))
                )
                continue
            _check_keys(item, f"{path}.{key}" if path else key, problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_keys(item, f"{path}[{i}]", problems)


# --------------------------------------------------------------------------- strict types

_NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_ISO_SHAPED = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
#: Words accepted for a flag besides true/false (what YAML 1.1 also reads as booleans).
_FLAG_WORDS = frozenset({"true", "false", "yes", "no"})


def _annotation_types(annotation: Any) -> list[Any]:
    """Every class inside ``X | None``, ``list[X]``, ``Annotated[X, ...]``."""
    out: list[Any] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type):
            out.append(a)
        args = typing.get_args(a) or (a.__args__ if isinstance(a, types.UnionType) else ())
        stack.extend(args)
    return out


@functools.cache
def _field_kinds(model: type[BaseModel]) -> dict[str, tuple[str, Any, str | None]]:
    """name -> (kind, submodel, allowed) with kind number | flag | date | model | models."""
    kinds: dict[str, tuple[str, Any, str | None]] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = extra.get("x-allowed")
        allowed = allowed if isinstance(allowed, str) else None
        found = _annotation_types(info.annotation)
        sub = next((t for t in found if issubclass(t, BaseModel)), None)
        if "x-unit" in extra:
            kinds[name] = ("number", None, allowed)
        elif info.annotation in (bool, bool | None):
            kinds[name] = ("flag", None, allowed)
        elif _dt.date in found:
            kinds[name] = ("date", None, allowed)
        elif sub is not None:
            kinds[name] = ("models" if typing.get_origin(info.annotation) is list else "model", sub, allowed)
    return kinds


def _unreadable(value: Any, path: str, allowed: str | None, unreadable: list[Problem]) -> bool:
    """Report a value no field can take (unparsable scalar, absurd integer); True when it was one."""
    if isinstance(value, _Unreadable):
        unreadable.append(Problem(path, value.reason, short_repr(value.text), allowed))
        return True
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
        unreadable.append(Problem(path, "is far too large", short_repr(value), allowed))
        return True
    return False


def _strict_problems(
    data: Any, model: type[BaseModel] | None, path: str, problems: list[Problem], unreadable: list[Problem]
) -> None:
    """Values the parser could not read (``unreadable``), and values of the wrong JSON type for
    their field (``problems``), anywhere in ``data`` (the mapping of ``model``, if known).

    Pydantic (lax mode, as tables and forms need) would coerce ``"58"`` to 58 and ``0`` to false;
    a patient document must say what it means, so these are refused here, by field.
    """
    if isinstance(data, Mapping):
        kinds = _field_kinds(model) if model is not None else {}
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            kind, sub, allowed = kinds.get(str(key), (None, None, None))
            if _unreadable(value, where, allowed, unreadable):
                continue
            if kind == "number" and isinstance(value, str) and _NUMERIC_TEXT.match(value):
                problems.append(Problem(
                    where, f"must be a number, not text: write {value.strip()} without quotes",
                    short_repr(value), allowed))
            elif kind == "flag" and isinstance(value, (int, float)) and not isinstance(value, bool):
                problems.append(Problem(
                    where, "must be true or false, not a number (write null if unknown)", short_repr(value), allowed))
            elif kind == "flag" and isinstance(value, str) and value.strip().casefold() not in _FLAG_WORDS:
                problems.append(Problem(
                    where, "must be true or false (write null if unknown)", short_repr(value), allowed))
            elif kind == "date":
                _date_problem(value, where, allowed, problems)
            elif kind == "models" and isinstance(value, list):
                for i, item in enumerate(value):
                    if not _unreadable(item, f"{where}[{i}]", None, unreadable):
                        _strict_problems(item, sub, f"{where}[{i}]", problems, unreadable)
            elif kind == "model":
                _strict_problems(value, sub, where, problems, unreadable)
            # an unknown field is reported as such by the model; its contents are not looked into


def _date_problem(value: Any, path: str, allowed: str | None, problems: list[Problem]) -> None:
    if isinstance(value, _dt.datetime):
        return  # the model refuses a time of day with its own message
    if isinstance(value, str):
        m = _ISO_SHAPED.match(value)
        if not m:
            return  # not ISO-shaped: the model says so
        try:
            value = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            problems.append(Problem(
                path, "is not a calendar date (check the month and the day)",
                short_repr(value), allowed or "ISO date YYYY-MM-DD"))
            return
    if isinstance(value, _dt.date) and value < MIN_DATE:
        problems.append(Problem(
            path, f"{value.isoformat()} is before {MIN_DATE.year}: check the year",
            short_repr(value.isoformat()), f"{allowed or 'ISO date YYYY-MM-DD'}, from {MIN_DATE.isoformat()}"))


def _more_values_than(data: Any, limit: int) -> bool:
    """Whether ``data`` holds more than ``limit`` values (mappings, lists and scalars); stops at the limit."""
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def _validate(data: Any, source: str | None) -> Patient:
    if data is None:
        raise _fail("the input is empty", allowed="a JSON or YAML mapping of patient fields", source=source)
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else f"a single value ({short_repr(data)})"
        raise _fail(
            f"the top level is {kind}; a mapping of patient fields is required",
            allowed="a mapping (key: value pairs)",
            source=source,
        )
    if _more_values_than(data, MAX_YAML_NODES):
        raise _fail(f"the document holds more than {MAX_YAML_NODES:,} values; a patient has at most a few thousand",
                    source=source)
    problems: list[Problem] = []
    unreadable: list[Problem] = []
    try:
        _check_keys(data, "", problems)
        if problems:
            raise PatientInputError(problems, source)
        _strict_problems(data, Patient, "", problems, unreadable)
    except RecursionError:
        raise _fail("the input is nested too deeply", source=source) from None
    if unreadable:  # values the model cannot even be given: report them (and the type slips) alone
        raise PatientInputError(unreadable + problems, source)
    try:
        patient = Patient.model_validate(dict(data))
    except ValidationError as exc:
        named = {p.field for p in problems}
        more = [p for p in translate(exc, Patient) if p.field not in named]
        raise PatientInputError(problems + more, source) from None
    except RecursionError:
        raise _fail("the input is nested too deeply", source=source) from None
    if problems:
        raise PatientInputError(problems, source)
    return patient


def load_patient(source: Any, *, name: str | None = None, format: str | None = None) -> Patient:  # noqa: A002
    """One validated ``Patient`` from a path, JSON/YAML text or bytes, a mapping or a model.

    A ``str`` is a path when it is one line naming an existing file or ending in
    ``.json``/``.yaml``/``.yml``; otherwise it is the document text. ``name`` labels the
    source in error messages. ``format`` (``"json"`` or ``"yaml"``) says what text or bytes
    claim to be; a ``.json`` file claims JSON. JSON-looking text that claims JSON is parsed
    as JSON only: a syntax error (a trailing comma) is reported at its line and column, not
    rescued by the more lenient YAML reader.

    Raises ``PatientInputError`` listing every problem found, and nothing else: whatever a
    parser or validator raises on hostile input becomes a ``PatientInputError``.
    """
    if format is not None and format not in FORMATS:
        raise _fail(f"unknown input format {format!r}", allowed=", ".join(FORMATS), source=name)
    try:
        return _load(source, name, format)
    except PatientInputError:
        raise
    except RecursionError:
        raise _fail("the input is nested too deeply", source=name) from None
    except Exception as exc:  # the promise: nothing but PatientInputError leaves this function
        log.debug("unexpected error reading %s", name or "input", exc_info=True)
        raise _fail(
            f"the input could not be read ({type(exc).__name__}); check its structure against "
            "the patient schema (imln schema)",
            source=name,
        ) from None


def _load(source: Any, name: str | None, fmt: str | None) -> Patient:
    if isinstance(source, Patient):
        return source
    if isinstance(source, BaseModel):
        return _validate(source.model_dump(), name or type(source).__name__)
    if isinstance(source, Mapping):
        return _validate(source, name)
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_INPUT_BYTES:
            raise _fail(f"input is larger than the {MAX_INPUT_BYTES // 1024 // 1024} MiB limit", source=name)
        return _validate(_parse_text(_decode(bytes(source), name), name, fmt), name)
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and (_PATH_LIKE.match(source.strip()) or _is_file(source))
    ):
        path = Path(source)
        if fmt is None and path.suffix.casefold() == ".json":
            fmt = "json"
        return _validate(_parse_text(_read_file(path), name or str(path), fmt), name or str(path))
    if isinstance(source, str):
        return _validate(_parse_text(source, name, fmt), name)
    raise _fail(
        f"cannot read a patient from {type(source).__name__}",
        allowed="path, JSON/YAML text or bytes, mapping, Patient",
        source=name,
    )


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and Path(text).is_file()
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- tables

_NESTED = {"tumor_location", "findings", "cardiac"}


def table_columns() -> dict[str, str]:
    """Flat column name -> nested field path understood by ``patients_from_table``.

    Patient fields keep their names; ``tumor_quadrant`` and ``tumor_clock_position`` fill
    ``tumor_location``; cardiac fields keep their (unique) names; each imaging field is
    prefixed by its modality, e.g. ``mri_short_axis_mm`` or ``pet_ct_suv_max`` (one finding
    per modality per row).
    """
    columns = {name: name for name in Patient.model_fields if name not in _NESTED}
    columns.update({f"tumor_{n}": f"tumor_location.{n}" for n in TumorLocation.model_fields})
    columns.update({n: f"cardiac.{n}" for n in CardiacContext.model_fields})
    for modality in Modality:
        for n in ImagingFinding.model_fields:
            if n != "modality":
                columns[f"{modality.value}_{n}"] = f"findings.{modality.value}.{n}"
    return columns


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value: Any) -> Any:
    """numpy/pandas scalars to Python scalars; strings stripped."""
    if isinstance(value, str):
        return value.strip()
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, dict)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def _records(rows: Any) -> tuple[list[Mapping[str, Any]], str | None]:
    if isinstance(rows, (str, os.PathLike)):
        path = Path(rows)
        if not path.is_file():
            raise _fail("table file not found", value=str(path), source=str(path))
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise _fail(f"the table is larger than the {MAX_TABLE_BYTES // 1024 // 1024} MiB limit", source=str(path))
        data = path.read_bytes()
        text = _decode(data, str(path))
        return list(csv.DictReader(io.StringIO(text))), str(path)
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas.DataFrame, no import needed
        return rows.to_dict(orient="records"), None
    if isinstance(rows, Mapping):
        raise _fail("a table is a list of rows (mappings), not a single mapping", allowed="list of mappings or DataFrame")
    return list(rows), None


def patients_from_table(rows: Iterable[Mapping[str, Any]] | Any) -> list[Patient]:
    """One ``Patient`` per row of a table with flat column names (see ``table_columns``).

    ``rows``: a list of mappings (e.g. ``csv.DictReader``), a pandas DataFrame (pandas is
    never imported here) or the path of a UTF-8 CSV file. Empty cells and NaN mean unknown;
    rows with every cell empty are skipped. Problems from all rows are raised together,
    named ``rows[i].column``.
    """
    records, source = _records(rows)
    columns = table_columns()
    problems: list[Problem] = []
    patients: list[Patient] = []
    unknown_reported: set[str] = set()
    for i, row in enumerate(records):
        if not isinstance(row, Mapping):
            problems.append(Problem(f"rows[{i}]", "each row must be a mapping of column: value", short_repr(row)))
            continue
        data: dict[str, Any] = {}
        findings: dict[str, dict[str, Any]] = {}
        rename: dict[str, str] = {}
        for column, raw in row.items():
            column = str(column).strip()
            if column not in columns:
                if column not in unknown_reported:
                    unknown_reported.add(column)
                    close = [c for c in columns if c.casefold() == column.casefold()]
                    close = close or difflib.get_close_matches(column, list(columns), n=1, cutoff=0.6)
                    hint = f": did you mean {close[0]!r}?" if close else ""
                    problems.append(
                        Problem(column, f"unknown column{hint}", None, "see imln.schema.table_columns()")
                    )
                continue
            if _missing(raw):
                continue
            value = _plain(raw)
            path = columns[column].split(".")
            if path[0] == "findings":
                findings.setdefault(path[1], {})[path[2]] = value
            elif len(path) == 2:
                data.setdefault(path[0], {})[path[1]] = value
                rename[columns[column]] = column
            else:
                data[column] = value
                rename[column] = column
        if not data and not findings:
            continue
        ordered = [m.value for m in Modality if m.value in findings]
        if ordered:
            data["findings"] = [{"modality": m, **findings[m]} for m in ordered]
            for k, m in enumerate(ordered):
                rename[f"findings[{k}]"] = f"{m}_*"
                for n in ImagingFinding.model_fields:
                    rename[f"findings[{k}].{n}"] = f"{m}_{n}" if n != "modality" else f"{m}_*"
        try:
            patients.append(Patient.model_validate(data))
        except ValidationError as exc:
            problems.extend(
                translate(exc, Patient, rename=lambda p, r=rename, i=i: f"rows[{i}].{r.get(p, p)}")
            )
    if problems:
        raise PatientInputError(problems, source)
    return patients
