"""Clinical labels for field names, shared by the web form, the web result page and reports.

Labels are presentation only: a field missing here is labelled from its JSON Schema
description or, failing that, from its name, so new fields still show.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LABELS", "OUTPUT_LABELS", "UNIT_SUFFIXES", "label_for", "unit_for_key"]

LABELS: dict[str, str] = {
    # patient
    "patient_id": "Pseudonymous label",
    "age_years": "Age",
    "sex": "Sex",
    "bmi_kg_per_m2": "Body-mass index",
    "setting": "Decision point",
    # tumour
    "laterality": "Side of the cancer",
    "tumor_location": "Tumour location",
    "quadrant": "Quadrant",
    "clock_position": "Clock position",
    "tumor_size_mm": "Tumour size (largest invasive diameter)",
    "histology": "Histological type",
    "grade": "Grade (Nottingham)",
    "er_status": "Oestrogen receptor",
    "pr_status": "Progesterone receptor",
    "her2_status": "HER2",
    "ki67_percent": "Ki-67",
    "lvi": "Lymphovascular invasion",
    "multifocal": "Multifocal or multicentric",
    "nipple_inversion": "Nipple inversion or retraction",
    "mammographic_calcification": "Suspicious calcification on mammography",
    # axilla and treatment
    "clinical_n_stage": "Clinical N category (AJCC 8th)",
    "pathological_n_stage": "Pathological N category (AJCC 8th; ypN after NAC)",
    "im_node_tissue": "Internal mammary node pathology",
    "im_node_tissue.method": "IM node tissue obtained by",
    "im_node_tissue.result": "IM node pathology result",
    "im_node_tissue.date": "Date of the IM node biopsy",
    "positive_axillary_nodes": "Positive axillary nodes",
    "examined_axillary_nodes": "Axillary nodes examined",
    "neoadjuvant_chemotherapy": "Neoadjuvant chemotherapy",
    "implant_reconstruction": "Implant-based reconstruction",
    "prior_imn_radiotherapy": "Internal mammary chain already irradiated",
    # imaging finding
    "findings": "Imaging of the internal mammary chain",
    "modality": "Modality",
    "result": "Reader's call",
    "short_axis_mm": "Short axis of the largest node",
    "long_axis_mm": "Long axis of the same node",
    "node_count": "Visible internal mammary nodes",
    "intercostal_space": "Intercostal space",
    "suv_max": "SUVmax",
    "shape": "Node shape",
    "fatty_hilum": "Fatty hilum preserved",
    "doppler_flow": "Doppler flow",
    "diffusion_restriction": "Restricted diffusion",
    "sternal_erosion": "Sternal erosion",
    "side": "Side of the finding",
    "date": "Date of the examination",
    # cardiac
    "cardiac": "Cardiac context",
    "mean_heart_dose_gy_with_imn": "Mean heart dose with IMN irradiation",
    "mean_heart_dose_gy_without_imn": "Mean heart dose without IMN irradiation",
    "baseline_cardiac_risk_percent": "Baseline risk of a major coronary event",
    "baseline_cardiac_risk_horizon_years": "Time horizon of that risk",
    "anthracycline": "Anthracycline",
    "trastuzumab": "Trastuzumab",
    "coronary_heart_disease": "Known coronary heart disease",
}

#: Labels for the assessment's own fields (outside the validated input).
OUTPUT_LABELS: dict[str, str] = {
    "derived": "Derived from the input",
    "medial_lateral": "Medial or lateral",
    "evidence_on_file": "Accuracy evidence on file for these modalities",
    "record_id": "Record",
    "measures": "Measures",
    "statement": "Statement",
    "citation": "Source",
    "location": "Where in the source",
    "audit_status": "Audit",
    "audit_messages": "Audit findings",
    "risk": "Pre-test risk",
    "imaging": "Imaging: post-test probability",
    "decision": "Recommendation",
    "notes": "Notes",
    "input": "Validated input",
    "schema_version": "Layout version",
    "imln_version": "imln version",
    "evidence_version": "Evidence version",
    "evidence_digest": "Evidence digest (SHA-256)",
    "created_at": "Computed at (UTC)",
    "lr_positive": "Likelihood ratio of a positive result",
    "lr_negative": "Likelihood ratio of a negative result",
    "lr_applied": "Likelihood ratio applied",
    "lr_point": "Likelihood ratio",
    "lr_lower": "Likelihood ratio, lower bound",
    "lr_upper": "Likelihood ratio, upper bound",
}

#: Unit implied by a field-name suffix (the data dictionary puts units in names).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_mm", "mm"),
    ("_percent", "%"),
    ("_years", "years"),
    ("_gy", "Gy"),
    ("_kg_per_m2", "kg/m²"),
    ("_days", "days"),
    ("_months", "months"),
)

_MODALITY_LABELS = {
    "us": "Ultrasound",
    "mri": "MRI",
    "ct": "CT",
    "pet_ct": "PET/CT",
    "pet_mri": "PET/MRI",
    "spect_ct": "SPECT/CT",
    "lymphoscintigraphy": "Lymphoscintigraphy",
    "mammography": "Mammography",
}


def modality_label(value: str) -> str:
    return _MODALITY_LABELS.get(value, value.replace("_", " ").upper() if len(value) <= 4 else value.replace("_", " "))


def unit_for_key(key: str) -> str:
    """Unit implied by the field name (``tumor_size_mm`` → ``mm``), or ``''``."""
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    if "_gy_" in key:
        return "Gy"
    return ""


#: A Python class name ("RecommendationClass") is never a label.
_CLASS_NAME = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")


def _humanise(key: str) -> str:
    text = re.sub(r"_(mm|percent|years|kg_per_m2|gy)$", "", key).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else key


def label_for(key: str, schema: dict[str, Any] | None = None, *, section: str | None = None) -> str:
    """A clinical label: the tables above, else the schema's own title (if not auto), else the name.

    Input labels apply to the validated input (``section`` ``"input"`` or ``None``, as in the
    form); inside output sections the same name may mean something else (a model's
    ``setting``), so there only :data:`OUTPUT_LABELS` apply.
    """
    if key in OUTPUT_LABELS:
        return OUTPUT_LABELS[key]
    if section in (None, "input") and key in LABELS:
        return LABELS[key]
    if schema:
        title = schema.get("title")
        auto = key.replace("_", " ").title()
        if isinstance(title, str) and title and title != auto and not _CLASS_NAME.match(title):
            return title
    return _humanise(key)
