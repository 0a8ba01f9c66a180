"""The fast paths of storing an assessment give exactly what the slow ones gave.

* ``model_versions`` reads the risk section only when the JSON text shows no other
  model key: same answer as the generic walk over every node (kept verbatim below);
* digests stay the standard library's canonical JSON (pinned by a golden digest);
* the JSON columns and responses are written once with ``encode_json`` (orjson) and
  read back equal to what was stored.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imln
from imln.report import _adapter
from imln.report._adapter import model_versions
from imln.storage import Store, canonical_json, digest
from imln.storage._store import _json_serializer, encode_json

EXAMPLES = Path(__file__).parents[2] / "examples"
PATIENTS = sorted(EXAMPLES.glob("*.yaml"))


# --------------------------------------------------------------------------- reference


def walk_model_versions(assessment: Mapping[str, Any]) -> dict[str, str]:
    """``model_versions`` as it was before the fast path (verbatim): every node is visited."""
    out: dict[str, str] = {}
    MODEL_ID_KEYS = ("model_id", "model")
    MODEL_VERSION_KEYS = ("model_version", "version")

    def _first(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
        for key in keys:
            if key in mapping and mapping[key] is not None:
                return mapping[key]
        return None

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            model = _first(value, MODEL_ID_KEYS)
            version = _first(value, MODEL_VERSION_KEYS)
            if isinstance(model, str) and version is not None and not isinstance(version, (dict, list)):
                out[model] = str(version)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for section in ("risk", "imaging", "decision"):
        walk(assessment.get(section))
    for key, value in assessment.items():  # sections added later
        if key not in ("risk", "imaging", "decision", "input", "evidence_on_file") and isinstance(value, dict):
            walk(value)
    return dict(sorted(out.items()))


def encodings(doc: dict[str, Any]) -> list[bytes | str | None]:
    """Every form of JSON text a caller may pass (and none: model_versions encodes itself)."""
    out: list[bytes | str | None] = [None, orjson.dumps(doc)]
    try:
        out += [json.dumps(doc).encode(), json.dumps(doc, indent=2, ensure_ascii=False),
                canonical_json(doc).encode()]
    except ValueError:  # NaN: canonical_json refuses it
        out += [json.dumps(doc).encode()]
    return out


@pytest.fixture(scope="module")
def outputs() -> list[dict[str, Any]]:
    return [imln.assess(imln.load_patient(p)).model_dump(mode="json") for p in PATIENTS]


# --------------------------------------------------------------------------- model_versions


class TestModelVersions:
    def test_examples_same_as_the_walk(self, outputs):
        assert len(outputs) >= 4
        for doc in outputs:
            want = walk_model_versions(doc)
            assert want, "the examples name the risk model"
            for text in encodings(doc):
                assert model_versions(doc, encoded=text) == want

    def test_examples_take_the_fast_path(self, outputs, monkeypatch):
        """On today's outputs the walk is not needed (that is the point of the fast path)."""
        def no_walk(_doc):
            raise AssertionError("walked")

        monkeypatch.setattr(_adapter, "_walk_model_versions", no_walk)
        for doc in outputs:
            assert model_versions(doc, encoded=orjson.dumps(doc)) == walk_model_versions(doc)
            assert model_versions(doc) == walk_model_versions(doc)

    @pytest.mark.parametrize("extra", [
        {"imaging": {"model_id": "img-1", "model_version": "2"}},
        {"imaging": {"readers": [{"model": "cnn", "version": 3}]}},
        {"decision": {"thresholds": {"model": "thr", "version": "2026.1"}}},
        {"decision": {"model": "x", "version": {"nested": 1}}},  # version is a mapping: not a model
        {"decision": {"model": "x", "version": None, "model_version": "7"}},
        {"decision": {"model_id": None, "model": "y", "version": 1.5}},
        {"quantitative": {"model_id": "radiomics", "model_version": "0.1"}},  # a later section
        {"quantitative": [{"model_id": "in-a-list", "model_version": "1"}]},  # not a dict: not walked
        {"input": {"model_id": "input-is-skipped", "model_version": "1"}},
        {"evidence_on_file": [{"model_id": "skipped", "model_version": "1"}]},
        {"notes": ["the word \"model\" in a note", "model", "\"model_id\""]},
        {"risk_extra": {"a\"model": "quote in a key", "model\"": 1}},
        {"risk": {"model_id": "r", "model_version": "1", "sub": {"model_id": "r", "model_version": "2"}}},
        {"risk": {"model_id": "r", "model_version": "1", "calibration": {"model": "cal", "version": "3"}}},
        {"risk": {"model": "only-model-key", "version": "9"}},
        {"risk": {"model_id": 5, "model_version": "1"}},
        {"risk": {"model_id": "r", "model_version": None}},
        {"risk": {"model_title": "T", "models": ["a"], "model_id": "r", "model_version": "1"}},
        {"risk": None, "imaging": {"model_id": "img", "model_version": "1"}},
        {"risk": [{"model_id": "risk-as-list", "model_version": "1"}]},
        {"decision": {"plan": {"model_id": "ünïcode-模型", "model_version": "1"}}},
        {"decision": {"values": [float("nan"), {"model_id": "after-nan", "model_version": 1}]}},
    ])
    def test_adversarial_same_as_the_walk(self, outputs, extra):
        doc = {**outputs[0], **extra}
        want = walk_model_versions(doc)
        for text in encodings(doc):
            assert model_versions(doc, encoded=text) == want

    def test_values_orjson_cannot_encode_fall_back_to_the_walk(self):
        doc = {"risk": {"model_id": "r", "model_version": "1"}, "decision": {"n": 2**70, 1: "int key",
                                                                              "model_id": "d", "version": 2}}
        assert model_versions(doc) == walk_model_versions(doc) == {"d": "2", "r": "1"}


JSON_KEYS = st.sampled_from(["model", "model_id", "version", "model_version", "risk", "imaging", "decision",
                             "input", "evidence_on_file", "x", "model_title", 'a"model', "models"])
JSON_SCALARS = st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False) | st.sampled_from(
    ["model", "model_id", "1.0", "v2", "\"model\"", "é"])
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    JSON_KEYS, inner, max_size=5), max_leaves=25)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=6))
def test_random_documents_same_as_the_walk(doc):
    want = walk_model_versions(doc)
    for text in encodings(doc):
        assert model_versions(doc, encoded=text) == want


# --------------------------------------------------------------------------- digests and JSON text

ADVERSARIAL = {
    "floats": [1e-05, 1e16, -0.0, 0.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 2.5e-7, 1e22, 123456.789,
               1 / 3, -1e-300, 9007199254740993.0, 0.0001],
    "ints": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63)],
    "text": ["é", "模型", "😀", "\u2028\u2029", "\x00\x1f\x7f", "tab\tnew\nline", "quote\" back\\slash", "</script>"],
    "nested": [[[[]]], [{}], {"b": {"a": [1, {"z": None, "a": True}]}}],
    "Ünïcode key": {"β": 1, "a": 2, "Z": 3, "😀": 4, "\uffff": 5},
}


def test_digest_is_the_standard_library_canonical_form():
    """Stored digests are compared later: the canonical text must never change."""
    want = json.dumps(ADVERSARIAL, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert canonical_json(ADVERSARIAL) == want
    # computed with the code before orjson came in (commit ad12b31)
    assert digest({"a": [1, 1e-05, "é"], "b": None}) == (
        "af60b88b3a1fc6f15389ccecf9b2b927134926034712b4642959ff5374f67b79")
    with pytest.raises(ValueError):
        digest({"x": math.nan})


def test_encode_json_round_trips_exactly():
    for value in [ADVERSARIAL, {"big": 2**70}, {1: "int key"}, {"nan": [1.0]}]:
        text = encode_json(value)
        assert isinstance(text, bytes)
        assert json.loads(text) == json.loads(json.dumps(value))  # same meaning, keys as JSON has them
    assert _json_serializer({"a": 1e-05}) in ('{"a":1e-05}', '{"a":0.00001}')


def test_examples_encode_to_the_same_values(outputs):
    for doc in outputs:
        assert json.loads(encode_json(doc)) == json.loads(json.dumps(doc))


# --------------------------------------------------------------------------- the store


def test_saved_row_text_response_and_read_back_agree(database_url, outputs):
    with Store(database_url) as store:
        for doc in outputs:
            row = store.save(doc)
            assert row.intact and row.model_versions == walk_model_versions(doc)
            with store.engine.connect() as c:
                raw = c.execute(sa.text("SELECT output_json, input_json, model_versions FROM assessments "
                                        "WHERE id = :i"), {"i": row.id}).one()
            stored = [json.loads(v) if isinstance(v, str) else v for v in raw]  # text on SQLite, JSONB on PostgreSQL
            assert stored == [doc, doc["input"], row.model_versions]
            got = store.get(row.id)
            assert got.intact and got.output == doc and got.model_versions == row.model_versions
            assert json.loads(row.to_json()) == row.to_dict() == got.to_dict()
            assert json.loads(got.to_json()) == got.to_dict()
            assert list(json.loads(row.to_json())) == list(row.to_dict())  # same key order


def test_tampered_row_is_not_intact_after_a_fresh_read(tmp_path, outputs):
    with Store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        row = store.save(outputs[0])
        with store.engine.begin() as c:
            c.execute(sa.text("UPDATE assessments SET output_digest = :d WHERE id = :i"), {"d": "0" * 64, "i": row.id})
        assert row.intact  # what was saved
        assert not store.get(row.id).intact  # what is stored now


def test_engine_with_another_json_serializer(tmp_path, outputs):
    """A caller's own engine (stdlib json) still writes the right JSON."""
    from imln.storage._store import _sqlite_pragmas

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'own.sqlite3'}")
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    with Store(engine.url.render_as_string(), engine=engine) as store:
        row = store.save(outputs[0])
        assert store.get(row.id).output == outputs[0] and store.get(row.id).intact


WRITER = r"""
import sys, time
from imln.storage import Store
url, n, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
doc = {"schema_version": "1", "imln_version": "t", "evidence_version": "t", "evidence_digest": "t",
       "input": {"patient_id": "p"}, "risk": {"model_id": "m", "model_version": "1"},
       "decision": {"blob": ["x" * 200] * 300}}
store = Store(url)
while time.time() < start:
    time.sleep(0.005)
for _ in range(n):
    store.save(doc)
store.close()
"""


def test_two_processes_write_at_once_without_errors(tmp_path):
    """Two uvicorn workers are two processes on one SQLite file: writers wait, never fail."""
    import time

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    Store(url).close()  # migrated once
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, "150", str(start)], stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(url) as store:
        assert store.count() == 300
