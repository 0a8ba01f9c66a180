"""Clinical vignettes: patients with the recommendations guidelines accept, and imln's concordance with them.

A vignette is a YAML file: ``id``, ``setting_group``, ``patient`` (an imln patient
record), ``acceptable`` and ``unacceptable`` (recommendation classes), ``reason``
and ``basis`` (the guideline section or trial it rests on). Every class in neither
list is *questionable*. Running a suite assesses each patient with the full
pipeline (:func:`imln.assess`) and grades imln's recommendation:

* ``acceptable`` — in the acceptable list;
* ``unacceptable`` — in the unacceptable list;
* ``questionable`` — in neither;
* ``no recommendation`` — imln gave none where a class was expected (counted
  with the unacceptable ones). An empty ``acceptable`` list means the only right
  answer is no class and a request for the missing data.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from imln.decision._classes import RecommendationClass

__all__ = ["Concordance", "Vignette", "VignetteResult", "load_vignettes", "run_vignettes"]

Verdict = Literal["acceptable", "questionable", "unacceptable", "no recommendation"]
_CLASSES = {c.value for c in RecommendationClass}


class Vignette(BaseModel):
    """One clinical vignette: a patient and the recommendations a guideline accepts for her."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    setting_group: Literal["diagnosis", "after_nac", "after_surgery", "follow_up"]
    patient: dict[str, Any]
    acceptable: list[str] = Field(
        description="Acceptable classes; empty when the only acceptable answer is no recommendation (data missing)."
    )
    unacceptable: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=5)
    basis: str = Field(min_length=5)

    @field_validator("acceptable", "unacceptable")
    @classmethod
    def _known_classes(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in _CLASSES]
        if unknown:
            raise ValueError(f"unknown recommendation classes {unknown}; allowed: {sorted(_CLASSES)}")
        return v


class VignetteResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    setting_group: str
    expected: list[str]
    unacceptable: list[str]
    imln: str | None
    indication_group: str | None
    verdict: Verdict
    reason: str
    basis: str


class Concordance(BaseModel):
    """The graded suite, with the counts the acceptance target is stated in."""

    model_config = ConfigDict(frozen=True)

    results: list[VignetteResult]

    @property
    def counts(self) -> dict[str, int]:
        out = {"acceptable": 0, "questionable": 0, "unacceptable": 0, "no recommendation": 0}
        for r in self.results:
            out[r.verdict] += 1
        return out

    @property
    def acceptable_share(self) -> float:
        return self.counts["acceptable"] / len(self.results) if self.results else 0.0

    def markdown(self) -> str:
        """The concordance table (vignette, expected, imln, verdict) with the summary line."""
        c = self.counts
        lines = [
            f"{len(self.results)} vignettes: {c['acceptable']} acceptable ({100 * self.acceptable_share:.0f}%), "
            f"{c['questionable']} questionable, {c['unacceptable']} unacceptable, "
            f"{c['no recommendation']} without a recommendation.",
            "",
            "| vignette | setting | acceptable | imln | indication group | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.results:
            lines.append(f"| {r.id} | {r.setting_group} | {', '.join(r.expected) or 'none (ask for data)'} | "
                         f"{r.imln or '—'} | "
                         f"{r.indication_group or '—'} | {r.verdict} |")
        return "\n".join(lines) + "\n"


def load_vignettes(folder: str | Path) -> list[Vignette]:
    """Every ``*.yaml`` vignette in ``folder``, sorted by id; a malformed file raises naming the file."""
    out = []
    for path in sorted(Path(folder).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            v = Vignette.model_validate(raw)
        except Exception as exc:  # pydantic names the field; add the file
            raise ValueError(f"{path}: {exc}") from exc
        if v.id != path.stem:
            raise ValueError(f"{path}: id {v.id!r} differs from the file name")
        out.append(v)
    return sorted(out, key=lambda v: v.id)


def grade(v: Vignette, recommended: str | None) -> Verdict:
    if recommended is None:
        return "acceptable" if not v.acceptable else "no recommendation"
    if recommended in v.acceptable:
        return "acceptable"
    return "unacceptable" if recommended in v.unacceptable else "questionable"


def run_vignettes(vignettes: Iterable[Vignette], *, assess: Any = None) -> Concordance:
    """Assess every vignette's patient and grade imln's recommendation against it."""
    import imln

    assess = assess or imln.assess
    results = []
    for v in vignettes:
        a = assess(imln.load_patient(v.patient))
        rec = a.decision.recommendation if a.decision is not None else None
        cls = rec.recommendation.value if rec is not None else None
        group = a.decision.indication.group if a.decision is not None and a.decision.indication else None
        results.append(VignetteResult(
            id=v.id, setting_group=v.setting_group, expected=v.acceptable, unacceptable=v.unacceptable, imln=cls,
            indication_group=group, verdict=grade(v, cls), reason=v.reason, basis=v.basis,
        ))
    return Concordance(results=results)
