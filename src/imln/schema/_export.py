"""What the CLI shows: the JSON Schema of the input and the normalised echo of a patient."""

from __future__ import annotations

from typing import Any

from imln.schema._load import load_patient
from pydantic import BaseModel

from imln.schema._patient import CardiacContext, ImagingFinding, Patient, TumorLocation

__all__ = ["data_dictionary", "normalise", "patient_json_schema"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def patient_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a patient input file; descriptions give units and ranges.

    ``x-unit`` and ``x-allowed`` on a property repeat the unit and allowed values in a
    machine-readable form. Cross-field rules (positive ≤ examined nodes, quadrant vs clock
    position, ...) cannot be expressed in JSON Schema and are listed in ``x-rules``.
    """
    schema = Patient.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **schema,
        "x-rules": list(CROSS_FIELD_RULES),
    }


#: Rules checked by the models beyond single-field ranges (shown in the JSON Schema).
CROSS_FIELD_RULES: tuple[str, ...] = (
    "positive_axillary_nodes ≤ examined_axillary_nodes",
    "setting after_nac requires neoadjuvant_chemotherapy true or unknown",
    "tumor_location.quadrant must agree with tumor_location.clock_position for the laterality "
    "(right breast: 9 o'clock outer; left breast: 3 o'clock outer)",
    "tumor_location needs a quadrant or a clock_position",
    "findings[].long_axis_mm ≥ findings[].short_axis_mm",
    "findings[].node_count 0 excludes sizes, suv_max and a positive result",
    "findings[].suv_max only for pet_ct and pet_mri; doppler_flow only for us; "
    "diffusion_restriction only for mri and pet_mri; sizes, shape and fatty_hilum not for "
    "lymphoscintigraphy",
    "a finding needs a result or at least one of short_axis_mm, long_axis_mm, suv_max, node_count",
    "findings[].date not in the future",
    "cardiac.baseline_cardiac_risk_percent requires cardiac.baseline_cardiac_risk_horizon_years",
)


def normalise(patient: Any) -> dict[str, Any]:
    """The validated input as plain JSON-ready data, every unknown an explicit ``None``.

    Accepts anything ``load_patient`` accepts. Derived values are under ``"derived"``
    (currently ``medial_lateral``) so the rest can be fed back to ``load_patient``.
    """
    p = load_patient(patient)
    data = p.model_dump(mode="json")
    ml = p.medial_lateral
    data["derived"] = {"medial_lateral": None if ml is None else ml.value}
    return data


def data_dictionary() -> list[dict[str, Any]]:
    """One row per input field: dotted path, unit, allowed values, required, description.

    The same declarations as the models and the JSON Schema, as a table for documentation.
    """
    rows: list[dict[str, Any]] = []
    parts: list[tuple[str, type[BaseModel]]] = [
        ("", Patient),
        ("tumor_location.", TumorLocation),
        ("findings[].", ImagingFinding),
        ("cardiac.", CardiacContext),
    ]
    for prefix, model in parts:
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            rows.append(
                {
                    "field": prefix + name,
                    "unit": extra.get("x-unit") or None,
                    "allowed": extra.get("x-allowed"),
                    "required": info.is_required(),
                    "description": info.description,
                }
            )
    return rows
