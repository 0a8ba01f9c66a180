"""Builders for small, hand-made evidence bases used by the audit tests."""

from __future__ import annotations

from typing import Any

import pytest

from imln.evidence import EvidenceBase, EvidenceRecord, Reference


def make_reference(key: str = "src2020") -> Reference:
    return Reference(key=key, authors=["Test A"], title="A test source", year=2020, access="abstract")


def make_record(**overrides: Any) -> EvidenceRecord:
    """A valid proportion record; override any field."""
    body: dict[str, Any] = {
        "id": "rec-1",
        "kind": "proportion",
        "measures": "imln_metastasis",
        "statement": "A hand-made test statement.",
        "citation": "src2020",
        "location": "abstract",
        "obtained": "primary",
        "level": "patient",
        "setting": "newly_diagnosed",
        "population": "test patients",
        "values": {"percent": {"printed": "20%", "unit": "percent"}},
    }
    body.update(overrides)
    return EvidenceRecord(**body)


def make_diagnostic(rid: str, **values: str) -> EvidenceRecord:
    """A diagnostic-accuracy record; keyword values are printed strings (counts get unit count)."""
    vals = {
        name: {"printed": printed, "unit": "percent" if printed.endswith("%") else "count"}
        for name, printed in values.items()
    }
    return make_record(id=rid, kind="diagnostic_accuracy", measures="imln_detection_accuracy", modality="mri",
                       level="not_stated", values=vals)


def with_fields(record: EvidenceRecord, **fields: Any) -> EvidenceRecord:
    """A validated copy of ``record`` with some fields replaced."""
    return EvidenceRecord.model_validate({**record.model_dump(), **fields})


def make_base(*records: EvidenceRecord, references: list[Reference] | None = None) -> EvidenceBase:
    refs = references if references is not None else [make_reference()]
    return EvidenceBase(
        version="test",
        digest="0" * 64,
        records=tuple(records),
        references={r.key: r for r in refs},
        files={r.id: "test.yaml" for r in records},
    )


@pytest.fixture
def base_of():
    return make_base
