"""The assessment object: everything imln says about one patient, in one place.

The CLI, the HTTP API and the reports all render this object; none of them
computes anything of its own. Sections for risk, imaging and decision are
filled by their subpackages as they become available; until then they are
``None`` and :attr:`Assessment.notes` says so.
"""

from __future__ import annotations

import math

from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from imln import __version__
from imln._cache import Same
from imln._inputs import UnusedInput, unused_inputs
from imln.evidence import EvidenceBase, load_evidence
from imln.evidence import AuditReport, audit_evidence
from imln.decision import NODE_IMAGING, DecisionAssessment, ProbabilityEstimate, assess_decision
from imln.evidence import Modality
from imln.imaging import ImagingAssessment, PretestProbability, assess_imaging, evidence_setting, select_accuracy
from imln.risk import MissingPredictorError, ModelSpecError, RiskPrediction, predict_risk
from imln.schema import Patient, normalise

__all__ = ["Assessment", "EvidenceOnFile", "assess"]

#: Version of the JSON layout of an assessment; bump on any breaking change.
ASSESSMENT_SCHEMA_VERSION = "3"


class EvidenceOnFile(BaseModel):
    """An evidence record relevant to one of the patient's imaging findings."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    modality: str | None
    measures: str
    statement: str
    citation: str
    location: str
    audit_status: str
    audit_messages: list[str]


class Assessment(BaseModel):
    """One patient's assessment with the versions needed to reproduce it."""

    schema_version: str = ASSESSMENT_SCHEMA_VERSION
    imln_version: str
    evidence_version: str
    evidence_digest: str
    created_at: str
    input: dict[str, Any]
    evidence_on_file: list[EvidenceOnFile] = Field(default_factory=list)
    risk: RiskPrediction | None = None
    imaging: ImagingAssessment | None = None
    decision: DecisionAssessment | None = None
    unused_inputs: list[UnusedInput] = Field(
        default_factory=list, description="Fields given that no layer read for this patient, each with the reason."
    )
    notes: list[str] = Field(default_factory=list)


@cache
def _default_audit() -> AuditReport:
    """The bundled evidence never changes within a process: audit it once."""
    return audit_evidence(load_evidence())


def assess(
    patient: Patient,
    *,
    evidence: EvidenceBase | None = None,
    audit: AuditReport | None = None,
    risk_model: str | None = None,
    pretest: float | None = None,
) -> Assessment:
    """Assess one validated patient against the bundled (or given) evidence.

    ``risk_model`` picks a registered pre-test model (default: the bundled one). A
    predictor the patient record lacks is never filled in: the pre-test probability
    becomes the range over its possible values, and the notes say so. ``pretest``
    replaces the model's pre-test probability with the clinician's own (a point value).
    """
    if evidence is None:
        evidence = load_evidence()
        audit = audit or _default_audit()
    audit = audit or audit_evidence(evidence)
    modalities = {f.modality for f in (patient.findings or [])}
    on_file = list(_evidence_on_file(Same(evidence), Same(audit), frozenset(modalities)))
    notes: list[str] = []
    risk: RiskPrediction | None = None
    try:
        risk = predict_risk(patient, risk_model, missing="range")
    except (MissingPredictorError, ModelSpecError, ValueError) as exc:
        notes.append(f"No pre-test probability: {exc}")
    if risk is not None and risk.missing:
        notes.append(
            f"Pre-test probability shown as a range because {', '.join(risk.missing)} "
            "is unknown; give it for a point estimate."
        )
    # the pre-test model describes metastasis at diagnosis; at follow-up it informs nothing downstream
    diagnosis_risk = risk if patient.setting.value != "follow_up" else None
    imaging: ImagingAssessment | None = None
    if patient.findings:
        prior = _pretest_for_imaging(diagnosis_risk, pretest, notes)
        imaging = assess_imaging(patient, prior, evidence=evidence, audit=audit)
    probability, covered = _decision_probability(patient, imaging, evidence, notes)
    imaging_lr = None
    if probability is None and pretest is None and diagnosis_risk is not None and imaging is not None:
        imaging_lr, on_range = _lr_on_a_range(diagnosis_risk, imaging)
        covered |= on_range
    decision = assess_decision(
        patient,
        diagnosis_risk,
        probability,
        _accuracy_of_untried_tests(patient, evidence, audit),
        evidence=evidence,
        unquantified_positive=_unquantified_positive(patient, imaging, covered),
        imaging_lr=imaging_lr,
    )
    return Assessment(
        imln_version=__version__,
        evidence_version=evidence.version,
        evidence_digest=evidence.digest,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        input=normalise(patient),
        evidence_on_file=on_file,
        risk=risk,
        imaging=imaging,
        decision=decision,
        unused_inputs=unused_inputs(patient, risk, evidence),
        notes=[
            *notes,
            "Decision support, not a medical device: every figure shown carries its source.",
        ],
    )


@lru_cache(maxsize=256)
def _evidence_on_file(evidence_key: Same, audit_key: Same, modalities: frozenset) -> tuple[EvidenceOnFile, ...]:
    """Accuracy records of the patient's imaging modalities with their audit status (built once per set)."""
    evidence, audit = evidence_key.obj, audit_key.obj
    return tuple(
        EvidenceOnFile(
            record_id=r.id,
            modality=r.modality.value if r.modality else None,
            measures=r.measures,
            statement=r.statement,
            citation=r.citation,
            location=r.location,
            audit_status=audit[r.id].status,
            audit_messages=audit[r.id].messages,
        )
        for r in evidence  # type: ignore[attr-defined]
        if r.kind.value == "diagnostic_accuracy" and r.modality in modalities
    )


def _pretest_for_imaging(
    risk: RiskPrediction | None, pretest: float | None, notes: list[str]
) -> PretestProbability | None:
    """The pre-test probability imaging starts from: the clinician's, or the model's with its interval."""
    if pretest is not None:
        notes.append(f"Pre-test probability {pretest:g} given by the user (the model's estimate is shown for comparison).")
        return PretestProbability.from_point(pretest)
    if risk is None or risk.probability is None:
        notes.append("No single pre-test probability: imaging is reported as likelihood ratios only.")
        return None
    try:
        return PretestProbability.from_interval(risk.probability, *risk.ci95)
    except ValueError as exc:
        notes.append(f"The model's interval could not be turned into a Beta distribution ({exc}); "
                     "imaging uses its point estimate without uncertainty.")
        return PretestProbability.from_point(risk.probability)


#: The published estimate for an IMLN seen on MRI after implant reconstruction (Sutton et al.).
IMPLANT_MRI_PPV_RECORD = "sutton-implant-mri-ppv"

def _positive_calls(imaging: ImagingAssessment | None, *, contralateral: bool = False) -> dict[int, str]:
    """Index → modality of the node-imaging findings called positive: ipsilateral or side unknown, and
    contralateral ones too when asked (at follow-up a contralateral IMLN is worked up as well)."""
    if imaging is None:
        return {}
    return {f.index: f.modality.value for f in imaging.findings
            if f.result == "positive" and (contralateral or f.side != "contralateral")
            and f.modality.value in NODE_IMAGING}


def _decision_probability(
    patient: Patient, imaging: ImagingAssessment | None, evidence: EvidenceBase, notes: list[str]
) -> tuple[ProbabilityEstimate | None, set[int]]:
    """The probability the decision starts from when it is not the pre-test model's, and the findings it covers.

    The imaging post-test probability when there is one (covering the findings it applied). At
    follow-up the pre-test model (metastasis at diagnosis) does not apply; an IMLN seen on MRI after
    implant reconstruction takes the published positive predictive value for exactly that finding —
    only when no other modality shows a positive node and the MRI node itself was not called positive
    (by the reader or by the criteria engine): the published figure averages over all MRI-visible
    nodes in that population and says nothing of a node with malignant features.
    """
    post = imaging.posttest if imaging is not None else None
    if post is not None:
        return (ProbabilityEstimate(point=post.point, lower=post.lower, upper=post.upper,
                                    source=f"post-test probability ({post.method}, seed {post.seed})"),
                set(post.findings_applied))
    if patient.setting.value != "follow_up":
        return None, set()
    mri_seen = [i for i, f in enumerate(patient.findings)
                if f.modality is Modality.mri and (f.side is None or f.side.value != "contralateral")
                and not (f.result is not None and f.result.value == "negative") and f.node_count != 0]
    positives = _positive_calls(imaging)
    if patient.implant_reconstruction and mri_seen:
        if positives:
            which = ", ".join(f"findings[{i}] ({m})" for i, m in sorted(positives.items()))
            notes.append(
                f"The published positive predictive value of an IMLN seen on MRI after implant reconstruction "
                f"({IMPLANT_MRI_PPV_RECORD}) does not apply: {which} called positive. It describes MRI-visible "
                "nodes in general, not a node with malignant features or one positive on another modality."
            )
        else:
            value = evidence.get(IMPLANT_MRI_PPV_RECORD).values["proportion"]
            lower, upper = value.ci_numbers or (value.number, value.number)
            notes.append(
                f"At follow-up the pre-test model does not apply; the decision uses the published positive "
                f"predictive value of an IMLN seen on MRI after implant reconstruction, {value.printed} "
                f"(95% CI {lower:g}–{upper:g}; evidence record {IMPLANT_MRI_PPV_RECORD})."
            )
            return (ProbabilityEstimate(point=value.number, lower=lower, upper=upper,
                                        source=f"positive predictive value ({IMPLANT_MRI_PPV_RECORD})"),
                    set(mri_seen))
    notes.append("At follow-up the pre-test model does not apply and no sourced probability fits the findings.")
    return None, set()


def _lr_on_a_range(risk: RiskPrediction, imaging: ImagingAssessment) -> tuple[float | None, set[int]]:
    """The applied findings' likelihood ratio (product of their points) when the pre-test is only a range.

    Imaging computes no post-test probability without a single pre-test one, but each applicable finding
    still has its likelihood ratio; the decision moves the whole range by their product, so a quantified
    finding counts (and is not reported as unquantified) when a predictor is unknown.
    """
    if risk.probability is not None or not getattr(risk, "probability_range", None):
        return None, set()
    applied = [f for f in imaging.findings if f.applied and f.lr_applied is not None]
    if not applied:
        return None, set()
    return math.prod(f.lr_applied.point for f in applied), {f.index for f in applied}


def _unquantified_positive(patient: Patient, imaging: ImagingAssessment | None, covered: set[int]) -> list[str]:
    """Modalities of positive node findings that the probability does not cover (never silently dropped)."""
    calls = _positive_calls(imaging, contralateral=patient.setting.value == "follow_up")
    return [m for i, m in sorted(calls.items()) if i not in covered]


def _accuracy_of_untried_tests(patient: Patient, evidence: EvidenceBase, audit: AuditReport) -> dict[str, Any]:
    """Accuracy posteriors of the modalities the patient has not had, for ranking the next test."""
    done = {f.modality for f in patient.findings}
    setting, _ = evidence_setting(patient)
    out: dict[str, Any] = {}
    for modality in Modality:
        if modality in done:
            continue
        choice = select_accuracy(modality, setting, evidence=evidence, audit=audit)
        if choice.usable:
            out[modality.value] = choice.posterior
    return out
