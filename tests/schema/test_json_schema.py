"""The JSON Schema printed by ``imln schema patient``."""

from __future__ import annotations

import json

import pytest

from imln.schema import CardiacContext, ImagingFinding, Patient, TumorLocation, patient_json_schema


def _properties(schema: dict) -> dict[str, dict]:
    out = dict(schema["properties"])
    for name, definition in schema["$defs"].items():
        for key, value in definition.get("properties", {}).items():
            out[f"{name}.{key}"] = value
    return out


def test_schema_is_json_and_draft_2020_12() -> None:
    schema = patient_json_schema()
    json.dumps(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"age_years", "laterality", "setting"}
    assert {"ImagingFinding", "CardiacContext", "TumorLocation"} <= set(schema["$defs"])
    assert schema["x-rules"]


@pytest.mark.parametrize("model", [Patient, ImagingFinding, CardiacContext, TumorLocation])
def test_every_field_described(model: type) -> None:
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} has no description"


def test_numeric_fields_carry_unit_and_range() -> None:
    for name, prop in _properties(patient_json_schema()).items():
        if "x-unit" not in prop:
            continue
        assert "Allowed:" in prop["description"], name
        assert prop["x-allowed"] in prop["description"], name
        bounds = [b for option in prop.get("anyOf", [prop]) for b in option if b in ("minimum", "maximum", "exclusiveMinimum")]
        assert bounds, f"{name} has no JSON Schema bounds"



def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_no_pydantic_only_keywords() -> None:
    """Constraints must appear as JSON Schema keywords (minimum), not pydantic's (ge)."""
    assert not _keys(patient_json_schema()) & {"ge", "le", "gt", "lt"}


def test_units_in_descriptions() -> None:
    props = _properties(patient_json_schema())
    assert "mm" in props["tumor_size_mm"]["description"]
    assert "0–100 mm" in props["ImagingFinding.short_axis_mm"]["description"]
    assert "Gy" in props["CardiacContext.mean_heart_dose_gy_with_imn"]["description"]
    assert "18–100 years" in props["age_years"]["description"]


def test_choices_listed() -> None:
    schema = patient_json_schema()
    assert schema["$defs"]["Modality"]["enum"] == ["us", "ct", "mri", "pet_ct", "pet_mri", "lymphoscintigraphy", "spect_ct"]
    assert "cN2b" in schema["properties"]["clinical_n_stage"]["description"]


def test_modalities_match_evidence_vocabulary() -> None:
    from imln.evidence import Modality as EvidenceModality
    from imln.schema._patient import Modality

    assert [m.value for m in Modality] == [m.value for m in EvidenceModality]
