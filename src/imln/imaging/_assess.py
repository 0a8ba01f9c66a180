"""One patient's imaging, assessed: results, likelihood ratios, post-test probability.

:func:`assess_imaging` runs, for every finding of a patient, the criteria
engine (:func:`~imln.imaging.classify_finding`), chooses the modality's
accuracy in the patient's setting (:func:`~imln.imaging.select_accuracy`) and
combines the results with a pre-test probability by Bayes' theorem
(:func:`~imln.imaging.combine_tests`). The answer, an
:class:`ImagingAssessment`, is a JSON-serialisable pydantic model that every
interface renders; it computes nothing on display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imln.evidence import AuditPolicy, AuditReport, EvidenceBase, Modality, Setting, audit_evidence, load_evidence
from imln.imaging._accuracy import AccuracyChoice, evidence_setting, select_accuracy
from imln.imaging._bayes import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    AccuracyDistribution,
    PretestProbability,
    _as_pretest,
    combine_tests,
)
from imln.imaging._criteria import CriteriaResult, CriteriaSet, classify_finding, load_criteria

__all__ = [
    "ASSESSMENT_SCHEMA_VERSION",
    "FindingAssessment",
    "ImagingAssessment",
    "LikelihoodRatio",
    "PosttestSummary",
    "PretestSummary",
    "Step",
    "assess_imaging",
]

#: Version of the JSON layout of an ImagingAssessment; bump on any breaking change.
ASSESSMENT_SCHEMA_VERSION = "1"

Vote = Literal["positive", "negative", "indeterminate"]

#: Pairs of modalities that image the same nodes with a shared component.
_SHARED_COMPONENTS = {
    frozenset({Modality.ct, Modality.pet_ct}): "PET/CT contains a CT of the same nodes",
    frozenset({Modality.mri, Modality.pet_mri}): "PET/MRI contains an MRI of the same nodes",
    frozenset({Modality.lymphoscintigraphy, Modality.spect_ct}): "SPECT/CT and lymphoscintigraphy image the same tracer",
}


class LikelihoodRatio(BaseModel):
    """A likelihood ratio at the posterior means, with its Monte Carlo credible interval."""

    model_config = ConfigDict(frozen=True)

    result: Literal["positive", "negative"]
    point: float
    lower: float
    upper: float
    level: float
    n_draws: int
    seed: int


class FindingAssessment(BaseModel):
    """One finding: its result and how it was decided, its likelihood ratios and their source."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="Position in patient.findings (0-based).")
    modality: Modality
    side: str | None
    date: str | None
    result: Vote
    result_source: Literal["user", "criteria"] = Field(
        description="'user': the result entered with the finding (it wins over the engine); 'criteria': the engine's."
    )
    decided_by: list[str] = Field(description="Criteria rule ids when the engine decided; empty for a user's result.")
    user_result: Vote | None
    criteria: CriteriaResult = Field(description="The engine's reading, shown even when the user's result is used.")
    engine_agrees: bool | None = Field(
        description="Whether the engine's result matches the user's; None when either is missing or indeterminate."
    )
    accuracy: AccuracyChoice
    lr_positive: LikelihoodRatio | None
    lr_negative: LikelihoodRatio | None
    lr_applied: LikelihoodRatio | None = Field(description="The likelihood ratio of this finding's result, if applied.")
    applied: bool = Field(description="Whether this finding's likelihood ratio entered the post-test probability.")
    effect: str = Field(description="What this finding did to the probability, in words.")
    notes: list[str]


class PretestSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    mean: float
    lower: float
    upper: float
    level: float
    method: str


class PosttestSummary(BaseModel):
    """The combined post-test probability of IMLN metastasis."""

    model_config = ConfigDict(frozen=True)

    point: float = Field(description="Bayes' theorem at the pre-test mean and the posterior means of accuracy.")
    mc_mean: float
    mc_median: float
    lower: float
    upper: float
    level: float
    lr_point: float = Field(description="Likelihood ratio applied (product over findings when combined).")
    lr_lower: float
    lr_upper: float
    method: Literal["independent", "most_informative", "none"]
    findings_applied: list[int]
    n_draws: int
    seed: int
    notes: list[str]


class Step(BaseModel):
    """The probability after each applied finding, for the pre- → post-test chart."""

    model_config = ConfigDict(frozen=True)

    label: str
    finding_index: int | None
    likelihood_ratio: float | None
    point: float
    lower: float
    upper: float


class ImagingAssessment(BaseModel):
    """Everything imln says about one patient's imaging, with what it rests on."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = ASSESSMENT_SCHEMA_VERSION
    patient_setting: str
    evidence_setting: Setting
    setting_basis: str
    policy: AuditPolicy
    combine: Literal["independent", "most_informative"]
    seed: int
    n_draws: int
    level: float
    evidence_version: str
    evidence_digest: str
    criteria_version: str
    criteria_digest: str
    findings: list[FindingAssessment]
    pretest: PretestSummary | None
    posttest: PosttestSummary | None = Field(description="None when no pre-test probability was given.")
    steps: list[Step]
    warnings: list[str]
    notes: list[str]


@cache
def _default_audit() -> AuditReport:
    return audit_evidence(load_evidence())


def _lr(accuracy: AccuracyDistribution, result: str, *, level: float, n_draws: int, seed: int) -> LikelihoodRatio:
    lo, hi = accuracy.lr_interval(result, level, n_draws=n_draws, seed=seed)
    return LikelihoodRatio(
        result=result, point=accuracy.lr(result), lower=lo, upper=hi, level=level, n_draws=n_draws, seed=seed
    )


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def assess_imaging(
    patient: Any,
    pretest: PretestProbability | float | None,
    *,
    evidence: EvidenceBase | None = None,
    audit: AuditReport | None = None,
    combine: Literal["independent", "most_informative"] = "independent",
    seed: int = DEFAULT_SEED,
    n_draws: int = DEFAULT_DRAWS,
    level: float = 0.95,
    policy: AuditPolicy | str = AuditPolicy.refuse,
    criteria: CriteriaSet | None = None,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
    imaging_setting: Setting | str | None = None,
) -> ImagingAssessment:
    """Assess a patient's imaging findings against the evidence base.

    ``patient`` is a validated :class:`~imln.schema.Patient`; ``pretest`` the
    pre-test probability of IMLN metastasis (a probability, a
    :class:`PretestProbability`, or None: then only likelihood ratios are
    reported and the answer says a pre-test probability is needed).
    ``combine`` is ``"independent"`` (all findings, likelihood ratios
    multiplied, with a warning that correlated tests overstate certainty) or
    ``"most_informative"`` (the single finding that moves the log-odds most).
    ``policy`` is the evidence audit policy; ``criteria`` a
    :func:`load_criteria` set (e.g. with overrides); ``extra`` maps a finding's
    index to measurements the patient input has no field for
    (``{"suv_blood_pool": 1.9}``). ``imaging_setting`` states the evidence
    setting of the imaging (default: derived from the patient by
    :func:`evidence_setting`). ``seed`` and ``n_draws`` fix the Monte Carlo
    draws; the same call gives the same numbers.
    """
    if combine not in ("independent", "most_informative"):
        raise ValueError(f"combine must be one of 'independent', 'most_informative'; got {combine!r}")
    policy = AuditPolicy(policy)
    if evidence is None:
        evidence = load_evidence()
        audit = audit or _default_audit()
    audit = audit or audit_evidence(evidence)
    criteria = criteria or load_criteria()
    extra = extra or {}
    if imaging_setting is None:
        setting, basis = evidence_setting(patient)
    else:
        setting, basis = Setting(imaging_setting), "imaging_setting given by the caller"
    pre = _as_pretest(pretest) if pretest is not None else None

    findings: list[FindingAssessment] = []
    warnings: list[str] = []
    notes: list[str] = []
    applied: list[tuple[int, str, AccuracyDistribution]] = []
    for i, finding in enumerate(getattr(patient, "findings", None) or []):
        engine = classify_finding(finding, criteria=criteria, setting=setting, extra=extra.get(i, {}), evidence=evidence)
        user = _value(finding.result)
        result: str = user if user is not None else engine.result
        source = "user" if user is not None else "criteria"
        modality = Modality(_value(finding.modality))
        tag = f"finding {i} ({modality.value})"
        finding_notes: list[str] = []
        if source == "criteria" and engine.accuracy_records:
            prefer = list(engine.accuracy_records)
            prefer_reason = "the accuracy record of the criterion that decided the result"
        else:
            reader = criteria.reader_call_accuracy.get(modality.value)
            prefer = [reader["record"]] if reader else []
            prefer_reason = f"reader's call: {reader['reason']}" if reader else None
        choice = select_accuracy(
            modality, setting, evidence=evidence, audit=audit, policy=policy, prefer=prefer,
            prefer_reason=prefer_reason, level=level,
        )
        if source == "criteria" and engine.result != "indeterminate" and not engine.accuracy_records:
            finding_notes.append(
                f"the deciding criteria ({', '.join(engine.decided_by)}) have no accuracy record of their own; "
                f"the {modality.value} accuracy of {choice.source or 'no record'} is used"
            )
        elif source == "criteria" and choice.pool is not None and engine.accuracy_records:
            finding_notes.append(
                f"the deciding criteria have accuracy records of their own ({', '.join(engine.accuracy_records)}); "
                f"the {choice.pool.modality} pool of {choice.pool.n_studies} studies is used instead"
            )
        elif source == "criteria" and choice.record_id and choice.record_id not in engine.accuracy_records and engine.accuracy_records:
            finding_notes.append(
                f"the accuracy records of the deciding criteria ({', '.join(engine.accuracy_records)}) are not usable "
                f"here (see accuracy.considered); {choice.record_id} is used"
            )
        agrees: bool | None = None
        if user is not None and user != "indeterminate" and engine.result != "indeterminate":
            agrees = user == engine.result
            if not agrees:
                warnings.append(
                    f"{tag}: the entered result '{user}' differs from the criteria engine's '{engine.result}' "
                    f"({', '.join(engine.decided_by)}); the entered result is used"
                )
        if user is not None:
            finding_notes.append(f"result entered by the user ('{user}'); the engine's opinion: {engine.explanation}")
        lr_pos = lr_neg = lr_applied = None
        if choice.posterior is not None:
            lr_pos = _lr(choice.posterior, "positive", level=level, n_draws=n_draws, seed=seed)
            lr_neg = _lr(choice.posterior, "negative", level=level, n_draws=n_draws, seed=seed)
        side = _value(finding.side)
        if result == "indeterminate":
            effect = "indeterminate: likelihood ratio 1, the probability is unchanged"
            is_applied = False
        elif choice.posterior is None:
            effect = f"not applied: {choice.reason}"
            is_applied = False
        elif side == "contralateral":
            effect = "not applied: a contralateral finding; the accuracy evidence concerns the ipsilateral chain"
            is_applied = False
        else:
            lr_applied = lr_pos if result == "positive" else lr_neg
            effect = f"applied: {result}, likelihood ratio {lr_applied.point:.3g}"  # type: ignore[union-attr]
            is_applied = True
            applied.append((i, result, choice.posterior))
        warnings.extend(f"{tag}: {w}" for w in choice.warnings)
        warnings.extend(f"{tag}: {c}" for c in engine.cautions)
        findings.append(
            FindingAssessment(
                index=i,
                modality=modality,
                side=side,
                date=finding.date.isoformat() if getattr(finding, "date", None) else None,
                result=result,  # type: ignore[arg-type]
                result_source=source,  # type: ignore[arg-type]
                decided_by=list(engine.decided_by) if source == "criteria" else [],
                user_result=user,
                criteria=engine,
                engine_agrees=agrees,
                accuracy=choice,
                lr_positive=lr_pos,
                lr_negative=lr_neg,
                lr_applied=lr_applied,
                applied=is_applied,
                effect=effect,
                notes=finding_notes,
            )
        )

    # most informative: only one finding is applied (largest |log LR|, first on a tie, as combine_tests)
    candidates = list(applied)
    if combine == "most_informative" and len(applied) > 1:
        best = max(range(len(applied)), key=lambda k: abs(math.log(applied[k][2].lr(applied[k][1]))))
        kept = applied[best]
        findings = [
            f.model_copy(update={"applied": False, "lr_applied": None,
                                 "effect": f"not applied: combine='most_informative' used finding {kept[0]}"})
            if f.applied and f.index != kept[0] else f
            for f in findings
        ]
        applied = [kept]

    warnings.extend(_correlation_warnings(findings, combine))
    if not findings:
        notes.append("no imaging findings: nothing to assess")
    for f in findings:
        if f.result == "indeterminate":
            notes.append(f"finding {f.index} ({f.modality.value}) is indeterminate: it leaves the probability unchanged")

    pretest_summary = posttest = None
    steps: list[Step] = []
    if pre is None:
        notes.append(
            "no pre-test probability given: likelihood ratios are reported for each finding, but a post-test "
            "probability needs a pre-test probability (from the risk model or entered by the user)"
        )
    else:
        lo, hi = pre.interval(level)
        pretest_summary = PretestSummary(mean=pre.mean, lower=lo, upper=hi, level=level, method=pre.method)
        steps.append(Step(label="pre-test", finding_index=None, likelihood_ratio=None, point=pre.mean, lower=lo, upper=hi))
        if applied:
            tests = [(r, a) for _, r, a in applied]
            # most_informative: combine_tests picks the same finding from all candidates and says so in its notes
            res = combine_tests(pre, [(r, a) for _, r, a in candidates], mode=combine, n_draws=n_draws, seed=seed,
                                level=level)
            posttest = PosttestSummary(
                point=res.point, mc_mean=res.mc_mean, mc_median=res.mc_median, lower=res.interval[0],
                upper=res.interval[1], level=level, lr_point=res.lr_point, lr_lower=res.lr_interval[0],
                lr_upper=res.lr_interval[1], method=combine, findings_applied=[i for i, _, _ in applied],
                n_draws=n_draws, seed=seed, notes=list(res.notes),
            )
            for k, (i, r, a) in enumerate(applied):
                part = res if k == len(applied) - 1 else combine_tests(
                    pre, tests[: k + 1], mode="independent", n_draws=n_draws, seed=seed, level=level
                )
                steps.append(
                    Step(
                        label=f"+ {findings[i].modality.value} {r} (finding {i})", finding_index=i,
                        likelihood_ratio=a.lr(r), point=part.point, lower=part.interval[0], upper=part.interval[1],
                    )
                )
        else:
            posttest = PosttestSummary(
                point=pre.mean, mc_mean=pre.mean, mc_median=pre.mean, lower=lo, upper=hi, level=level, lr_point=1.0,
                lr_lower=1.0, lr_upper=1.0, method="none", findings_applied=[], n_draws=n_draws, seed=seed,
                notes=["no finding could be applied: the post-test probability is the pre-test probability"],
            )
    return ImagingAssessment(
        patient_setting=str(_value(getattr(patient, "setting", ""))),
        evidence_setting=setting,
        setting_basis=basis,
        policy=policy,
        combine=combine,
        seed=seed,
        n_draws=n_draws,
        level=level,
        evidence_version=evidence.version,
        evidence_digest=evidence.digest,
        criteria_version=criteria.version,
        criteria_digest=criteria.digest,
        findings=findings,
        pretest=pretest_summary,
        posttest=posttest,
        steps=steps,
        warnings=warnings,
        notes=notes,
    )


def _correlation_warnings(findings: list[FindingAssessment], combine: str) -> list[str]:
    used = [f for f in findings if f.applied]
    if combine != "independent" or len(used) < 2:
        return []
    out = [
        (
            "findings combined under conditional independence (likelihood ratios multiplied); correlated tests "
            "overstate certainty — use combine='most_informative' to apply only the single most informative finding"
        )
    ]
    by_modality: dict[Modality, list[int]] = {}
    for f in used:
        by_modality.setdefault(f.modality, []).append(f.index)
    for modality, indices in by_modality.items():
        if len(indices) > 1:
            out.append(
                f"findings {', '.join(map(str, indices))} are all {modality.value}: repeated examinations of the "
                "same nodes are strongly correlated"
            )
    present = set(by_modality)
    for pair, why in _SHARED_COMPONENTS.items():
        if pair <= present:
            names = " and ".join(sorted(m.value for m in pair))
            out.append(f"{names} are correlated: {why}")
    return out
