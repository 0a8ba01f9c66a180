"""Rationale statements whose every number names its origin.

A :class:`Statement` is a sentence rendered from a template whose placeholders
are :class:`Figure` objects. A figure is one of

* ``evidence`` — a value of an evidence record, shown exactly as printed in its
  source, with the record id, the value name and the citation key;
* ``patient_input`` — a field of the patient record (its path is given);
* ``probability_input`` — the probability of IMLN metastasis the decision was
  given (with its source description);
* ``threshold`` — a decision threshold, with its basis (cited / choice / user).

The template holds no digits of its own, so every number a user reads in a
rationale is one of its figures (the tests check this).
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from imln._cache import Same
from imln.evidence import EvidenceBase

__all__ = ["NAME_TOKENS", "Figure", "Statement", "evidence_figure", "input_figure", "statement", "strip_names", "threshold_figure"]

Origin = Literal["evidence", "patient_input", "probability_input", "threshold"]


class Figure(BaseModel):
    """One number in a rationale, with where it comes from."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Placeholder name in the statement's template.")
    value: float = Field(description="The number, in the unit of `unit` (74 for '74%').")
    display: str = Field(
        description="As shown in the text. Evidence: exactly as printed in the source, with '%' added to a "
        "percentage printed without it (e.g. a table whose column header gives the unit)."
    )
    unit: str
    origin: Origin
    record_id: str | None = None
    value_name: str | None = None
    citation: str | None = Field(None, description="Key in references.yaml (evidence figures).")
    primary_citation: str | None = None
    review_ref: str | None = None
    location: str | None = None
    caveats: list[str] = Field(default_factory=list)
    field: str | None = Field(None, description="Patient-record field (patient inputs) or estimate part.")
    threshold: str | None = None
    basis: str | None = Field(None, description="Basis of a threshold: 'cited: …', 'choice: …' or 'user: …'.")


class Statement(BaseModel):
    """A sentence of a rationale with the figures and sources behind it."""

    model_config = ConfigDict(frozen=True)

    topic: str = Field(description="Short machine-readable label, e.g. 'probability', 'threshold', 'im_sentinel'.")
    text: str
    template: str
    figures: list[Figure] = Field(default_factory=list)
    records: list[str] = Field(default_factory=list, description="Evidence records the sentence rests on.")
    citations: list[str] = Field(default_factory=list, description="Reference keys (references.yaml).")
    locations: list[str] = Field(
        default_factory=list, description="Places in a source for statements that are not evidence records."
    )


_DIGIT_IN_TEMPLATE = re.compile(r"\d")

#: Names that contain digits but are not numbers (trial and tracer names); the only
#: digits a statement may show outside its figures.
NAME_TOKENS = ("EORTC 22922/10925", "MA.20", "DBCG IMN2", "99mTc")


def strip_names(text: str) -> str:
    """``text`` without the name tokens of :data:`NAME_TOKENS`."""
    for token in NAME_TOKENS:
        text = text.replace(token, "")
    return text


def statement(
    topic: str,
    template: str,
    figures: list[Figure] = (),  # type: ignore[assignment]
    *,
    records: list[str] = (),  # type: ignore[assignment]
    citations: list[str] = (),  # type: ignore[assignment]
    locations: list[str] = (),  # type: ignore[assignment]
) -> Statement:
    """Render ``template`` with ``{key}`` placeholders filled by the figures' displays.

    The template must not contain digits of its own (a number belongs in a figure),
    and every placeholder must have a figure.
    """
    literal = "".join(part for part, *_ in string.Formatter().parse(template))
    if _DIGIT_IN_TEMPLATE.search(strip_names(literal)):
        raise ValueError(f"statement template contains a bare number: {template!r}")
    by_key = {f.key: f for f in figures}
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    missing = [n for n in names if n not in by_key]
    if missing:
        raise ValueError(f"statement template needs figures {missing}: {template!r}")
    text = template.format(**{k: f.display for k, f in by_key.items()})
    recs = list(dict.fromkeys([*(f.record_id for f in figures if f.record_id), *records]))
    cites = list(dict.fromkeys([*(f.citation for f in figures if f.citation), *citations]))
    return Statement(topic=topic, text=text, template=template, figures=list(figures), records=recs,
                     citations=cites, locations=list(locations))


def _shown(printed: str, unit: str) -> str:
    """As printed; a percentage printed without its sign (a table column in percent) gets the sign."""
    if unit == "percent" and not printed.rstrip().endswith("%"):
        return f"{printed}%"
    return printed


def evidence_figure(evidence: EvidenceBase, record_id: str, value_name: str, key: str | None = None) -> Figure:
    """A value of an evidence record, displayed exactly as printed.

    Evidence bases are immutable, so each figure is built once per process and shared (read-only).
    """
    return _evidence_figure(Same(evidence), record_id, value_name, key)


@lru_cache(maxsize=2048)
def _evidence_figure(evidence_key: Same, record_id: str, value_name: str, key: str | None) -> Figure:
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    record = evidence.get(record_id)
    if value_name not in record.values:
        raise KeyError(f"evidence record {record_id!r} has no value {value_name!r} (has: {', '.join(record.values)})")
    value = record.values[value_name]
    return Figure(
        key=key or f"{record_id}:{value_name}",
        value=value.number,
        display=_shown(value.printed, value.unit.value),
        unit=value.unit.value,
        origin="evidence",
        record_id=record_id,
        value_name=value_name,
        citation=record.citation,
        primary_citation=record.primary_citation,
        review_ref=record.review_ref,
        location=record.location,
        caveats=list(record.caveats),
    )


def _percent(p: float) -> str:
    """A probability as a percentage with up to three significant digits: 5%, 23.6%, 0.5%."""
    return f"{100 * p:.3g}%"


def input_figure(
    key: str, value: float, *, field: str, origin: Literal["patient_input", "probability_input"], unit: str,
    display: str | None = None,
) -> Figure:
    """A number the decision was given: a patient field or the probability estimate."""
    if display is None:
        display = _percent(value) if unit == "probability" else f"{value:g}"
    return Figure(key=key, value=value, display=display, unit=unit, origin=origin, field=field)


def threshold_figure(key: str, name: str, value: float, basis: str) -> Figure:
    """A decision threshold, shown as a percentage, with its basis."""
    return Figure(key=key, value=value, display=_percent(value), unit="probability", origin="threshold",
                  threshold=name, basis=basis)


def percent_text(p: float) -> str:
    """How probabilities are shown in rationales (the same format as their figures)."""
    return _percent(p)
