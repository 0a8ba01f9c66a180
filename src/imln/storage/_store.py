"""The assessment store: save, fetch, list and reproduce assessments.

SQLite by default (a file in the user's data folder, WAL mode), PostgreSQL when a
``postgresql+psycopg://`` URL is given. The schema is migrated with the bundled
Alembic revisions every time a store is opened, so stored rows move forward with the
code and are never dropped. Logs name assessments by id only, never by patient.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

try:  # JSON text for the JSON columns and the HTTP layer (not for digests: see canonical_json)
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson comes with the api extra
    _orjson = None  # type: ignore[assignment]

from imln.report._adapter import model_versions
from imln.storage._models import AssessmentRow, ReproductionRow

__all__ = [
    "Page",
    "Reproduction",
    "Store",
    "StoredAssessment",
    "canonical_json",
    "default_database_url",
    "digest",
    "DIGEST_METHODS",
    "output_digest",
    "HEAD_REVISION",
]

log = logging.getLogger("imln.storage")

#: Newest migration revision bundled with this version.
HEAD_REVISION = "0003"
#: Output keys that legitimately differ between two runs of the same assessment.
VOLATILE_KEYS = frozenset({"created_at"})


#: (words in the driver's message, error code, message for the user) — first match wins.
_STORAGE_PROBLEMS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("disk is full", "disk full", "no space left", "could not extend file", "diskfull"), "storage_full",
     "the database's disk is full: nothing was stored; free space and try again"),
    (("readonly database", "read-only", "read only"), "storage_read_only",
     "the database is read-only: nothing was stored; the operator must make it writable"),
    (("database is locked", "database table is locked", "lock timeout", "deadlock", "could not obtain lock",
      "busy"), "storage_busy",
     "the database is busy (locked by another writer): nothing was stored; try again shortly"),
    (("unable to open database", "connection", "could not connect", "server closed", "timeout", "terminating"),
     "storage_unreachable", "the database cannot be reached: nothing was stored; try again later"),
)


def describe_storage_error(exc: BaseException) -> tuple[str, str]:
    """``(code, message)`` for a database error, in words for the client (no SQL, no paths, no traceback).

    Disk full, read-only, locked and unreachable databases are told apart by the driver's message
    (SQLite and PostgreSQL wordings); anything else is ``storage_error``.
    """
    text = " ".join(str(x) for x in (getattr(exc, "orig", None), exc) if x is not None).casefold()
    for words, code, message in _STORAGE_PROBLEMS:
        if any(w in text for w in words):
            return code, message
    return "storage_error", "the database refused the operation: nothing was stored; try again later"


def default_database_url() -> str:
    """``sqlite:///…/assessments.sqlite3`` in the user's data folder (created if needed)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("imln", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'assessments.sqlite3'}"


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the text that digests are computed over.

    Always the standard library's encoder: stored digests are compared with digests of
    this text, and faster encoders write some floats differently (orjson: ``1e-5`` and
    ``1e16`` for ``1e-05`` and ``1e+16``) and NaN as ``null`` where this refuses NaN.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(value: Any) -> str:
    """SHA-256 of :func:`canonical_json` (input digests, and output digests of method ``sha256-json-sorted``)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


#: Output digest methods: how the text an output digest is taken over was written.
#: ``sha256-json-sorted`` — :func:`canonical_json` (rows stored before revision 0003);
#: ``sha256-orjson-sorted`` — orjson with sorted keys, compact (new rows when orjson is
#: installed; several times faster on an assessment of tens of kilobytes). Both are
#: canonical (sorted keys, no spaces, UTF-8); they differ in the spelling of some floats.
#: orjson writes non-finite numbers as null, as the JSON column stores them.
DIGEST_METHODS = ("sha256-json-sorted", "sha256-orjson-sorted")


def output_digest(output: Mapping[str, Any], method: str | None = None) -> tuple[str, str]:
    """``(digest, method)`` of an output's stable part (without ``created_at``); the newest method by default."""
    method = method or ("sha256-orjson-sorted" if _orjson is not None else "sha256-json-sorted")
    stable = _stable(output)
    if method == "sha256-json-sorted":
        return digest(stable), method
    if method == "sha256-orjson-sorted":
        if _orjson is None:
            raise RuntimeError("output digest method sha256-orjson-sorted needs orjson (pip install 'imln[api]')")
        try:
            return hashlib.sha256(_orjson.dumps(stable, option=_orjson.OPT_SORT_KEYS)).hexdigest(), method
        except TypeError:  # what orjson cannot encode (integers beyond 64 bits) the standard form can
            return digest(stable), "sha256-json-sorted"
    raise ValueError(f"unknown output digest method {method!r}; known: {', '.join(DIGEST_METHODS)}")


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value`` for storage and responses (orjson when installed).

    Not canonical (insertion order, orjson's float spelling): use it where only the
    meaning of the text matters, never for digests. Values orjson cannot encode
    (integers beyond 64 bits, non-string keys) go through :func:`json.dumps`.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value)
        except TypeError:
            pass
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Encoded(dict):  # type: ignore[type-arg]
    """A JSON column value whose text is already known (written as is by :func:`_json_serializer`).

    A dict with the same content, so an engine with another JSON serializer still
    writes the right thing.
    """

    __slots__ = ("text",)

    def __init__(self, value: dict[str, Any], text: str) -> None:
        super().__init__(value)
        self.text = text


def _encoded(value: Any, text: bytes | None = None) -> Any:
    """``value`` for a JSON column, carrying its text (``text`` if already encoded)."""
    if type(value) is not dict:
        return value
    return _Encoded(value, (encode_json(value) if text is None else text).decode("utf-8"))


def _json_serializer(value: Any) -> str:
    """JSON column serializer of engines made by :func:`make_engine`."""
    if type(value) is _Encoded:
        return value.text
    return encode_json(value).decode("utf-8")


def _stable(output: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in output.items() if k not in VOLATILE_KEYS}


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths where two JSON values differ (at most 50)."""
    out: list[str] = []

    def walk(a: Any, b: Any, p: str) -> None:
        if len(out) >= 50:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in dict.fromkeys([*a, *b]):
                walk(a.get(k, _MISSING), b.get(k, _MISSING), f"{p}.{k}" if p else k)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{p}[{i}]")
        elif a != b:
            out.append(p or "<root>")

    walk(old, new, path)
    return out


_MISSING = object()


@dataclass(frozen=True)
class StoredAssessment:
    """One row of the store, as returned to callers."""

    id: str
    stored_at: datetime
    schema_version: str
    imln_version: str
    evidence_version: str
    evidence_digest: str
    model_versions: dict[str, str]
    input_digest: str
    output_digest: str
    input: dict[str, Any]
    output: dict[str, Any]
    output_digest_method: str = "sha256-json-sorted"
    #: Known when the row was just saved (its output is the one digested); else computed.
    _intact: bool | None = field(default=None, repr=False, compare=False)
    #: The output's JSON text as stored, when known (reused by :meth:`to_json`).
    _output_json: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def intact(self) -> bool:
        """The stored output still has the digest computed when it was stored."""
        if self._intact is not None:
            return self._intact
        return output_digest(self.output, self.output_digest_method)[0] == self.output_digest

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stored_at": self.stored_at.isoformat(),
            "schema_version": self.schema_version,
            "imln_version": self.imln_version,
            "evidence_version": self.evidence_version,
            "evidence_digest": self.evidence_digest,
            "model_versions": self.model_versions,
            "input_digest": self.input_digest,
            "output_digest": self.output_digest,
            "output_digest_method": self.output_digest_method,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "intact": self.intact, "assessment": self.output}

    def to_json(self) -> bytes:
        """:meth:`to_dict` as compact UTF-8 JSON; the output's stored text is reused when known."""
        head = encode_json({**self.summary(), "intact": self.intact})
        output = self._output_json if self._output_json is not None else encode_json(self.output)
        return head[:-1] + b',"assessment":' + output + b"}"


@dataclass(frozen=True)
class Page:
    items: list[StoredAssessment]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + len(self.items)
        return nxt if nxt < self.total else None


@dataclass(frozen=True)
class Reproduction:
    """The result of re-running a stored assessment with the current code and evidence."""

    assessment_id: str
    matches: bool
    differences: list[str]
    stored_versions: dict[str, Any]
    current_versions: dict[str, Any]
    output: dict[str, Any] = field(repr=False)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "assessment_id": self.assessment_id,
            "matches": self.matches,
            "differences": self.differences,
            "stored_versions": self.stored_versions,
            "current_versions": self.current_versions,
            "note": self.note,
        }


def _row_to_stored(row: AssessmentRow) -> StoredAssessment:
    stored_at = row.stored_at
    if stored_at.tzinfo is None:  # SQLite returns naive datetimes
        stored_at = stored_at.replace(tzinfo=UTC)
    return StoredAssessment(
        id=row.id,
        stored_at=stored_at,
        schema_version=row.schema_version,
        imln_version=row.imln_version,
        evidence_version=row.evidence_version,
        evidence_digest=row.evidence_digest,
        model_versions=dict(row.model_versions or {}),
        input_digest=row.input_digest,
        output_digest=row.output_digest,
        input=row.input_json,
        output=row.output_json,
        output_digest_method=row.output_digest_method,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # 16 KiB pages for new databases (no effect on an existing file): an assessment is tens of kilobytes of
    # JSON, so a row spans a quarter of the overflow pages (and WAL frames) it would with the default 4 KiB
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: the log is synced at checkpoints, not at every commit. A crash of the
    # service loses nothing; a power or OS failure can lose the last commits (never corrupts).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, foreign keys and a busy timeout.

    JSON columns are written with :func:`encode_json` (orjson when installed).
    """
    kwargs.setdefault("json_serializer", _json_serializer)
    if url.startswith("postgresql://"):  # use psycopg 3, not psycopg2
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


_INSERT_ASSESSMENT = insert(AssessmentRow.__table__)


class _DriverInsert:
    """The assessment INSERT as SQLAlchemy Core would send it, without Core's per-statement work.

    The statement is compiled once for the engine's dialect; each value goes through
    its column type's bind processor (the same text, JSON and timestamp encoding as
    ``connection.execute(_INSERT_ASSESSMENT, values)``), then one execute and one
    commit on a pooled driver connection. For SQLite, where that work is a fifth of
    storing a 60 KB row; a database server's round trip dwarfs it. Engine events
    around cursor execution (``before_cursor_execute``…) do not see this statement.
    """

    def __init__(self, engine: Engine) -> None:
        table = AssessmentRow.__table__
        compiled = _INSERT_ASSESSMENT.compile(dialect=engine.dialect, column_keys=[c.name for c in table.columns])
        if compiled.positiontup is None:  # pragma: no cover - a named-parameter driver
            raise ValueError(f"{engine.dialect.name}: positional parameters expected")
        self.engine = engine
        self.sql = compiled.string
        self.binds = [(name, table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect))
                      for name in compiled.positiontup]

    def __call__(self, values: Mapping[str, Any]) -> None:
        params = tuple(values[name] if bind is None else bind(values[name]) for name, bind in self.binds)
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, params)
            finally:
                cursor.close()
            connection.commit()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            connection.rollback()
            # as Core raises it: sqlalchemy.exc.IntegrityError, OperationalError… wrapping the driver's error
            raise DBAPIError.instance(self.sql, params, exc, self.engine.dialect.loaded_dbapi.Error) from exc
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool


#: Advisory lock id serialising migrations on PostgreSQL (several workers start at once).
_PG_MIGRATION_LOCK = 0x1A11_0001


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` with the bundled Alembic migrations.

    Serialised across processes (several uvicorn workers open the store at once): an
    advisory lock on PostgreSQL, a lock file beside the database file on SQLite.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("imln.storage") / "migrations"))
    lock_file = None
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        import fcntl

        lock_file = open(f"{database}.migrate-lock", "a+")  # noqa: SIM115 - held until the end
        fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        if lock_file is not None:
            lock_file.close()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class Store:
    """Stored assessments in one database; migrates it to the newest schema on open."""

    def __init__(self, url: str | None = None, *, migrate_schema: bool = True, engine: Engine | None = None) -> None:
        self.url = url or default_database_url()
        self.engine = engine or make_engine(self.url)
        if migrate_schema:
            migrate(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._insert = _DriverInsert(self.engine) if self.engine.dialect.name == "sqlite" else self._core_insert

    def _core_insert(self, values: Mapping[str, Any]) -> None:
        with self.engine.begin() as connection:  # Core insert: the ORM's unit of work costs more than the row
            connection.execute(_INSERT_ASSESSMENT, dict(values))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- write

    def save(self, assessment: Any) -> StoredAssessment:
        """Store an assessment (``Assessment`` or its JSON) and return the stored row.

        The output is encoded once: the same text is written to the database, read for
        the model versions and reused by :meth:`StoredAssessment.to_json`.
        """
        output = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else dict(assessment)
        inp = output.get("input") or {}
        input_digest = digest(inp)
        out_digest, method = output_digest(output)
        output_text = encode_json(output)
        versions = model_versions(output, encoded=output_text)
        row_id = str(uuid.uuid4())
        stored_at = datetime.now(UTC)
        meta = {
            "schema_version": str(output.get("schema_version", "")),
            "imln_version": str(output.get("imln_version", "")),
            "evidence_version": str(output.get("evidence_version", "")),
            "evidence_digest": str(output.get("evidence_digest", "")),
        }
        self._insert({
            "id": row_id,
            "stored_at": stored_at,
            **meta,
            "model_versions": versions,
            "input_digest": input_digest,
            "output_digest": out_digest,
            "output_digest_method": method,
            "input_json": _encoded(inp),
            "output_json": _encoded(output, output_text),
        })
        log.info("stored assessment %s", row_id)
        return StoredAssessment(
            id=row_id, stored_at=stored_at, **meta, model_versions=versions, input_digest=input_digest,
            output_digest=out_digest, output_digest_method=method, input=inp, output=output, _intact=True,
            _output_json=output_text,
        )

    # ---------------------------------------------------------------- read

    def get(self, assessment_id: str) -> StoredAssessment | None:
        with self._session() as session:
            row = session.get(AssessmentRow, assessment_id)
            return None if row is None else _row_to_stored(row)

    def list(self, *, limit: int = 20, offset: int = 0) -> Page:
        """Newest first."""
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(AssessmentRow)) or 0
            rows = session.scalars(
                select(AssessmentRow)
                .order_by(AssessmentRow.stored_at.desc(), AssessmentRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return Page([_row_to_stored(r) for r in rows], int(total), limit, offset)

    def count(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(AssessmentRow)) or 0)

    def reproductions(self, assessment_id: str) -> list[dict[str, Any]]:
        with self._session() as session:
            rows = session.scalars(
                select(ReproductionRow)
                .where(ReproductionRow.assessment_id == assessment_id)
                .order_by(ReproductionRow.id)
            ).all()
            return [
                {
                    "checked_at": (r.checked_at if r.checked_at.tzinfo else r.checked_at.replace(tzinfo=UTC)).isoformat(),
                    "imln_version": r.imln_version,
                    "evidence_version": r.evidence_version,
                    "matches": r.matches,
                    "differences": r.differences,
                    "note": r.note,
                }
                for r in rows
            ]

    # ---------------------------------------------------------------- reproduce

    def reproduce(self, assessment_id: str, *, assess_fn: Any = None, record: bool = True) -> Reproduction | None:
        """Re-run a stored assessment from its stored input and compare the outputs.

        Everything but ``created_at`` must match. A difference in the imln or evidence
        version is reported in ``note``: the stored output is then explained by those
        versions, not reproduced by the current ones.
        """
        stored = self.get(assessment_id)
        if stored is None:
            return None
        if assess_fn is None:
            from imln import assess, load_patient

            def assess_fn(data: dict[str, Any]) -> dict[str, Any]:
                return assess(load_patient({k: v for k, v in data.items() if k != "derived"})).model_dump(mode="json")

        new = assess_fn(stored.input)
        diffs = _differences(_stable(stored.output), _stable(new))
        current = {k: new.get(k) for k in ("imln_version", "evidence_version", "evidence_digest")}
        current["model_versions"] = model_versions(new)
        before = {k: getattr(stored, k) for k in ("imln_version", "evidence_version", "evidence_digest")}
        before["model_versions"] = stored.model_versions
        note = None
        changed = [k for k in before if before[k] != current[k]]
        if changed:
            note = "versions differ from the stored assessment: " + ", ".join(changed)
        result = Reproduction(assessment_id, not diffs, diffs, before, current, new, note)
        if record:
            with self._session.begin() as session:
                session.add(
                    ReproductionRow(
                        assessment_id=assessment_id,
                        checked_at=datetime.now(UTC),
                        imln_version=str(current["imln_version"]),
                        evidence_version=str(current["evidence_version"]),
                        matches=result.matches,
                        differences=diffs,
                        note=note,
                    )
                )
        log.info("reproduced assessment %s: %s", assessment_id, "match" if result.matches else f"{len(diffs)} differences")
        return result

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())
