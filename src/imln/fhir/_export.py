"""An assessment as a FHIR R4B RiskAssessment.

Why R4B: most hospital systems speak R4, and ``fhir.resources`` has no R4 (4.0.1)
package; R4B's RiskAssessment is element-for-element the same as R4's. (R5 merges
``reasonCode``/``reasonReference`` into ``reason``; nothing else here differs.)

Conventions (documented for receivers):

* The prediction is the probability the **decision** was made on
  (``decision.probability``, post-test or pre-test as ``prediction.rationale`` says),
  the same figure the web page and the report show as their headline: all three take
  it from :func:`imln.report.present`.
* ``prediction.probabilityDecimal`` is a **proportion in [0, 1]** (0.091 = 9.1 %), as in
  the specification's own examples. Its interval, also as proportions in [0, 1], is the
  extension :data:`INTERVAL_EXTENSION_URL` on the prediction (a ``valueRange`` with
  UCUM unit ``1``), and is written out in ``prediction.rationale``. It is not sent as
  ``probabilityRange``: ``probability[x]`` is a choice (a decimal *or* a range, never
  both), and invariant ras-1 requires a ``probabilityRange`` in percent.
* When the decision was given no probability (e.g. a predictor is unknown and the risk
  model gives only a range), there is no ``prediction`` and a note says why: a range
  the decision did not use is not sent as if it were the result.
* ``mitigation`` carries the recommendation (or "No recommendation"), its key reasons and
  its guideline and trial basis.
* ``code`` is SNOMED CT 709510001 "Assessment of risk for disease" (the specification's own
  RiskAssessment example uses it) with the text "Risk of internal mammary lymph node (IMLN)
  metastasis"; ``prediction.outcome`` is text only: no code for IMLN metastasis was found
  printed in a citable source (see :mod:`imln.fhir._codes` and ``docs/fhir.md``).
* The subject: ``subject_reference`` when given; else the pseudonymous ``patient_id`` as an
  ``identifier`` **only with a configured** ``identifier_system`` (an absolute URI naming the
  namespace the label is unique in: an identifier's value is unique only "within the context
  of the system"); without one the label is in ``subject.display`` and no identifier is sent.
* ``method`` names the model and its version; ``note`` carries the imln, model and
  evidence versions and digest, and IMN radiotherapy's absolute benefit and harm in
  percentage points; ``basis`` points at contained Observations, one per input item,
  so the receiver sees what the probability rests on.
"""

from __future__ import annotations

import re
from typing import Any

from imln.fhir._codes import ASSESSMENT_CODE, codeable_concept
from imln.report._adapter import model_versions, risk_details
from imln.report._labels import LABELS, modality_label
from imln.report._present import Presentation, present

__all__ = ["FHIR_VERSION", "INTERVAL_EXTENSION_URL", "UCUM", "check_identifier_system", "risk_assessment_json",
           "to_risk_assessment"]

FHIR_VERSION = "4.3.0"  # R4B
UCUM = "http://unitsofmeasure.org"

OUTCOME_TEXT = "Internal mammary lymph node metastasis"
CODE_TEXT = "Risk of internal mammary lymph node (IMLN) metastasis"
#: Extension on ``prediction``: the interval of ``probabilityDecimal``, as proportions in [0, 1].
INTERVAL_EXTENSION_URL = "urn:imln:fhir:StructureDefinition:probability-interval"

#: An absolute URI (RFC 3986: a scheme, a colon, then no white space), as FHIR's ``uri`` type needs.
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")


def check_identifier_system(system: str) -> str:
    """``system`` if it is an absolute URI; else ``ValueError`` naming ``identifier_system``."""
    if not isinstance(system, str) or not _ABSOLUTE_URI.fullmatch(system):
        raise ValueError(
            f"identifier_system: {system!r} is not an absolute URI; give the namespace your pseudonymous "
            "patient labels are unique in, e.g. 'urn:oid:1.2.3.4' or 'https://hospital.example/fhir/pseudonyms'")
    return system


def _subject(label: Any, reference: str | None, system: str | None) -> dict[str, Any]:
    """The RiskAssessment's subject: a reference, an identifier in a configured namespace, or a display."""
    if reference:
        return {"reference": reference}
    if label is None or not str(label).strip():
        return {"display": "Patient (not identified)"}
    if system:
        return {"identifier": {"system": check_identifier_system(system), "value": str(label)},
                "display": "Patient (pseudonymous label)"}
    # an identifier without a system has no namespace its value is unique in: not sent
    return {"display": f"Patient {label} (pseudonymous label; no identifier system configured)"}


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


def _quantity(name: str, value: float) -> dict[str, Any]:
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


def _proportion(value: float) -> dict[str, Any]:
    return {"value": round(value, 6), "unit": "1", "system": UCUM, "code": "1"}


def _prediction(view: Presentation) -> dict[str, Any] | None:
    """The decision's probability (the page's headline), or None when the decision had none."""
    headline = view.headline
    prob = headline.probability
    if prob is None:
        return None
    pred: dict[str, Any] = {"outcome": codeable_concept(OUTCOME_TEXT), "probabilityDecimal": round(prob.point, 6)}
    if prob.has_interval:
        pred["extension"] = [{
            "url": INTERVAL_EXTENSION_URL,
            "valueRange": {"low": _proportion(prob.lower), "high": _proportion(prob.upper)},
        }]
    rationale = f"{headline.quantity}: {prob.text}"
    if headline.source:
        rationale += f". Source: {headline.source}"
    pred["rationale"] = " ".join([rationale + ".", *headline.notes])
    return pred


def _mitigation(view: Presentation) -> str:
    rec = view.recommendation
    text = rec.text + "."
    if rec.reasons:
        text += (" Key reasons: " if rec.given else " Why: ") + " ".join(r.text for r in rec.reasons)
    if view.indication is not None:
        text += " Guideline and trial basis: " + view.indication.summary
    if rec.cautions:
        text += " Cautions: " + " ".join(rec.cautions)
    return text


def _rt_note(view: Presentation) -> str | None:
    rt = view.rt
    if rt is None:
        return None
    parts = [f"{name} {q.text}: {q.description}" for name, q in
             (("benefit", rt.benefit), ("cardiac harm", rt.harm), ("net", rt.net)) if q is not None]
    if not parts:
        return f"IMN radiotherapy against none: {rt.message}" if rt.message else None
    return ("IMN radiotherapy against none, absolute differences in percentage points (model-based): "
            + "; ".join(parts) + ".")


def risk_assessment_json(
    assessment: Any,
    *,
    subject_reference: str | None = None,
    resource_id: str | None = None,
    status: str = "final",
    identifier_system: str | None = None,
) -> dict[str, Any]:
    """The RiskAssessment as FHIR JSON (a dict), validated by ``fhir.resources``.

    ``assessment`` is an ``Assessment`` or its ``model_dump(mode="json")``.
    ``subject_reference`` (e.g. ``"Patient/123"``) links the receiver's patient; without
    it the subject is the pseudonymous ``patient_id`` as an identifier in the namespace
    ``identifier_system`` (an absolute URI; ``ValueError`` naming it otherwise), and without
    that a display text only (an identifier with no system has no namespace to be unique in).
    """
    return to_risk_assessment(
        assessment, subject_reference=subject_reference, resource_id=resource_id, status=status,
        identifier_system=identifier_system,
    ).model_dump(mode="json", exclude_none=True)


def to_risk_assessment(
    assessment: Any,
    *,
    subject_reference: str | None = None,
    resource_id: str | None = None,
    status: str = "final",
    identifier_system: str | None = None,
) -> Any:
    """A ``fhir.resources.R4B.riskassessment.RiskAssessment`` for the assessment."""
    from fhir.resources.R4B.riskassessment import RiskAssessment

    if identifier_system is not None:
        check_identifier_system(identifier_system)
    doc = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else dict(assessment)
    inp = doc.get("input") or {}
    when = doc.get("created_at")
    details = risk_details(doc)
    view = present(doc)
    models = model_versions(doc)

    subject = _subject(inp.get("patient_id"), subject_reference, identifier_system)

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
        "code": codeable_concept(CODE_TEXT, ASSESSMENT_CODE),
        "method": {"text": f"imln {doc.get('imln_version')}: {model_text}"},
        "performer": {"display": f"imln {doc.get('imln_version')} (decision-support software)"},
        "contained": contained,
        "basis": [{"reference": f"#{o['id']}", "display": o["code"]["text"]} for o in contained],
    }
    if resource_id:
        resource["id"] = resource_id
    if when:
        resource["occurrenceDateTime"] = when
    prediction = _prediction(view)
    if prediction is not None:
        resource["prediction"] = [prediction]
    else:
        notes.append({"text": f"No probability: {view.headline.absent_reason} The prediction is therefore absent."})
    if details["title"]:
        resource["method"]["text"] += f" ({details['title']})"
    resource["mitigation"] = _mitigation(view)
    rt_note = _rt_note(view)
    if rt_note:
        notes.append({"text": rt_note})
    for text in doc.get("notes") or []:
        notes.append({"text": str(text)})
    resource["note"] = notes
    resource["text"] = {"status": "generated", "div": _narrative(view, models, doc)}
    if not contained:
        resource.pop("contained")
        resource.pop("basis")
    return RiskAssessment.model_validate(resource)


def _narrative(view: Presentation, models: dict[str, str], doc: dict[str, Any]) -> str:
    from markupsafe import escape

    headline = view.headline
    if headline.probability is not None:
        prob = f"{headline.quantity}: {headline.probability.text}"
    else:
        prob = f"No probability: {headline.absent_reason}"
    model = ", ".join(f"{m} {v}" for m, v in models.items()) or "none"
    return (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
        f"{escape(prob)}</p><p>Recommendation: {escape(view.recommendation.text)}.</p><p>Model: {escape(model)}. "
        f"imln {escape(str(doc.get('imln_version')))}, evidence {escape(str(doc.get('evidence_version')))}."
        "</p></div>"
    )
