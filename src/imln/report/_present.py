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
  as a probability — and the same as counts out of 1,000 women (the icon array);
* **natural frequencies**: the headline as "about 2 in 100" (the patient summary's
  numbers, which the clinician page shows too);
* **next tests**: the further test most likely to change the recommendation, what each
  result would do, and the others considered;
* **imaging chain**: the pre-test probability and each applied finding with its
  likelihood ratio and accuracy record, with room for a link to the finding's evidence
  pool (``ChainStep.evidence_pool``, filled when the imaging section names one);
* **details**: versions, digests, seeds and thresholds, which reproduce the assessment.

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
    "ChainStep",
    "DetailsView",
    "EvidencePool",
    "Frequency",
    "Headline",
    "HeadlineProbability",
    "ImagingChain",
    "NextTestView",
    "NextTests",
    "PercentagePoints",
    "Presentation",
    "RTOptions",
    "Reason",
    "RecommendationView",
    "TestOutcomeView",
    "ThresholdView",
    "UnusedInput",
    "format_percentage_points",
    "format_probability",
    "natural_frequency",
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


class Frequency(_Model):
    """A proportion as a natural frequency, ``'about 2 in 100'``, for readers who are not statisticians.

    The same figure as the percentage it comes from, rounded to a whole count out of 100 (or out
    of 1,000 when that count would be 0), so that a small risk is not shown as none.
    """

    count: int = Field(ge=0)
    denominator: int = Field(description="100 or 1000.")
    text: str = Field(description="'about 2 in 100', 'about 5 in 1,000', 'fewer than 1 in 1,000'.")
    interval_text: str | None = Field(None, description="'between 1 and 4 in 100', on the same denominator.")


class HeadlineProbability(_Model):
    """A probability of IMLN metastasis as a proportion in [0, 1], with its interval."""

    point: float = Field(ge=0, le=1)
    lower: float = Field(ge=0, le=1)
    upper: float = Field(ge=0, le=1)
    level: float = Field(0.95, gt=0, lt=1)
    text: str = Field(description="As shown everywhere: '77.0% (95% interval 45.0–97.0%)'.")
    point_text: str = Field(description="'77.0%'.")
    interval_text: str | None = Field(description="'45.0–97.0%', or None for a point value without interval.")
    frequency: Frequency | None = Field(None, description="The same probability as 'about N in 100'.")

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
    per_1000: Frequency | None = Field(
        None, description="The same difference as a count out of 1,000 women (the icon array); None if negative.")


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


class TestOutcomeView(_Model):
    """One possible result of a further test and what it would do to the probability and recommendation."""

    result: str = Field(description="'positive' or 'negative'.")
    probability_of_result: float | None = Field(None, description="Proportion in [0, 1].")
    probability_of_result_text: str | None = None
    posttest_point: float | None = Field(None, description="Probability of IMLN metastasis after that result.")
    posttest_text: str | None = None
    recommendation: str | None = Field(None, description="Label of the recommendation at that probability.")
    changes_recommendation: bool | None = None


class NextTestView(_Model):
    """A further imaging test ranked by how likely its result is to change the recommendation."""

    modality: str
    label: str = Field(description="Human label of the modality ('MRI').")
    status: str
    rank: int | None = None
    probability_of_change: float | None = Field(None, description="Proportion in [0, 1].")
    probability_of_change_text: str | None = None
    outcomes: list[TestOutcomeView] = Field(default_factory=list)
    accuracy_source: str | None = Field(None, description="Evidence record id of the accuracy used.")
    message: str | None = None


class NextTests(_Model):
    """The next most informative test (first) and the others considered."""

    current: str | None = Field(None, description="Label of the current recommendation.")
    tests: list[NextTestView] = Field(default_factory=list, description="Ranked tests first, best first.")
    method: str | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def best(self) -> NextTestView | None:
        ranked = [t for t in self.tests if t.rank is not None]
        return ranked[0] if ranked else None


class EvidencePool(_Model):
    """Where a finding's accuracy was pooled (imln.synthesis): shown as a link to the pool's evidence page.

    Filled only when the assessment's imaging finding carries a pool (``accuracy.pool`` with an ``id``,
    or ``accuracy.pool_id``); until then no link is shown.
    """

    id: str
    label: str
    href: str


class ChainStep(_Model):
    """One step of the imaging chain: the pre-test probability, then each applied finding."""

    label: str
    finding_index: int | None = None
    likelihood_ratio: float | None = None
    point: float = Field(ge=0, le=1)
    lower: float | None = Field(None, ge=0, le=1)
    upper: float | None = Field(None, ge=0, le=1)
    text: str = Field(description="'2.2% (95% interval 0.9–4.2%)'.")
    accuracy_record: str | None = Field(None, description="Evidence record id of the test's accuracy.")
    # ---- link to the evidence pool of this finding's accuracy (imln.synthesis, added in parallel):
    # the page renders it as a link when present, and nothing otherwise.
    evidence_pool: EvidencePool | None = None


class ImagingChain(_Model):
    """From the pre-test probability through each applied imaging finding (likelihood ratios)."""

    steps: list[ChainStep] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    thresholds: list[tuple[str, float]] = Field(
        default_factory=list, description="(label, probability) of the decision thresholds in this setting.")


class ThresholdView(_Model):
    name: str
    label: str
    value_text: str
    basis: str | None = None
    meaning: str | None = None


class DetailsView(_Model):
    """What reproduces the assessment: versions, digests, seeds, thresholds."""

    versions: list[tuple[str, str]] = Field(default_factory=list)
    digests: list[tuple[str, str]] = Field(default_factory=list)
    seeds: list[tuple[str, str]] = Field(default_factory=list)
    thresholds: list[ThresholdView] = Field(default_factory=list)
    thresholds_source: str | None = None


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
    externally_validated: bool | None = Field(
        None, description="False: the risk model has no external validation (a notice is shown); None: no model.")
    next_tests: NextTests | None = None
    imaging_chain: ImagingChain | None = None
    details: DetailsView | None = None

    @property
    def unvalidated_model_used(self) -> bool:
        """The risk model, not externally validated, gave the probability shown (or the range that stood in for it).

        False when the decision's probability came from elsewhere (a positive predictive value at follow-up):
        then the model's validation is no caveat on the headline.
        """
        if self.externally_validated is not False:
            return False
        chain = self.imaging_chain
        return self.headline.probability is None or bool(chain and chain.steps) or self.headline.basis == "pretest"


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


def _count_text(count: int, denominator: int) -> str:
    return f"{count:,} in {denominator:,}"


def natural_frequency(point: float, lower: float | None = None, upper: float | None = None,
                      denominator: int | None = None) -> Frequency:
    """A proportion as ``'about 2 in 100'`` (out of 1,000 when the count out of 100 rounds to 0).

    ``denominator`` forces 100 or 1,000 (the icon array of radiotherapy's effects uses 1,000).
    The interval, if given, is on the same denominator: ``'between 1 and 4 in 100'``.
    """
    point = min(max(point, 0.0), 1.0)
    if denominator is None:
        denominator = 100 if round(point * 100) >= 1 or point == 0 else 1000
    count = round(point * denominator)
    if count == 0 and point > 0:
        text = f"fewer than {_count_text(1, denominator)}"
    else:
        text = f"about {_count_text(count, denominator)}"
    interval = None
    if lower is not None and upper is not None and lower < upper:
        lo = round(min(max(lower, 0.0), 1.0) * denominator)
        hi = round(min(max(upper, 0.0), 1.0) * denominator)
        interval = f"between {lo:,} and {_count_text(hi, denominator)}"
    return Frequency(count=count, denominator=denominator, text=text, interval_text=interval)


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
                               point_text=f"{point * 100:.1f}%", interval_text=interval,
                               frequency=natural_frequency(point, lower, upper))


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
    per_1000 = None
    if point >= 0:
        per_1000 = natural_frequency(point / 100, None if lower is None else max(lower, 0) / 100,
                                     None if upper is None else max(upper, 0) / 100, denominator=1000)
    return PercentagePoints(point=point, lower=lower, upper=upper, level=level,
                            horizon_years=_num(m.get("horizon_years")),
                            description=str(m.get("description") or ""),
                            text=format_percentage_points(point, lower, upper, level), per_1000=per_1000)


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


def _pct(p: float) -> str:
    """A probability as a percentage; below 1% with two decimals, so that a small one is not read as 0."""
    return f"{p * 100:.1f}%" if p >= 0.01 or p == 0 else f"{p * 100:.2f}%"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _class_label(code: Any) -> str | None:
    from imln.decision._classes import LABELS as CLASS_LABELS

    if not isinstance(code, str):
        return None
    for cls, label in CLASS_LABELS.items():
        if cls.value == code:
            return label
    return code.replace("_", " ")


def _next_tests(doc: Mapping[str, Any]) -> NextTests | None:
    nt = _map(_map(doc.get("decision")).get("next_tests"))
    if not nt:
        return None
    tests: list[NextTestView] = []
    for t in (_map(x) for x in nt.get("tests") or []):
        modality = str(t.get("modality") or "")
        outcomes = []
        for o in (_map(x) for x in t.get("outcomes") or []):
            por, post = _num(o.get("probability_of_result")), _num(o.get("posttest_point"))
            changes = o.get("changes_recommendation")
            outcomes.append(TestOutcomeView(
                result=str(o.get("result") or ""),
                probability_of_result=por, probability_of_result_text=None if por is None else _pct(por),
                posttest_point=post, posttest_text=None if post is None else _pct(post),
                recommendation=_class_label(o.get("class_at_point")),
                changes_recommendation=changes if isinstance(changes, bool) else None))
        change = _num(t.get("probability_of_change"))
        rank = t.get("rank")
        tests.append(NextTestView(
            modality=modality, label=modality_label(modality), status=str(t.get("status") or ""),
            rank=rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
            probability_of_change=change, probability_of_change_text=None if change is None else _pct(change),
            outcomes=outcomes,
            accuracy_source=t.get("accuracy_source") if isinstance(t.get("accuracy_source"), str) else None,
            message=t.get("message") if isinstance(t.get("message"), str) else None))
    tests.sort(key=lambda t: (t.rank is None, t.rank or 0))
    return NextTests(current=_class_label(nt.get("current_class")), tests=tests,
                     method=nt.get("method") if isinstance(nt.get("method"), str) else None,
                     notes=[n for n in nt.get("notes") or [] if isinstance(n, str)])


_THRESHOLD_LABELS = {
    "omit_below": "no IMN-directed treatment below",
    "radiotherapy_at": "IMN radiotherapy from",
    "follow_up_work_up_at": "full work-up from",
}


def _evidence_pool(accuracy: Mapping[str, Any]) -> EvidencePool | None:
    """The evidence pool of a finding's accuracy, when the imaging section names one (see :class:`EvidencePool`)."""
    pool = accuracy.get("pool")
    pool_id = _map(pool).get("id") if isinstance(pool, Mapping) else accuracy.get("pool_id")
    if not isinstance(pool_id, str) or not pool_id:
        return None
    pooled = _map(pool)
    count = pooled.get("n_studies")
    label = (pooled.get("label") or pooled.get("name") or accuracy.get("pool_label")
             or (f"{pool_id}, {count} studies" if isinstance(count, int) else pool_id))
    return EvidencePool(id=pool_id, label=str(label), href=f"/evidence/pools/{pool_id}")


def _imaging_chain(doc: Mapping[str, Any], headline: Headline) -> ImagingChain | None:
    imaging = _map(doc.get("imaging"))
    if not imaging:
        return None
    findings = {f.get("index"): f for f in (_map(x) for x in imaging.get("findings") or [])}
    steps: list[ChainStep] = []
    for st in (_map(x) for x in imaging.get("steps") or []):
        point = _num(st.get("point"))
        if point is None or not 0 <= point <= 1:
            continue
        lower, upper = _num(st.get("lower")), _num(st.get("upper"))
        if lower is None or upper is None or not 0 <= lower <= point <= upper <= 1:
            lower = upper = None
        index = st.get("finding_index")
        finding = _map(findings.get(index)) if isinstance(index, int) else {}
        accuracy = _map(finding.get("accuracy"))
        lr = _num(st.get("likelihood_ratio"))
        if finding:
            label = f"{modality_label(str(finding.get('modality', '')))} {finding.get('result', '')}".strip()
        else:
            label = "Before imaging (pre-test)" if index is None else str(st.get("label") or "")
        steps.append(ChainStep(
            label=label, finding_index=index if isinstance(index, int) else None, likelihood_ratio=lr,
            point=point, lower=lower, upper=upper, text=format_probability(point, lower, upper),
            accuracy_record=accuracy.get("record_id") if isinstance(accuracy.get("record_id"), str) else None,
            evidence_pool=_evidence_pool(accuracy)))
    notes = [_sentence(n) for n in _map(imaging.get("posttest")).get("notes") or [] if isinstance(n, str)]
    if not steps and headline.probability is not None:
        notes.append("The decision's probability does not come from a chain of likelihood ratios: "
                     f"it is the {headline.source or 'probability given to the decision'}.")
    elif not steps:
        applied = [f for f in findings.values() if f.get("applied") is True and _map(f.get("lr_applied"))]
        lrs = ", ".join(f"{modality_label(str(f.get('modality', '')))} {f.get('result', '')} "
                        f"(likelihood ratio {_num(_map(f.get('lr_applied')).get('point')) or 0:.3g})" for f in applied)
        notes.append("No pre-test probability to start from, so no chain is drawn"
                     + (f"; the likelihood ratios found were {lrs}." if lrs else "."))
    setting = _map(_map(doc.get("decision")).get("context")).get("setting")
    thresholds = []
    table = _map(_map(_map(doc.get("decision")).get("thresholds")).get("thresholds"))
    for name, th in table.items():
        th = _map(th)
        value = _num(th.get("value"))
        if value is not None and 0 < value < 1 and setting in (th.get("applies_to") or []):
            thresholds.append((_THRESHOLD_LABELS.get(name, name.replace("_", " ")), value))
    return ImagingChain(steps=steps, notes=notes, thresholds=thresholds)


def _validated(doc: Mapping[str, Any]) -> bool | None:
    """Whether the risk model says it was externally validated (its text starts with 'none' when it was not)."""
    text = _map(doc.get("risk")).get("validation")
    if not isinstance(text, str):
        return None
    low = text.strip().lower()
    return "external" in low and not low.startswith("none")


def _details(doc: Mapping[str, Any]) -> DetailsView:
    risk, imaging, decision = _map(doc.get("risk")), _map(doc.get("imaging")), _map(doc.get("decision"))
    versions = [(label, str(v)) for label, v in (
        ("imln", doc.get("imln_version")),
        ("Evidence base", doc.get("evidence_version")),
        ("Assessment schema", doc.get("schema_version")),
        ("Risk model", f"{risk.get('model_id')} {risk.get('model_version')}" if risk.get("model_id") else None),
        ("Imaging criteria", imaging.get("criteria_version")),
        ("Decision thresholds", _map(decision.get("thresholds")).get("version")),
        ("Computed at", doc.get("created_at")),
    ) if v is not None]
    digests = [(label, str(v)) for label, v in (
        ("Evidence base (SHA-256)", doc.get("evidence_digest")),
        ("Imaging criteria (SHA-256)", imaging.get("criteria_digest")),
        ("Decision thresholds (SHA-256)", decision.get("thresholds_digest")),
    ) if v is not None]
    seeds = []
    for label, section in (("Imaging (post-test probability)", imaging),
                           ("Decision (recommendation under uncertainty)", decision),
                           ("Next tests", _map(decision.get("next_tests"))),
                           ("Radiotherapy benefit and harm", _map(decision.get("rt_balance")))):
        seed, draws = section.get("seed"), section.get("n_draws")
        if seed is not None:
            seeds.append((label, f"seed {seed}" + (f", {draws:,} draws" if isinstance(draws, int) else "")))
    th = _map(decision.get("thresholds"))
    thresholds = []
    for name, t in _map(th.get("thresholds")).items():
        t = _map(t)
        value = _num(t.get("value"))
        thresholds.append(ThresholdView(
            name=name, label=_sentence(_THRESHOLD_LABELS.get(name, name.replace("_", " "))),
            value_text=_pct(value) if value is not None and 0 <= value <= 1 else str(t.get("value")),
            basis=t.get("basis") if isinstance(t.get("basis"), str) else None,
            meaning=t.get("meaning") if isinstance(t.get("meaning"), str) else None))
    return DetailsView(versions=versions, digests=digests, seeds=seeds, thresholds=thresholds,
                       thresholds_source=th.get("source") if isinstance(th.get("source"), str) else None)


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
        externally_validated=_validated(doc),
        next_tests=_next_tests(doc),
        imaging_chain=_imaging_chain(doc, headline),
        details=_details(doc),
    )
