"""Post-treatment context: IMN recurrence rates, survival after IMN recurrence, and implant findings.

Everything here is read from evidence records named in ``data/sources.yaml``
(``post_treatment``), except the review's qualitative statements that carry no
number (the confounders of an enlarged IMLN after treatment and its advice on
short-interval follow-up), which the evidence base does not hold as records;
each names its place in the review.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from imln.decision._rationale import Figure, evidence_figure
from imln.decision._sources import Qualitative
from imln.evidence import EvidenceBase

__all__ = ["ImplantContext", "PostTreatmentContext", "post_treatment_context"]


class ImplantContext(BaseModel):
    """Enlarged IMLNs on MRI after implant-based reconstruction: common, and rarely malignant."""

    model_config = ConfigDict(frozen=True)

    imln_seen: Figure
    followed: Figure
    malignant: Figure
    ppv: Figure
    ppv_as_quoted_by_review: Figure
    summary: str


class PostTreatmentContext(BaseModel):
    """What the evidence says about IMLN findings and recurrence after primary treatment."""

    model_config = ConfigDict(frozen=True)

    recurrence_rates: list[Figure] = Field(description="IMN recurrence after primary treatment (review Table 2 and sources).")
    recurrence_bound: Figure
    survival_after_recurrence: list[Figure]
    implant: ImplantContext | None = Field(description="Present when the patient had implant reconstruction.")
    confounders: list[Qualitative] = Field(description="Causes of a non-malignant enlarged IMLN named by the review.")
    advice: Qualitative


def post_treatment_context(evidence: EvidenceBase, *, implant_reconstruction: bool) -> PostTreatmentContext:
    from imln.decision._recommend import checked_sources

    pt = checked_sources(evidence).post_treatment

    def fig(ref, key=None) -> Figure:
        return evidence_figure(evidence, ref.record, ref.value, key)

    implant = None
    if implant_reconstruction:
        im = pt.implant
        seen, followed, malignant, ppv = fig(im.seen), fig(im.followed), fig(im.malignant), fig(im.ppv)
        implant = ImplantContext(
            imln_seen=seen, followed=followed, malignant=malignant, ppv=ppv,
            ppv_as_quoted_by_review=fig(im.ppv_review),
            summary=(f"MRI showed IMLNs in {seen.display} of women after implant-based reconstruction; "
                     f"{malignant.display} of {followed.display} with adequate follow-up was malignant "
                     f"(PPV {ppv.display})."),
        )
    confounders = [q for q in pt.confounders if implant_reconstruction or not q.applies_to_implant_only]
    return PostTreatmentContext(
        recurrence_rates=[fig(r) for r in pt.recurrence_rates],
        recurrence_bound=fig(pt.recurrence_bound),
        survival_after_recurrence=[fig(r) for r in pt.survival_after_recurrence],
        implant=implant,
        confounders=confounders,
        advice=pt.advice,
    )
