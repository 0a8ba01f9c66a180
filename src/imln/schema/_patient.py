"""The patient data dictionary: pydantic models with units in names and ranges as data.

Every numeric field declares its range with ``Field(ge=, le=)`` and carries an
``x-allowed`` text (range and unit) that error messages and the JSON Schema share.
``None`` always means *unknown*; nothing is silently defaulted to a number.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from imln.evidence import Modality  # one vocabulary for findings and evidence
from imln.schema._errors import Conflict, Problem, short_repr

__all__ = [
    "CardiacContext",
    "ClinicalNStage",
    "ImNodeTissue",
    "PathologicalNStage",
    "TissueMethod",
    "TissueResult",
    "DopplerFlow",
    "Her2Status",
    "Histology",
    "ImagingFinding",
    "Laterality",
    "MedialLateral",
    "Modality",
    "NodeShape",
    "Patient",
    "Quadrant",
    "ReceptorStatus",
    "Result",
    "Setting",
    "Sex",
    "Side",
    "TumorLocation",
    "MODALITY_ONLY_FIELDS",
]


# --------------------------------------------------------------------------- vocabularies


class Sex(StrEnum):
    female = "female"
    male = "male"


class Laterality(StrEnum):
    """Side of the breast cancer."""

    left = "left"
    right = "right"


class Quadrant(StrEnum):
    """Breast quadrant of the primary tumour (outer = lateral, inner = medial)."""

    UOQ = "UOQ"
    UIQ = "UIQ"
    LOQ = "LOQ"
    LIQ = "LIQ"
    central = "central"


class MedialLateral(StrEnum):
    """Tumour position relative to the nipple, derived from quadrant or clock position.

    ``boundary`` is a clock position on the 12 or 6 o'clock line: neither side is assumed.
    """

    medial = "medial"
    lateral = "lateral"
    central = "central"
    boundary = "boundary"


class Histology(StrEnum):
    ductal_nst = "ductal_nst"
    lobular = "lobular"
    mixed = "mixed"
    special_type = "special_type"
    other = "other"


class ReceptorStatus(StrEnum):
    """ER or PR status."""

    positive = "positive"
    negative = "negative"


class Her2Status(StrEnum):
    """HER2 status; ``equivocal`` = not resolved by in-situ hybridisation."""

    positive = "positive"
    negative = "negative"
    equivocal = "equivocal"


class ClinicalNStage(StrEnum):
    """AJCC 8th edition clinical N category (cN2b/cN3b involve internal mammary nodes)."""

    cN0 = "cN0"
    cN1 = "cN1"
    cN2a = "cN2a"
    cN2b = "cN2b"
    cN3a = "cN3a"
    cN3b = "cN3b"
    cN3c = "cN3c"


class PathologicalNStage(StrEnum):
    """AJCC 8th edition pathological N category; after NAC the ypN category, written the same way.

    pN1b, pN1c, pN2b and pN3b involve internal mammary nodes (found at sentinel node biopsy or
    clinically detected).
    """

    pN0 = "pN0"
    pN0_itc = "pN0(i+)"
    pN1mi = "pN1mi"
    pN1a = "pN1a"
    pN1b = "pN1b"
    pN1c = "pN1c"
    pN2a = "pN2a"
    pN2b = "pN2b"
    pN3a = "pN3a"
    pN3b = "pN3b"
    pN3c = "pN3c"


#: Pathological N categories that involve the internal mammary nodes (AJCC 8th edition).
IMN_PATHOLOGICAL_N = frozenset({"pN1b", "pN1c", "pN2b", "pN3b"})
#: Clinical N categories that mean clinically detected internal mammary disease (AJCC 8th edition).
IMN_CLINICAL_N = frozenset({"cN2b", "cN3b"})
#: Positive axillary node counts each axillary pN category allows (AJCC 8th edition; None = no upper bound).
PN_AXILLARY_COUNTS: dict[str, tuple[int, int | None]] = {
    "pN0": (0, 0), "pN0(i+)": (0, 0), "pN1mi": (1, 3), "pN1a": (1, 3), "pN1b": (0, 0), "pN1c": (1, 3),
    "pN2a": (4, 9), "pN2b": (0, 0), "pN3a": (10, None), "pN3b": (1, None), "pN3c": (0, None),
}


class TissueMethod(StrEnum):
    """How tissue of an internal mammary node was obtained."""

    fna = "fna"
    core_biopsy = "core_biopsy"
    im_sentinel_biopsy = "im_sentinel_biopsy"
    surgical_excision = "surgical_excision"


class TissueResult(StrEnum):
    positive = "positive"
    negative = "negative"
    non_diagnostic = "non_diagnostic"


class Setting(StrEnum):
    """Point in the patient's course at which the decision is made."""

    diagnosis = "diagnosis"
    after_nac = "after_nac"
    after_surgery = "after_surgery"
    follow_up = "follow_up"


class Result(StrEnum):
    """Reader's call on the internal mammary nodes for one examination."""

    positive = "positive"
    negative = "negative"
    indeterminate = "indeterminate"


class NodeShape(StrEnum):
    oval = "oval"
    round = "round"
    irregular = "irregular"


class DopplerFlow(StrEnum):
    """Colour Doppler vascularity of the node (ultrasound only)."""

    none = "none"
    hilar = "hilar"
    peripheral = "peripheral"
    mixed = "mixed"


class Side(StrEnum):
    """Side of the finding relative to the breast cancer."""

    ipsilateral = "ipsilateral"
    contralateral = "contralateral"


# Spellings accepted besides the canonical values (compared after _key()).
_SYNONYMS: dict[type[StrEnum], dict[str, str]] = {
    Sex: {"f": "female", "m": "male"},
    Laterality: {"l": "left", "r": "right"},
    Histology: {
        "ductal": "ductal_nst",
        "nst": "ductal_nst",
        "idc": "ductal_nst",
        "ilc": "lobular",
        "special": "special_type",
    },
    ReceptorStatus: {"+": "positive", "-": "negative", "−": "negative", "pos": "positive", "neg": "negative"},
    Her2Status: {"+": "positive", "-": "negative", "−": "negative", "pos": "positive", "neg": "negative"},
    PathologicalNStage: {"pn0i+": "pN0(i+)", "pn0_i+": "pN0(i+)", "pn0(i+)": "pN0(i+)",
                         **{f"y{m.value.casefold()}": m.value for m in PathologicalNStage},
                         "ypn0i+": "pN0(i+)", "ypn0_i+": "pN0(i+)"},
    TissueMethod: {"fnac": "fna", "core": "core_biopsy", "cnb": "core_biopsy", "imslnb": "im_sentinel_biopsy",
                   "im_slnb": "im_sentinel_biopsy", "excision": "surgical_excision"},
    TissueResult: {"+": "positive", "-": "negative", "−": "negative", "pos": "positive", "neg": "negative",
                   "nondiagnostic": "non_diagnostic", "inadequate": "non_diagnostic"},
    Result: {"+": "positive", "-": "negative", "−": "negative", "pos": "positive", "neg": "negative"},
    Modality: {"ultrasound": "us", "petct": "pet_ct", "petmri": "pet_mri", "spectct": "spect_ct"},
}


def _key(text: str) -> str:
    return re.sub(r"[\s/\-]+", "_", text.strip()).casefold()


def _lenient(enum: type[StrEnum]) -> BeforeValidator:
    """Accept an enum value regardless of case, spaces/hyphens/slashes, or a listed synonym."""
    lookup = {_key(m.value): m.value for m in enum}
    lookup.update({_key(k): v for k, v in _SYNONYMS.get(enum, {}).items()})

    def canonical(value: Any) -> Any:
        if isinstance(value, str):
            return lookup.get(_key(value), value)
        return value

    return BeforeValidator(canonical)


def _not_bool(value: Any) -> Any:
    """Refuse true/false where a number is expected (pydantic would read True as 1)."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a number is required, not true/false")
    return value


def _strict_bool(value: Any) -> Any:
    """Refuse numbers other than 0/1 and anything but yes/no words where a flag is expected."""
    if isinstance(value, float) and value not in (0.0, 1.0):
        raise PydanticCustomError("bool_parsing", "true or false is required")
    return value


def _iso_date(value: Any) -> Any:
    """Only ISO dates (YYYY-MM-DD) or date objects; no timestamps, no day-first guesses."""
    if isinstance(value, _dt.datetime):
        raise PydanticCustomError("date_format", "a date without time is required")
    if isinstance(value, _dt.date) or value is None:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()
    raise PydanticCustomError("date_format", "an ISO date YYYY-MM-DD is required")


# Plain types: constraints must sit directly on float/int for a clean JSON Schema
# (minimum/maximum); the bool/float guards run in _Model's before-validator instead.
Num = float
Int = int
Flag = bool


def choice(enum: type[StrEnum]) -> Any:
    """Annotated enum type accepting case-insensitive spellings."""
    return Annotated[enum, _lenient(enum)]


def _shown(value: Any) -> str:
    """Value as the user wrote it (enum members by their value)."""
    return short_repr(value.value if isinstance(value, StrEnum) else value)


# --------------------------------------------------------------------------- field builders


def _range_text(ge: float | None, le: float | None, gt: float | None, unit: str) -> str:
    def fmt(x: float) -> str:
        return f"{x:g}"

    u = f" {unit}" if unit else ""
    if gt is not None and le is not None:
        return f">{fmt(gt)}–{fmt(le)}{u}"
    if ge is not None and le is not None:
        return f"{fmt(ge)}–{fmt(le)}{u}"
    if ge is not None:
        return f"≥{fmt(ge)}{u}"
    if gt is not None:
        return f">{fmt(gt)}{u}"
    return f"any{u}"


def number(
    description: str,
    *,
    unit: str,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    required: bool = False,
    note: str = "",
    **kwargs: Any,
) -> Any:
    """A numeric field: range and unit in the description, the JSON Schema and error messages."""
    allowed = _range_text(ge, le, gt, unit) + (f" ({note})" if note else "")
    extra = {"x-unit": unit, "x-allowed": allowed}
    text = f"{description} Allowed: {allowed}." + ("" if required else " null = unknown.")
    if required:
        return Field(ge=ge, le=le, gt=gt, description=text, json_schema_extra=extra, **kwargs)
    return Field(None, ge=ge, le=le, gt=gt, description=text, json_schema_extra=extra, **kwargs)


def choice_field(description: str, enum: type[StrEnum], *, required: bool = False) -> Any:
    allowed = ", ".join(m.value for m in enum)
    text = f"{description} One of: {allowed}." + ("" if required else " null = unknown.")
    extra = {"x-allowed": allowed}
    if required:
        return Field(description=text, json_schema_extra=extra)
    return Field(None, description=text, json_schema_extra=extra)


def flag(description: str) -> Any:
    return Field(
        None,
        description=f"{description} true/false; null = unknown.",
        json_schema_extra={"x-allowed": "true or false (null = unknown)"},
    )


class _Model(BaseModel):
    """Shared configuration: unknown fields are errors, no NaN/Infinity, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _guard_types(cls, value: Any, info: ValidationInfo) -> Any:
        """true/false is not a number (pydantic would read True as 1); 0.5 is not a flag."""
        guard = _type_guard(cls, info.field_name or "")
        return value if guard is None else guard(value)


@functools.cache
def _type_guard(model: type[BaseModel], name: str) -> Any:
    """The check :meth:`_Model._guard_types` applies to one field: measurements refuse true/false, flags
    anything but true/false; None for the other fields (looked up once per model and field)."""
    field = model.model_fields.get(name)
    extra = field.json_schema_extra if field is not None else None
    if isinstance(extra, dict) and "x-unit" in extra:
        return _not_bool
    if field is not None and field.annotation in (bool, bool | None):
        return _strict_bool
    return None


# --------------------------------------------------------------------------- tumour location


def _clock_hour(clock: float) -> float:
    """Clock position on a 0–12 dial with 12 o'clock as 0."""
    return clock % 12


def clock_medial_lateral(clock: float, laterality: Laterality) -> MedialLateral:
    """Medial/lateral from a clock position, as seen facing the patient.

    Right breast: 9 o'clock is outer (lateral), 3 o'clock inner (medial); the left breast
    is the mirror image. 12 and 6 o'clock lie on the boundary and are reported as such.
    """
    h = _clock_hour(clock)
    if h in (0.0, 6.0):
        return MedialLateral.boundary
    towards_three = 0 < h < 6
    if laterality is Laterality.right:
        return MedialLateral.medial if towards_three else MedialLateral.lateral
    return MedialLateral.lateral if towards_three else MedialLateral.medial


def clock_quadrants(clock: float, laterality: Laterality) -> frozenset[Quadrant]:
    """Quadrants a clock position can belong to (two when it lies on a quadrant boundary)."""
    h = _clock_hour(clock)
    vertical = {"U"} if (h < 3 or h > 9) else {"L"} if 3 < h < 9 else {"U", "L"}
    ml = clock_medial_lateral(clock, laterality)
    horizontal = {"I"} if ml is MedialLateral.medial else {"O"} if ml is MedialLateral.lateral else {"I", "O"}
    return frozenset(Quadrant(f"{v}{s}Q") for v in vertical for s in horizontal)


_QUADRANT_SIDE = {
    Quadrant.UOQ: MedialLateral.lateral,
    Quadrant.LOQ: MedialLateral.lateral,
    Quadrant.UIQ: MedialLateral.medial,
    Quadrant.LIQ: MedialLateral.medial,
    Quadrant.central: MedialLateral.central,
}


class TumorLocation(_Model):
    """Where the primary tumour lies in the breast: quadrant and/or clock position."""

    quadrant: choice(Quadrant) | None = choice_field(
        "Breast quadrant (outer = lateral, inner = medial; central = retro-areolar).", Quadrant
    )
    clock_position: Num | None = number(
        "Clock position as seen facing the patient (right breast outer = 9 o'clock, "
        "left breast outer = 3 o'clock); half hours as .5.",
        unit="o'clock",
        ge=1,
        le=12.5,
        multiple_of=0.5,
        note="whole or half hours; 12.5 = half past twelve",
    )

    @model_validator(mode="after")
    def _something_given(self) -> TumorLocation:
        if self.quadrant is None and self.clock_position is None:
            raise Conflict(
                [
                    Problem(
                        "quadrant",
                        "tumor_location needs a quadrant or a clock_position (or leave "
                        "tumor_location out if unknown)",
                        related=("clock_position",),
                        allowed=", ".join(q.value for q in Quadrant),
                    )
                ]
            )
        return self


# --------------------------------------------------------------------------- imaging finding

#: Fields that only make sense for some modalities (data, checked in ImagingFinding).
MODALITY_ONLY_FIELDS: dict[str, frozenset[Modality]] = {
    "suv_max": frozenset({Modality.pet_ct, Modality.pet_mri}),
    "doppler_flow": frozenset({Modality.us}),
    "diffusion_restriction": frozenset({Modality.mri, Modality.pet_mri}),
    # planar lymphoscintigraphy shows drainage, not node size or morphology
    "short_axis_mm": frozenset(Modality) - {Modality.lymphoscintigraphy},
    "long_axis_mm": frozenset(Modality) - {Modality.lymphoscintigraphy},
    "shape": frozenset(Modality) - {Modality.lymphoscintigraphy},
    "fatty_hilum": frozenset(Modality) - {Modality.lymphoscintigraphy},
}

_MEASUREMENTS = ("short_axis_mm", "long_axis_mm", "suv_max", "node_count")


class ImagingFinding(_Model):
    """One examination of the internal mammary chain: the reader's call and/or measurements."""

    modality: choice(Modality) = choice_field("Imaging modality.", Modality, required=True)
    result: choice(Result) | None = choice_field(
        "Reader's call on the internal mammary nodes; may be omitted if measurements are given.",
        Result,
    )
    short_axis_mm: Num | None = number(
        "Short-axis diameter of the largest internal mammary node.", unit="mm", ge=0, le=100
    )
    long_axis_mm: Num | None = number(
        "Long-axis diameter of the same node; not smaller than the short axis.",
        unit="mm",
        ge=0,
        le=100,
    )
    node_count: Int | None = number(
        "Number of visible internal mammary nodes on this side.", unit="nodes", ge=0, le=30
    )
    intercostal_space: Int | None = number(
        "Intercostal space of the (largest) node, 1 = first.", unit="", ge=1, le=6
    )
    suv_max: Num | None = number(
        "Maximum standardised uptake value (PET/CT and PET/MRI only).", unit="", ge=0, le=100
    )
    shape: choice(NodeShape) | None = choice_field("Node shape.", NodeShape)
    fatty_hilum: Flag | None = flag("Fatty hilum preserved.")
    doppler_flow: choice(DopplerFlow) | None = choice_field(
        "Colour Doppler vascularity (ultrasound only).", DopplerFlow
    )
    diffusion_restriction: Flag | None = flag("Restricted diffusion (MRI and PET/MRI only).")
    sternal_erosion: Flag | None = flag("Erosion of the adjacent sternum.")
    side: choice(Side) | None = choice_field("Side of the finding relative to the cancer.", Side)
    date: Annotated[_dt.date, BeforeValidator(_iso_date)] | None = Field(
        None,
        description="Date of the examination, ISO format YYYY-MM-DD, not in the future. null = unknown.",
        json_schema_extra={"x-allowed": "ISO date YYYY-MM-DD, not in the future"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> ImagingFinding:
        problems: list[Problem] = []
        for name, modalities in MODALITY_ONLY_FIELDS.items():
            if getattr(self, name) is not None and self.modality not in modalities:
                allowed = ", ".join(m.value for m in Modality if m in modalities)
                problems.append(
                    Problem(
                        name,
                        f"{name} does not apply to modality {self.modality.value!r}; "
                        "leave it out or correct the modality",
                        _shown(getattr(self, name)),
                        f"modality one of: {allowed}",
                        related=("modality",),
                    )
                )
        s, l = self.short_axis_mm, self.long_axis_mm
        if s is not None and l is not None and l < s:
            problems.append(
                Problem(
                    "long_axis_mm",
                    f"long_axis_mm ({l:g} mm) is smaller than short_axis_mm ({s:g} mm); "
                    "were the two swapped?",
                    short_repr(l),
                    f"≥ short_axis_mm ({s:g} mm)",
                    related=("short_axis_mm",),
                )
            )
        if self.node_count == 0:
            sized = [n for n in ("short_axis_mm", "long_axis_mm", "suv_max") if getattr(self, n) is not None]
            if sized:
                problems.append(
                    Problem(
                        "node_count",
                        f"node_count is 0 but {', '.join(sized)} describe a node",
                        "0",
                        "≥1 when a node is measured",
                        related=tuple(sized),
                    )
                )
            if self.result is Result.positive:
                problems.append(
                    Problem(
                        "node_count",
                        "node_count is 0 but result is 'positive'",
                        "0",
                        "≥1 when the result is positive",
                        related=("result",),
                    )
                )
        if self.result is None and all(getattr(self, n) is None for n in _MEASUREMENTS):
            problems.append(
                Problem(
                    "result",
                    "a finding needs a result or at least one measurement "
                    f"({', '.join(_MEASUREMENTS)})",
                    None,
                    ", ".join(r.value for r in Result),
                    related=_MEASUREMENTS,
                )
            )
        if self.date is not None and self.date > _dt.date.today():
            problems.append(
                Problem("date", "date is in the future", self.date.isoformat(), "not after today")
            )
        if problems:
            raise Conflict(problems)
        return self


# --------------------------------------------------------------------------- internal mammary tissue


class ImNodeTissue(_Model):
    """Pathology of an internal mammary node: needle biopsy, IM sentinel node biopsy or excision."""

    method: choice(TissueMethod) = choice_field("How the tissue was obtained.", TissueMethod, required=True)
    result: choice(TissueResult) = choice_field("Pathology result.", TissueResult, required=True)
    date: Annotated[_dt.date, BeforeValidator(_iso_date)] | None = Field(
        None,
        description="Date of the procedure, ISO format YYYY-MM-DD, not in the future. null = unknown.",
        json_schema_extra={"x-allowed": "ISO date YYYY-MM-DD, not in the future"},
    )

    @model_validator(mode="after")
    def _not_future(self) -> ImNodeTissue:
        if self.date is not None and self.date > _dt.date.today():
            raise Conflict([Problem("date", "date is in the future", self.date.isoformat(), "not after today")])
        return self


# --------------------------------------------------------------------------- cardiac context


class CardiacContext(_Model):
    """What is needed to weigh the cardiac cost of irradiating the internal mammary chain."""

    mean_heart_dose_gy_with_imn: Num | None = number(
        "Mean heart dose of the plan that includes the internal mammary nodes.",
        unit="Gy",
        ge=0,
        le=50,
    )
    mean_heart_dose_gy_without_imn: Num | None = number(
        "Mean heart dose of the plan without the internal mammary nodes.", unit="Gy", ge=0, le=50
    )
    baseline_cardiac_risk_percent: Num | None = number(
        "Baseline risk of a major coronary event over baseline_cardiac_risk_horizon_years.",
        unit="%",
        ge=0,
        le=100,
    )
    baseline_cardiac_risk_horizon_years: Num | None = number(
        "Time horizon of baseline_cardiac_risk_percent.", unit="years", gt=0, le=40
    )
    anthracycline: Flag | None = flag("Anthracycline chemotherapy given or planned.")
    trastuzumab: Flag | None = flag("Trastuzumab given or planned.")
    coronary_heart_disease: Flag | None = flag("Known coronary heart disease.")

    @model_validator(mode="after")
    def _risk_has_horizon(self) -> CardiacContext:
        if self.baseline_cardiac_risk_percent is not None and self.baseline_cardiac_risk_horizon_years is None:
            raise Conflict(
                [
                    Problem(
                        "baseline_cardiac_risk_horizon_years",
                        "baseline_cardiac_risk_percent is given without its time horizon",
                        None,
                        ">0–40 years",
                        related=("baseline_cardiac_risk_percent",),
                    )
                ]
            )
        return self


# --------------------------------------------------------------------------- patient


class Patient(_Model):
    """One patient with breast cancer at one decision point. ``None`` means unknown."""

    patient_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Pseudonymous label (letters, digits, . _ -; at most 64). Never a name or record number.",
        json_schema_extra={"x-allowed": "letters, digits, . _ - (at most 64 characters)"},
    )
    age_years: Int = number("Age at the decision.", unit="years", ge=18, le=100, required=True)
    sex: choice(Sex) | None = choice_field("Sex.", Sex)
    laterality: choice(Laterality) = choice_field("Side of the breast cancer.", Laterality, required=True)
    tumor_location: TumorLocation | None = Field(
        None, description="Position of the primary tumour in the breast. null = unknown."
    )
    tumor_size_mm: Num | None = number(
        "Largest diameter of the invasive primary tumour.", unit="mm", gt=0, le=200
    )
    histology: choice(Histology) | None = choice_field("Histological type.", Histology)
    grade: Int | None = number("Histological grade (Nottingham).", unit="", ge=1, le=3)
    er_status: choice(ReceptorStatus) | None = choice_field("Oestrogen receptor status.", ReceptorStatus)
    pr_status: choice(ReceptorStatus) | None = choice_field("Progesterone receptor status.", ReceptorStatus)
    her2_status: choice(Her2Status) | None = choice_field("HER2 status.", Her2Status)
    ki67_percent: Num | None = number("Ki-67 proliferation index.", unit="%", ge=0, le=100)
    lvi: Flag | None = flag("Lymphovascular invasion.")
    multifocal: Flag | None = flag("Multifocal or multicentric disease.")
    nipple_inversion: Flag | None = flag("Nipple inversion or retraction.")
    mammographic_calcification: Flag | None = flag("Suspicious calcification on mammography.")
    bmi_kg_per_m2: Num | None = number(
        "Body-mass index (internal mammary ultrasound is harder at high BMI).",
        unit="kg/m²",
        ge=10,
        le=80,
    )
    clinical_n_stage: choice(ClinicalNStage) | None = choice_field(
        "Clinical N category (AJCC 8th edition).", ClinicalNStage
    )
    pathological_n_stage: choice(PathologicalNStage) | None = choice_field(
        "Pathological N category (AJCC 8th edition); after neoadjuvant chemotherapy the ypN category, "
        "written the same way (ypN0 may be written as pN0 or ypN0).",
        PathologicalNStage,
    )
    im_node_tissue: ImNodeTissue | None = Field(
        None,
        description="Pathology of an internal mammary node (FNA, core biopsy, IM sentinel node biopsy or "
        "excision). null = no IM tissue obtained.",
    )
    positive_axillary_nodes: Int | None = number(
        "Axillary nodes with metastasis on pathology; not more than examined_axillary_nodes.",
        unit="nodes",
        ge=0,
        le=100,
    )
    examined_axillary_nodes: Int | None = number(
        "Axillary nodes examined on pathology (sentinel and dissected).", unit="nodes", ge=0, le=100
    )
    neoadjuvant_chemotherapy: Flag | None = flag("Neoadjuvant (pre-operative) chemotherapy given.")
    setting: choice(Setting) = choice_field("Decision point in the patient's course.", Setting, required=True)
    implant_reconstruction: Flag | None = flag("Implant-based breast reconstruction.")
    prior_imn_radiotherapy: Flag | None = flag("Internal mammary chain already irradiated.")
    findings: list[ImagingFinding] = Field(
        default_factory=list,
        max_length=50,
        description="Imaging examinations of the internal mammary chain (empty = none given).",
    )
    cardiac: CardiacContext | None = Field(
        None, description="Cardiac context for radiotherapy decisions. null = unknown."
    )

    @field_validator("findings", mode="before")
    @classmethod
    def _findings_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict):
            raise PydanticCustomError("list_type", "a list of findings is required, not a single mapping")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        problems: list[Problem] = []
        pos, exam = self.positive_axillary_nodes, self.examined_axillary_nodes
        if pos is not None and exam is not None and pos > exam:
            problems.append(
                Problem(
                    "positive_axillary_nodes",
                    f"positive_axillary_nodes ({pos}) is more than examined_axillary_nodes ({exam})",
                    short_repr(pos),
                    f"0–{exam} (at most examined_axillary_nodes)",
                    related=("examined_axillary_nodes",),
                )
            )
        pn = self.pathological_n_stage
        if pn is not None and pos is not None and pn.value in PN_AXILLARY_COUNTS:
            low, high = PN_AXILLARY_COUNTS[pn.value]
            if pos < low or (high is not None and pos > high):
                allowed = f"{low}" if low == high else f"{low}–{high}" if high is not None else f"≥{low}"
                problems.append(
                    Problem(
                        "pathological_n_stage",
                        f"pathological_n_stage {pn.value} does not fit positive_axillary_nodes ({pos}); "
                        f"{pn.value} means {allowed} positive axillary nodes (AJCC 8th edition)",
                        repr(pn.value),
                        f"a category that fits {pos} positive axillary nodes",
                        related=("positive_axillary_nodes",),
                    )
                )
        if self.setting is Setting.after_nac and self.neoadjuvant_chemotherapy is False:
            problems.append(
                Problem(
                    "setting",
                    "setting is 'after_nac' but neoadjuvant_chemotherapy is false",
                    "'after_nac'",
                    "after_nac only with neoadjuvant_chemotherapy true (or unknown)",
                    related=("neoadjuvant_chemotherapy",),
                )
            )
        loc = self.tumor_location
        if loc is not None and loc.quadrant not in (None, Quadrant.central) and loc.clock_position is not None:
            possible = clock_quadrants(loc.clock_position, self.laterality)
            if loc.quadrant not in possible:
                problems.append(
                    Problem(
                        "tumor_location.quadrant",
                        f"tumor_location.quadrant {loc.quadrant.value} contradicts "
                        f"tumor_location.clock_position {loc.clock_position:g} o'clock in the "
                        f"{self.laterality.value} breast (which is "
                        f"{' or '.join(sorted(q.value for q in possible))})",
                        repr(loc.quadrant.value),
                        " or ".join(sorted(q.value for q in possible)),
                        related=("tumor_location.clock_position", "laterality"),
                    )
                )
        if problems:
            raise Conflict(problems)
        return self

    @property
    def medial_lateral(self) -> MedialLateral | None:
        """Medial, lateral, central or boundary; ``None`` when the location is unknown.

        From the quadrant when given (it cannot contradict the clock position), otherwise from
        the clock position and laterality.
        """
        loc = self.tumor_location
        if loc is None:
            return None
        if loc.quadrant is not None:
            return _QUADRANT_SIDE[loc.quadrant]
        assert loc.clock_position is not None
        return clock_medial_lateral(loc.clock_position, self.laterality)
