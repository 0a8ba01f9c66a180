"""One presentation model of an assessment: the numbers every output shows, once.

The web result page, the HTML/PDF report and the FHIR export all show the same
headline figures. They used to find them separately (by searching the JSON for
anything shaped like a probability), and so showed different quantities for the same
patient: a test's sensitivity as the "probability of IMLN metastasis", a cardiac harm
in percentage points as a percentage, the risk model's interval next to the
decision's. :func:`present` builds the figures once, from the fields that *mean*
them, and the renderers only format what it gives:

* **headline**: exactly the probability the decision was made on
  (``decision.probability``), labelled with which quantity it is
  (``decision.probability_basis``: post-test or pre-test) and its source; when the
  decision was given no probability, no number and the reason;
* **recommendation**: its label, whether it is uncertain, its first key reasons
  (the decision's own sentences, with their citations), its cautions;
* **unused inputs**: what was entered but not used, and why (imaging findings the
  assessment marks as not applied; a list ``unused_inputs`` if a later version of
  the assessment gives one);
* **radiotherapy options**: IMN radiotherapy against none, as absolute differences in
  **percentage points** (benefit, cardiac harm, net) with their intervals — never
  as a probability.

Fields are read defensively (``.get``): sections may gain fields without changes here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imln.report._adapter import ProbabilityEstimate as _Estimate
from imln.report._labels import LABELS, modality_label

__all__ = [
    "Headline",
    "HeadlineProbability",
    "PercentagePoints",
    "Presentation",
    "Reason",
    "RecommendationView",
    "RTOptions",
    "UnusedInput",
    "format_percentage_points",
    "format_probability",
    "present",
]

#: How many of the decision's rationale sentences are shown next to the recommendation.
KEY_REASONS = 3
#: Rationale topics not repeated as reasons: the probability statement repeats the headline.
_NOT_REASONS = frozenset({"probability"})

OUTCOME = "internal mammary lymph node (IMLN) metastasis"

_QUANTITY_LABELS = {
    "posttest": "Post-test probability of IMLN metastasis (after imaging), used by the decision",
    "pretest": "Pre-test probability of IMLN metastasis (before imaging), used by the decision",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class HeadlineProbability(_Model):
    """A probability of IMLN metastasis as a proportion in [0, 1], with its interval."""

    point: float = Field(ge=0, le=1)
    lower: float = Field(ge=0, le=1)
    upper: float = Field(ge=0, le=1)
    level: float = Field(0.95, gt=0, lt=1)
    text: str = Field(description="As shown everywhere: '77.0% (95% interval 45.0–97.0%)'.")
    point_text: str = Field(description="'77.0%'.")
    interval_text: str | None = Field(description="'45.0–97.0%', or None for a point value without interval.")

    @property
    def has_interval(self) -> bool:
        return self.lower < self.upper


class Headline(_Model):
    """The probability the decision used, which quantity it is, and where it comes from."""

    basis: Literal["posttest", "pretest", "none"]
    quantity: str = Field(description="Which quantity the number is, for a label.")
    probability: HeadlineProbability | None = Field(description="None: the decision was given no probability.")
    source: str | None = Field(None, description="decision.probability.source, verbatim.")
    absent_reason: str | None = Field(
        None, description="Why there is no probability (no number in it), to follow 'No probability: '.")
    notes: list[str] = Field(default_factory=list, description="How this number relates to others on the page.")


class Reason(_Model):
    topic: str
    text: str
    citations: list[str] = Field(default_factory=list, description="Reference keys or evidence record ids.")


class RecommendationView(_Model):
    given: bool = Field(description="False: the decision made no recommendation.")
    code: str | None = Field(description="The recommendation class (e.g. 'imn_radiotherapy').")
    label: str = Field(description="'IMN radiotherapy', or 'No recommendation'.")
    uncertain: bool = False
    uncertainty: str | None = None
    reasons: list[Reason] = Field(default_factory=list)
    cautions: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The label with the uncertainty flag (as the page, the report and FHIR show it)."""
        return self.label + (" (uncertain: the interval straddles a threshold)" if self.uncertain else "")


class IndicationView(_Model):
    """The guideline and trial basis, in one line and a list of what applies (each with its source)."""

    group: str
    summary: str
    applies: list[str] = Field(default_factory=list, description="'label — citation, location' per statement met.")
    missing_fields: list[str] = Field(default_factory=list)


class UnusedInput(_Model):
    field: str = Field(description="Where it was entered, e.g. 'findings[1]'.")
    label: str
    reason: str


class PercentagePoints(_Model):
    """An absolute difference in percentage points (0.39 = 0.39 percentage points, not 39%)."""

    point: float
    lower: float | None = None
    upper: float | None = None
    level: float = 0.95
    horizon_years: float | None = None
    description: str
    text: str = Field(description="'+0.39 percentage points (95% interval 0.17 to 0.77)'.")


class RTOptions(_Model):
    """IMN radiotherapy against none: absolute benefit, cardiac harm and net, in percentage points."""

    status: str
    message: str | None = None
    needs: list[str] = Field(default_factory=list)
    benefit: PercentagePoints | None = None
    harm: PercentagePoints | None = None
    net: PercentagePoints | None = None
    probability_net_positive: float | None = Field(None, description="Share of Monte Carlo draws with net > 0.")
    label: str | None = Field(None, description="What kind of estimate this is (model-based, not a trial result).")


class Presentation(_Model):
    """What every output of one assessment shows at the top, computed once."""

    patient_label: str | None = None
    headline: Headline
    recommendation: RecommendationView
    indication: IndicationView | None = None
    unused_inputs: list[UnusedInput] = Field(default_factory=list)
    rt: RTOptions | None = None
    validation: str | None = Field(None, description="The risk model's validation status, verbatim.")
    disclaimer: str | None = None


# --------------------------------------------------------------------------- formatting


def format_probability(point: float, lower: float | None = None, upper: float | None = None,
                       level: float | None = 0.95) -> str:
    """The one text of a probability used by every output: ``'77.0% (95% interval 45.0–97.0%)'``."""
    return _Estimate(point, lower, upper, level).percent_text()


def _signed(value: float) -> str:
    text = f"{abs(value):.2f}"
    if text == "0.00":
        return "0.00"
    return ("+" if value > 0 else "−") + text


def _plain(value: float) -> str:
    text = f"{abs(value):.2f}"
    return text if value >= 0 or text == "0.00" else "−" + text


def format_percentage_points(point: float, lower: float | None = None, upper: float | None = None,
                             level: float | None = 0.95) -> str:
    """``'+0.39 percentage points (95% interval 0.17 to 0.77)'``: an absolute difference, not a probability."""
    text = f"{_signed(point)} percentage points"
    if lower is not None and upper is not None:
        lev = f"{level * 100:g}% " if level else ""
        text += f" ({lev}interval {_plain(lower)} to {_plain(upper)})"
    return text


# --------------------------------------------------------------------------- reading


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _field_label(name: str) -> str:
    leaf = name.rsplit(".", 1)[-1]
    return LABELS.get(leaf, leaf.replace("_", " "))


def _join(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _headline_probability(value: Any) -> HeadlineProbability | None:
    m = _map(value)
    point, lower, upper = _num(m.get("point")), _num(m.get("lower")), _num(m.get("upper"))
    if point is None or not 0 <= point <= 1:
        return None
    if lower is None or upper is None or not (0 <= lower <= point <= upper <= 1):
        lower = upper = point
    level = _num(m.get("level")) or 0.95
    if level > 1:
        level /= 100
    est = _Estimate(point, lower, upper, level)
    interval = None if lower == upper else f"{lower * 100:.1f}–{upper * 100:.1f}%"
    return HeadlineProbability(point=point, lower=lower, upper=upper, level=level, text=est.percent_text(),
                               point_text=f"{point * 100:.1f}%", interval_text=interval)


def _absent_reason(doc: Mapping[str, Any]) -> str:
    risk = _map(doc.get("risk"))
    missing = [m for m in risk.get("missing") or [] if isinstance(m, str)]
    decision = doc.get("decision")
    if not isinstance(decision, Mapping):
        return "this assessment has no decision section."
    recommendation = _map(decision.get("recommendation"))
    rng = recommendation.get("probability_range")
    if isinstance(rng, list) and len(rng) == 2 and all(_num(x) is not None for x in rng):
        lo, hi = (_num(x) for x in rng)
        why = (f" because {_join([_field_label(m) for m in missing])} "
               f"{'is' if len(missing) == 1 else 'are'} unknown") if missing else ""
        after = (" after the imaging findings (the risk model's range times their likelihood ratio)"
                 if recommendation.get("probability_range_basis") == "post-test" else "")
        return (f"only a range is known{after} ({lo * 100:.1f}–{hi * 100:.1f}%){why}; every value in it gives the "
                "same recommendation, so the decision did not need a single probability.")
    if risk and risk.get("probability") is None and missing:
        labels = [_field_label(m) for m in missing]
        verb = "is" if len(labels) == 1 else "are"
        return (f"the risk model gives only a range because {_join(labels)} {verb} unknown, and no imaging "
                f"result gave a probability, so the decision was made on none. Enter {_join(labels)} for a "
                f"single probability.")
    return "none was given to the decision."


def _headline_notes(doc: Mapping[str, Any], basis: str, prob: HeadlineProbability | None) -> list[str]:
    """Say how the headline relates to the risk model's own figure when both show on the page."""
    notes: list[str] = []
    posttest = _map(_map(doc.get("imaging")).get("posttest"))
    if basis == "posttest" and posttest.get("method") == "none" and not posttest.get("findings_applied"):
        notes.append("No imaging finding was applied: this post-test probability equals the pre-test probability.")
    return notes + _risk_interval_note(doc, basis, prob)


def _risk_interval_note(doc: Mapping[str, Any], basis: str, prob: HeadlineProbability | None) -> list[str]:
    risk = _map(doc.get("risk"))
    point = _num(risk.get("probability"))
    ci = risk.get("ci95")
    if prob is None or point is None or not isinstance(ci, list) or len(ci) != 2:
        return []
    lo, hi = _num(ci[0]), _num(ci[1])
    if lo is None or hi is None:
        return []
    if abs(point - prob.point) > 1e-9:
        return []
    if abs(lo - prob.lower) < 5e-4 and abs(hi - prob.upper) < 5e-4:
        return []
    pretest = _map(_map(doc.get("imaging")).get("pretest"))
    method = risk.get("interval_method")
    own = f"{lo * 100:.1f}–{hi * 100:.1f}%" + (f", by the {method}" if isinstance(method, str) else "")
    how = ("The imaging step carries the pre-test probability as a Beta distribution matched to its mean and "
           f"interval width, which gives {prob.interval_text}" if pretest.get("method") == "mean_interval"
           else f"The imaging step gives {prob.interval_text}")
    return [f"The risk model's own 95% interval for this point is {own}. {how}; the decision used that."]


def _headline(doc: Mapping[str, Any]) -> Headline:
    decision = _map(doc.get("decision"))
    basis = decision.get("probability_basis")
    prob = _headline_probability(decision.get("probability"))
    if prob is None or basis not in _QUANTITY_LABELS:
        return Headline(basis="none", quantity="Probability of IMLN metastasis used by the decision",
                        probability=None, absent_reason=_absent_reason(doc))
    source = _map(decision.get("probability")).get("source")
    return Headline(basis=basis, quantity=_QUANTITY_LABELS[basis], probability=prob,
                    source=source if isinstance(source, str) else None,
                    notes=_headline_notes(doc, basis, prob))


def _reasons(statements: Any) -> list[Reason]:
    out: list[Reason] = []
    for s in statements if isinstance(statements, list) else []:
        s = _map(s)
        text, topic = s.get("text"), s.get("topic")
        if not isinstance(text, str) or not text.strip() or topic in _NOT_REASONS:
            continue
        cites = [c for c in (s.get("citations") or []) if isinstance(c, str)]
        if not cites:
            cites = [r for r in (s.get("records") or []) if isinstance(r, str)]
        out.append(Reason(topic=str(topic or ""), text=text.strip(), citations=list(dict.fromkeys(cites))))
        if len(out) == KEY_REASONS:
            break
    return out


def _recommendation(doc: Mapping[str, Any], headline: Headline) -> RecommendationView:
    decision = _map(doc.get("decision"))
    rec = decision.get("recommendation")
    if isinstance(rec, Mapping) and isinstance(rec.get("label"), str):
        code = rec.get("recommendation")
        return RecommendationView(
            given=True,
            code=str(code) if code is not None else None,
            label=rec["label"],
            uncertain=bool(rec.get("uncertain")),
            uncertainty=rec.get("uncertainty") if isinstance(rec.get("uncertainty"), str) else None,
            reasons=_reasons(rec.get("rationale")),
            cautions=[c for c in rec.get("cautions") or [] if isinstance(c, str)],
        )
    if isinstance(rec, str) and rec.strip():  # a decision layout with the recommendation as text
        return RecommendationView(given=True, code=None, label=rec.strip())
    prefix = "No recommendation: "
    reasons = [Reason(topic="note", text=n[len(prefix):][:1].upper() + n[len(prefix) + 1:])
               for n in decision.get("notes") or [] if isinstance(n, str) and n.startswith(prefix)]
    if not reasons and headline.absent_reason:
        reasons = [Reason(topic="note", text="No probability: " + headline.absent_reason)]
    return RecommendationView(given=False, code=None, label="No recommendation", reasons=reasons[:KEY_REASONS])


def _unused_inputs(doc: Mapping[str, Any]) -> list[UnusedInput]:
    out: list[UnusedInput] = []
    for source in (doc, _map(doc.get("decision"))):  # a later layout may list them itself
        for item in source.get("unused_inputs") or []:
            item = _map(item)
            name = item.get("field")
            reason = item.get("reason") or item.get("message")
            if isinstance(name, str) and isinstance(reason, str):
                label = item.get("label")
                out.append(UnusedInput(field=name, label=label if isinstance(label, str) else _field_label(name),
                                       reason=reason))
    listed = {u.field for u in out}
    for finding in _map(doc.get("imaging")).get("findings") or []:
        finding = _map(finding)
        effect = finding.get("effect")
        # "not applied: …" (no usable accuracy record, …); an indeterminate result applied as
        # likelihood ratio 1 was used (and may drive the decision, as an IMLN seen at follow-up)
        if finding.get("applied") is not False or not (isinstance(effect, str) and effect.startswith("not applied")):
            continue
        index = finding.get("index")
        name = f"findings[{index}]"
        if name in listed:
            continue
        modality = modality_label(str(finding.get("modality", "")))
        result = finding.get("result")
        label = f"{modality} of the internal mammary chain" + (f" (entered: {result})" if isinstance(result, str) else "")
        reason = effect
        out.append(UnusedInput(field=name, label=label, reason=reason))
    return out


def _quantity(value: Any) -> PercentagePoints | None:
    m = _map(value)
    point = _num(m.get("point"))
    if point is None:
        return None
    unit = m.get("unit")
    if isinstance(unit, str) and "percentage point" not in unit:
        return None  # not a difference in percentage points: not shown as one
    lower, upper = _num(m.get("lower")), _num(m.get("upper"))
    level = _num(m.get("level")) or 0.95
    return PercentagePoints(point=point, lower=lower, upper=upper, level=level,
                            horizon_years=_num(m.get("horizon_years")),
                            description=str(m.get("description") or ""),
                            text=format_percentage_points(point, lower, upper, level))


def _rt(doc: Mapping[str, Any]) -> RTOptions | None:
    rt = _map(_map(doc.get("decision")).get("rt_balance"))
    if not rt:
        return None
    return RTOptions(
        status=str(rt.get("status") or "unknown"),
        message=rt.get("message") if isinstance(rt.get("message"), str) else None,
        needs=[_field_label(n) for n in rt.get("needs") or [] if isinstance(n, str)],
        benefit=_quantity(rt.get("benefit")),
        harm=_quantity(rt.get("harm")),
        net=_quantity(rt.get("net")),
        probability_net_positive=_num(rt.get("probability_net_positive")),
        label=rt.get("label") if isinstance(rt.get("label"), str) else None,
    )


def _indication(doc: Mapping[str, Any]) -> IndicationView | None:
    ind = _map(_map(doc.get("decision")).get("indication"))
    if not isinstance(ind.get("summary"), str) or not isinstance(ind.get("group"), str):
        return None
    applies = [f"{m.get('label')} — {m.get('citation')}, {m.get('location')}"
               for m in (_map(x) for x in ind.get("applies") or []) if isinstance(m.get("label"), str)]
    missing = [f for f in ind.get("missing_fields") or [] if isinstance(f, str)]
    return IndicationView(group=ind["group"], summary=ind["summary"], applies=applies, missing_fields=missing)


def present(assessment: Any) -> Presentation:
    """The presentation model of an assessment (an ``Assessment`` or its ``model_dump(mode="json")``)."""
    doc = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else assessment
    doc = _map(doc)
    headline = _headline(doc)
    inp = _map(doc.get("input"))
    risk = _map(doc.get("risk"))
    validation = risk.get("validation")
    disclaimer = _map(doc.get("decision")).get("disclaimer")
    return Presentation(
        patient_label=inp.get("patient_id") if isinstance(inp.get("patient_id"), str) else None,
        headline=headline,
        recommendation=_recommendation(doc, headline),
        indication=_indication(doc),
        unused_inputs=_unused_inputs(doc),
        rt=_rt(doc),
        validation=validation if isinstance(validation, str) else None,
        disclaimer=disclaimer if isinstance(disclaimer, str) else None,
    )
