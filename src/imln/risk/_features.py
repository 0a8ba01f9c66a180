"""The feature vocabulary risk models read, and how each feature comes from a patient.

A model names features, never raw schema fields, so a derived quantity (the
tumour's side relative to the nipple, triple-negative status) is computed in one
place. ``None`` means unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imln.schema import Patient
from imln.schema._patient import Her2Status, MedialLateral, ReceptorStatus

__all__ = ["FEATURES", "FeatureDefinition", "patient_features"]


@dataclass(frozen=True)
class FeatureDefinition:
    name: str
    description: str
    extract: Callable[[Patient], Any]


def _site(p: Patient) -> str | None:
    side = p.medial_lateral
    if side is None or side is MedialLateral.boundary:
        return None  # a 12 or 6 o'clock tumour is neither side; unknown to a medial/lateral model
    return side.value


def _positive(status: Any) -> bool | None:
    if status is None:
        return None
    if status in (ReceptorStatus.positive, Her2Status.positive):
        return True
    if status in (ReceptorStatus.negative, Her2Status.negative):
        return False
    return None  # HER2 equivocal


def _triple_negative(p: Patient) -> bool | None:
    flags = [_positive(p.er_status), _positive(p.pr_status), _positive(p.her2_status)]
    if any(f is True for f in flags):
        return False
    if all(f is False for f in flags):
        return True
    return None


FEATURES: dict[str, FeatureDefinition] = {
    f.name: f
    for f in (
        FeatureDefinition("age_years", "Age in years.", lambda p: p.age_years),
        FeatureDefinition(
            "positive_axillary_nodes", "Axillary nodes with metastasis.", lambda p: p.positive_axillary_nodes
        ),
        FeatureDefinition("tumor_size_mm", "Largest invasive tumour diameter, mm.", lambda p: p.tumor_size_mm),
        FeatureDefinition(
            "tumor_site",
            "medial, central or lateral (from quadrant or clock position; a 12/6 o'clock tumour is unknown).",
            _site,
        ),
        FeatureDefinition("grade", "Histological grade 1-3.", lambda p: p.grade),
        FeatureDefinition("er_positive", "Oestrogen receptor positive.", lambda p: _positive(p.er_status)),
        FeatureDefinition("pr_positive", "Progesterone receptor positive.", lambda p: _positive(p.pr_status)),
        FeatureDefinition("her2_positive", "HER2 positive (equivocal = unknown).", lambda p: _positive(p.her2_status)),
        FeatureDefinition("triple_negative", "ER, PR and HER2 all negative.", _triple_negative),
        FeatureDefinition("ki67_percent", "Ki-67 index, %.", lambda p: p.ki67_percent),
        FeatureDefinition("lvi", "Lymphovascular invasion.", lambda p: p.lvi),
        FeatureDefinition("multifocal", "Multifocal or multicentric disease.", lambda p: p.multifocal),
        FeatureDefinition("nipple_inversion", "Nipple inversion or retraction.", lambda p: p.nipple_inversion),
        FeatureDefinition(
            "mammographic_calcification", "Suspicious calcification on mammography.", lambda p: p.mammographic_calcification
        ),
        FeatureDefinition(
            "neoadjuvant_chemotherapy", "Neoadjuvant chemotherapy given.", lambda p: p.neoadjuvant_chemotherapy
        ),
        FeatureDefinition("bmi_kg_per_m2", "Body-mass index, kg/m².", lambda p: p.bmi_kg_per_m2),
    )
}


def patient_features(patient: Patient) -> dict[str, Any]:
    """Every vocabulary feature of one patient (``None`` = unknown)."""
    out: dict[str, Any] = {}
    for name, definition in FEATURES.items():
        value = definition.extract(patient)
        out[name] = value.value if hasattr(value, "value") else value
    return out
