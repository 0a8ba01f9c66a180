"""The recommendation: a class from the probability and the thresholds, with a cited rationale."""

from __future__ import annotations

import re
from typing import Literal
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from imln._cache import RESULT_CACHE_SIZE, Same
from imln.decision._classes import (
    INTENSITY,
    LABELS,
    DecisionContext,
    RecommendationClass,
    class_steps,
    classify,
    decision_context,
)
from imln.decision._probability import ProbabilityEstimate
from imln.decision._rationale import (
    Figure,
    Statement,
    evidence_figure,
    input_figure,
    statement,
    threshold_figure,
)
from imln.decision._sources import DecisionSources, ValueRef, load_sources
from imln.decision._thresholds import (
    DecisionDataError,
    ThresholdSet,
    default_thresholds,
)
from imln.evidence import EvidenceBase, load_evidence

__all__ = [
    "BiopsyExpectation",
    "IMSentinelExpectation",
    "Recommendation",
    "ThresholdUsed",
    "checked_sources",
    "recommend",
]

C = RecommendationClass
_DIGIT = re.compile(r"\d")

MODALITY_NAMES = {
    "us": "ultrasound",
    "ct": "CT",
    "mri": "MRI",
    "pet_ct": "PET/CT",
    "pet_mri": "PET/MRI",
    "lymphoscintigraphy": "lymphoscintigraphy",
    "spect_ct": "SPECT/CT",
}

SETTING_TEXT = {
    "diagnosis": "at diagnosis",
    "after_nac": "after neoadjuvant chemotherapy",
    "after_surgery": "after surgery",
    "follow_up": "at follow-up",
}


class ThresholdUsed(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    basis: str = Field(description="cited / choice / user")
    basis_text: str
    meaning: str
    context: list[str]


class IMSentinelExpectation(BaseModel):
    """What to expect of IM sentinel node biopsy in the patient's setting, from the evidence."""

    model_config = ConfigDict(frozen=True)

    route: str = Field(description="'initial_surgery' or 'after_nac'.")
    label: str
    visualisation: list[Figure]
    biopsy_success: list[Figure]
    biopsy_success_any_setting: list[Figure]
    missing: list[str] = Field(description="Figures the evidence base lacks for this setting.")
    technique: str = Field(description="The technique behind the rates, as the record describes its population.")
    technique_record: str
    technique_modality: str | None
    conventional_technique_visualisation: list[Figure]
    metastasis_when_biopsied: list[Figure]
    complications: list[Figure]


class BiopsyExpectation(BaseModel):
    """Published confirmation of imaging-positive IMLNs at biopsy, for the node's modality and setting."""

    model_config = ConfigDict(frozen=True)

    modalities: list[str]
    confirmation: list[Figure] = Field(description="Positive predictive values of the imaging call at biopsy.")
    missing: list[str]


class Recommendation(BaseModel):
    """One recommendation with the numbers that drove it and where each comes from."""

    model_config = ConfigDict(frozen=True)

    recommendation: RecommendationClass
    label: str
    intensity: int = Field(description="Order toward more IMN-directed intervention (see INTENSITY).")
    setting: str
    probability: ProbabilityEstimate | None = Field(
        description="The probability decided on; None when only a range is known and every value of it gives "
        "this recommendation (see probability_range)."
    )
    probability_range: tuple[float, float] | None = Field(
        None, description="The range of possible probabilities when a predictor is unknown."
    )
    probability_range_basis: Literal["pre-test", "post-test"] | None = Field(
        None, description="What the range is: 'pre-test', the risk model's over the unknown predictor; "
        "'post-test', that range times the applied imaging findings' likelihood ratio (None without a range)."
    )
    indication_group: str = Field(
        "undetermined", description="imn_disease, recommended, consider, not_indicated or undetermined "
        "(imln.decision.assess_indications)."
    )
    uncertain: bool = Field(description="True when the interval straddles a threshold that changes the class.")
    uncertainty: str
    class_at_lower: RecommendationClass
    class_at_point: RecommendationClass
    class_at_upper: RecommendationClass
    straddled_thresholds: list[str]
    thresholds: list[ThresholdUsed] = Field(description="Thresholds of the patient's decision rule, with basis.")
    in_band_without_tissue_option: bool = Field(
        False, description="After surgery, in the tissue-diagnosis band, with nothing to biopsy (rule applied)."
    )
    rationale: list[Statement]
    im_sentinel: IMSentinelExpectation | None = None
    image_guided_biopsy: BiopsyExpectation | None = None
    cautions: list[str] = Field(default_factory=list)
    thresholds_source: str
    thresholds_digest: str


def checked_sources(evidence: EvidenceBase) -> DecisionSources:
    """The bundled sources, refused with every problem listed if the evidence lacks a record they name."""
    sources = load_sources()
    key = (evidence.digest, id(evidence))
    if key not in _CHECKED:
        problems = sources.check_against(evidence)
        if problems:
            raise DecisionDataError("sources.yaml does not match the evidence base:\n  " + "\n  ".join(problems))
        _CHECKED.add(key)
    return sources


_CHECKED: set[tuple[str, int]] = set()


def _thresholds_used(thresholds: ThresholdSet, names: list[str]) -> list[ThresholdUsed]:
    out = []
    for name in names:
        t = thresholds.thresholds[name]
        out.append(ThresholdUsed(name=name, value=t.value, basis=t.basis, basis_text=t.basis_text,
                                 meaning=t.meaning, context=list(t.context)))
    return out


def _tf(thresholds: ThresholdSet, name: str, key: str | None = None) -> Figure:
    t = thresholds.thresholds[name]
    return threshold_figure(key or name, name, t.value, t.basis_text)


def _figs(evidence: EvidenceBase, refs: list[ValueRef], prefix: str) -> list[Figure]:
    return [evidence_figure(evidence, r.record, r.value, f"{prefix}{i}") for i, r in enumerate(refs)]


def _list_join(keys: list[str]) -> str:
    braced = ["{" + k + "}" for k in keys]
    if len(braced) <= 1:
        return "".join(braced)
    return ", ".join(braced[:-1]) + " and " + braced[-1]


_OBTAINED_TAG = {"primary": "primary source", "quoted_by_review": "as quoted by the review", "derived": "derived"}


def _tagged(evidence: EvidenceBase, figs: list[Figure]) -> str:
    """Placeholders of ``figs``, each followed by how its number was obtained: '{v0} (primary source), …'."""
    parts = []
    for f in figs:
        obtained = evidence.get(f.record_id).obtained.value if f.record_id else ""
        parts.append("{" + f.key + "}" + (f" ({_OBTAINED_TAG.get(obtained, obtained)})" if obtained else ""))
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _probability_statement(prob: ProbabilityEstimate) -> Statement:
    p = input_figure("p", prob.point, field="probability.point", origin="probability_input", unit="probability")
    if prob.is_point:
        return statement("probability", "The probability of IMLN metastasis given to the decision is {p}, "
                         "without an interval.", [p])
    lo = input_figure("lo", prob.lower, field="probability.lower", origin="probability_input", unit="probability")
    hi = input_figure("hi", prob.upper, field="probability.upper", origin="probability_input", unit="probability")
    return statement("probability", "The probability of IMLN metastasis given to the decision is {p} "
                     "(interval {lo} to {hi}).", [p, lo, hi])


def _position_statement(prob: ProbabilityEstimate, ctx: DecisionContext, thresholds: ThresholdSet,
                        cls: RecommendationClass) -> Statement:
    steps = class_steps(ctx, thresholds)
    i = int(steps.index(prob.point))
    figs: list[Figure] = []
    parts: list[str] = []
    if i > 0:
        name = steps.names[i - 1]
        figs.append(_tf(thresholds, name, "below"))
        parts.append(f"at or above {{below}} ({name}, basis {thresholds.thresholds[name].basis})")
    if i < len(steps.breakpoints):
        name = steps.names[i]
        figs.append(_tf(thresholds, name, "above"))
        parts.append(f"below {{above}} ({name}, basis {thresholds.thresholds[name].basis})")
    if not parts:
        return statement("threshold", f"No probability threshold applies in this situation "
                         f"({_GROUP_TEXT.get(ctx.indication_group, ctx.indication_group)}), which gives: {LABELS[cls]}.")
    return statement("threshold", f"The point estimate lies {' and '.join(parts)}, which gives: {LABELS[cls]}.", figs)


_GROUP_TEXT = {
    "imn_disease": "internal mammary disease is established, so the involved nodes are treated whatever the "
                   "probability",
    "recommended": "a guideline recommends irradiating the internal mammary nodes for this patient, whatever the "
                   "probability",
    "consider": "guidelines say to consider irradiating the internal mammary nodes for this patient; the "
                "probability decides",
    "not_indicated": "no guideline indication for irradiating the internal mammary nodes applies to this patient",
    "undetermined": "no guideline indication could be established for this patient (a fact it needs is unknown, "
                    "or no statement covers her); the probability decides",
}


def _indication_statement(ctx: DecisionContext, evidence: EvidenceBase) -> Statement | None:
    """The guideline basis in one sentence; the statements themselves, with numbers, are in the indication block."""
    if ctx.setting == "follow_up":
        return None
    text = f"Guideline and trial basis: {_GROUP_TEXT[ctx.indication_group]}."
    if ctx.im_tissue == "negative":
        text += " The internal mammary node biopsy was negative, which resolves the imaging finding."
    elif ctx.im_tissue == "non_diagnostic":
        text += " The internal mammary node biopsy was non-diagnostic and counts as no tissue result."
    text += " Which statements apply, with their sources, is in the indication section."
    return statement("indication", text, records=list(ctx.indication_records),
                     citations=[evidence.get(r).citation for r in ctx.indication_records],
                     locations=[evidence.get(r).location for r in ctx.indication_records])


def _range_statements(rng: tuple[float, float], cls: RecommendationClass, lr: float | None = None
                      ) -> list[Statement]:
    lo = input_figure("lo", rng[0], field="probability_range[0]", origin="probability_input", unit="probability")
    hi = input_figure("hi", rng[1], field="probability_range[1]", origin="probability_input", unit="probability")
    figures = [lo, hi]
    what = ""
    if lr is not None:
        figures.append(input_figure("lr", lr, field="imaging.findings[].lr_applied.point", origin="probability_input",
                                    unit="likelihood ratio", display=f"{lr:.3g}"))
        what = (" after the imaging findings (the pre-test model's range over the unknown predictor, times their "
                "likelihood ratio {lr})")
    return [statement(
        "probability",
        "Only a range of probabilities is known ({lo} to {hi})" + what + ", because a predictor is unknown. Every "
        f"value in the range gives the same recommendation ({LABELS[cls]}), so it is robust to the missing field.",
        figures,
    )]


def _uncertainty(prob: ProbabilityEstimate, ctx: DecisionContext, thresholds: ThresholdSet
                 ) -> tuple[bool, list[str], tuple[RecommendationClass, ...], Statement, str]:
    steps = class_steps(ctx, thresholds)
    lo_c, pt_c, hi_c = (classify(x, ctx, thresholds) for x in (prob.lower, prob.point, prob.upper))
    straddled = [n for v, n in zip(steps.breakpoints, steps.names) if prob.lower < v <= prob.upper]
    uncertain = len({lo_c, pt_c, hi_c}) > 1
    if uncertain:
        figs = [_tf(thresholds, n, f"t{k}") for k, n in enumerate(straddled)]
        crossed = _list_join([f"t{k}" for k in range(len(straddled))])
        names = ", ".join(straddled)
        text = (f"The interval straddles {crossed} ({names}): the decision is uncertain. At the lower end of the "
                f"interval the recommendation would be '{LABELS[lo_c]}', at the upper end '{LABELS[hi_c]}'.")
        plain = (f"Uncertain: the interval straddles {names}; lower end → {LABELS[lo_c]}, "
                 f"upper end → {LABELS[hi_c]}.")
        return True, straddled, (lo_c, pt_c, hi_c), statement("uncertainty", text, figs), plain
    text = ("The whole interval lies on one side of every threshold of this decision, so the recommendation "
            "does not depend on where in the interval the probability lies.")
    if prob.is_point:
        text = ("No interval was given, so whether the decision could change within the uncertainty of the "
                "probability is unknown.")
    return False, straddled, (lo_c, pt_c, hi_c), statement("uncertainty", text), text


# --------------------------------------------------------------------------- class-specific statements


def _omit_statements(evidence: EvidenceBase, sources: DecisionSources) -> list[Statement]:
    bound, erm = sources.omit_context
    return [statement(
        "omission_context",
        "Omission accepts some undetected IMLN metastases: extended radical mastectomy found them in {erm} of "
        "axillary node-negative patients, while clinically detectable IMLN recurrence after primary treatment "
        "stays {bound}, even when the internal mammary chain is not treated.",
        [evidence_figure(evidence, erm.record, erm.value, "erm"),
         evidence_figure(evidence, bound.record, bound.value, "bound")],
    )]


def _im_sentinel(evidence: EvidenceBase, sources: DecisionSources, ctx: DecisionContext
                 ) -> tuple[IMSentinelExpectation, list[Statement]]:
    route = ctx.im_sentinel_setting
    cfg = getattr(sources.im_sentinel, route)
    vis = _figs(evidence, cfg.visualisation, "v")
    success = _figs(evidence, cfg.biopsy_success, "s")
    success_any = _figs(evidence, cfg.biopsy_success_any_setting, "a")
    conventional = _figs(evidence, cfg.conventional_technique_visualisation, "c")
    metastasis = _figs(evidence, cfg.metastasis_when_biopsied, "m")
    comp = sources.im_sentinel.complications
    complications = [evidence_figure(evidence, comp.record, v, v) for v in comp.values]
    tech_record = evidence.get(cfg.technique.record)
    technique = tech_record.population
    missing = []
    if not success:
        missing.append(f"IM-SLN biopsy success rate for the route {route!r}")
    statements: list[Statement] = []
    statements.append(statement(
        "im_sentinel_visualisation",
        f"{cfg.label}: expected IM-SLN visualisation {_tagged(evidence, vis)}.",
        vis,
    ))
    modality_name = MODALITY_NAMES.get(tech_record.modality.value, "") if tech_record.modality else ""
    if not _DIGIT.search(technique):
        statements.append(statement(
            "im_sentinel_technique",
            "These rates come from one technique, which the record describes with its population as: "
            f"'{technique.rstrip('.')}' ({modality_name or 'modality not stated'}); "
            "another technique may not reach them.",
            records=[tech_record.id],
        ))
    if conventional:
        statements.append(statement(
            "im_sentinel_technique",
            "With the conventional peritumoral injection visualisation was only {c0}.", conventional))
    if success:
        statements.append(statement(
            "im_sentinel_success",
            f"Once visualised, the IM-SLN was removed in {_tagged(evidence, success)}; the review's figure is "
            "an average for experienced teams.",
            success,
        ))
    else:
        statements.append(statement(
            "im_sentinel_success",
            "The evidence base holds no biopsy success rate for this setting; for experienced teams in any "
            f"setting the review gives {_list_join([f.key for f in success_any])}.",
            success_any,
        ))
    if metastasis:
        statements.append(statement(
            "im_sentinel_yield",
            "When biopsied, the IM-SLN held metastasis in {m0} of clinically node-positive patients in this "
            "setting (a selected, higher-risk cohort).",
            metastasis,
        ))
    statements.append(statement(
        "im_sentinel_harm",
        "IM sampling in {sampled} patients caused {pneumothorax} pneumothorax and {bleeding} bleeding episodes "
        "(counts; no complication rate is printed).",
        complications,
    ))
    expectation = IMSentinelExpectation(
        route=route, label=cfg.label, visualisation=vis, biopsy_success=success,
        biopsy_success_any_setting=success_any, missing=missing, technique=technique,
        technique_record=tech_record.id,
        technique_modality=tech_record.modality.value if tech_record.modality else None,
        conventional_technique_visualisation=conventional, metastasis_when_biopsied=metastasis,
        complications=complications,
    )
    return expectation, statements


def _biopsy_sources(sources: DecisionSources, modality: str, setting: str, implant: bool) -> list:
    out = []
    for s in sources.image_guided_biopsy:
        if setting not in s.settings or s.modality not in (modality, "any"):
            continue
        if s.implant_reconstruction is not None and s.implant_reconstruction != implant:
            continue
        out.append(s)
    return out


def _biopsy(evidence: EvidenceBase, sources: DecisionSources, ctx: DecisionContext, thresholds: ThresholdSet
            ) -> tuple[BiopsyExpectation, list[Statement]]:
    modalities = list(ctx.visible_node_modalities or ctx.finding_modalities)
    figs: list[Figure] = []
    missing: list[str] = []
    statements: list[Statement] = []
    seen: set[tuple[str, str]] = set()
    for modality in modalities:
        found = [s for s in _biopsy_sources(sources, modality, ctx.setting, ctx.implant_reconstruction)
                 if (s.record, s.value) not in seen]
        if not found:
            missing.append(f"confirmation rate of {modality}-positive IMLNs {SETTING_TEXT[ctx.setting]}")
            statements.append(statement(
                "biopsy_confirmation",
                f"The evidence base holds no pathological confirmation rate for {MODALITY_NAMES[modality]}-positive IMLNs "
                f"{SETTING_TEXT[ctx.setting]}."))
            continue
        group = []
        for s in found:
            seen.add((s.record, s.value))
            group.append(evidence_figure(evidence, s.record, s.value, f"b{len(figs) + len(group)}"))
        figs.extend(group)
        who = "imaging-positive" if all(s.modality == "any" for s in found) else f"{MODALITY_NAMES[modality]}-positive"
        statements.append(statement(
            "biopsy_confirmation",
            f"Among {who} IMLNs {SETTING_TEXT[ctx.setting]}, biopsy confirmed metastasis in "
            f"{_tagged(evidence, group)}: positive predictive values of the imaging call in biopsied, selected "
            "patients.",
            group,
        ))
    rule = thresholds.rules["tissue_first_with_visible_node_in"]
    if ctx.setting in rule.value:
        f = evidence_figure(evidence, "review-text-us-restaging", "percent_n_category_changed", "n")
        statements.append(statement(
            "tissue_first",
            f"Before any treatment a visible node is sampled first (rule tissue_first_with_visible_node_in, basis "
            f"{rule.basis}): internal mammary ultrasound changed the N category in {{n}} of patients in one series.",
            [f],
        ))
    return BiopsyExpectation(modalities=modalities, confirmation=figs, missing=missing), statements


def _rt_statements(evidence: EvidenceBase, sources: DecisionSources, ctx: DecisionContext) -> list[Statement]:
    rc = sources.radiotherapy_context
    rt = sources.radiotherapy
    out = [statement(
        "rt_recurrence",
        "In the EORTC trial IMLN recurrence was {with} with nodal irradiation versus {without} without it.",
        [evidence_figure(evidence, rc.recurrence_with_imn_rt.record, rc.recurrence_with_imn_rt.value, "with"),
         evidence_figure(evidence, rc.recurrence_without_imn_rt.record, rc.recurrence_without_imn_rt.value,
                         "without")],
    )]
    src_id = rt.default_benefit_source.value
    src = rt.benefit_sources[src_id]
    figs = [evidence_figure(evidence, src_id, "percent_rni", "rni"),
            evidence_figure(evidence, src_id, "percent_control", "ctl"),
            evidence_figure(evidence, src_id, "hazard_ratio", "hr")]
    out.append(statement(
        "rt_benefit",
        f"Trial evidence, {src.design}: {src.endpoint_label} at the trial horizon was {{rni}} with and {{ctl}} "
        "without irradiation of the " + src.irradiated + " (hazard ratio {hr}).",
        figs,
    ))
    if ctx.setting == "after_nac" and ctx.visible_node:
        ref = rc.after_nac_imn_control
        out.append(statement(
            "rt_after_nac",
            "For clinically IMN-positive disease treated with radiotherapy and no IMN surgery, IMN failure-free "
            "survival was {ffs}.",
            [evidence_figure(evidence, ref.record, ref.value, "ffs")],
        ))
    out.append(statement(
        "rt_cardiac",
        "Against it stands cardiac harm: major coronary events rise by {err} per Gy of mean heart dose with no "
        "threshold, and the review reports that {late} of cardiac events occur after the first decade. The "
        "patient's balance is given in rt_balance.",
        [evidence_figure(evidence, rt.dose_response.record, rt.dose_response.value, "err"),
         evidence_figure(evidence, rt.cardiac_timing.record, rt.cardiac_timing.value, "late")],
    ))
    return out


def _follow_up_statements(evidence: EvidenceBase, sources: DecisionSources, ctx: DecisionContext,
                          cls: RecommendationClass) -> list[Statement]:
    pt = sources.post_treatment
    out = [statement(
        "recurrence_rate",
        "Clinically detectable IMLN recurrence after primary treatment is {bound}.",
        [evidence_figure(evidence, pt.recurrence_bound.record, pt.recurrence_bound.value, "bound")],
    )]
    if ctx.implant_reconstruction:
        im = pt.implant
        out.append(statement(
            "implant_ppv",
            "After implant-based reconstruction MRI shows IMLNs in {seen} of women, and of {followed} with adequate "
            "follow-up {malignant} was malignant: a positive predictive value of {ppv} ({ppv_review} as quoted by "
            "the review).",
            [evidence_figure(evidence, im.seen.record, im.seen.value, "seen"),
             evidence_figure(evidence, im.followed.record, im.followed.value, "followed"),
             evidence_figure(evidence, im.malignant.record, im.malignant.value, "malignant"),
             evidence_figure(evidence, im.ppv.record, im.ppv.value, "ppv"),
             evidence_figure(evidence, im.ppv_review.record, im.ppv_review.value, "ppv_review")],
        ))
    for q in pt.confounders:
        if q.applies_to_implant_only and not ctx.implant_reconstruction:
            continue
        out.append(statement("confounder", f"Confounder named by the review: {q.text}",
                             records=q.related_records, citations=[q.citation], locations=[q.location]))
    if cls is C.short_interval_follow_up:
        out.append(statement("advice", f"The review's advice: {pt.advice.text}", citations=[pt.advice.citation],
                             locations=[pt.advice.location]))
    if cls is C.full_work_up:
        for modality in ctx.finding_modalities:
            for s in _biopsy_sources(sources, modality, "follow_up", ctx.implant_reconstruction):
                out.append(statement(
                    "biopsy_confirmation",
                    f"Among {MODALITY_NAMES[modality]}-suspected IMLNs in recurrent disease, biopsy confirmed metastasis in {{c}}.",
                    [evidence_figure(evidence, s.record, s.value, "c")],
                ))
        first = pt.survival_after_recurrence[0]
        out.append(statement(
            "recurrence_prognosis",
            "IMLN recurrence matters: with IMN recurrence as the first event median overall survival was {med} "
            "years.",
            [evidence_figure(evidence, first.record, first.value, "med")],
        ))
    return out


# --------------------------------------------------------------------------- entry point


def recommend(
    probability: ProbabilityEstimate | None,
    patient: object,
    *,
    thresholds: ThresholdSet | None = None,
    evidence: EvidenceBase | None = None,
    context: DecisionContext | None = None,
    probability_range: tuple[float, float] | None = None,
    range_lr: float | None = None,
) -> Recommendation:
    """The recommendation for ``patient`` at ``probability`` of IMLN metastasis.

    ``thresholds`` default to the bundled ones (:func:`default_thresholds`);
    ``evidence`` to the bundled evidence base. ``context`` overrides what is read
    from the patient record (:func:`decision_context`). Instead of a probability,
    a ``probability_range`` (a predictor unknown) may be given: a recommendation
    is made only if every value of the range gives the same class (else ValueError);
    ``range_lr``, when given, is the likelihood ratio of the imaging findings already applied to the pre-test
    range (the range is then post-test).
    """
    thresholds = thresholds or default_thresholds()
    evidence = evidence if evidence is not None else load_evidence()
    ctx = context or decision_context(patient, evidence)
    if probability is None:
        if probability_range is None:
            raise TypeError("give a probability (ProbabilityEstimate) or a probability_range")
        lo, hi = (float(x) for x in probability_range)
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"probability_range must satisfy 0 ≤ lower ≤ upper ≤ 1; got ({lo:g}, {hi:g})")
        if classify(lo, ctx, thresholds) != classify(hi, ctx, thresholds):
            raise ValueError("the recommendation differs across the probability range; give the missing predictor")
        return _recommend(None, ctx, Same(thresholds), Same(evidence), (lo, hi), range_lr)
    if not isinstance(probability, ProbabilityEstimate):
        raise TypeError(f"probability must be a ProbabilityEstimate; got {type(probability).__name__}")
    return _recommend(probability, ctx, Same(thresholds), Same(evidence), None)


@lru_cache(maxsize=RESULT_CACHE_SIZE)
def _recommend(probability: ProbabilityEstimate | None, ctx: DecisionContext, thresholds_key: Same,
               evidence_key: Same, probability_range: tuple[float, float] | None = None,
               range_lr: float | None = None) -> Recommendation:
    """:func:`recommend` of a decision context: a pure function of these, so cached (the patient record
    matters only through its context; patients sharing a pre-test probability and a context share it)."""
    thresholds: ThresholdSet = thresholds_key.obj  # type: ignore[assignment]
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    sources = checked_sources(evidence)
    steps = class_steps(ctx, thresholds)
    if probability is None:
        assert probability_range is not None
        cls = classify(probability_range[0], ctx, thresholds)
        uncertain, straddled, (lo_c, pt_c, hi_c) = False, [], (cls, cls, cls)
        unc_text = "Robust: every value of the probability range gives this recommendation."
        rationale = _range_statements(probability_range, cls, range_lr)
    else:
        cls = classify(probability.point, ctx, thresholds)
        uncertain, straddled, (lo_c, pt_c, hi_c), unc_statement, unc_text = _uncertainty(probability, ctx,
                                                                                         thresholds)
        rationale = [_probability_statement(probability), _position_statement(probability, ctx, thresholds, cls),
                     unc_statement]
    basis = _indication_statement(ctx, evidence)
    if basis is not None:
        rationale.insert(0, basis)
    cautions: list[str] = []
    im_sentinel = None
    biopsy = None
    in_band = False
    if cls is C.omit:
        if ctx.setting == "follow_up":
            rationale.append(statement("follow_up", "No internal mammary finding is reported at follow-up: routine "
                                       "follow-up, nothing IMN-directed to do."))
        else:
            rationale += _omit_statements(evidence, sources)
    elif cls is C.im_sentinel_biopsy:
        im_sentinel, extra = _im_sentinel(evidence, sources, ctx)
        rationale += extra
    elif cls is C.image_guided_biopsy:
        biopsy, extra = _biopsy(evidence, sources, ctx, thresholds)
        rationale += extra
    elif cls is C.imn_radiotherapy:
        if (probability is not None and ctx.surgery_done and not ctx.node_to_biopsy
                and ctx.indication_group in ("consider", "undetermined")
                and thresholds.omit_below <= probability.point < thresholds.radiotherapy_at):
            in_band = True
            rule = thresholds.rules["after_surgery_band_action"]
            rationale.append(statement(
                "band_rule",
                "The probability lies in the tissue-diagnosis band, but after surgery IM sentinel node biopsy is "
                "no longer possible and no visible node can be biopsied; the rule after_surgery_band_action "
                f"(basis {rule.basis}) gives IMN radiotherapy.",
            ))
        rationale += _rt_statements(evidence, sources, ctx)
        if ctx.prior_imn_radiotherapy:
            cautions.append("The internal mammary chain has already been irradiated: re-irradiation is a specialist "
                            "decision, and the evidence base holds no data on it.")
    else:  # follow-up classes
        rationale += _follow_up_statements(evidence, sources, ctx, cls)
    if ctx.unquantified_positive:
        names = ", ".join(MODALITY_NAMES.get(m, m) for m in ctx.unquantified_positive)
        cautions.append(f"A positive {names} finding could not be quantified (no usable accuracy record for its "
                        "setting), so it did not enter the probability; it is not dismissed: "
                        + ("it is worked up." if ctx.setting == "follow_up" else
                           "the recommendation does not fall below tissue diagnosis because of it."))
    if ctx.im_tissue == "non_diagnostic":
        cautions.append("The internal mammary node biopsy was non-diagnostic: it neither confirms nor excludes "
                        "metastasis; repeat sampling may be needed.")
    if ctx.setting != "follow_up" and ctx.finding_present and not ctx.visible_node and cls is not C.omit:
        cautions.append("An internal mammary finding is reported but none is an ipsilateral, imaging-positive node "
                        "on US, CT, MRI, PET/CT or PET/MRI, so image-guided biopsy was not considered.")
    used = list(dict.fromkeys([*steps.names, *straddled]))
    return Recommendation(
        recommendation=cls,
        label=LABELS[cls],
        intensity=INTENSITY[cls],
        setting=ctx.setting,
        probability=probability,
        probability_range=probability_range,
        probability_range_basis=(None if probability_range is None else "pre-test" if range_lr is None
                                 else "post-test"),
        indication_group=ctx.indication_group,
        uncertain=uncertain,
        uncertainty=unc_text,
        class_at_lower=lo_c,
        class_at_point=pt_c,
        class_at_upper=hi_c,
        straddled_thresholds=straddled,
        thresholds=_thresholds_used(thresholds, used),
        in_band_without_tissue_option=in_band,
        rationale=rationale,
        im_sentinel=im_sentinel,
        image_guided_biopsy=biopsy,
        cautions=cautions,
        thresholds_source=thresholds.source,
        thresholds_digest=thresholds.digest,
    )
