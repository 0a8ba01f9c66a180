"""Guideline and trial indications: which apply to this patient, read from the evidence base.

Records of kind ``indication`` (``evidence/data/guideline_indications.yaml``) carry
machine-readable criteria (:class:`~imln.evidence.IndicationCriteria`). Each is
matched against the patient with three-valued logic: a criterion on a fact the
record lacks is *unknown*, never false, so a missing field can never silently
remove an indication. The patient's **indication group** summarises them:

* ``imn_disease`` — internal mammary disease is established: clinically detected
  (cN2b/cN3b), pathological (pN1b/pN1c/pN2b/pN3b) or a positive IM node biopsy;
* ``recommended`` — a guideline recommends irradiating the IMN for this patient;
* ``consider`` — a guideline says to consider it (the probability decides);
* ``not_indicated`` — every fact is known and no guideline indication applies;
* ``undetermined`` — an indication might apply but a fact it needs is unknown.

Trial eligibility (MA.20, EORTC 22922/10925, DBCG-IMN, KROG 08-06) and trial
results (NSABP B-51) do not set the group; they are stated beside it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imln._cache import Same
from imln.evidence import EvidenceBase, EvidenceRecord, Kind
from imln.schema._patient import IMN_CLINICAL_N, IMN_PATHOLOGICAL_N
from imln.schema._patient import PN_AXILLARY_COUNTS as _PN_COUNTS

__all__ = [
    "IMN_CLINICAL_N",
    "IMN_PATHOLOGICAL_N",
    "IndicationAssessment",
    "IndicationMatch",
    "assess_indications",
    "patient_facts",
]

Group = Literal["imn_disease", "recommended", "consider", "not_indicated", "undetermined"]
Status = Literal["met", "not_met", "unknown"]
_STRENGTH_RANK = {"recommended": 2, "consider": 1}

#: Patient fields each criterion reads (for the 'what would settle it' list).
_CRITERION_FIELDS = {
    "settings": "setting",
    "nac": "neoadjuvant_chemotherapy",
    "clinical_n": "clinical_n_stage",
    "pathological_n": "pathological_n_stage",
    "positive_axillary_nodes_min": "positive_axillary_nodes",
    "positive_axillary_nodes_max": "positive_axillary_nodes",
    "examined_axillary_nodes_below": "examined_axillary_nodes",
    "location": "tumor_location",
    "tumor_size_mm_min": "tumor_size_mm",
    "tumor_size_mm_below": "tumor_size_mm",
    "grade_min": "grade",
    "er_status": "er_status",
    "lvi": "lvi",
    "age_years_below": "age_years",
    "imn_involved": "clinical_n_stage",
}


class IndicationMatch(BaseModel):
    """One indication record and whether it applies to the patient."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    label: str
    action: str
    strength: str
    source_type: str
    status: Status
    missing: list[str] = Field(description="Patient fields whose absence leaves the status unknown.")
    quote: str
    citation: str
    location: str
    obtained: str


class IndicationAssessment(BaseModel):
    """The guideline and trial basis of the recommendation, for every interface to show."""

    model_config = ConfigDict(frozen=True)

    group: Group
    summary: str = Field(description="One line: which indication applies to this patient, or why none does.")
    imn_disease_basis: list[str] = Field(description="The facts that establish internal mammary disease, if any.")
    imn_disease_on_tissue: bool = Field(
        False, description="True when pathology (pN category or an IM node biopsy) establishes it, not only the "
        "clinical N category."
    )
    applies: list[IndicationMatch] = Field(description="Guideline statements and trial criteria met.")
    undetermined: list[IndicationMatch] = Field(description="Those a missing fact leaves open.")
    not_met_trials: list[IndicationMatch] = Field(
        description="Trials whose eligibility the patient does not meet (no randomised evidence for her)."
    )
    missing_fields: list[str] = Field(description="Fields that would settle an open indication.")
    would_change: list[str] = Field(description="What would change the recommendation's basis.")


# --------------------------------------------------------------------------- patient facts


def patient_facts(patient: Any) -> dict[str, Any]:
    """The facts the criteria read, from a :class:`~imln.schema.Patient` (None = unknown)."""
    def val(name: str) -> Any:
        v = getattr(patient, name, None)
        return getattr(v, "value", v)

    tissue = getattr(patient, "im_node_tissue", None)
    side = getattr(patient, "medial_lateral", None)
    setting = val("setting")
    surgery_after_nac = setting == "after_nac" and (val("pathological_n_stage") is not None
                                                    or val("positive_axillary_nodes") is not None)
    return {
        "setting": setting,
        # after NAC with the pathology known, surgery is done: the adjuvant indications apply too
        "settings": (setting, "after_surgery") if surgery_after_nac else (setting,),
        "nac": val("neoadjuvant_chemotherapy"),
        "clinical_n": val("clinical_n_stage"),
        "pathological_n": val("pathological_n_stage"),
        "positive_axillary_nodes": val("positive_axillary_nodes"),
        "examined_axillary_nodes": val("examined_axillary_nodes"),
        "location": getattr(side, "value", side),
        "tumor_size_mm": val("tumor_size_mm"),
        "grade": val("grade"),
        "er_status": val("er_status"),
        "lvi": val("lvi"),
        "age_years": val("age_years"),
        "im_tissue": None if tissue is None else (tissue.method.value, tissue.result.value),
    }


def imn_disease_basis(facts: dict[str, Any]) -> list[str]:
    """The facts that establish internal mammary disease (empty when none does)."""
    out = []
    if facts["clinical_n"] in IMN_CLINICAL_N:
        out.append(f"clinical_n_stage {facts['clinical_n']}: clinically detected internal mammary disease (AJCC 8th)")
    if facts["pathological_n"] in IMN_PATHOLOGICAL_N:
        out.append(f"pathological_n_stage {facts['pathological_n']}: internal mammary node metastasis on pathology "
                   "(AJCC 8th)")
    if facts["im_tissue"] is not None and facts["im_tissue"][1] == "positive":
        out.append(f"im_node_tissue: positive ({facts['im_tissue'][0].replace('_', ' ')})")
    return out


#: Clinical N categories with clinically involved axillary or regional nodes (AJCC 8th edition).
_CLINICAL_NODE_POSITIVE = frozenset({"cN1", "cN2a", "cN3a", "cN3b", "cN3c"})


def _axillary_range(facts: dict[str, Any]) -> tuple[int, int | None] | None:
    """Positive axillary nodes as a range: the count, else what the pN category allows, else None.

    After neoadjuvant chemotherapy the indications follow the worse of the pre-treatment clinical
    and the post-treatment pathological stage (NCCN, see the caveats of the NCCN records): a
    clinically node-positive axilla before NAC counts as at least one positive node, however many
    remain at surgery.
    """
    n = facts["positive_axillary_nodes"]
    pn = facts["pathological_n"]
    rng = (n, n) if n is not None else _PN_COUNTS.get(pn) if pn is not None else None
    if facts["nac"] and facts["clinical_n"] in _CLINICAL_NODE_POSITIVE:
        if rng is None:
            return 1, None
        return max(rng[0], 1), None  # at least one node; how many there were before NAC is unknown
    return rng


def _compare(known: Any, test) -> bool | None:
    return None if known is None else bool(test(known))


def _range_test(rng: tuple[int, int | None] | None, lo: int | None, hi: int | None) -> bool | None:
    """Whether every/no value of the range lies in [lo, hi] (None: some do, some do not)."""
    if rng is None:
        return None
    a, b = rng
    inside_all = (lo is None or a >= lo) and (hi is None or (b is not None and b <= hi))
    outside_all = (lo is not None and b is not None and b < lo) or (hi is not None and a > hi)
    return True if inside_all else False if outside_all else None


def _pn_test(facts: dict[str, Any], allowed: list[str]) -> bool | None:
    pn = facts["pathological_n"]
    if pn is not None:
        return pn in allowed
    n = facts["positive_axillary_nodes"]
    if n is None:
        return None
    fits = {c for c, (lo, hi) in _PN_COUNTS.items() if lo <= n and (hi is None or n <= hi)}
    if fits <= set(allowed):
        return True
    return False if not fits & set(allowed) else None


def _imn_involved(facts: dict[str, Any]) -> bool | None:
    if imn_disease_basis(facts):
        return True
    if facts["clinical_n"] is not None or facts["pathological_n"] is not None or facts["im_tissue"] is not None:
        return False
    return None


def _and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def _evaluate(c: Any, facts: dict[str, Any], missing: list[str]) -> bool | None:
    """Three-valued truth of criteria ``c`` for the patient; unknown facts are appended to ``missing``."""
    tests: list[tuple[str, bool | None]] = []
    if c.settings is not None:
        tests.append(("settings", bool(set(facts["settings"]) & set(c.settings))))
    if c.nac is not None:
        tests.append(("nac", _compare(facts["nac"], lambda v: v == c.nac)))
    if c.clinical_n is not None:
        tests.append(("clinical_n", _compare(facts["clinical_n"], lambda v: v in c.clinical_n)))
    if c.pathological_n is not None:
        tests.append(("pathological_n", _pn_test(facts, c.pathological_n)))
    if c.positive_axillary_nodes_min is not None or c.positive_axillary_nodes_max is not None:
        tests.append(("positive_axillary_nodes_min",
                      _range_test(_axillary_range(facts), c.positive_axillary_nodes_min, c.positive_axillary_nodes_max)))
    if c.examined_axillary_nodes_below is not None:
        tests.append(("examined_axillary_nodes_below",
                      _compare(facts["examined_axillary_nodes"], lambda v: v < c.examined_axillary_nodes_below)))
    if c.location is not None:
        loc = facts["location"] if facts["location"] != "boundary" else None
        tests.append(("location", _compare(loc, lambda v: v in c.location)))
    if c.tumor_size_mm_min is not None:
        tests.append(("tumor_size_mm_min", _compare(facts["tumor_size_mm"], lambda v: v >= c.tumor_size_mm_min)))
    if c.tumor_size_mm_below is not None:
        tests.append(("tumor_size_mm_below", _compare(facts["tumor_size_mm"], lambda v: v < c.tumor_size_mm_below)))
    if c.grade_min is not None:
        tests.append(("grade_min", _compare(facts["grade"], lambda v: v >= c.grade_min)))
    if c.er_status is not None:
        tests.append(("er_status", _compare(facts["er_status"], lambda v: v == c.er_status)))
    if c.lvi is not None:
        tests.append(("lvi", _compare(facts["lvi"], lambda v: v == c.lvi)))
    if c.age_years_below is not None:
        tests.append(("age_years_below", _compare(facts["age_years"], lambda v: v < c.age_years_below)))
    if c.imn_involved is not None:
        known = _imn_involved(facts)
        tests.append(("imn_involved", None if known is None else known == c.imn_involved))
    if c.any_of:
        branch_missing: list[str] = []
        branches = [_evaluate(b, facts, branch_missing) for b in c.any_of]
        result = True if any(b is True for b in branches) else False if all(b is False for b in branches) else None
        if result is None:
            missing.extend(branch_missing)
        tests.append(("any_of", result))
    value = _and([t for _, t in tests])
    if value is None:
        missing.extend(_CRITERION_FIELDS[name] for name, t in tests if t is None and name in _CRITERION_FIELDS)
    return value


def _match(record: EvidenceRecord, facts: dict[str, Any], evidence: EvidenceBase) -> IndicationMatch:
    ind = record.indication
    assert ind is not None
    missing: list[str] = []
    value = _evaluate(ind.applies_when, facts, missing)
    status: Status = "met" if value is True else "not_met" if value is False else "unknown"
    try:
        citation = evidence.reference(record.citation).label
    except KeyError:
        citation = record.citation
    return IndicationMatch.model_construct(  # trusted values from a validated record: no re-validation
        record_id=record.id, label=ind.label, action=ind.action, strength=ind.strength,
        source_type=ind.source_type, status=status, missing=list(dict.fromkeys(missing)), quote=ind.quote,
        citation=citation, location=record.location, obtained=record.obtained.value,
    )


def _guideline_rank(matches: list[IndicationMatch]) -> int:
    return max((_STRENGTH_RANK.get(m.strength, 0) for m in matches
                if m.action == "imn_radiotherapy" and m.source_type in ("guideline", "consensus")), default=0)


def assess_indications(patient: Any, evidence: EvidenceBase) -> IndicationAssessment:
    """The indication group of ``patient`` and the guideline/trial statements behind it."""
    facts = patient_facts(patient)
    return _assess(_freeze(facts), Same(evidence))


def _freeze(facts: dict[str, Any]) -> tuple:
    return tuple(sorted(facts.items()))


@lru_cache(maxsize=1024)
def _assess(frozen: tuple, evidence_key: Same) -> IndicationAssessment:
    facts = dict(frozen)
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    matches = [_match(r, facts, evidence) for r in _indication_records(evidence_key)]
    applies = [m for m in matches if m.status == "met"]
    open_ = [m for m in matches if m.status == "unknown"]
    trials_not_met = [m for m in matches if m.status == "not_met" and m.source_type == "trial_eligibility"]
    disease = imn_disease_basis(facts)
    met_rank, open_rank = _guideline_rank(applies), _guideline_rank(open_)
    tissue_negative = facts["im_tissue"] is not None and facts["im_tissue"][1] == "negative"
    group: Group
    if disease:
        group = "imn_disease"
    elif met_rank == 2:
        group = "recommended"
    elif open_rank > met_rank:
        group = "undetermined"
    elif met_rank == 1:
        group = "consider"
    elif _imn_involved(facts) is None:
        group = "undetermined"  # IMN disease (cN2b/cN3b, pathology) is neither established nor excluded
    elif any(m.action == "imn_radiotherapy" and m.source_type in ("guideline", "consensus") for m in matches):
        group = "not_indicated"  # the guidelines were asked and none applies
    else:
        group = "undetermined"  # the evidence base holds no guideline statement to ask
    missing = list(dict.fromkeys(f for m in open_ if _STRENGTH_RANK.get(m.strength, 0) > met_rank
                                 and m.action == "imn_radiotherapy" for f in m.missing))
    if not disease and _imn_involved(facts) is None:
        missing = list(dict.fromkeys(["clinical_n_stage", *missing]))
    summary = _summary(group, disease, applies, trials_not_met, missing)
    if facts["setting"] == "follow_up":
        summary = ("At follow-up the question is whether a finding is a recurrence; the adjuvant indications "
                   f"below are shown for reference. {summary}")
    would_change = _would_change(group, facts, tissue_negative)
    return IndicationAssessment(
        group=group, summary=summary, imn_disease_basis=disease,
        imn_disease_on_tissue=facts["pathological_n"] in IMN_PATHOLOGICAL_N
        or (facts["im_tissue"] is not None and facts["im_tissue"][1] == "positive"),
        applies=applies, undetermined=open_,
        not_met_trials=trials_not_met, missing_fields=missing, would_change=would_change,
    )


@lru_cache(maxsize=8)
def _indication_records(evidence_key: Same) -> tuple[EvidenceRecord, ...]:
    return tuple(r for r in evidence_key.obj if r.kind is Kind.indication)  # type: ignore[attr-defined]


def _labels(matches: list[IndicationMatch], *, types: tuple[str, ...]) -> str:
    return "; ".join(m.label for m in matches if m.source_type in types)


def _summary(group: Group, disease: list[str], applies: list[IndicationMatch], trials_not_met: list[IndicationMatch],
             missing: list[str]) -> str:
    guide = _labels(applies, types=("guideline", "consensus"))
    trials = _labels(applies, types=("trial_eligibility", "trial_result"))
    if group == "imn_disease":
        text = "Internal mammary disease is established (" + "; ".join(d.split(":")[0] for d in disease) + \
               "): involved internal mammary nodes are included in the radiotherapy field."
    elif group == "recommended":
        text = f"Guideline indication for irradiating the internal mammary nodes: {guide}."
    elif group == "consider":
        text = f"Guidelines say to consider irradiating the internal mammary nodes: {guide}."
    elif group == "undetermined" and missing:
        text = ("Whether a guideline indication applies cannot be decided: "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} unknown.")
    elif group == "undetermined":
        text = "The evidence base holds no guideline statement on irradiating the internal mammary nodes."
    else:
        text = "No guideline indication for irradiating the internal mammary nodes applies to this patient."
    if trials:
        text += f" Meets: {trials}."
    elif trials_not_met and group in ("not_indicated", "consider"):
        text += " Not eligible for: " + "; ".join(m.label for m in trials_not_met) + \
                " (no randomised evidence of IMN irradiation for such patients)."
    return text


def _would_change(group: Group, facts: dict[str, Any], tissue_negative: bool) -> list[str]:
    out = []
    if group != "imn_disease":
        out.append("Internal mammary disease on imaging-guided biopsy or IM sentinel node biopsy, or a clinical "
                   "N category of cN2b/cN3b, would make IMN radiotherapy indicated.")
    if group in ("consider", "not_indicated", "undetermined") and facts["setting"] != "follow_up":
        out.append("More positive axillary nodes, a medial or central tumour, or high-risk features "
                   "(see the indications not met) would strengthen the indication.")
    if group == "imn_disease" and not (facts["im_tissue"] and facts["im_tissue"][1] == "positive"):
        out.append("A negative biopsy of the node would call the clinical N category into question.")
    if tissue_negative:
        out.append("The IM node biopsy was negative; its false-negative rate applies.")
    return out
