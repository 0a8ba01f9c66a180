"""The decision section of an assessment: one object, JSON-serialisable, that every interface renders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imln.decision._classes import LABELS, classify, decision_context
from imln.decision._indications import IndicationAssessment, assess_indications
from imln.decision._next_tests import NextTests, next_tests
from imln.decision._post_treatment import PostTreatmentContext, post_treatment_context
from imln.decision._probability import ProbabilityEstimate
from imln.decision._recommend import Recommendation, recommend
from imln.decision._rt_balance import DEFAULT_DRAWS, DEFAULT_SEED, RTBalance, rt_balance
from imln.decision._sensitivity import ThresholdSensitivity, threshold_sensitivity
from imln.decision._thresholds import (
    DecisionDataError,
    ThresholdSet,
    default_thresholds,
)
from imln.evidence import EvidenceBase, load_evidence

__all__ = ["DECISION_SCHEMA_VERSION", "DecisionAssessment", "assess_decision"]

#: Version of the JSON layout of a DecisionAssessment; bump on any breaking change.
DECISION_SCHEMA_VERSION = "3"

DISCLAIMER = (
    "Decision support, not a medical device. Thresholds marked 'choice' are defaults chosen for imln, not "
    "published cut-offs; change them to your institution's policy. Every number in a rationale names its "
    "evidence record, or is the patient's input, the probability given, or a threshold with its basis."
)


class DecisionAssessment(BaseModel):
    """Recommendation, next tests, IMN radiotherapy balance and post-treatment context for one patient."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = DECISION_SCHEMA_VERSION
    evidence_version: str
    evidence_digest: str
    thresholds: ThresholdSet
    thresholds_digest: str
    probability: ProbabilityEstimate | None = Field(description="The probability the decision was made on.")
    probability_basis: Literal["posttest", "pretest", "none"]
    context: dict[str, Any] = Field(
        description="What besides the probability decided the class: setting, visible node (and on which "
        "modalities), post-treatment finding, NAC, implant reconstruction, prior IMN radiotherapy."
    )
    indication: IndicationAssessment | None = Field(
        None, description="The guideline and trial basis: which indications apply, which a missing fact leaves "
        "open, which trials the patient would not have been eligible for, and what would change it."
    )
    recommendation: Recommendation | None
    next_tests: NextTests | None
    rt_balance: RTBalance | None
    post_treatment: PostTreatmentContext | None
    threshold_sensitivity: ThresholdSensitivity | None
    seed: int
    n_draws: int
    notes: list[str] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER


def _times_lr(p: float, lr: float) -> float:
    """The probability after a likelihood ratio (odds × LR), exact at 0 and 1."""
    if p <= 0 or p >= 1:
        return float(p)
    return p * lr / (p * lr + (1 - p))


def _posttest_estimate(posttest: Any, notes: list[str]) -> ProbabilityEstimate:
    """The post-test probability; an analytic point just outside its Monte Carlo interval widens it (noted)."""
    if isinstance(posttest, ProbabilityEstimate):
        return posttest
    point, lower, upper = (float(x) for x in posttest)
    if not lower <= point <= upper:
        notes.append(f"The post-test point {point:.3g} lies outside its interval ({lower:.3g}–{upper:.3g}); the "
                     "interval was widened to include it.")
    return ProbabilityEstimate(
        point=point, lower=min(lower, point), upper=max(upper, point),
        source="post-test probability after the patient's imaging (imln.imaging; Monte Carlo credible interval)",
    )


def assess_decision(
    patient: Any,
    pretest: Any | None,
    posttest: tuple[float, float, float] | ProbabilityEstimate | None,
    accuracy: Mapping[str, Any] | None,
    *,
    evidence: EvidenceBase | None = None,
    thresholds: ThresholdSet | None = None,
    available_modalities: Iterable[str] | None = None,
    benefit_source: str | None = None,
    trial_imln_prevalence: ProbabilityEstimate | str | None = None,
    sensitivity: bool = True,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    unquantified_positive: Iterable[str] = (),
    imaging_lr: float | None = None,
) -> DecisionAssessment:
    """The decision section for ``patient``; never raises for missing or incomplete patient data.

    * ``pretest`` — a :class:`~imln.risk.RiskPrediction` (or None);
    * ``posttest`` — ``(point, lower, upper)`` after imaging (or a
      :class:`ProbabilityEstimate`, or None); when given it is what the decision
      uses, else the pre-test point estimate and interval;
    * ``accuracy`` — modality → :class:`~imln.imaging.AccuracyPosterior` for the
      tests that could be done next (None: next tests are not ranked);
      ``available_modalities`` defaults to its keys; modalities already in the
      patient's findings are listed as done.

    ``unquantified_positive`` names the modalities of positive findings that no
    accuracy record or published predictive value quantified: they never lower the
    recommendation below tissue diagnosis (work-up at follow-up).

    When only a range of probabilities is known (a predictor missing), or none at
    all, a recommendation is still given when every probability in the range (0–1
    when none is known) gives the same class: it is robust to what is missing.
    ``imaging_lr`` is the likelihood ratio of the imaging findings applied when no
    post-test probability could be computed because the pre-test is such a range:
    the range is then moved by it (post-test odds = pre-test odds × LR at both ends),
    so a finding counts even when a predictor is unknown.

    What cannot be computed is ``None`` (or ``status='not_computable'`` for the RT
    balance) with the reason in ``notes``.
    """
    evidence = evidence if evidence is not None else load_evidence()
    thresholds = thresholds or default_thresholds()
    notes: list[str] = []
    indication = assess_indications(patient, evidence)
    ctx = decision_context(patient, evidence, indication).with_unquantified(
        unquantified_positive, no_sourced_probability=posttest is None and getattr(patient.setting, "value", None)
        == "follow_up")

    probability: ProbabilityEstimate | None = None
    robust_range: tuple[float, float] | None = None
    basis: Literal["posttest", "pretest", "none"] = "none"
    if posttest is not None:
        try:
            probability, basis = _posttest_estimate(posttest, notes), "posttest"
        except (TypeError, ValueError) as exc:
            notes.append(f"The post-test probability could not be used ({exc}).")
    if probability is None and pretest is not None:
        probability = ProbabilityEstimate.from_risk(pretest)
        if probability is not None:
            basis = "pretest"
        elif getattr(pretest, "probability_range", None):
            lo, hi = pretest.probability_range
            what = "pre-test probability"
            if imaging_lr is not None:
                lo, hi = (_times_lr(x, imaging_lr) for x in (lo, hi))
                what = f"probability after the imaging findings (pre-test range × likelihood ratio {imaging_lr:.3g})"
            at = {classify(x, ctx, thresholds) for x in (lo, hi)}
            missing = ", ".join(getattr(pretest, "missing", []) or []) or "a predictor"
            if len(at) == 1:
                robust_range = (float(lo), float(hi))
                notes.append(
                    f"The {what} is a range ({lo:.3g}–{hi:.3g}) because {missing} is unknown; every "
                    f"value in it gives {LABELS[at.pop()]}, so the recommendation is robust to the missing field."
                )
            else:
                notes.append(
                    f"No recommendation: the {what} is a range ({lo:.3g}–{hi:.3g}) because {missing} "
                    f"is unknown; across it the recommendation would be "
                    f"{' or '.join(sorted(LABELS[c] for c in at))}. Give {missing} for a single probability."
                )
    if probability is None and robust_range is None and classify(0.0, ctx, thresholds) == classify(1.0, ctx,
                                                                                                    thresholds):
        robust_range = (0.0, 1.0)
        notes.append(f"No probability is known, but in this situation every probability gives "
                     f"{LABELS[classify(0.0, ctx, thresholds)]}: the recommendation does not depend on it.")
    if probability is None and robust_range is None and not notes:
        notes.append("No recommendation: neither a pre-test nor a post-test probability was given.")

    recommendation = None
    sweep = None
    if probability is not None:
        recommendation = recommend(probability, patient, thresholds=thresholds, evidence=evidence, context=ctx)
        if sensitivity:
            sweep = threshold_sensitivity(probability, ctx, thresholds)
    elif robust_range is not None:
        recommendation = recommend(None, patient, thresholds=thresholds, evidence=evidence, context=ctx,
                                   probability_range=robust_range,
                                   range_lr=imaging_lr if robust_range != (0.0, 1.0) else None)

    tests = None
    if probability is not None and accuracy:
        done = [f.modality.value for f in (getattr(patient, "findings", None) or [])]
        modalities = list(available_modalities) if available_modalities is not None else list(accuracy)
        try:
            tests = next_tests(probability, modalities, accuracy, thresholds, context=ctx, done=done,
                               n_draws=n_draws, seed=seed)
        except (TypeError, ValueError) as exc:
            notes.append(f"Next tests not ranked: {exc}")
    elif probability is not None:
        notes.append("Next tests not ranked: no accuracy posteriors were given.")

    balance = None
    try:
        balance = rt_balance(probability, patient, evidence, benefit_source=benefit_source,
                             trial_imln_prevalence=trial_imln_prevalence, n_draws=n_draws, seed=seed)
    except (DecisionDataError, KeyError, TypeError, ValueError) as exc:
        notes.append(f"IMN radiotherapy balance not computed: {exc}")
    if balance is not None and balance.status == "not_computable":
        notes.append(balance.message)

    post = None
    if ctx.setting in ("after_surgery", "follow_up") or ctx.implant_reconstruction:
        post = post_treatment_context(evidence, implant_reconstruction=ctx.implant_reconstruction)

    return DecisionAssessment(
        evidence_version=evidence.version,
        evidence_digest=evidence.digest,
        thresholds=thresholds,
        thresholds_digest=thresholds.digest,
        probability=probability,
        probability_basis=basis,
        context=asdict(ctx),
        indication=indication,
        recommendation=recommendation,
        next_tests=tests,
        rt_balance=balance,
        post_treatment=post,
        threshold_sensitivity=sweep,
        seed=seed,
        n_draws=n_draws,
        notes=notes,
    )
