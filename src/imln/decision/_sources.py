"""Which evidence records the decision package reads, for what (``data/sources.yaml``)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from imln.decision._thresholds import DecisionDataError, _data_path, _format, _read
from imln.evidence import EvidenceBase

__all__ = ["DecisionSources", "load_sources"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueRef(_M):
    record: str
    value: str


class RecordRef(_M):
    record: str


class IMSentinelSetting(_M):
    label: str
    visualisation: list[ValueRef]
    biopsy_success: list[ValueRef]
    biopsy_success_any_setting: list[ValueRef] = Field(default_factory=list)
    technique: RecordRef
    conventional_technique_visualisation: list[ValueRef] = Field(default_factory=list)
    metastasis_when_biopsied: list[ValueRef] = Field(default_factory=list)


class Complications(_M):
    record: str
    values: list[str]


class IMSentinel(_M):
    initial_surgery: IMSentinelSetting
    after_nac: IMSentinelSetting
    complications: Complications


class BiopsySource(_M):
    modality: str
    settings: list[Literal["diagnosis", "after_nac", "after_surgery", "follow_up"]]
    record: str
    value: str
    implant_reconstruction: bool | None = None


class Qualitative(_M):
    """A statement of a source without a number; not an evidence record."""

    id: str | None = None
    text: str
    citation: str
    review_ref: str | None = None
    location: str
    related_records: list[str] = Field(default_factory=list)
    applies_to_implant_only: bool = False


class Implant(_M):
    seen: ValueRef
    malignant: ValueRef
    followed: ValueRef
    ppv: ValueRef
    ppv_review: ValueRef


class PostTreatment(_M):
    recurrence_rates: list[ValueRef]
    recurrence_bound: ValueRef
    survival_after_recurrence: list[ValueRef]
    implant: Implant
    confounders: list[Qualitative]
    advice: Qualitative


class RadiotherapyContext(_M):
    recurrence_with_imn_rt: ValueRef
    recurrence_without_imn_rt: ValueRef
    after_nac_imn_control: ValueRef


class BenefitSource(_M):
    endpoint: Literal["mortality", "survival"]
    endpoint_label: str
    horizon_years: float = Field(gt=0)
    design: str
    irradiated: str


class DefaultChoice(_M):
    value: str
    basis: Literal["choice"]
    note: str


class Modifier(_M):
    id: str
    field: str
    text: str
    records: list[str]
    citation: str
    location: str


class Radiotherapy(_M):
    benefit_sources: dict[str, BenefitSource]
    default_benefit_source: DefaultChoice
    dose_response: ValueRef
    cardiac_timing: ValueRef
    context: list[str]
    modifiers: list[Modifier]


class DecisionSources(_M):
    version: str
    im_sentinel: IMSentinel
    image_guided_biopsy: list[BiopsySource]
    omit_context: list[ValueRef]
    radiotherapy_context: RadiotherapyContext
    post_treatment: PostTreatment
    radiotherapy: Radiotherapy

    def check_against(self, evidence: EvidenceBase) -> list[str]:
        """Every record, value and citation key named here must exist; returns the problems."""
        problems: list[str] = []

        def walk(node: Any, where: str) -> None:
            if isinstance(node, dict):
                rid = node.get("record")
                if isinstance(rid, str):
                    if rid not in evidence:
                        problems.append(f"{where}: record {rid!r} is not in the evidence base")
                    else:
                        values = evidence.get(rid).values
                        names = [node["value"]] if isinstance(node.get("value"), str) else node.get("values") or []
                        for name in names:
                            if name not in values:
                                problems.append(f"{where}: record {rid!r} has no value {name!r}")
                for key in ("records", "related_records", "context"):
                    for r in node.get(key, []) or []:
                        if r not in evidence:
                            problems.append(f"{where}.{key}: record {r!r} is not in the evidence base")
                cite = node.get("citation")
                if isinstance(cite, str) and cite not in evidence.references:
                    problems.append(f"{where}: citation {cite!r} is not in references.yaml")
                for k, v in node.items():
                    walk(v, f"{where}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{where}[{i}]")

        walk(self.model_dump(), "sources")
        for rid in self.radiotherapy.benefit_sources:
            if rid not in evidence:
                problems.append(f"radiotherapy.benefit_sources: record {rid!r} is not in the evidence base")
        if self.radiotherapy.default_benefit_source.value not in self.radiotherapy.benefit_sources:
            problems.append("radiotherapy.default_benefit_source is not one of benefit_sources")
        return problems


@cache
def load_sources() -> DecisionSources:
    """The bundled ``data/sources.yaml``, validated."""
    raw = _read(_data_path("sources.yaml"))
    try:
        return DecisionSources(**raw)
    except ValidationError as exc:
        raise DecisionDataError(_format("sources.yaml", exc)) from None
