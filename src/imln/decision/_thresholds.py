"""Decision thresholds as data: each with its basis (cited, a default choice, or the user's).

The defaults live in ``imln/decision/data/thresholds.yaml``. A threshold whose
basis is ``cited`` names the evidence record and value it comes from, and
:meth:`ThresholdSet.check_against` verifies that the number agrees with the
record. A threshold whose basis is ``choice`` carries a sentence saying it is a
default for the user to change; its ``context`` records help judge it but are
never presented as its source. Users override thresholds with keyword
arguments (:meth:`ThresholdSet.with_values`) or a YAML file
(:func:`load_thresholds`); an overridden threshold has basis ``user``.
"""

from __future__ import annotations

import hashlib
import math
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from imln.evidence import EvidenceBase

__all__ = [
    "DecisionDataError",
    "EvidenceRef",
    "Rule",
    "Threshold",
    "ThresholdSet",
    "default_thresholds",
    "load_thresholds",
]

Basis = Literal["cited", "choice", "user"]
PatientSetting = Literal["diagnosis", "after_nac", "after_surgery", "follow_up"]
THRESHOLD_NAMES = ("omit_below", "radiotherapy_at", "follow_up_work_up_at")
BAND_ACTIONS = ("imn_radiotherapy", "omit_imn_directed_treatment")


class DecisionDataError(ValueError):
    """A decision data file (thresholds, sources) is malformed: names the file and the field."""


class EvidenceRef(BaseModel):
    """A value of an evidence record: ``record`` id and ``value`` name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record: str
    value: str


class _Based(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    meaning: str = Field(min_length=10)
    basis: Basis
    note: str | None = None
    evidence: EvidenceRef | None = None
    context: list[str] = Field(
        default_factory=list,
        description="Evidence records that help judge a choice; never presented as its source.",
    )

    @model_validator(mode="after")
    def _basis_explained(self) -> _Based:
        if self.basis == "cited" and self.evidence is None:
            raise ValueError("a threshold with basis 'cited' needs 'evidence' (record and value)")
        if self.basis in ("choice", "user") and not (self.note and self.note.strip()):
            raise ValueError(f"a threshold with basis {self.basis!r} needs a 'note' saying so")
        if self.basis == "choice" and "choice" not in (self.note or "").lower():
            raise ValueError("the note of a 'choice' must say that it is a (default) choice")
        if self.basis != "cited" and self.evidence is not None:
            raise ValueError(f"basis {self.basis!r} must not name 'evidence' as its source; use 'context'")
        return self

    @property
    def basis_text(self) -> str:
        """One line saying where the number comes from, for every display."""
        if self.basis == "cited" and self.evidence is not None:
            return f"cited: {self.evidence.record} ({self.evidence.value})"
        return f"{self.basis}: {self.note.strip() if self.note else ''}"


class Threshold(_Based):
    """A probability of IMLN metastasis (0–1) at which the recommendation changes."""

    value: float = Field(gt=0, lt=1)
    applies_to: list[PatientSetting]

    @field_validator("value", mode="before")
    @classmethod
    def _not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("a threshold is a probability in (0, 1), not true/false")  # noqa: TRY004 (pydantic)
        return v


class Rule(_Based):
    """A non-numeric decision rule (a list of settings, an action), with its basis."""

    value: Any


class ThresholdSet(BaseModel):
    """All thresholds and rules of one decision configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    source: str = Field(description="Where the set was read: 'bundled' or a file path, plus overrides.")
    thresholds: dict[str, Threshold]
    rules: dict[str, Rule]

    @model_validator(mode="after")
    def _complete_and_ordered(self) -> ThresholdSet:
        missing = [n for n in THRESHOLD_NAMES if n not in self.thresholds]
        if missing:
            raise ValueError(f"thresholds missing: {', '.join(missing)}")
        unknown = sorted(set(self.thresholds) - set(THRESHOLD_NAMES))
        if unknown:
            raise ValueError(f"unknown thresholds: {', '.join(unknown)} (known: {', '.join(THRESHOLD_NAMES)})")
        problem = _ordering_problem({n: t.value for n, t in self.thresholds.items()})
        if problem:
            raise ValueError(problem)
        for name in ("tissue_first_with_visible_node_in", "after_surgery_band_action"):
            if name not in self.rules:
                raise ValueError(f"rules missing: {name}")
        settings = self.rules["tissue_first_with_visible_node_in"].value
        allowed = {"diagnosis", "after_nac", "after_surgery"}
        if not isinstance(settings, list) or not set(settings) <= allowed:
            raise ValueError(
                f"rules.tissue_first_with_visible_node_in must be a list of {', '.join(sorted(allowed))}; "
                f"got {settings!r}"
            )
        action = self.rules["after_surgery_band_action"].value
        if action not in BAND_ACTIONS:
            raise ValueError(f"rules.after_surgery_band_action must be one of {', '.join(BAND_ACTIONS)}; got {action!r}")
        return self

    def allows(self, name: str, values: Any) -> Any:
        """Whether threshold ``name`` may take each of ``values`` (a number or an array) with the others
        unchanged: inside (0, 1) and ordered."""
        v = np.asarray(values, dtype=float)
        if name not in self.thresholds:
            ok = np.zeros(v.shape, dtype=bool)
        else:
            ok = (v > 0) & (v < 1) & _ordered({**{n: t.value for n, t in self.thresholds.items()}, name: v})
        return bool(ok) if ok.ndim == 0 else ok

    # convenience accessors
    def value(self, name: str) -> float:
        return self.thresholds[name].value

    @property
    def omit_below(self) -> float:
        return self.value("omit_below")

    @property
    def radiotherapy_at(self) -> float:
        return self.value("radiotherapy_at")

    @property
    def follow_up_work_up_at(self) -> float:
        return self.value("follow_up_work_up_at")

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the set's content (values, bases, rules), for reproducibility (computed once: the set is frozen)."""
        payload = self.model_dump_json(exclude={"source"}).encode()
        return hashlib.sha256(payload).hexdigest()

    def with_values(self, *, note: str | None = None, **values: Any) -> ThresholdSet:
        """A copy with some thresholds (or rules) replaced by the user's values (basis ``user``).

        >>> t = default_thresholds().with_values(omit_below=0.05)
        >>> t.thresholds["omit_below"].basis
        'user'
        """
        if not values:
            return self
        thresholds = dict(self.thresholds)
        rules = dict(self.rules)
        why = note or "set by the user"
        for name, value in values.items():
            if name in thresholds:
                old = thresholds[name]
                thresholds[name] = _validated(
                    Threshold,
                    name,
                    {**old.model_dump(exclude={"evidence", "note", "basis", "value"}),
                     "value": value, "basis": "user", "note": f"{why} (default {old.value:g}, {old.basis})"},
                )
            elif name in rules:
                old_rule = rules[name]
                rules[name] = _validated(
                    Rule,
                    name,
                    {**old_rule.model_dump(exclude={"evidence", "note", "basis", "value"}),
                     "value": value, "basis": "user", "note": f"{why} (default {old_rule.value!r}, {old_rule.basis})"},
                )
            else:
                raise DecisionDataError(
                    f"unknown threshold or rule {name!r}; known: {', '.join([*thresholds, *rules])}"
                )
        changed = ", ".join(f"{k}={v!r}" for k, v in values.items())
        try:
            return ThresholdSet(version=self.version, source=f"{self.source} + user ({changed})",
                                thresholds=thresholds, rules=rules)
        except ValidationError as exc:
            raise DecisionDataError(_format("thresholds with user values", exc)) from None

    def check_against(self, evidence: EvidenceBase) -> list[str]:
        """Problems with the evidence references: missing records, cited values that disagree.

        Returns an empty list when every ``evidence`` and ``context`` reference resolves and
        every cited threshold equals its record's value (as a proportion).
        """
        problems: list[str] = []
        for group in (self.thresholds, self.rules):
            for name, item in group.items():
                for rid in item.context:
                    if rid not in evidence:
                        problems.append(f"{name}: context record {rid!r} is not in the evidence base")
                if item.evidence is None:
                    continue
                ref = item.evidence
                if ref.record not in evidence:
                    problems.append(f"{name}: cited record {ref.record!r} is not in the evidence base")
                    continue
                value = evidence.get(ref.record).values.get(ref.value)
                if value is None:
                    problems.append(f"{name}: record {ref.record!r} has no value {ref.value!r}")
                elif isinstance(item, Threshold) and not math.isclose(
                    value.as_proportion(), item.value, abs_tol=value.rounding_halfwidth / value.scale + 1e-12
                ):
                    problems.append(
                        f"{name}: value {item.value:g} does not match {ref.record}:{ref.value} = {value.printed}"
                    )
        return problems


def _ordered(values: dict[str, Any]) -> Any:
    """The ordering every threshold set keeps, omit_below < radiotherapy_at (elementwise for arrays)."""
    return values["omit_below"] < values["radiotherapy_at"]


def _ordering_problem(values: dict[str, float]) -> str | None:
    if not _ordered(values):
        return f"omit_below ({values['omit_below']:g}) must be below radiotherapy_at ({values['radiotherapy_at']:g})"
    return None


def _format(where: str, exc: ValidationError) -> str:
    lines = [f"{where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(set)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def _validated(model: type[BaseModel], name: str, body: dict[str, Any]) -> Any:
    try:
        return model(**body)
    except ValidationError as exc:
        raise DecisionDataError(_format(f"threshold {name!r}", exc)) from None


def _data_path(name: str) -> Path:
    return Path(str(resources.files("imln.decision") / "data" / name))


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DecisionDataError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise DecisionDataError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DecisionDataError(f"{path.name}: expected a mapping")
    return raw


def _parse(raw: dict[str, Any], source: str) -> ThresholdSet:
    if not isinstance(raw.get("thresholds"), dict) or not isinstance(raw.get("rules", {}), dict):
        raise DecisionDataError(f"{source}: needs a mapping 'thresholds' (and 'rules')")
    thresholds = {n: _validated(Threshold, n, b if isinstance(b, dict) else {"value": b})
                  for n, b in raw["thresholds"].items()}
    rules = {n: _validated(Rule, n, b if isinstance(b, dict) else {"value": b}) for n, b in raw.get("rules", {}).items()}
    try:
        return ThresholdSet(version=str(raw.get("version", "unversioned")), source=source,
                            thresholds=thresholds, rules=rules)
    except ValidationError as exc:
        raise DecisionDataError(_format(source, exc)) from None


@cache
def default_thresholds() -> ThresholdSet:
    """The bundled thresholds (``data/thresholds.yaml``)."""
    return _parse(_read(_data_path("thresholds.yaml")), "bundled")


def load_thresholds(path: str | Path | None = None, **overrides: Any) -> ThresholdSet:
    """The bundled thresholds, updated from a user YAML file and/or keyword overrides.

    The file has the layout of the bundled one; it may list only some thresholds or
    rules. An entry may be a bare number (``omit_below: 0.05``), which becomes basis
    ``user`` with the file named in its note, or a full entry with its own basis and
    note (a ``cited`` entry must name its evidence record). Keyword overrides are
    applied last, with basis ``user``.
    """
    base = default_thresholds()
    if path is not None:
        path = Path(path)
        raw = _read(path)
        if not isinstance(raw.get("thresholds", {}), dict) or not isinstance(raw.get("rules", {}), dict):
            raise DecisionDataError(f"{path.name}: 'thresholds' and 'rules' must be mappings")
        bare = {}
        thresholds = dict(base.thresholds)
        rules = dict(base.rules)
        for group, target, model in (("thresholds", thresholds, Threshold), ("rules", rules, Rule)):
            for name, body in (raw.get(group) or {}).items():
                if name not in target:
                    raise DecisionDataError(f"{path.name}: unknown {group[:-1]} {name!r}; known: {', '.join(target)}")
                if isinstance(body, dict):
                    merged = {**target[name].model_dump(exclude={"evidence", "note", "basis"}), **body}
                    target[name] = _validated(model, name, merged)
                else:
                    bare[name] = body
        try:
            base = ThresholdSet(version=str(raw.get("version", base.version)), source=str(path),
                                thresholds=thresholds, rules=rules)
        except ValidationError as exc:
            raise DecisionDataError(_format(str(path), exc)) from None
        base = base.with_values(note=f"set in {path.name}", **bare)
    return base.with_values(**overrides)
