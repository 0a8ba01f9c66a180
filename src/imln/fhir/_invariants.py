"""Rules of the FHIR specification that ``fhir.resources`` does not enforce, checked on our output.

RiskAssessment (R4/R4B), from the resource's constraint table:

* **ras-1** (on ``prediction.probability[x]``): "low and high must be percentages, if
  present" — ``(low.empty() or ((low.code = '%') and (low.system = %ucum))) and
  (high.empty() or ((high.code = '%') and (high.system = %ucum)))``.
* **ras-2** (on ``prediction``): "Must be <= 100" —
  ``probability is decimal implies (probability as decimal) <= 100``.

DomainResource:

* **dom-2** a contained resource contains no resources; **dom-3** every contained
  resource is referenced from elsewhere in the resource (``#id``); **dom-4** a contained
  resource has no ``meta.versionId``/``meta.lastUpdated``; **dom-5** no ``meta.security``
  in contained resources; **dom-6** a resource should have a narrative (``text``).

Element: **ele-1** every element has a value or children (no empty strings, objects or lists).

imln's own rule (the scale this API documents): ``probabilityDecimal`` is a proportion
in [0, 1] — stricter than ras-2, which allows up to 100.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_risk_assessment"]

UCUM = "http://unitsofmeasure.org"
_OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                       "entered-in-error", "unknown"}


def _empty_elements(value: Any, path: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append(f"ele-1: {path} is an empty object")
        for k, v in value.items():
            _empty_elements(v, f"{path}.{k}" if path else k, out)
    elif isinstance(value, list):
        if not value:
            out.append(f"ele-1: {path} is an empty list")
        for i, v in enumerate(value):
            _empty_elements(v, f"{path}[{i}]", out)
    elif value is None:
        out.append(f"ele-1: {path} is null")
    elif isinstance(value, str) and not value.strip():
        out.append(f"ele-1: {path} is an empty string")


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith("#"):
            found.add(ref[1:])
        for v in value.values():
            found |= _references(v)
    elif isinstance(value, list):
        for v in value:
            found |= _references(v)
    return found


def check_risk_assessment(resource: dict[str, Any], *, decimal_scale: str = "proportion") -> list[str]:
    """Every violated rule, as ``'rule: explanation'``; empty when the resource passes.

    ``decimal_scale="proportion"`` (imln's convention) also requires
    ``probabilityDecimal`` in [0, 1]; ``"spec"`` applies only ras-2 (≤ 100).
    """
    problems: list[str] = []
    if resource.get("resourceType") != "RiskAssessment":
        problems.append(f"resourceType: expected RiskAssessment, got {resource.get('resourceType')!r}")
    if resource.get("status") not in _OBSERVATION_STATUS:
        problems.append(f"status: {resource.get('status')!r} is not an observation-status code")
    if not resource.get("subject"):
        problems.append("subject: required (1..1) in R4/R4B")
    for i, pred in enumerate(resource.get("prediction") or []):
        where = f"prediction[{i}]"
        decimal = pred.get("probabilityDecimal")
        rng = pred.get("probabilityRange")
        if decimal is not None and rng is not None:
            problems.append(f"{where}: probability[x] has both a decimal and a range")
        if decimal is not None:
            if not isinstance(decimal, (int, float)) or isinstance(decimal, bool):
                problems.append(f"{where}.probabilityDecimal: not a number ({decimal!r})")
            else:
                if decimal > 100:
                    problems.append(f"ras-2: {where}.probabilityDecimal {decimal} is more than 100")
                if decimal_scale == "proportion" and not 0 <= decimal <= 1:
                    problems.append(f"imln-scale: {where}.probabilityDecimal {decimal} is outside [0, 1]")
                if decimal < 0:
                    problems.append(f"{where}.probabilityDecimal {decimal} is negative")
        if rng is not None:
            for end in ("low", "high"):
                q = rng.get(end)
                if q is not None and (q.get("code") != "%" or q.get("system") != UCUM):
                    problems.append(f"ras-1: {where}.probabilityRange.{end} is not a UCUM percentage")
            low, high = (rng.get("low") or {}).get("value"), (rng.get("high") or {}).get("value")
            if low is not None and high is not None and low > high:
                problems.append(f"{where}.probabilityRange: low {low} is above high {high}")
            for v in (low, high):
                if v is not None and not 0 <= v <= 100:
                    problems.append(f"{where}.probabilityRange: {v} % is outside 0–100")
        if not pred.get("outcome") and not pred.get("qualitativeRisk") and decimal is None and rng is None:
            problems.append(f"{where}: says nothing (no outcome, probability or qualitative risk)")
    contained = resource.get("contained") or []
    referenced = _references({k: v for k, v in resource.items() if k != "contained"})
    for c in contained:
        cid = c.get("id")
        if c.get("contained"):
            problems.append(f"dom-2: contained resource {cid!r} contains resources")
        if cid not in referenced:
            problems.append(f"dom-3: contained resource {cid!r} is not referenced")
        meta = c.get("meta") or {}
        if "versionId" in meta or "lastUpdated" in meta:
            problems.append(f"dom-4: contained resource {cid!r} has meta.versionId or meta.lastUpdated")
        if "security" in meta:
            problems.append(f"dom-5: contained resource {cid!r} has a security label")
        if c.get("resourceType") == "Observation" and c.get("status") not in _OBSERVATION_STATUS:
            problems.append(f"contained Observation {cid!r}: bad status {c.get('status')!r}")
    for ref in referenced:
        if ref not in {c.get("id") for c in contained}:
            problems.append(f"ref-1: local reference #{ref} has no contained resource")
    if not (resource.get("text") or {}).get("div"):
        problems.append("dom-6: no narrative (text.div)")
    _empty_elements(resource, "", problems)
    return problems
