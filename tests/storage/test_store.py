"""The assessment store on SQLite and PostgreSQL: save, read, page, reproduce, migrate."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

import imln
from imln.storage import (
    HEAD_REVISION,
    Store,
    current_revision,
    digest,
    make_engine,
    migrate,
)

EXAMPLES = Path(__file__).parents[2] / "examples"
PATIENTS = sorted(p for p in EXAMPLES.glob("*.yaml"))


@pytest.fixture(scope="module")
def assessments():
    return [imln.assess(imln.load_patient(p)) for p in PATIENTS]


class TestStore:
    def test_round_trip_keeps_input_output_and_versions(self, database_url, assessments):
        with Store(database_url) as store:
            a = assessments[0]
            row = store.save(a)
            got = store.get(row.id)
            assert got is not None
            doc = a.model_dump(mode="json")
            assert got.output == json.loads(json.dumps(doc))
            assert got.input == doc["input"]
            assert got.imln_version == imln.__version__
            assert got.evidence_version == doc["evidence_version"]
            assert got.evidence_digest == doc["evidence_digest"]
            assert got.input_digest == digest(doc["input"])
            assert got.intact
            assert got.stored_at.tzinfo is not None
            if doc.get("risk"):
                assert got.model_versions == {doc["risk"]["model_id"]: doc["risk"]["model_version"]}

    def test_missing_id_is_none(self, database_url):
        with Store(database_url) as store:
            assert store.get("no-such-id") is None

    def test_paging_is_newest_first_and_complete(self, database_url, assessments):
        with Store(database_url) as store:
            ids = [store.save(a).id for a in assessments * 2]
            seen = []
            offset = 0
            while offset is not None:
                page = store.list(limit=3, offset=offset)
                assert page.total == len(ids)
                assert len(page.items) <= 3
                seen += [r.id for r in page.items]
                offset = page.next_offset
            assert sorted(seen) == sorted(ids)
            assert seen[0] == ids[-1]  # newest first

    def test_reproduce_matches_and_is_logged(self, database_url, assessments):
        with Store(database_url) as store:
            row = store.save(assessments[-1])
            result = store.reproduce(row.id)
            assert result is not None and result.matches, result.differences
            assert result.note is None
            history = store.reproductions(row.id)
            assert [h["matches"] for h in history] == [True]

    def test_reproduce_reports_what_differs(self, database_url, assessments):
        with Store(database_url) as store:
            doc = assessments[0].model_dump(mode="json")
            doc["notes"] = ["a note the current code does not write"]
            doc["evidence_version"] = "1999.1.1"
            row = store.save(doc)
            result = store.reproduce(row.id)
            assert not result.matches
            assert "notes[0]" in result.differences or "notes" in result.differences
            assert "evidence_version" in result.differences
            assert "evidence_version" in (result.note or "")

    def test_tampered_output_is_not_intact(self, database_url, assessments):
        with Store(database_url) as store:
            row = store.save(assessments[0])
            with store.engine.begin() as c:
                bad = dict(row.output, notes=["edited later"])
                c.execute(sa.text("UPDATE assessments SET output_json = :o WHERE id = :i").bindparams(
                    sa.bindparam("o", type_=sa.JSON)), {"o": bad, "i": row.id})
            assert not store.get(row.id).intact

    def test_no_patient_identifier_in_logs(self, database_url, assessments, caplog):
        caplog.set_level(logging.DEBUG)
        with Store(database_url) as store:
            row = store.save(assessments[0])
            store.reproduce(row.id)
        pid = assessments[0].input["patient_id"]
        assert pid
        assert row.id in caplog.text
        assert pid not in caplog.text


class TestMigrations:
    def test_new_database_is_at_head(self, database_url):
        with Store(database_url) as store:
            assert current_revision(store.engine) == HEAD_REVISION
            assert {"assessments", "reproductions"} <= set(store.tables())

    def test_rows_stored_at_first_revision_survive_the_upgrade(self, database_url, assessments):
        """A row written by revision 0001 keeps its input and output and gains model versions."""
        engine = make_engine(database_url)
        migrate(engine, "0001")
        doc = assessments[-1].model_dump(mode="json")
        table = sa.table(
            "assessments", *(sa.column(c) for c in (
                "id", "stored_at", "schema_version", "imln_version", "evidence_version", "evidence_digest",
                "input_digest", "output_digest")),
            sa.column("input_json", sa.JSON), sa.column("output_json", sa.JSON),
        )
        from datetime import UTC, datetime

        from imln.storage._store import _stable

        with engine.begin() as c:
            c.execute(table.insert().values(
                id="old-row", stored_at=datetime(2026, 1, 1, tzinfo=UTC), schema_version="1",
                imln_version=doc["imln_version"], evidence_version=doc["evidence_version"],
                evidence_digest=doc["evidence_digest"], input_digest=digest(doc["input"]),
                output_digest=digest(_stable(doc)), input_json=doc["input"], output_json=doc,
            ))
        engine.dispose()
        with Store(database_url) as store:  # opening migrates to head
            assert current_revision(store.engine) == HEAD_REVISION
            row = store.get("old-row")
            assert row is not None and row.intact
            assert row.output_digest_method == "sha256-json-sorted"  # checked as it was digested
            assert row.output == json.loads(json.dumps(doc))
            if doc.get("risk"):
                assert row.model_versions == {doc["risk"]["model_id"]: doc["risk"]["model_version"]}
            assert store.reproduce("old-row").matches

    def test_models_match_the_newest_migration(self, database_url):
        """Autogenerate finds nothing to change: models and migrations agree."""
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from imln.storage._models import Base

        with Store(database_url) as store, store.engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
        assert diff == []


def test_sqlite_uses_wal(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'w.sqlite3'}") as store, store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_url_is_a_sqlite_file_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    from imln.storage import default_database_url

    url = default_database_url()
    assert url.startswith("sqlite:///") and url.endswith("assessments.sqlite3")
    assert str(tmp_path) in url


def test_postgres_is_really_postgres(postgres_url):
    with Store(postgres_url) as store:
        assert store.dialect == "postgresql"
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SHOW server_version").scalar()


class TestOutputDigest:
    """New rows are digested over orjson's sorted-key JSON; the method is stored with the digest."""

    def test_new_rows_record_the_method_and_its_digest(self, database_url, assessments):
        import hashlib

        import orjson

        from imln.storage._store import _stable

        with Store(database_url) as store:
            row = store.save(assessments[0])
            doc = assessments[0].model_dump(mode="json")
            expected = hashlib.sha256(orjson.dumps(_stable(doc), option=orjson.OPT_SORT_KEYS)).hexdigest()
            assert row.output_digest_method == "sha256-orjson-sorted" and row.output_digest == expected
            again = store.get(row.id)
            assert again.output_digest_method == "sha256-orjson-sorted" and again.intact
            assert again.summary()["output_digest_method"] == "sha256-orjson-sorted"

    @pytest.mark.parametrize("method", ["sha256-json-sorted", "sha256-orjson-sorted"])
    def test_either_method_detects_a_changed_output(self, database_url, assessments, method):
        from imln.storage import output_digest

        doc = assessments[0].model_dump(mode="json")
        value, used = output_digest(doc, method)
        assert used == method
        changed = json.loads(json.dumps(doc))
        changed["decision"]["seed"] = changed["decision"]["seed"] + 1
        assert output_digest(changed, method)[0] != value
        # created_at is volatile: not digested
        assert output_digest({**doc, "created_at": "2000-01-01T00:00:00+00:00"}, method)[0] == value

    def test_the_two_methods_are_both_canonical_forms(self, assessments):
        """Same content, keys in another order: same digest under each method."""
        from imln.storage import output_digest

        doc = assessments[0].model_dump(mode="json")
        shuffled = json.loads(json.dumps(doc, sort_keys=True))
        for method in ("sha256-json-sorted", "sha256-orjson-sorted"):
            assert output_digest(doc, method)[0] == output_digest(shuffled, method)[0]

    def test_unknown_method_is_refused(self, assessments):
        from imln.storage import output_digest

        with pytest.raises(ValueError, match="unknown output digest method 'md5'; known: sha256-json-sorted"):
            output_digest(assessments[0].model_dump(mode="json"), "md5")


class TestSqliteDriverInsert:
    """SQLite rows are written by ``_DriverInsert``, skipping Core: the stored bytes must be Core's."""

    @staticmethod
    def _rows(engine):
        with engine.connect() as c:
            return [tuple(r) for r in c.exec_driver_sql("SELECT * FROM assessments ORDER BY id")]

    def test_writes_the_bytes_core_writes(self, tmp_path, assessments):
        from imln.storage._store import _DriverInsert

        fast, core = Store(f"sqlite:///{tmp_path / 'fast.db'}"), Store(f"sqlite:///{tmp_path / 'core.db'}")
        assert isinstance(fast._insert, _DriverInsert)
        captured = []
        fast._insert = lambda values, _insert=fast._insert: (captured.append(dict(values)), _insert(values))[1]
        for a in assessments:
            fast.save(a)
        for values in captured:  # the same values through SQLAlchemy Core
            core._core_insert(values)
        fast_rows, core_rows = self._rows(fast.engine), self._rows(core.engine)
        assert len(fast_rows) == len(assessments)
        assert fast_rows == core_rows
        # and read back through the ORM as any row: timestamps aware, JSON parsed, digests intact
        for a, values in zip(assessments, captured):
            got = fast.get(values["id"])
            assert got is not None and got.intact
            assert got.stored_at == values["stored_at"]
            assert got.output == json.loads(json.dumps(a.model_dump(mode="json")))
        fast.close()
        core.close()

    def test_a_failed_insert_is_rolled_back_and_keeps_what_was_stored(self, tmp_path, assessments):
        store = Store(f"sqlite:///{tmp_path / 'a.db'}")
        kept = store.save(assessments[0])
        values = {"id": kept.id}  # the same primary key again: the insert fails

        def duplicate(v, _insert=store._insert):
            return _insert({**v, **values})

        store._insert = duplicate
        with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"):  # wrapped as Core wraps it
            store.save(assessments[1])
        store._insert = duplicate.__defaults__[0]
        assert store.count() == 1 and store.get(kept.id).output == kept.output
        store.save(assessments[1])  # the pooled connection is usable again
        assert store.count() == 2
        store.close()
