"""Recommendation classes, their order, and the step function from probability to class.

For one patient context (setting, a visible node, a post-treatment finding…)
the recommendation is a step function of the probability of IMLN metastasis:
sorted breakpoints (thresholds) and one class per interval, with "at or above
a threshold" belonging to the upper interval. Every step function built here
has classes of non-decreasing :data:`INTENSITY` — raising the probability never
moves the recommendation toward less treatment (a property the tests check
over generated patients).

Rules (thresholds and rules are data: ``data/thresholds.yaml``):

* ``follow_up``: no finding → omit; a finding → short-interval follow-up below
  ``follow_up_work_up_at``, full work-up at or above.
* ``diagnosis`` / ``after_nac`` / ``after_surgery``: below ``omit_below`` →
  omit; from ``omit_below`` to ``radiotherapy_at`` → tissue diagnosis (image-guided
  biopsy of a visible node; else IM sentinel node biopsy, which is done at breast
  surgery; after surgery, without a node to biopsy, the rule
  ``after_surgery_band_action``); at or above ``radiotherapy_at`` → IMN
  radiotherapy. In the settings listed by ``tissue_first_with_visible_node_in``
  (default: diagnosis) a visible node goes to image-guided biopsy at every
  probability from ``omit_below`` up.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache

import numpy as np

from imln._cache import Same
from imln.decision._thresholds import ThresholdSet

__all__ = [
    "INTENSITY",
    "NODE_IMAGING",
    "DecisionContext",
    "RecommendationClass",
    "class_steps",
    "classify",
    "classify_array",
    "decision_context",
]


class RecommendationClass(StrEnum):
    omit = "omit_imn_directed_treatment"
    short_interval_follow_up = "short_interval_follow_up"
    im_sentinel_biopsy = "im_sentinel_node_biopsy"
    image_guided_biopsy = "image_guided_biopsy"
    full_work_up = "full_work_up"
    imn_radiotherapy = "imn_radiotherapy"


#: Order of the classes toward more IMN-directed intervention. Biopsies share a
#: rank: they are alternative routes to a tissue diagnosis, not more or less treatment.
INTENSITY: dict[RecommendationClass, int] = {
    RecommendationClass.omit: 0,
    RecommendationClass.short_interval_follow_up: 1,
    RecommendationClass.im_sentinel_biopsy: 2,
    RecommendationClass.image_guided_biopsy: 2,
    RecommendationClass.full_work_up: 3,
    RecommendationClass.imn_radiotherapy: 4,
}

LABELS: dict[RecommendationClass, str] = {
    RecommendationClass.omit: "No IMN-directed treatment",
    RecommendationClass.short_interval_follow_up: "Short-interval follow-up imaging",
    RecommendationClass.im_sentinel_biopsy: "IM sentinel node biopsy",
    RecommendationClass.image_guided_biopsy: "Image-guided biopsy of the visible IMLN",
    RecommendationClass.full_work_up: "Full oncologic work-up",
    RecommendationClass.imn_radiotherapy: "IMN radiotherapy",
}

#: Modalities whose positive result is a node that a needle can be guided to.
#: Lymphoscintigraphy and SPECT/CT map drainage to an IM sentinel node instead.
NODE_IMAGING = frozenset({"us", "ct", "mri", "pet_ct", "pet_mri"})


@dataclass(frozen=True)
class DecisionContext:
    """What, besides the probability, decides the class: from the patient record."""

    setting: str
    visible_node: bool = False
    visible_node_modalities: tuple[str, ...] = ()
    visible_node_basis: tuple[str, ...] = ()
    finding_present: bool = False
    finding_modalities: tuple[str, ...] = ()
    nac: bool = False
    implant_reconstruction: bool = False
    prior_imn_radiotherapy: bool = False
    indication_group: str = "undetermined"
    indication_records: tuple[str, ...] = ()
    im_tissue: str | None = None
    surgery_done: bool = False
    unquantified_positive: tuple[str, ...] = ()
    imn_disease_clinical_only: bool = False
    no_sourced_probability: bool = False

    @property
    def node_to_biopsy(self) -> bool:
        """A visible node not yet resolved by tissue (a negative biopsy or IM-SLNB resolves it)."""
        return self.visible_node and self.im_tissue not in ("negative", "positive")

    def after_result(self, modality: str, result: str) -> DecisionContext:
        """The context after a new imaging result (a positive node-imaging result is a visible node)."""
        if result != "positive":
            return self
        ctx = replace(self, finding_present=True, finding_modalities=(*self.finding_modalities, modality))
        if modality in NODE_IMAGING:
            ctx = replace(ctx, visible_node=True, visible_node_modalities=(*ctx.visible_node_modalities, modality))
        return ctx

    def with_unquantified(self, modalities: Iterable[str], *, no_sourced_probability: bool = False
                          ) -> DecisionContext:
        """The context knowing which positive findings no accuracy record could quantify, and (at follow-up)
        whether any sourced probability covers the findings."""
        return replace(self, unquantified_positive=tuple(dict.fromkeys(modalities)),
                       no_sourced_probability=no_sourced_probability)

    @property
    def im_sentinel_setting(self) -> str:
        """'after_nac' when surgery follows (or followed) NAC, else 'initial_surgery'."""
        return "after_nac" if (self.setting == "after_nac" or self.nac) else "initial_surgery"


def _finding_call(finding: object, evidence_setting: str | None) -> tuple[bool, str]:
    """Whether the finding is positive, and by whose call: the reader's, else the imaging criteria engine's."""
    result = getattr(getattr(finding, "result", None), "value", None)
    if result is not None:
        return result == "positive", "reader's call"
    from imln.imaging import CriteriaError, classify_finding

    try:  # measurements only: ask the criteria engine of imln.imaging, which cites its rules
        engine = classify_finding(finding, setting=evidence_setting)
    except (CriteriaError, KeyError, ValueError) as exc:  # an undecidable finding is not called positive
        return False, f"not classified ({exc})"
    rules = ", ".join(engine.decided_by) or "no deciding rule"
    return engine.result == "positive", f"imaging criteria engine ({rules})"


def decision_context(patient: object, evidence: object | None = None, indications: object | None = None
                     ) -> DecisionContext:
    """Read the decision context from a :class:`~imln.schema.Patient`.

    * a *visible node*: an ipsilateral (or side unknown) finding of a node-imaging
      modality (US, CT, MRI, PET/CT, PET/MRI) called positive — by the reader, or
      by the imaging criteria engine when only measurements are given;
    * a *post-treatment finding* (for ``follow_up``): any finding that is not
      called negative and does not report zero nodes;
    * the *indication group* from the guideline and trial records of ``evidence``
      (default: the bundled evidence; :func:`~imln.decision.assess_indications`);
    * the IM node tissue result, and whether breast surgery is done (after surgery,
      or after NAC with the pathological N category or axillary count known).

    ``indications`` is the patient's :class:`~imln.decision.IndicationAssessment` when the
    caller already has it (it is worked out otherwise).
    """
    from imln.decision._indications import assess_indications
    from imln.evidence import load_evidence
    from imln.imaging import evidence_setting

    setting = patient.setting.value  # type: ignore[attr-defined]
    imaging_setting = evidence_setting(patient)[0].value
    findings = list(getattr(patient, "findings", []) or [])
    visible: list[str] = []
    basis: list[str] = []
    present: list[str] = []
    for i, f in enumerate(findings):
        modality = f.modality.value
        side = getattr(getattr(f, "side", None), "value", None)
        result = getattr(getattr(f, "result", None), "value", None)
        if result != "negative" and f.node_count != 0:
            present.append(modality)
        if side in (None, "ipsilateral") and modality in NODE_IMAGING:
            positive, how = _finding_call(f, imaging_setting)
            if positive:
                visible.append(modality)
                basis.append(f"findings[{i}] ({modality}): positive, {how}")
    tissue = getattr(patient, "im_node_tissue", None)
    surgery_done = setting == "after_surgery" or (
        setting == "after_nac" and (getattr(patient, "pathological_n_stage", None) is not None
                                    or getattr(patient, "positive_axillary_nodes", None) is not None))
    if indications is None:
        indications = assess_indications(patient, evidence if evidence is not None else load_evidence())
    return DecisionContext(
        setting=setting,
        indication_group=indications.group,
        indication_records=tuple(m.record_id for m in indications.applies),
        imn_disease_clinical_only=bool(indications.imn_disease_basis) and not indications.imn_disease_on_tissue,
        im_tissue=tissue.result.value if tissue is not None else None,
        surgery_done=surgery_done,
        visible_node=bool(visible),
        visible_node_modalities=tuple(dict.fromkeys(visible)),
        visible_node_basis=tuple(basis),
        finding_present=bool(present),
        finding_modalities=tuple(dict.fromkeys(present)),
        nac=bool(getattr(patient, "neoadjuvant_chemotherapy", False)),
        implant_reconstruction=bool(getattr(patient, "implant_reconstruction", False)),
        prior_imn_radiotherapy=bool(getattr(patient, "prior_imn_radiotherapy", False)),
    )


@dataclass(frozen=True)
class Steps:
    """Breakpoints (threshold values, ascending) and the class on each interval."""

    breakpoints: tuple[float, ...]
    names: tuple[str, ...]  # threshold name of each breakpoint
    classes: tuple[RecommendationClass, ...]  # len(breakpoints) + 1

    def index(self, p: float | np.ndarray) -> np.ndarray | int:
        """The interval of ``p`` (0 below the first breakpoint); ``numpy.searchsorted(…, side='right')``."""
        if isinstance(p, float):  # one value: bisect, as searchsorted does (NaN above every breakpoint)
            return bisect.bisect_right(self.breakpoints, p)
        return np.searchsorted(np.asarray(self.breakpoints, dtype=float), p, side="right")

    def counts(self, p: np.ndarray) -> np.ndarray:
        """How many of ``p`` fall on each interval: ``np.bincount(self.index(p), minlength=len(self.classes))``.

        By one comparison per breakpoint (``#{p ≥ b}``) rather than a binary search per value.
        """
        p = np.asarray(p, dtype=float)
        if not self.breakpoints or math.isnan(np.sum(p)):  # searchsorted puts NaN above every breakpoint
            return np.bincount(self.index(p), minlength=len(self.classes))
        at_or_above = [p.size, *(int(np.count_nonzero(p >= b)) for b in self.breakpoints), 0]
        return np.array([a - b for a, b in zip(at_or_above, at_or_above[1:])])


def class_steps(ctx: DecisionContext, thresholds: ThresholdSet) -> Steps:
    """The step function from probability to class for this context (one per context and threshold set)."""
    return _class_steps(ctx, Same(thresholds))


@lru_cache(maxsize=256)
def _class_steps(ctx: DecisionContext, thresholds_key: Same) -> Steps:
    thresholds: ThresholdSet = thresholds_key.obj  # type: ignore[assignment]
    C = RecommendationClass
    if ctx.setting == "follow_up":
        if ctx.im_tissue == "positive":  # a biopsy-proven IMN recurrence: restage before treating
            return Steps((), (), (C.full_work_up,))
        if not ctx.finding_present:
            return Steps((), (), (C.omit,))
        if ctx.unquantified_positive:  # a positive finding no sourced probability covers is never dismissed
            return Steps((), (), (C.full_work_up,))
        if ctx.no_sourced_probability:  # nothing called positive, no figure: the review's short-interval advice
            return Steps((), (), (C.short_interval_follow_up,))
        return Steps((thresholds.follow_up_work_up_at,), ("follow_up_work_up_at",),
                     (C.short_interval_follow_up, C.full_work_up))
    # established internal mammary disease, or a guideline recommendation: the probability does not decide
    tissue_first = ctx.setting in thresholds.rules["tissue_first_with_visible_node_in"].value
    if ctx.indication_group == "imn_disease" or ctx.im_tissue == "positive":
        if ctx.imn_disease_clinical_only and ctx.node_to_biopsy and tissue_first:
            return Steps((), (), (C.image_guided_biopsy,))  # a clinical N category: confirm on tissue first
        return Steps((), (), (C.imn_radiotherapy,))
    if ctx.indication_group == "recommended":
        return Steps((), (), (C.imn_radiotherapy,))
    low, high = thresholds.omit_below, thresholds.radiotherapy_at
    if ctx.node_to_biopsy:
        # a positive node on imaging: tissue first where the rule says so, else biopsy up to radiotherapy_at;
        # a positive finding that no accuracy record quantifies is never dismissed as improbable
        first = C.image_guided_biopsy if ctx.unquantified_positive else C.omit
        steps = [(low, "omit_below", C.image_guided_biopsy)]
        if not tissue_first:
            steps.append((high, "radiotherapy_at", C.imn_radiotherapy))
        return _merged(first, steps)
    if ctx.im_tissue == "negative" or ctx.indication_group == "not_indicated":
        return Steps((), (), (C.omit,))
    # 'consider' or 'undetermined': the probability decides
    if not ctx.surgery_done and ctx.setting in ("diagnosis", "after_nac"):
        tissue = C.im_sentinel_biopsy  # done at the breast operation
    else:  # surgery done, nothing to biopsy
        tissue = C(thresholds.rules["after_surgery_band_action"].value)
    return _merged(C.omit, [(low, "omit_below", tissue), (high, "radiotherapy_at", C.imn_radiotherapy)])


def _merged(first: RecommendationClass, steps: list[tuple[float, str, RecommendationClass]]) -> Steps:
    """Steps from a first class and (breakpoint, name, class) triples, equal neighbours merged."""
    breakpoints: list[float] = []
    names: list[str] = []
    classes = [first]
    for value, name, cls in steps:
        if cls == classes[-1]:  # no real breakpoint
            continue
        breakpoints.append(value)
        names.append(name)
        classes.append(cls)
    return Steps(tuple(breakpoints), tuple(names), tuple(classes))


def classify(p: float, ctx: DecisionContext, thresholds: ThresholdSet) -> RecommendationClass:
    steps = class_steps(ctx, thresholds)
    return steps.classes[int(steps.index(float(p)))]


def classify_array(p: np.ndarray, ctx: DecisionContext, thresholds: ThresholdSet) -> np.ndarray:
    """Intensity-ordered class codes (index into ``class_steps(ctx).classes``) for many probabilities."""
    return class_steps(ctx, thresholds).index(p)
