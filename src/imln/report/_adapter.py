"""The one place that reads the *names* of fields in an assessment's JSON.

The risk, imaging and decision sections are being built while these renderers
exist, so the generic renderers never hard-code their layout; they ask this
module, which recognises shapes:

* a **probability with an interval**: a mapping with a point value in [0, 1]
  under one of :data:`POINT_KEYS` and bounds under :data:`LOWER_KEYS` /
  :data:`UPPER_KEYS` or a two-item list under :data:`INTERVAL_KEYS`;
* **model versions**: keys in :data:`MODEL_ID_KEYS` / :data:`MODEL_VERSION_KEYS`.

If a section's final layout uses other names, adjust the tuples (or
:func:`risk_estimate`) here and every renderer follows. The headline figures (the
probability the decision used, the recommendation, radiotherapy benefit and harm)
are not found by shape: :mod:`imln.report._present` reads them from the fields
that mean them, once, for the page, the report and FHIR.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

try:  # orjson (the API extra) encodes in C; without it model_versions walks the nodes
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "ProbabilityEstimate",
    "as_probability",
    "shape_keys",
    "find_probabilities",
    "headline_probability",
    "headline_recommendation",
    "model_versions",
    "risk_details",
    "risk_estimate",
]

#: Keys holding a point probability (first match wins).
POINT_KEYS = ("point", "estimate", "probability", "mean", "median", "value", "p")
#: Keys holding the lower and upper bound of an interval.
LOWER_KEYS = ("lower", "low", "ci_lower", "lower_bound", "lo")
UPPER_KEYS = ("upper", "high", "ci_upper", "upper_bound", "hi")
#: Keys holding an interval as a two-item list ``[lower, upper]``.
INTERVAL_KEYS = ("interval", "ci", "ci95", "credible_interval", "confidence_interval")
#: Keys holding the interval's level (0.95 or 95).
LEVEL_KEYS = ("level", "ci_level", "interval_level")
#: Keys naming a model and its version, wherever they appear in a section.
MODEL_ID_KEYS = ("model_id", "model")
MODEL_VERSION_KEYS = ("model_version", "version")
#: Key fragments marking the probability a section is about (preferred over others).
PREFERRED_FRAGMENTS = ("posttest", "post_test", "probability", "pretest", "pre_test", "risk")


@dataclass(frozen=True)
class ProbabilityEstimate:
    """A probability in [0, 1] with an optional interval, and where it was found."""

    point: float | None
    lower: float | None = None
    upper: float | None = None
    level: float | None = None  # as a proportion, 0.95
    path: str = ""
    #: True when no point estimate exists and (lower, upper) is the range of possible points.
    range_only: bool = False

    @property
    def has_interval(self) -> bool:
        return self.lower is not None and self.upper is not None

    def percent_text(self, digits: int = 1) -> str:
        """``'12.3% (95% interval 8.1–17.0%)'``, or ``'between 4.0% and 9.0%'`` for a range."""
        if self.point is None:
            return f"between {self.lower * 100:.{digits}f}% and {self.upper * 100:.{digits}f}%"  # type: ignore[operator]
        text = f"{self.point * 100:.{digits}f}%"
        if self.has_interval and self.lower == self.upper:
            return text + " (a point value, without interval)"
        if self.has_interval:
            level = f"{self.level * 100:g}% " if self.level else ""
            text += f" ({level}interval {self.lower * 100:.{digits}f}–{self.upper * 100:.{digits}f}%)"
        return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _first(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


#: Units under which a mapping may still be a probability (any other ``unit`` says it is not one).
PROBABILITY_UNITS = frozenset({"", "1", "probability", "proportion"})

#: Keys holding a range of point estimates when the point itself is unknown (missing predictor).
RANGE_KEYS = ("probability_range", "range")


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = _number(value[0]), _number(value[1])
        if lo is not None and hi is not None and 0.0 <= lo <= hi <= 1.0:
            return lo, hi
    return None


def shape_keys(value: Mapping[str, Any]) -> set[str]:
    """The keys of ``value`` that :func:`as_probability` reads (to render the rest apart)."""
    keys = set(POINT_KEYS + LOWER_KEYS + UPPER_KEYS + INTERVAL_KEYS + LEVEL_KEYS + RANGE_KEYS)
    return {k for k in value if k in keys}


def as_probability(value: Any, path: str = "") -> ProbabilityEstimate | None:
    """The value as a probability with interval, or ``None`` if it does not have that shape.

    Accepts a mapping with a point in [0, 1] and (optionally) bounds, where
    ``lower ≤ point ≤ upper`` and both bounds lie in [0, 1]. A mapping whose point is
    ``null`` but which gives a ``probability_range`` (a predictor was unknown) yields an
    estimate with ``point=None`` and that range as bounds.
    """
    if not isinstance(value, Mapping):
        return None
    unit = value.get("unit")
    if isinstance(unit, str) and unit.strip().lower() not in PROBABILITY_UNITS:
        return None  # e.g. a difference in percentage points: not a probability, whatever its size
    point = _number(_first(value, POINT_KEYS))
    if point is None:
        explicit = any(k in value for k in ("point", "probability", "estimate"))
        rng = _pair(_first(value, RANGE_KEYS))
        if explicit and rng is not None:
            return ProbabilityEstimate(None, rng[0], rng[1], None, path, range_only=True)
        return None
    if not 0.0 <= point <= 1.0:
        return None
    lower = _number(_first(value, LOWER_KEYS))
    upper = _number(_first(value, UPPER_KEYS))
    if lower is None or upper is None:
        pair = _pair(_first(value, INTERVAL_KEYS))
        if pair is not None:
            lower, upper = pair
    if lower is None or upper is None or not (0.0 <= lower <= point <= upper <= 1.0):
        # an interval that does not bracket the point is not treated as one; without any
        # interval the mapping still counts only if its point key is explicit
        if _first(value, ("point", "probability", "estimate")) is None:
            return None
        lower = upper = None
    level = _number(_first(value, LEVEL_KEYS))
    if level is None and _first(value, ("ci95",)) is not None and lower is not None:
        level = 0.95
    if level is not None and level > 1:
        level /= 100
    return ProbabilityEstimate(point, lower, upper, level, path)


def find_probabilities(value: Any, path: str = "") -> Iterator[ProbabilityEstimate]:
    """Every probability-with-interval inside ``value``, depth first, with its dotted path."""
    found = as_probability(value, path)
    if found is not None:
        yield found
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from find_probabilities(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from find_probabilities(item, f"{path}[{i}]")


def _preferred(estimates: list[ProbabilityEstimate]) -> ProbabilityEstimate | None:
    if not estimates:
        return None
    for fragment in PREFERRED_FRAGMENTS:
        for e in estimates:
            if fragment in e.path.rsplit(".", 1)[-1].lower():
                return e
    with_interval = [e for e in estimates if e.has_interval]
    return (with_interval or estimates)[0]


def risk_estimate(assessment: Mapping[str, Any]) -> ProbabilityEstimate | None:
    """The pre-test probability of IMLN metastasis from ``assessment["risk"]``, if any.

    ``assessment`` is ``Assessment.model_dump(mode="json")``. Returns ``None`` when the
    risk section is absent or holds no probability. **Adjust here** if the risk
    section's final field names differ.
    """
    risk = assessment.get("risk")
    if not risk:
        return None
    estimates = list(find_probabilities(risk, "risk"))
    return _preferred(estimates)


def headline_probability(assessment: Mapping[str, Any]) -> ProbabilityEstimate | None:
    """The probability the decision was made on (``decision.probability``), or ``None``.

    Only that field: never a search of the other sections, where anything in [0, 1]
    with an interval (a test's sensitivity, a likelihood ratio, a difference in
    percentage points) would look like a probability. :func:`imln.report.present`
    builds the labelled headline (which quantity, its source) from the same field.
    """
    decision = assessment.get("decision")
    if not isinstance(decision, Mapping) or not isinstance(decision.get("probability"), Mapping):
        return None
    est = as_probability(decision["probability"], "decision.probability")
    return est if est is not None and est.point is not None else None


#: Sections that name their model at their own top level (``risk.model_id``/``model_version``).
#: :func:`model_versions` reads these directly; anything else naming a model sends it
#: back to the full walk, so adding a model elsewhere needs no change here to stay correct.
MODEL_SECTIONS = ("risk",)
#: Sections the walk skips: the patient input and the evidence list name no models.
_NOT_SECTIONS = ("risk", "imaging", "decision", "input", "evidence_on_file")
#: How a key naming a model appears in JSON text (letters are never escaped).
_MODEL_KEY_TEXT = tuple(f'"{k}"'.encode() for k in MODEL_ID_KEYS)


def _model_of(value: Mapping[str, Any]) -> tuple[str, str] | None:
    model = _first(value, MODEL_ID_KEYS)
    version = _first(value, MODEL_VERSION_KEYS)
    if isinstance(model, str) and version is not None and not isinstance(version, (dict, list)):
        return model, str(version)
    return None


def _walk_model_versions(assessment: Mapping[str, Any]) -> dict[str, str]:
    """Every mapping in every section that names a model and its version (the reference)."""
    out: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            found = _model_of(value)
            if found is not None:
                out[found[0]] = found[1]
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for section in ("risk", "imaging", "decision"):
        walk(assessment.get(section))
    for key, value in assessment.items():  # sections added later
        if key not in _NOT_SECTIONS and isinstance(value, dict):
            walk(value)
    return dict(sorted(out.items()))


def _known_model_versions(assessment: Mapping[str, Any], encoded: bytes) -> dict[str, str] | None:
    """The walk's answer from :data:`MODEL_SECTIONS` alone, or ``None`` if it may differ.

    Only a mapping with a ``model_id``/``model`` key can name a model. Every such key
    appears in the JSON text as ``"model_id"``/``"model"`` (a quote inside a string is
    escaped, so string contents match only if they are exactly that word), so when the
    text holds no more of them than the known sections' own keys, no other mapping names
    a model and the walk would find exactly what the known sections name. One pass for
    everything starting with ``"model`` usually settles it; else the two keys are counted.
    """
    out: dict[str, str] = {}
    known = 0
    prefixed = 0
    for section in MODEL_SECTIONS:
        value = assessment.get(section)
        if isinstance(value, Mapping):
            known += sum(1 for k in MODEL_ID_KEYS if k in value)
            prefixed += sum(1 for k in value if isinstance(k, str) and k.startswith("model"))
            found = _model_of(value)
            if found is not None:
                out[found[0]] = found[1]
    if encoded.count(b'"model') != prefixed and sum(encoded.count(k) for k in _MODEL_KEY_TEXT) != known:
        return None
    return dict(sorted(out.items()))


def model_versions(assessment: Mapping[str, Any], *, encoded: bytes | str | None = None) -> dict[str, str]:
    """``{model_id: version}`` for every model named in the assessment's sections.

    Any mapping inside ``risk``, ``imaging``, ``decision`` or a later section with a
    model key (:data:`MODEL_ID_KEYS`) and a version key (:data:`MODEL_VERSION_KEYS`)
    counts. ``encoded`` is the assessment as JSON text (UTF-8, orjson or :func:`json.dumps`,
    any spacing) if the caller has it already: then only :data:`MODEL_SECTIONS` are read
    unless the text shows a model key elsewhere: tens of microseconds instead of a walk
    over every node (the same answer; without ``encoded`` it is made with orjson).
    """
    if encoded is None and _orjson is not None and type(assessment) is dict:
        try:
            encoded = _orjson.dumps(assessment)
        except TypeError:  # e.g. integers beyond 64 bits: walk instead
            encoded = None
    if encoded is not None:
        if isinstance(encoded, str):
            encoded = encoded.encode()
        found = _known_model_versions(assessment, encoded)
        if found is not None:
            return found
    return _walk_model_versions(assessment)


#: Keys in the decision section holding the recommendation text (first match wins).
RECOMMENDATION_KEYS = ("recommendation", "action", "summary", "headline", "label", "text")


def headline_recommendation(assessment: Mapping[str, Any]) -> str | None:
    """The recommendation text from ``assessment["decision"]``, if the section gives one."""
    decision = assessment.get("decision")
    if not isinstance(decision, Mapping):
        return None
    rec = decision.get("recommendation")
    if isinstance(rec, Mapping) and isinstance(rec.get("label"), str):  # imln.decision.Recommendation
        return rec["label"] + (" (uncertain: the interval straddles a threshold)" if rec.get("uncertain") else "")
    for key in RECOMMENDATION_KEYS:
        value = decision.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping):  # e.g. {"recommendation": {"text": ..., "rationale": ...}}
            for inner in RECOMMENDATION_KEYS:
                text = value.get(inner)
                if isinstance(text, str) and text.strip():
                    return text.strip()
    return None


def risk_details(assessment: Mapping[str, Any]) -> dict[str, Any]:
    """Descriptive fields of the risk section: model title, interval method, unknown predictors."""
    risk = assessment.get("risk")
    if not isinstance(risk, Mapping):
        return {"title": None, "interval_method": None, "missing": []}
    missing = risk.get("missing")
    return {
        "title": risk.get("model_title") or risk.get("title"),
        "interval_method": risk.get("interval_method"),
        "missing": list(missing) if isinstance(missing, list) else [],
    }
