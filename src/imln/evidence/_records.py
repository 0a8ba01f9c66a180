"""Schema of the evidence base: references, evidence records and their values.

Every published number imln uses is an :class:`EvidenceValue` inside an
:class:`EvidenceRecord`. A record is one statement of one source (a table row,
a sentence of an abstract): it names the citation it was read in, where in that
source, how it was obtained, the level and the clinical setting it applies to.
Numbers are kept *as printed* (``"78.57%"``) so that their precision survives
and the audit can test them against their denominators.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DerivationFormula",
    "Indication",
    "IndicationCriteria",
    "EvidenceRecord",
    "EvidenceValue",
    "Kind",
    "Level",
    "Modality",
    "Obtained",
    "Reference",
    "Setting",
    "Unit",
]


class Unit(StrEnum):
    """Units a value may carry. Ratios (OR, HR, RR) are dimensionless: ``ratio``."""

    percent = "percent"
    proportion = "proportion"
    count = "count"
    ratio = "ratio"
    years = "years"
    months = "months"
    mm = "mm"
    cm = "cm"
    gy = "Gy"
    percent_per_gy = "percent_per_Gy"
    mg_per_m2 = "mg_per_m2"
    area_under_curve = "auc"
    p_value = "p_value"


class Kind(StrEnum):
    """What sort of statement a record is; each kind has required values."""

    diagnostic_accuracy = "diagnostic_accuracy"
    proportion = "proportion"
    effect_estimate = "effect_estimate"
    association = "association"
    survival = "survival"
    dose_response = "dose_response"
    descriptive = "descriptive"
    model_performance = "model_performance"
    indication = "indication"


class Obtained(StrEnum):
    """How the number reached us."""

    primary = "primary"  # read in the primary source (abstract or full text)
    quoted_by_review = "quoted_by_review"  # printed in a secondary source
    derived = "derived"  # computed by us from other records (formula given)
    secondary = "secondary"  # read in a secondary source quoting the primary (primary_citation names it)


class Level(StrEnum):
    """Unit of analysis of the number."""

    patient = "patient"
    node = "node"
    lesion = "lesion"
    procedure = "procedure"
    breast = "breast"
    not_stated = "not_stated"


class Setting(StrEnum):
    """Clinical setting the number applies to."""

    newly_diagnosed = "newly_diagnosed"
    after_nac = "after_nac"
    staging_or_restaging = "staging_or_restaging"
    reconstruction_surgery = "reconstruction_surgery"
    after_implant_reconstruction = "after_implant_reconstruction"
    post_treatment_follow_up = "post_treatment_follow_up"
    adjuvant_radiotherapy = "adjuvant_radiotherapy"
    mixed = "mixed"
    not_stated = "not_stated"


class Modality(StrEnum):
    """Imaging modalities for the internal mammary chain."""

    us = "us"
    ct = "ct"
    mri = "mri"
    pet_ct = "pet_ct"
    pet_mri = "pet_mri"
    lymphoscintigraphy = "lymphoscintigraphy"
    spect_ct = "spect_ct"


_PRINTED = re.compile(
    r"^\s*(?P<qual><=|>=|≤|≥|<|>|~)?\s*(?P<num>[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<pct>%)?\s*$"
)

_RECORD_ID = r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$"


class EvidenceValue(BaseModel):
    """One number as printed in its source, with its unit and optional 95% CI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    printed: str = Field(description="The number exactly as printed, e.g. '78.57%', '1,679', '< 1.5%'.")
    unit: Unit
    ci95: tuple[str, str] | None = Field(default=None, description="95% CI bounds as printed.")
    numerator: str | None = Field(
        default=None, description="Name of the count value in the same record that this percentage counts."
    )
    denominator: str | None = Field(
        default=None, description="Name of the count value in the same record that this percentage is of."
    )
    note: str | None = None

    @field_validator("printed")
    @classmethod
    def _parseable(cls, v: str) -> str:
        if not _PRINTED.match(v):
            raise ValueError(f"printed value {v!r} is not a number (optionally with <, >, ~ or %)")
        return v

    @field_validator("ci95")
    @classmethod
    def _ci_parseable(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        if v is not None:
            for bound in v:
                if not _PRINTED.match(bound):
                    raise ValueError(f"CI bound {bound!r} is not a number")
        return v

    @property
    def qualifier(self) -> str | None:
        """Inequality or approximation sign printed before the number, if any."""
        return _PRINTED.match(self.printed).group("qual")  # type: ignore[union-attr]

    @property
    def number(self) -> float:
        """The number as printed, in its own unit (``74`` for ``'74%'``)."""
        return _parse_number(self.printed)

    @property
    def decimals(self) -> int:
        """Digits printed after the decimal point: the value's precision."""
        num = _PRINTED.match(self.printed).group("num")  # type: ignore[union-attr]
        return len(num.split(".")[1]) if "." in num else 0

    @property
    def rounding_halfwidth(self) -> float:
        """Half a unit of the last printed digit: how far the true value may lie."""
        return 0.5 * 10 ** (-self.decimals)

    @property
    def ci_numbers(self) -> tuple[float, float] | None:
        if self.ci95 is None:
            return None
        return (_parse_number(self.ci95[0]), _parse_number(self.ci95[1]))

    @property
    def scale(self) -> float:
        """Factor from a 0–1 proportion to this value's unit: 100 for percent, else 1."""
        return 100.0 if self.unit is Unit.percent else 1.0

    def as_proportion(self) -> float:
        """Value on the 0–1 scale (percent divided by 100); only for percent/proportion."""
        if self.unit is Unit.percent:
            return self.number / 100.0
        if self.unit is Unit.proportion:
            return self.number
        raise TypeError(f"a value in {self.unit} is not a proportion")


def _parse_number(printed: str) -> float:
    match = _PRINTED.match(printed)
    if match is None:
        raise ValueError(f"not a number: {printed!r}")
    return float(match.group("num").replace(",", ""))


class DerivationFormula(BaseModel):
    """A machine-checkable derivation: the audit recomputes the value from its inputs.

    Operands are ``record_id:value_name`` strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["odds_ratio", "ratio", "difference", "proportion"]
    target: str = Field(description="Name of the value in this record that the formula produces.")
    operands: tuple[str, str]

    @field_validator("operands")
    @classmethod
    def _operand_form(cls, v: tuple[str, str]) -> tuple[str, str]:
        for operand in v:
            if operand.count(":") != 1:
                raise ValueError(f"operand {operand!r} must be 'record_id:value_name'")
        return v



DecisionSetting = Literal["diagnosis", "after_nac", "after_surgery", "follow_up"]
TumourSide = Literal["medial", "central", "lateral", "boundary"]


class IndicationCriteria(BaseModel):
    """Who an indication applies to: every field given must hold (AND); ``any_of`` holds when one branch does.

    Fields name patient facts in imln's schema vocabulary. A fact the patient record lacks makes the
    criterion *unknown*, never false (see :mod:`imln.decision._indications`). Every number here must
    be printed in the record's ``quote`` (the audit checks it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: list[DecisionSetting] | None = Field(default=None, description="Decision points it applies at.")
    nac: bool | None = Field(default=None, description="Neoadjuvant chemotherapy given (true) or not (false).")
    clinical_n: list[str] | None = Field(default=None, description="Pre-treatment clinical N categories, any of.")
    pathological_n: list[str] | None = Field(
        default=None, description="Pathological N categories (ypN after NAC), any of, e.g. pN0, pN1a."
    )
    positive_axillary_nodes_min: int | None = Field(default=None, ge=0)
    positive_axillary_nodes_max: int | None = Field(default=None, ge=0)
    examined_axillary_nodes_below: int | None = Field(default=None, ge=1)
    location: list[TumourSide] | None = None
    tumor_size_mm_min: float | None = Field(default=None, gt=0, description="At least this size (mm).")
    tumor_size_mm_below: float | None = Field(default=None, gt=0, description="Smaller than this (mm).")
    grade_min: int | None = Field(default=None, ge=1, le=3)
    er_status: Literal["positive", "negative"] | None = None
    lvi: bool | None = None
    age_years_below: int | None = Field(default=None, ge=18)
    imn_involved: bool | None = Field(
        default=None,
        description="Internal mammary disease detected clinically (cN2b/cN3b), on imaging or on pathology.",
    )
    any_of: list[IndicationCriteria] | None = None

    def numbers(self) -> list[float]:
        """Every number in the criteria (nested too), for the audit's check against the quote."""
        out: list[float] = []
        for name in ("positive_axillary_nodes_min", "positive_axillary_nodes_max", "examined_axillary_nodes_below",
                     "tumor_size_mm_min", "tumor_size_mm_below", "grade_min", "age_years_below"):
            v = getattr(self, name)
            if v is not None:
                out.append(float(v))
        for branch in self.any_of or []:
            out.extend(branch.numbers())
        return out


class Indication(BaseModel):
    """A guideline statement or a trial's eligibility about irradiating the internal mammary nodes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["imn_radiotherapy", "no_imn_radiotherapy", "tissue_diagnosis"]
    strength: Literal["recommended", "consider", "not_recommended", "eligible"] = Field(
        description="recommended/consider/not_recommended for guidelines; eligible for a trial's entry criteria."
    )
    source_type: Literal["guideline", "consensus", "trial_eligibility", "trial_result"]
    applies_when: IndicationCriteria
    quote: str = Field(min_length=10, description="The statement as read (verbatim where the source was read).")
    label: str = Field(min_length=3, description="Short name shown to clinicians, e.g. 'EORTC 22922 eligibility'.")

RecordId = Annotated[str, Field(pattern=_RECORD_ID, min_length=3, max_length=120)]

#: Values each kind must carry (at least one of each tuple).
REQUIRED_VALUES: dict[Kind, tuple[tuple[str, ...], ...]] = {
    Kind.diagnostic_accuracy: (("sensitivity", "specificity", "accuracy", "ppv", "npv", "auc"),),
    Kind.proportion: (("percent", "proportion"),),
    Kind.effect_estimate: (("odds_ratio", "hazard_ratio", "relative_risk", "rate_ratio"),),
    Kind.association: (),
    Kind.survival: (("survival_percent", "median_years", "median_months", "event_percent"),),
    Kind.dose_response: (("excess_relative_risk_per_gy",),),
    Kind.descriptive: (),
    Kind.model_performance: (("c_index", "auc", "false_negative_rate"),),
    Kind.indication: (),
}


class EvidenceRecord(BaseModel):
    """One statement of one source, holding one or more values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RecordId
    kind: Kind
    measures: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Key of the quantity measured, shared by records that measure the same thing.",
    )
    stratum: dict[str, str] = Field(default_factory=dict, description="Subgroup the figure applies to.")
    statement: str = Field(min_length=10, description="What the number says, paraphrased.")
    citation: str = Field(description="Key in references.yaml of the source the number was read in.")
    review_ref: str | None = Field(
        default=None, description="The review's reference number(s), e.g. '[6]', when quoted by the review."
    )
    primary_citation: str | None = Field(
        default=None, description="Key of the primary paper, when the number was quoted by a secondary source."
    )
    location: str = Field(min_length=3, description="Where in the source: table, page, abstract, sentence.")
    obtained: Obtained
    derivation: str | None = None
    formula: DerivationFormula | None = None
    derived_from: list[str] = Field(default_factory=list)
    level: Level
    setting: Setting
    population: str = Field(min_length=3)
    era: str | None = None
    modality: Modality | None = None
    criterion: str | None = Field(default=None, description="Imaging positivity criterion, when stated.")
    reference_standard: str | None = None
    factor: str | None = Field(default=None, description="Risk factor, for associations and effects.")
    direction: Literal["increases", "decreases", "no_effect"] | None = None
    values: dict[str, EvidenceValue] = Field(default_factory=dict)
    indication: Indication | None = Field(default=None, description="For kind 'indication' only.")
    caveats: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent_fields(self) -> EvidenceRecord:
        if self.obtained is Obtained.derived and not (self.derivation and self.derived_from):
            raise ValueError("a derived record needs 'derivation' (the method) and 'derived_from' (record ids)")
        if (self.kind is Kind.indication) != (self.indication is not None):
            raise ValueError("a record has 'indication' exactly when its kind is 'indication'")
        if self.obtained is Obtained.secondary and not self.primary_citation:
            raise ValueError("a record read in a secondary source needs 'primary_citation' (the source it quotes)")
        if self.obtained is Obtained.quoted_by_review and not self.review_ref:
            raise ValueError("a record quoted by the review needs 'review_ref' (its reference number)")
        if self.kind is Kind.diagnostic_accuracy and self.modality is None:
            raise ValueError("a diagnostic_accuracy record needs 'modality'")
        if self.kind is Kind.association and (self.factor is None or self.direction is None):
            raise ValueError("an association record needs 'factor' and 'direction'")
        for group in REQUIRED_VALUES[self.kind]:
            if not any(name in self.values for name in group):
                raise ValueError(f"a {self.kind.value} record needs one of the values {list(group)}")
        for name, value in self.values.items():
            for role in ("numerator", "denominator"):
                ref = getattr(value, role)
                if ref is not None and ref not in self.values:
                    raise ValueError(f"value {name!r} names {role} {ref!r}, which is not in values")
            if value.numerator is not None and value.denominator is None:
                raise ValueError(f"value {name!r} names a numerator but no denominator")
        if self.formula is not None and self.formula.target not in self.values:
            raise ValueError(f"formula target {self.formula.target!r} is not in values")
        return self

    def value(self, name: str) -> EvidenceValue | None:
        return self.values.get(name)

    @property
    def source_key(self) -> str:
        """Identity of the underlying source: the primary paper if known, else citation + reference number."""
        if self.primary_citation:
            return self.primary_citation
        return f"{self.citation}{self.review_ref or ''}"


class Reference(BaseModel):
    """A bibliographic reference; only fields read in a source are filled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    authors: list[str] = Field(default_factory=list, description="As read; empty when no author list was read.")
    title: str
    journal: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    read_at: list[str] = Field(default_factory=list, description="Where the source was read (URLs, or 'local seed').")
    access: Literal["full_text", "abstract", "partial_abstract", "secondary", "bibliographic_only"]
    notes: str | None = None

    @field_validator("doi")
    @classmethod
    def _doi_form(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("10."):
            raise ValueError(f"DOI {v!r} must start with '10.'")
        return v

    @property
    def label(self) -> str:
        """Short label: 'Darby et al. 2013', or journal and year when no author was read."""
        year = f" {self.year}" if self.year else ""
        if not self.authors:
            return f"{self.journal or self.title[:40]}{year}"
        etal = " et al." if len(self.authors) > 1 else ""
        return f"{self.authors[0].split()[0]}{etal}{year}"

    @property
    def formatted(self) -> str:
        """Vancouver-like citation text with only the fields that were read."""
        parts = [", ".join(self.authors) if self.authors else "", self.title]
        journal = " ".join(p for p in (self.journal, str(self.year) if self.year else None) if p)
        if self.volume:
            journal += f";{self.volume}" + (f"({self.issue})" if self.issue else "")
        if self.pages:
            journal += f":{self.pages}"
        parts.append(journal)
        ids = [f"doi:{self.doi}" if self.doi else "", f"PMID {self.pmid}" if self.pmid else "",
               self.pmcid or ""]
        text = ". ".join(p.rstrip(".") for p in parts if p) + "."
        extra = ", ".join(i for i in ids if i)
        return f"{text} {extra}".strip()

    @property
    def url(self) -> str | None:
        """A stable link: DOI, else PubMed Central, else PubMed."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmcid:
            return f"https://pmc.ncbi.nlm.nih.gov/articles/{self.pmcid}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}"
        return None

