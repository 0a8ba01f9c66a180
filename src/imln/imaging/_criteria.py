"""Criteria engine: from the measurements of one imaging finding to a modality result.

Each published criterion is a :class:`Rule` read from ``data/criteria.yaml``:
the modality, the finding field it reads, an operator and a threshold with its
unit, the evidence records it rests on (which carry the citation), the record
and value where every threshold is printed, and, where one was measured, the
evidence record of the criterion's own accuracy. :func:`classify_finding`
applies the rules of the finding's modality and returns a
:class:`CriteriaResult` saying

* the result — positive, negative or indeterminate;
* which rules decided it, with the field value, the threshold and the source;
* why it is indeterminate when it is: the fields a rule needed were missing,
  the rules disagreed, or the value lies inside a published range of thresholds;
* cautions (e.g. sternal erosion: a differential, never a positive) and context
  (e.g. the intercostal space) that do not vote.

Rules vote; the result is the unanimous vote of the rules that could be
applied. A ``classifier`` votes positive or negative (or indeterminate inside a
``band``); a ``suspicion`` rule votes only positive, since not meeting it is no
evidence of a negative. The engine never invents a threshold: what the
evidence base does not hold is listed in ``not_implemented``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from imln.evidence import EvidenceBase, Modality, Setting, load_evidence

__all__ = [
    "CriteriaError",
    "CriteriaResult",
    "CriteriaSet",
    "Rule",
    "RuleOutcome",
    "classify_finding",
    "default_criteria_path",
    "load_criteria",
]

Vote = Literal["positive", "negative", "indeterminate"]
Role = Literal["classifier", "suspicion", "caution", "context"]
Operator = Literal["at_least", "band", "equals", "above_reference", "count_with_size", "flag", "describe"]
Outcome = Literal[
    "positive",  # the rule votes positive
    "negative",  # the rule votes negative
    "indeterminate",  # the value lies inside a published range of thresholds
    "not_met",  # a suspicion rule that is not met (no vote)
    "possible",  # a suspicion rule that may be met; the input cannot tell (no vote)
    "missing",  # a field the rule needs is not given (no vote)
    "outside_range",  # the finding lies outside the population the rule was derived in (no vote)
    "not_applicable",  # the rule does not apply in this setting or to this side (no vote)
    "caution",  # a caution rule fired
    "context",  # a context rule reported
    "silent",  # a caution or context rule with nothing to say
    "disabled",  # switched off by an override
]

#: Fields an override may change, and what they mean.
OVERRIDABLE = {
    "threshold": "the threshold (a number, or [low, high] for a band)",
    "size_threshold": "the size threshold of a count_with_size rule",
    "enabled": "true or false",
    "count_is_of_nodes_at_or_above_size": "true when node_count counts only nodes at or above the size threshold",
    "field": "the finding field the rule reads (e.g. long_axis_mm instead of short_axis_mm)",
}


class CriteriaError(ValueError):
    """The criteria file or an override is malformed; names the rule and the field."""


class Requirement(BaseModel):
    """A precondition on another field: the population a threshold was derived in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    at_least: float
    source: str = Field(alias="from", description="record_id:value_name where the number is printed")
    reason: str


class Caution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    evidence: list[str]


class Rule(BaseModel):
    """One published criterion, as data (see the header of ``data/criteria.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    modality: list[Modality] = Field(min_length=1)
    field: str
    operator: Operator
    role: Role
    threshold: float | tuple[float, float] | None = None
    unit: str | None = None
    positive_value: bool | str | None = None
    negative_value: bool | str | None = None
    reference_field: str | None = None
    size_field: str | None = None
    size_threshold: float | None = None
    size_unit: str | None = None
    side: Literal["ipsilateral", "contralateral"] | None = None
    settings: list[Setting] | None = None
    count_is_of_nodes_at_or_above_size: bool = False
    evidence: list[str] = Field(min_length=1)
    threshold_from: list[str] = Field(default_factory=list)
    accuracy: str | None = None
    requires: Requirement | None = None
    caution_when_positive: Caution | None = None
    text: str | None = None
    text_missing: str | None = None
    text_present: str | None = None
    note: str | None = None
    enabled: bool = True
    overridden: dict[str, Any] = Field(default_factory=dict, description="Fields changed by an override.")

    @model_validator(mode="after")
    def _operator_needs(self) -> Rule:
        needs: dict[str, tuple[str, ...]] = {
            "at_least": ("threshold", "unit"),
            "band": ("threshold", "unit"),
            "equals": ("positive_value", "negative_value"),
            "above_reference": ("reference_field",),
            "count_with_size": ("threshold", "size_field", "size_threshold"),
            "flag": ("text",),
            "describe": (),
        }
        missing = [name for name in needs[self.operator] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"operator {self.operator!r} needs {', '.join(missing)}")
        if self.operator == "band":
            if not (isinstance(self.threshold, tuple) and self.threshold[0] < self.threshold[1]):
                raise ValueError("a band needs threshold [low, high] with low < high")
        elif self.threshold is not None and not isinstance(self.threshold, float | int):
            raise ValueError(f"operator {self.operator!r} needs a single threshold, not {self.threshold!r}")
        if self.operator == "describe" and not (self.text_present or self.text_missing):
            raise ValueError("a describe rule needs text_present or text_missing")
        if self.role in ("caution", "context") and self.operator not in ("flag", "describe"):
            raise ValueError(f"a {self.role} rule must use operator flag or describe")
        if self.role in ("classifier", "suspicion") and self.operator in ("flag", "describe"):
            raise ValueError(f"a {self.role} rule cannot use operator {self.operator!r}")
        for ref in self.threshold_from + ([self.requires.source] if self.requires else []):
            if ref.count(":") != 1:
                raise ValueError(f"threshold_from entry {ref!r} must be 'record_id:value_name' or 'record_id:criterion'")
        return self

    @property
    def fields_needed(self) -> tuple[str, ...]:
        extra = tuple(f for f in (self.reference_field, self.size_field) if f)
        return (self.field, *extra)

    def describe_threshold(self) -> str:
        """The criterion in words, e.g. 'short_axis_mm ≥ 4 mm'."""
        unit = f" {self.unit}" if self.unit else ""
        if self.operator == "at_least":
            return f"{self.field} ≥ {_num(self.threshold)}{unit}"
        if self.operator == "band":
            lo, hi = self.threshold  # type: ignore[misc]
            return f"{self.field} ≥ {_num(hi)}{unit} positive, < {_num(lo)}{unit} negative, in between indeterminate"
        if self.operator == "equals":
            return f"{self.field} = {_show(self.positive_value)} positive, = {_show(self.negative_value)} negative"
        if self.operator == "above_reference":
            return f"{self.field} > {self.reference_field}"
        if self.operator == "count_with_size":
            side = f" {self.side}" if self.side else ""
            return (
                f"{self.field} ≥ {_num(self.threshold)}{side} nodes each with {self.size_field} ≥ "
                f"{_num(self.size_threshold)} {self.size_unit or ''}".rstrip()
            )
        if self.operator == "flag":
            return f"{self.field} = true"
        return f"{self.field} (context)"


def _num(x: object) -> str:
    return f"{x:g}" if isinstance(x, float | int) and not isinstance(x, bool) else str(x)


def _show(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if hasattr(x, "value"):
        return str(x.value)  # type: ignore[attr-defined]
    return _num(x)


@dataclass(frozen=True)
class CriteriaSet:
    """The rules in force, with the version and digest of the file they came from."""

    version: str
    digest: str
    rules: tuple[Rule, ...]
    reader_call_accuracy: dict[str, dict[str, str]] = field(default_factory=dict)
    not_implemented: tuple[dict[str, str], ...] = ()
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no criteria rule {rule_id!r}; rules: {', '.join(r.id for r in self.rules)}")

    def for_modality(self, modality: Modality | str) -> list[Rule]:
        modality = Modality(modality)
        return [r for r in self.rules if modality in r.modality]

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> CriteriaSet:
        """A copy with rule fields changed, e.g. ``{"mri-short-axis-4mm": {"threshold": 5}}``.

        Only the fields in :data:`OVERRIDABLE` may change. A changed threshold or
        field drops the rule's ``accuracy`` link: the published accuracy was
        measured at the published threshold.
        """
        rules = {r.id: r for r in self.rules}
        for rule_id, changes in overrides.items():
            if rule_id not in rules:
                raise CriteriaError(f"override names rule {rule_id!r}, which does not exist; rules: {', '.join(rules)}")
            bad = set(changes) - set(OVERRIDABLE)
            if bad:
                allowed = "; ".join(f"{k}: {v}" for k, v in OVERRIDABLE.items())
                raise CriteriaError(f"override of {rule_id!r} may not change {sorted(bad)}; allowed: {allowed}")
            rule = rules[rule_id]
            body = rule.model_dump(by_alias=True)
            body.update(changes)
            if {"threshold", "size_threshold", "field"} & set(changes):
                body["accuracy"] = None
            body["overridden"] = {**rule.overridden, **{k: rule.model_dump()[k] for k in changes}}
            try:
                rules[rule_id] = Rule.model_validate(body)
            except ValidationError as exc:
                raise CriteriaError(_format(f"override of rule {rule_id!r}", exc)) from None
        merged = {k: dict(v) for k, v in self.overrides.items()}
        for rule_id, changes in overrides.items():
            merged.setdefault(rule_id, {}).update(changes)
        return CriteriaSet(
            self.version, self.digest, tuple(rules.values()), self.reader_call_accuracy, self.not_implemented, merged
        )


def default_criteria_path() -> Path:
    return Path(str(resources.files("imln.imaging") / "data" / "criteria.yaml"))


def _format(where: str, exc: ValidationError) -> str:
    lines = [f"{where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(rule)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def load_criteria(
    path: str | Path | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> CriteriaSet:
    """Read ``criteria.yaml`` (the bundled one by default) and apply ``overrides``."""
    criteria = _load_default() if path is None else _load(Path(path))
    return criteria.with_overrides(overrides) if overrides else criteria


@cache
def _load_default() -> CriteriaSet:
    return _load(default_criteria_path())


def _load(path: Path) -> CriteriaSet:
    raw_bytes = path.read_bytes()
    try:
        raw = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        raise CriteriaError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        raise CriteriaError(f"{path.name}: expected a mapping with a list under 'rules'")
    rules: list[Rule] = []
    for i, body in enumerate(raw["rules"]):
        rid = body.get("id", f"#{i}") if isinstance(body, dict) else f"#{i}"
        try:
            rules.append(Rule.model_validate(body))
        except ValidationError as exc:
            raise CriteriaError(_format(f"{path.name}: rule {rid!r}", exc)) from None
    ids = [r.id for r in rules]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise CriteriaError(f"{path.name}: rule id(s) used twice: {duplicated}")
    return CriteriaSet(
        version=str(raw.get("version", "")),
        digest=hashlib.sha256(raw_bytes).hexdigest(),
        rules=tuple(rules),
        reader_call_accuracy=dict(raw.get("reader_call_accuracy") or {}),
        not_implemented=tuple(raw.get("not_implemented") or ()),
    )


# --------------------------------------------------------------------------- results


class RuleOutcome(BaseModel):
    """What one rule made of one finding."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    role: Role
    criterion: str = Field(description="The rule in words, e.g. 'short_axis_mm ≥ 4 mm'.")
    field: str
    value: bool | int | float | str | None
    threshold: float | tuple[float, float] | None
    unit: str | None
    outcome: Outcome
    explanation: str
    evidence: list[str]
    citations: list[str] = Field(description="Short labels of the sources of the evidence records.")
    accuracy_record: str | None
    overridden: dict[str, Any] = Field(default_factory=dict)

    @property
    def vote(self) -> Vote | None:
        return self.outcome if self.outcome in ("positive", "negative", "indeterminate") else None  # type: ignore[return-value]


class CriteriaResult(BaseModel):
    """The criteria engine's reading of one finding."""

    model_config = ConfigDict(frozen=True)

    modality: Modality
    result: Vote
    decided_by: list[str] = Field(description="Ids of the rules whose (unanimous) vote is the result.")
    explanation: str
    missing_fields: list[str] = Field(description="Fields a rule of this modality needed but the finding lacks.")
    outcomes: list[RuleOutcome]
    cautions: list[str]
    context: list[str]
    accuracy_records: list[str] = Field(description="Accuracy records of the deciding rules, in rule order.")
    not_implemented: list[str] = Field(description="Criteria for this modality that imln lacks a source for.")
    criteria_version: str
    criteria_digest: str


def _value(finding: object, name: str, extra: Mapping[str, Any]) -> Any:
    if name in extra:
        return extra[name]
    value = getattr(finding, name, None)
    return value.value if hasattr(value, "value") and not isinstance(value, bool) else value


def _labels(record_ids: list[str], evidence: EvidenceBase | None) -> list[str]:
    if evidence is None:
        return []
    labels = []
    for rid in record_ids:
        try:
            record = evidence.get(rid)
        except KeyError:
            labels.append(f"{rid} (not in the evidence base)")
            continue
        ref = evidence.references.get(record.primary_citation or record.citation)
        label = ref.label if ref is not None else record.citation
        if record.review_ref and not record.primary_citation:
            label += f" {record.review_ref}"
        if label not in labels:
            labels.append(label)
    return labels


def _evaluate(
    rule: Rule,
    finding: object,
    *,
    setting: Setting | None,
    extra: Mapping[str, Any],
    evidence: EvidenceBase | None,
) -> tuple[RuleOutcome, str | None]:
    """One rule on one finding: its outcome, and a caution text when one applies."""
    value = _value(finding, rule.field, extra)
    unit = f" {rule.unit}" if rule.unit else ""
    sources = f" [{', '.join(rule.evidence)}]"
    caution: str | None = None

    def out(outcome: Outcome, explanation: str) -> tuple[RuleOutcome, str | None]:
        return (
            RuleOutcome(
                rule_id=rule.id,
                role=rule.role,
                criterion=rule.describe_threshold(),
                field=rule.field,
                value=value,
                threshold=rule.threshold,
                unit=rule.unit,
                outcome=outcome,
                explanation=explanation,
                evidence=list(rule.evidence),
                citations=_labels(list(rule.evidence), evidence),
                accuracy_record=rule.accuracy,
                overridden=dict(rule.overridden),
            ),
            caution,
        )

    if not rule.enabled:
        return out("disabled", f"{rule.id} is switched off by an override")
    if rule.settings is not None and setting is not None and setting not in rule.settings:
        allowed = ", ".join(s.value for s in rule.settings)
        return out("not_applicable", f"{rule.id} applies in the setting(s) {allowed}, not {setting.value}")

    # caution and context rules
    if rule.operator == "flag":
        if value is True:
            caution = rule.text
            return out("caution", rule.text or "")
        state = "not given" if value is None else "false"
        return out("silent", f"{rule.field} {state}: no caution")
    if rule.operator == "describe":
        if value is None:
            if rule.text_missing:
                return out("context", rule.text_missing)
            return out("silent", f"{rule.field} not given")
        if rule.text_present:
            return out("context", rule.text_present.format(value=_show(value)))
        return out("silent", f"{rule.field} = {_show(value)}")

    # voting rules
    if value is None:
        return out("missing", f"{rule.field} not given: {rule.id} ({rule.describe_threshold()}) cannot be applied")
    if rule.side is not None:
        side = _value(finding, "side", extra)
        if side is None:
            return out("missing", f"side not given: {rule.id} counts {rule.side} nodes only")
        if side != rule.side:
            return out("not_applicable", f"{rule.id} counts {rule.side} nodes; this finding is {side}")
    if rule.requires is not None:
        req = rule.requires
        other = _value(finding, req.field, extra)
        if other is not None and other < req.at_least:
            return out(
                "outside_range",
                f"{req.field} {_num(other)} < {_num(req.at_least)}: outside the population of {rule.id} "
                f"({req.reason}) [{req.source.split(':')[0]}]",
            )

    if rule.operator == "at_least":
        t = float(rule.threshold)  # type: ignore[arg-type]
        verdict: Outcome = "positive" if value >= t else "negative"
        sign = "≥" if verdict == "positive" else "<"
        text = f"{rule.field} {_num(value)}{unit} {sign} {_num(t)}{unit} → {verdict}{sources}"
    elif rule.operator == "band":
        lo, hi = rule.threshold  # type: ignore[misc]
        if value >= hi:
            verdict, text = "positive", f"{rule.field} {_num(value)}{unit} ≥ {_num(hi)}{unit} → positive{sources}"
        elif value < lo:
            verdict, text = "negative", f"{rule.field} {_num(value)}{unit} < {_num(lo)}{unit} → negative{sources}"
        else:
            verdict = "indeterminate"
            text = (
                f"{rule.field} {_num(value)}{unit} lies within the published range of thresholds "
                f"{_num(lo)}–{_num(hi)}{unit} → indeterminate{sources}"
            )
    elif rule.operator == "equals":
        if value == rule.positive_value:
            verdict = "positive"
        elif value == rule.negative_value:
            verdict = "negative"
        else:
            return out("missing", f"{rule.field} = {_show(value)} is neither {_show(rule.positive_value)} nor "
                       f"{_show(rule.negative_value)}")
        text = f"{rule.field} = {_show(value)} → {verdict}{sources}"
    elif rule.operator == "above_reference":
        reference = _value(finding, rule.reference_field or "", extra)
        if reference is None:
            return out(
                "missing",
                f"{rule.reference_field} not given: {rule.id} compares {rule.field} with it "
                f"(the patient input has no such field; pass it in extra)",
            )
        verdict = "positive" if value > reference else "negative"
        sign = ">" if verdict == "positive" else "≤"
        text = f"{rule.field} {_num(value)} {sign} {rule.reference_field} {_num(reference)} → {verdict}{sources}"
    elif rule.operator == "count_with_size":
        size = _value(finding, rule.size_field or "", extra)
        su = f" {rule.size_unit}" if rule.size_unit else ""
        t, st = float(rule.threshold), float(rule.size_threshold)  # type: ignore[arg-type]
        if value < t:
            return out("not_met", f"{rule.field} {_num(value)} < {_num(t)}: {rule.id} not met{sources}")
        if size is None:
            return out("missing", f"{rule.size_field} not given: {rule.id} needs nodes of ≥ {_num(st)}{su}")
        if size < st:
            return out(
                "not_met",
                f"largest node {rule.size_field} {_num(size)}{su} < {_num(st)}{su}, so fewer than {_num(t)} nodes "
                f"reach it: {rule.id} not met{sources}",
            )
        if not rule.count_is_of_nodes_at_or_above_size:
            return out(
                "possible",
                f"{rule.field} {_num(value)} ≥ {_num(t)} and the largest node {_num(size)}{su} ≥ {_num(st)}{su}, "
                f"but the input gives only the largest node's size: {rule.id} may be met (record each node's "
                f"size, or set count_is_of_nodes_at_or_above_size when node_count counts only nodes of "
                f"≥ {_num(st)}{su}){sources}",
            )
        verdict = "positive"
        text = (
            f"{rule.field} {_num(value)} ≥ {_num(t)} nodes of ≥ {_num(st)}{su} (largest {_num(size)}{su}) "
            f"→ positive{sources}"
        )
    else:  # pragma: no cover - the validator admits no other operator
        raise AssertionError(rule.operator)

    if rule.role == "suspicion" and verdict == "negative":
        return out("not_met", text.replace("→ negative", "→ not met"))
    if verdict == "positive" and rule.caution_when_positive is not None:
        caution = rule.caution_when_positive.text
    if rule.requires is not None and _value(finding, rule.requires.field, extra) is None:
        text += f"; {rule.requires.field} not given ({rule.requires.reason})"
    if rule.overridden:
        changed = ", ".join(f"{k} {_show(v)} → {_show(getattr(rule, k))}" for k, v in rule.overridden.items())
        text += f"; overridden ({changed}), so the published accuracy of this criterion no longer applies"
    return out(verdict, text)


def classify_finding(
    finding: object,
    *,
    criteria: CriteriaSet | None = None,
    setting: Setting | str | None = None,
    extra: Mapping[str, Any] | None = None,
    evidence: EvidenceBase | None = None,
) -> CriteriaResult:
    """Apply the rules of ``finding.modality`` and return the engine's result with its reasons.

    ``finding`` is an :class:`~imln.schema.ImagingFinding` (any object with its
    fields works). ``setting`` is the evidence setting (rules restricted to some
    settings are skipped elsewhere); ``extra`` supplies measurements the patient
    input has no field for (``suv_blood_pool``); ``evidence`` (the bundled
    evidence base by default) resolves the citations' labels. ``finding.result`` is *not* read here: a result the user
    entered wins over the engine, but that is decided by the caller, which
    shows both.
    """
    criteria = criteria or load_criteria()
    evidence = evidence if evidence is not None else load_evidence()
    extra = dict(extra or {})
    setting = Setting(setting) if setting is not None else None
    modality = Modality(_value(finding, "modality", {}))
    rules = criteria.for_modality(modality)
    outcomes: list[RuleOutcome] = []
    cautions: list[str] = []
    context: list[str] = []
    for rule in rules:
        outcome, caution = _evaluate(rule, finding, setting=setting, extra=extra, evidence=evidence)
        outcomes.append(outcome)
        if caution:
            cautions.append(f"{caution} [{rule.id}]")
        if outcome.outcome == "context":
            context.append(f"{outcome.explanation} [{rule.id}]")

    voters = [o for o in outcomes if o.role in ("classifier", "suspicion")]
    votes = [o for o in voters if o.vote is not None]
    missing_fields: list[str] = []
    for o in voters:
        if o.outcome != "missing":
            continue
        rule = criteria.get(o.rule_id)
        for name in (*rule.fields_needed, *(("side",) if rule.side else ())):
            if _value(finding, name, extra) is None and name not in missing_fields:
                missing_fields.append(name)
    not_implemented = [
        f"{n['criterion']}: {n['reason']}" for n in criteria.not_implemented if modality.value in n.get("modality", ())
    ]
    undecided = [o for o in voters if o.vote is None and o.outcome not in ("disabled",)]
    undecided_text = "; ".join(_short_reason(o, finding, extra, criteria) for o in undecided)
    for o in voters:
        if o.outcome == "possible":
            cautions.append(f"{o.explanation} [{o.rule_id}]")

    if not voters:
        result: Vote = "indeterminate"
        decided_by: list[str] = []
        explanation = (
            f"indeterminate: imln has no sourced criterion that classifies a {modality.value} finding; "
            "enter the reader's call as the finding's result"
        )
    elif not votes:
        result, decided_by = "indeterminate", []
        detail = "; ".join(o.explanation for o in undecided)
        explanation = f"indeterminate: no criterion could be applied — {detail}"
    else:
        kinds = {o.vote for o in votes}
        if kinds == {"positive"} or kinds == {"negative"}:
            result = kinds.pop()  # type: ignore[assignment]
            decided_by = [o.rule_id for o in votes]
            explanation = f"{result}: " + "; ".join(f"{o.rule_id}: {o.explanation}" for o in votes)
        elif kinds == {"indeterminate"}:
            result, decided_by = "indeterminate", [o.rule_id for o in votes]
            explanation = "indeterminate: " + "; ".join(f"{o.rule_id}: {o.explanation}" for o in votes)
        else:
            result, decided_by = "indeterminate", []
            detail = "; ".join(f"{o.rule_id} says {o.vote} ({o.explanation})" for o in votes)
            explanation = f"indeterminate: the rules disagree — {detail}"
        if undecided_text:
            explanation += f". Not applied: {undecided_text}"
    accuracy_records = [
        criteria.get(rid).accuracy for rid in decided_by if result != "indeterminate" and criteria.get(rid).accuracy
    ]
    return CriteriaResult(
        modality=modality,
        result=result,
        decided_by=decided_by,
        explanation=explanation,
        missing_fields=missing_fields,
        outcomes=outcomes,
        cautions=cautions,
        context=context,
        accuracy_records=[a for a in accuracy_records if a],
        not_implemented=not_implemented,
        criteria_version=criteria.version,
        criteria_digest=criteria.digest,
    )


def _short_reason(outcome: RuleOutcome, finding: object, extra: Mapping[str, Any], criteria: CriteriaSet) -> str:
    """'rule-id (what stopped it)', for the one-line explanation of a result."""
    if outcome.outcome == "missing":
        rule = criteria.get(outcome.rule_id)
        names = [n for n in (*rule.fields_needed, *(("side",) if rule.side else ())) if _value(finding, n, extra) is None]
        return f"{outcome.rule_id} ({', '.join(names) or outcome.field} not given)"
    return f"{outcome.rule_id} ({outcome.outcome.replace('_', ' ')})"
