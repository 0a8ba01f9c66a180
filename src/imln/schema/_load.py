"""Read patients from files, text, mappings or tables, with guards before any parsing.

Files are recognised by content (JSON if it starts with ``{``, otherwise YAML), not suffix.
Guards: size limit (``MAX_INPUT_BYTES``) checked before reading, empty or whitespace-only
input, binary or non-UTF-8 bytes, duplicate keys, YAML aliases (no alias bombs), several
YAML documents, a top level that is not a mapping. Everything ends in ``PatientInputError``.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
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

_PATH_LIKE = re.compile(r"^[^\n{}\[\]:]*\.(json|ya?ml|csv)$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- YAML / JSON parsing


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int | None) -> None:
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no 'billion laughs') and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
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


def _parse_text(text: str, source: str | None) -> Any:
    """JSON or YAML (by content) to Python objects; any syntax problem becomes PatientInputError."""
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
                return json.loads(text, object_pairs_hook=_json_pairs)
            except json.JSONDecodeError as json_error:
                try:
                    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
                except yaml.YAMLError:
                    raise _fail(
                        f"invalid JSON at line {json_error.lineno}, column {json_error.colno}: {json_error.msg}",
                        source=source,
                    ) from None
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict safe loader
    except _DuplicateKey as dup:
        where = f" (line {dup.line})" if dup.line else ""
        raise PatientInputError(
            [Problem(str(dup.key), f"key {dup.key!r} appears more than once{where}", None, "each key once")],
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
    problems: list[Problem] = []
    _check_keys(data, "", problems)
    if problems:
        raise PatientInputError(problems, source)
    try:
        return Patient.model_validate(dict(data))
    except ValidationError as exc:
        raise PatientInputError(translate(exc, Patient), source) from None
    except RecursionError:
        raise _fail("the input is nested too deeply", source=source) from None


def load_patient(source: Any, *, name: str | None = None) -> Patient:
    """One validated ``Patient`` from a path, JSON/YAML text or bytes, a mapping or a model.

    A ``str`` is a path when it is one line naming an existing file or ending in
    ``.json``/``.yaml``/``.yml``; otherwise it is the document text. ``name`` labels the
    source in error messages. Raises ``PatientInputError`` listing every problem found.
    """
    if isinstance(source, Patient):
        return source
    if isinstance(source, BaseModel):
        return _validate(source.model_dump(), name or type(source).__name__)
    if isinstance(source, Mapping):
        return _validate(source, name)
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_INPUT_BYTES:
            raise _fail(f"input is larger than the {MAX_INPUT_BYTES // 1024 // 1024} MiB limit", source=name)
        return _validate(_parse_text(_decode(bytes(source), name), name), name)
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and (_PATH_LIKE.match(source.strip()) or _is_file(source))
    ):
        path = Path(source)
        return _validate(_parse_text(_read_file(path), name or str(path)), name or str(path))
    if isinstance(source, str):
        return _validate(_parse_text(source, name), name)
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
