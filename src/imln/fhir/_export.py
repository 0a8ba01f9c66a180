"""An assessment as a FHIR R4B RiskAssessment.

Why R4B: most hospital systems speak R4, and ``fhir.resources`` has no R4 (4.0.1)
package; R4B's RiskAssessment is element-for-element the same as R4's. (R5 merges
``reasonCode``/``reasonReference`` into ``reason``; nothing else here differs.)

Conventions (documented for receivers):

* ``prediction.probabilityDecimal`` is a **proportion in [0, 1]** (0.091 = 9.1 %), as in
  the specification's own examples; the interval is stated in ``prediction.rationale``.
* When a predictor is unknown and the assessment gives only the range of possible
  point estimates, that range is sent as ``probabilityRange`` in **percent** (UCUM
  ``%``), as invariant ras-1 requires, and no decimal is sent.
* ``method`` names the model and its version; ``note`` carries the imln, model and
  evidence versions and digest; ``basis`` points at contained Observations, one per
  input item, so the receiver sees what the probability rests on.
* Without a probability (no risk section), there is no ``prediction`` and a note says why.
"""

from __future__ import annotations

from typing import Any

from imln.report._adapter import ProbabilityEstimate, model_versions, risk_details, risk_estimate
from imln.report._labels import LABELS, modality_label

__all__ = ["FHIR_VERSION", "UCUM", "to_risk_assessment", "risk_assessment_json"]

FHIR_VERSION = "4.3.0"  # R4B
UCUM = "http://unitsofmeasure.org"

OUTCOME_TEXT = "Internal mammary lymph node metastasis"
CODE_TEXT = "Risk of internal mammary lymph node (IMLN) metastasis"

#: Units of input fields (by name suffix) as UCUM codes.
_UCUM_BY_SUFFIX = (
    ("_mm", "mm", "mm"),
    ("_percent", "%", "%"),
    ("_years", "a", "years"),
    ("_kg_per_m2", "kg/m2", "kg/m²"),
    ("_gy_with_imn", "Gy", "Gy"),
    ("_gy_without_imn", "Gy", "Gy"),
    ("_nodes", "{nodes}", "nodes"),
)


def _quantity(name: str, value: float | int) -> dict[str, Any]:
    for suffix, code, unit in _UCUM_BY_SUFFIX:
        if name.endswith(suffix):
            return {"value": value, "unit": unit, "system": UCUM, "code": code}
    return {"value": value}


def _value(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, (int, float)):
        return {"valueQuantity": _quantity(name, value)}
    if name == "date":
        return {"valueDateTime": str(value)}
    return {"valueString": str(value)}


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def _basis(inp: dict[str, Any], when: str | None) -> list[dict[str, Any]]:
    """Contained Observations, one per known input item (nested objects as components)."""
    observations: list[dict[str, Any]] = []

    def observation(oid: str, text: str, **content: Any) -> None:
        obs: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": "final", "code": {"text": text}}
        if when:
            obs["effectiveDateTime"] = when
        obs.update(content)
        observations.append(obs)

    for name, value in inp.items():
        if value is None or name in ("patient_id", "derived") or value == [] or value == {}:
            continue
        if name == "findings" and isinstance(value, list):
            for i, finding in enumerate(value):
                comps = [
                    {"code": {"text": f"{k}: {_label(k)}"}, **_value(k, v)}
                    for k, v in finding.items()
                    if v is not None and k not in ("modality", "date")
                ]
                content: dict[str, Any] = {"component": comps} if comps else {}
                if finding.get("date"):
                    content["effectiveDateTime"] = str(finding["date"])
                modality = str(finding.get("modality", ""))
                observation(
                    f"finding-{i}",
                    f"findings[{i}]: {modality_label(modality)} of the internal mammary chain",
                    **content,
                )
            continue
        if isinstance(value, dict):
            comps = [
                {"code": {"text": f"{k}: {_label(k)}"}, **_value(k, v)} for k, v in value.items() if v is not None
            ]
            if comps:
                observation(f"input-{name.replace('_', '-')}", f"{name}: {_label(name)}", component=comps)
            continue
        observation(f"input-{name.replace('_', '-')}", f"{name}: {_label(name)}", **_value(name, value))
    return observations


def _prediction(est: ProbabilityEstimate, details: dict[str, Any]) -> dict[str, Any]:
    pred: dict[str, Any] = {"outcome": {"text": OUTCOME_TEXT}}
    method = details["interval_method"]
    if est.point is not None:
        pred["probabilityDecimal"] = round(est.point, 6)
        rationale = f"Pre-test probability {est.percent_text()}"
        if est.has_interval and method:
            rationale += f"; interval by {method}"
    else:
        pred["probabilityRange"] = {
            "low": {"value": round(est.lower * 100, 4), "unit": "%", "system": UCUM, "code": "%"},  # type: ignore[operator]
            "high": {"value": round(est.upper * 100, 4), "unit": "%", "system": UCUM, "code": "%"},  # type: ignore[operator]
        }
        missing = details["missing"]
        rationale = f"Point estimate unknown ({', '.join(missing) or 'a predictor'} unknown): {est.percent_text()}"
    pred["rationale"] = rationale + "."
    return pred


def risk_assessment_json(
    assessment: Any,
    *,
    subject_reference: str | None = None,
    resource_id: str | None = None,
    status: str = "final",
) -> dict[str, Any]:
    """The RiskAssessment as FHIR JSON (a dict), validated by ``fhir.resources``.

    ``assessment`` is an ``Assessment`` or its ``model_dump(mode="json")``.
    ``subject_reference`` (e.g. ``"Patient/123"``) links the receiver's patient; without
    it the subject is the pseudonymous ``patient_id`` as an identifier, or a display text.
    """
    return to_risk_assessment(
        assessment, subject_reference=subject_reference, resource_id=resource_id, status=status
    ).model_dump(mode="json", exclude_none=True)


def to_risk_assessment(
    assessment: Any,
    *,
    subject_reference: str | None = None,
    resource_id: str | None = None,
    status: str = "final",
) -> Any:
    """A ``fhir.resources.R4B.riskassessment.RiskAssessment`` for the assessment."""
    from fhir.resources.R4B.riskassessment import RiskAssessment

    doc = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else dict(assessment)
    inp = doc.get("input") or {}
    when = doc.get("created_at")
    details = risk_details(doc)
    est = risk_estimate(doc)
    models = model_versions(doc)

    if subject_reference:
        subject: dict[str, Any] = {"reference": subject_reference}
    elif inp.get("patient_id"):
        subject = {"identifier": {"value": str(inp["patient_id"])}, "display": "Patient (pseudonymous label)"}
    else:
        subject = {"display": "Patient (not identified)"}

    contained = _basis(inp, when)
    model_text = "; ".join(f"{m} version {v}" for m, v in models.items()) or "no risk model"
    versions = (
        f"imln {doc.get('imln_version')}; {model_text}; evidence {doc.get('evidence_version')} "
        f"(SHA-256 {doc.get('evidence_digest')}); assessment layout {doc.get('schema_version')}"
    )
    notes = [{"text": f"Computed by {versions}. Decision support, not a medical device."}]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": status,
        "subject": subject,
        "code": {"text": CODE_TEXT},
        "method": {"text": f"imln {doc.get('imln_version')}: {model_text}"},
        "performer": {"display": f"imln {doc.get('imln_version')} (decision-support software)"},
        "contained": contained,
        "basis": [{"reference": f"#{o['id']}", "display": o["code"]["text"]} for o in contained],
    }
    if resource_id:
        resource["id"] = resource_id
    if when:
        resource["occurrenceDateTime"] = when
    if est is not None:
        resource["prediction"] = [_prediction(est, details)]
        if details["title"]:
            resource["method"]["text"] += f" ({details['title']})"
    else:
        notes.append(
            {"text": "No probability of IMLN metastasis is available in this assessment "
                     "(no risk section or no probability in it); prediction is therefore absent."}
        )
    for text in doc.get("notes") or []:
        notes.append({"text": str(text)})
    resource["note"] = notes
    resource["text"] = {"status": "generated", "div": _narrative(est, models, doc)}
    if not contained:
        resource.pop("contained")
        resource.pop("basis")
    return RiskAssessment.model_validate(resource)


def _narrative(est: ProbabilityEstimate | None, models: dict[str, str], doc: dict[str, Any]) -> str:
    from markupsafe import escape

    prob = est.percent_text() if est is not None else "not available"
    model = ", ".join(f"{m} {v}" for m, v in models.items()) or "none"
    return (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
        f"{escape(CODE_TEXT)}: {escape(prob)}. Model: {escape(model)}. "
        f"imln {escape(str(doc.get('imln_version')))}, evidence {escape(str(doc.get('evidence_version')))}."
        "</p></div>"
    )
