"""Which layer read each patient field — and, for a field given but read by none, why.

Every field the schema accepts is accounted for here: read by a fixed layer
(:data:`ALWAYS_READ`), read when the pre-test model has a term on it or an
indication record has a criterion on it (both worked out per assessment), or
listed in :data:`NOT_READ` with the reason no layer reads it. An assessment
lists the fields the user gave that no layer read for this patient
(:attr:`~imln.Assessment.unused_inputs`), so nothing entered is silently ignored.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from imln._cache import Same
from imln.evidence import EvidenceBase, Kind

__all__ = ["ALWAYS_READ", "NOT_READ", "UnusedInput", "fields_read", "unused_inputs"]

#: Fields some layer reads for every patient, and what for.
ALWAYS_READ: dict[str, str] = {
    "patient_id": "interfaces: labels the stored assessment, the report and the FHIR subject",
    "setting": "every layer: the decision rule, the evidence setting of imaging and the risk model's intercept",
    "laterality": "schema: medial or lateral side of a clock position",
    "findings": "imaging: each finding's result and likelihood ratio; decision: visible node, follow-up finding",
    "neoadjuvant_chemotherapy": "imaging: evidence setting; decision: IM sentinel node route and indications",
    "implant_reconstruction": "decision: the implant MRI predictive value and its confounders at follow-up",
    "prior_imn_radiotherapy": "decision: re-irradiation caution",
    "clinical_n_stage": "decision: cN2b/cN3b is clinically detected internal mammary disease",
    "pathological_n_stage": "decision: pN1b/pN1c/pN2b/pN3b is internal mammary disease; axillary category",
    "im_node_tissue": "decision: a positive biopsy establishes, a negative one resolves, an imaging finding",
    "cardiac": "decision: the cardiac harm of IMN radiotherapy (rt_balance)",
    "age_years": "decision: the cardiac harm modifiers of rt_balance",
}

#: Fields no layer reads, with the reason (shown when a user gives one).
NOT_READ: dict[str, str] = {
    "sex": "the evidence base holds no IMLN figure by sex, and no indication depends on it",
    "histology": "the evidence base holds no IMLN figure by histological type",
    "pr_status": "no adjusted estimate of progesterone receptor status for IMLN metastasis is in the evidence base, "
                 "and no indication depends on it",
    "her2_status": "the review names HER2 status as a risk factor, but the evidence base holds no adjusted "
                   "estimate of its effect (and sources disagree on its direction)",
    "ki67_percent": "no adjusted estimate of Ki-67 for IMLN metastasis is in the evidence base",
    "multifocal": "no adjusted estimate of multifocality for IMLN metastasis is in the evidence base",
    "nipple_inversion": "a published nomogram uses it, but its coefficient could not be read",
    "mammographic_calcification": "a published nomogram uses it, but its coefficient could not be read",
    "bmi_kg_per_m2": "no source in the evidence base gives how BMI changes IM imaging accuracy",
}

#: Patient fields behind each risk-model feature.
FEATURE_FIELDS: dict[str, tuple[str, ...]] = {
    "age_years": ("age_years",),
    "positive_axillary_nodes": ("positive_axillary_nodes",),
    "tumor_size_mm": ("tumor_size_mm",),
    "tumor_site": ("tumor_location",),
    "grade": ("grade",),
    "er_positive": ("er_status",),
    "pr_positive": ("pr_status",),
    "her2_positive": ("her2_status",),
    "triple_negative": ("er_status", "pr_status", "her2_status"),
    "ki67_percent": ("ki67_percent",),
    "lvi": ("lvi",),
    "multifocal": ("multifocal",),
    "nipple_inversion": ("nipple_inversion",),
    "mammographic_calcification": ("mammographic_calcification",),
    "neoadjuvant_chemotherapy": ("neoadjuvant_chemotherapy",),
    "bmi_kg_per_m2": ("bmi_kg_per_m2",),
}


class UnusedInput(BaseModel):
    """A field the user gave that no layer read for this patient."""

    model_config = ConfigDict(frozen=True)

    field: str
    value: Any
    reason: str


def _criteria_fields(criteria: Any) -> set[str]:
    from imln.decision._indications import _CRITERION_FIELDS

    out = {_CRITERION_FIELDS[name] for name in _CRITERION_FIELDS if getattr(criteria, name, None) is not None}
    for branch in criteria.any_of or []:
        out |= _criteria_fields(branch)
    return out


def fields_read(risk: Any, evidence: EvidenceBase) -> dict[str, list[str]]:
    """Field → the layers that read it in an assessment with this risk prediction and evidence base."""
    terms = tuple((c.feature, c.label) for c in getattr(risk, "contributions", None) or [])
    return _fields_read(terms, getattr(risk, "model_id", None), Same(evidence))


@lru_cache(maxsize=64)
def _fields_read(terms: tuple[tuple[str, str], ...], model_id: str | None, evidence_key: Same
                 ) -> dict[str, list[str]]:
    """:func:`fields_read` of a model's terms and an evidence base (the same for every patient of both)."""
    read: dict[str, list[str]] = {name: [why] for name, why in ALWAYS_READ.items()}
    for feature, label in terms:
        for name in FEATURE_FIELDS.get(feature, ()):
            read.setdefault(name, []).append(f"risk: term '{label}' of model {model_id}")
    for record in evidence_key.obj:  # type: ignore[attr-defined]
        if record.kind is Kind.indication and record.indication is not None:
            for name in _criteria_fields(record.indication.applies_when):
                read.setdefault(name, []).append(f"decision: indication {record.id}")
    return {k: list(dict.fromkeys(v)) for k, v in read.items()}


def _given(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def unused_inputs(patient: Any, risk: Any, evidence: EvidenceBase) -> list[UnusedInput]:
    """The fields ``patient`` gives that no layer read, each with the reason."""
    read = fields_read(risk, evidence)
    out = []
    for name in type(patient).model_fields:
        value = getattr(patient, name)
        if name in read or not _given(value):
            continue
        reason = NOT_READ.get(name, "read only by a pre-test model term or an indication criterion on it, and "
                                    "neither applies here")
        if getattr(risk, "model_id", None):
            reason += f"; the pre-test model {risk.model_id} has no term on it"
        out.append(UnusedInput(field=name, value=getattr(value, "value", value), reason=reason))
    return out
