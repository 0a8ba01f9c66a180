"""The Patient model: valid inputs, derived medial/lateral, cross-field rules, error form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imln.schema import (
    ImagingFinding,
    MedialLateral,
    Patient,
    PatientInputError,
    load_patient,
    normalise,
)

BASE: dict[str, Any] = {"age_years": 58, "laterality": "left", "setting": "diagnosis"}


def patient(**fields: Any) -> Patient:
    return load_patient({**BASE, **fields})


def problem_fields(**fields: Any) -> list[str]:
    with pytest.raises(PatientInputError) as info:
        patient(**fields)
    return info.value.fields


class TestValid:
    def test_minimal_patient_leaves_everything_else_unknown(self) -> None:
        p = patient()
        assert p.tumor_size_mm is None
        assert p.grade is None
        assert p.lvi is None
        assert p.findings == []
        assert p.cardiac is None
        assert p.medial_lateral is None

    def test_full_patient(self) -> None:
        p = patient(
            sex="female",
            tumor_location={"quadrant": "UIQ", "clock_position": 10.5},
            tumor_size_mm=14.5,
            histology="ductal_nst",
            grade=2,
            er_status="positive",
            pr_status="negative",
            her2_status="equivocal",
            ki67_percent=20,
            lvi=False,
            multifocal=True,
            nipple_inversion=False,
            mammographic_calcification=True,
            bmi_kg_per_m2=31.2,
            clinical_n_stage="cN1",
            positive_axillary_nodes=2,
            examined_axillary_nodes=2,
            neoadjuvant_chemotherapy=True,
            implant_reconstruction=False,
            prior_imn_radiotherapy=False,
            findings=[
                {"modality": "pet_ct", "suv_max": 3.2, "short_axis_mm": 6, "long_axis_mm": 6, "node_count": 1},
                {"modality": "us", "result": "negative", "doppler_flow": "hilar", "fatty_hilum": True},
                {"modality": "lymphoscintigraphy", "result": "positive", "intercostal_space": 2},
            ],
            cardiac={
                "mean_heart_dose_gy_with_imn": 4.0,
                "mean_heart_dose_gy_without_imn": 2.0,
                "baseline_cardiac_risk_percent": 3,
                "baseline_cardiac_risk_horizon_years": 10,
                "anthracycline": True,
            },
        )
        assert p.medial_lateral is MedialLateral.medial
        assert p.findings[0].suv_max == 3.2
        assert isinstance(p.findings[1], ImagingFinding)

    @pytest.mark.parametrize(
        ("given", "canonical"),
        [
            ({"laterality": "Left"}, ("laterality", "left")),
            ({"laterality": "R"}, ("laterality", "right")),
            ({"histology": "Ductal/NST"}, ("histology", "ductal_nst")),
            ({"histology": "special type"}, ("histology", "special_type")),
            ({"her2_status": "−"}, ("her2_status", "negative")),
            ({"er_status": "+"}, ("er_status", "positive")),
            ({"clinical_n_stage": "CN2B"}, ("clinical_n_stage", "cN2b")),
            ({"setting": "after-nac"}, ("setting", "after_nac")),
        ],
    )
    def test_spelling_variants_of_choices(self, given: dict, canonical: tuple[str, str]) -> None:
        p = patient(**given)
        assert getattr(p, canonical[0]).value == canonical[1]

    def test_yes_no_words_are_booleans(self) -> None:
        assert patient(lvi="yes").lvi is True
        assert patient(lvi="No").lvi is False

    def test_after_nac_with_nac_unknown_is_accepted(self) -> None:
        assert patient(setting="after_nac").neoadjuvant_chemotherapy is None

    def test_models_are_immutable(self) -> None:
        p = patient()
        with pytest.raises(Exception):
            p.age_years = 60  # type: ignore[misc]


class TestMedialLateral:
    @pytest.mark.parametrize(
        ("laterality", "clock", "expected"),
        [
            # right breast, facing the patient: 9 o'clock outer, 3 o'clock inner
            ("right", 9, "lateral"),
            ("right", 10.5, "lateral"),
            ("right", 7, "lateral"),
            ("right", 3, "medial"),
            ("right", 1, "medial"),
            ("right", 5.5, "medial"),
            ("right", 12, "boundary"),
            ("right", 6, "boundary"),
            ("right", 12.5, "medial"),
            # left breast: mirror image
            ("left", 3, "lateral"),
            ("left", 1.5, "lateral"),
            ("left", 9, "medial"),
            ("left", 11, "medial"),
            ("left", 12, "boundary"),
            ("left", 6, "boundary"),
            ("left", 12.5, "lateral"),
        ],
    )
    def test_from_clock(self, laterality: str, clock: float, expected: str) -> None:
        p = patient(laterality=laterality, tumor_location={"clock_position": clock})
        assert p.medial_lateral == expected

    @pytest.mark.parametrize(
        ("quadrant", "expected"),
        [("UOQ", "lateral"), ("LOQ", "lateral"), ("UIQ", "medial"), ("LIQ", "medial"), ("central", "central")],
    )
    @pytest.mark.parametrize("laterality", ["left", "right"])
    def test_from_quadrant(self, quadrant: str, expected: str, laterality: str) -> None:
        p = patient(laterality=laterality, tumor_location={"quadrant": quadrant})
        assert p.medial_lateral == expected

    @pytest.mark.parametrize(
        ("laterality", "quadrant", "clock"),
        [
            ("right", "UOQ", 10),
            ("right", "UIQ", 2),
            ("right", "LIQ", 4),
            ("right", "LOQ", 8),
            ("left", "UOQ", 2),
            ("left", "UIQ", 10),
            ("left", "LIQ", 8),
            ("left", "LOQ", 4),
            # boundaries fit both neighbouring quadrants
            ("right", "UOQ", 12),
            ("right", "UIQ", 12),
            ("left", "UOQ", 3),
            ("left", "LOQ", 3),
            ("right", "LOQ", 6),
            ("right", "LIQ", 6),
            ("right", "central", 3),
        ],
    )
    def test_consistent_quadrant_and_clock(self, laterality: str, quadrant: str, clock: float) -> None:
        patient(laterality=laterality, tumor_location={"quadrant": quadrant, "clock_position": clock})

    @pytest.mark.parametrize(
        ("laterality", "quadrant", "clock"),
        [("right", "UOQ", 2), ("left", "UOQ", 10), ("right", "LIQ", 8), ("left", "UIQ", 1), ("left", "UOQ", 6)],
    )
    def test_contradicting_quadrant_and_clock(self, laterality: str, quadrant: str, clock: float) -> None:
        with pytest.raises(PatientInputError) as info:
            patient(laterality=laterality, tumor_location={"quadrant": quadrant, "clock_position": clock})
        (problem,) = info.value.problems
        assert problem.field == "tumor_location.quadrant"
        assert "tumor_location.clock_position" in problem.related
        assert "tumor_location.clock_position" in problem.message


class TestCrossFieldRules:
    def test_positive_not_more_than_examined(self) -> None:
        assert problem_fields(positive_axillary_nodes=4, examined_axillary_nodes=3) == [
            "positive_axillary_nodes",
            "examined_axillary_nodes",
        ]
        patient(positive_axillary_nodes=3, examined_axillary_nodes=3)

    def test_after_nac_without_nac(self) -> None:
        fields = problem_fields(setting="after_nac", neoadjuvant_chemotherapy=False)
        assert fields == ["setting", "neoadjuvant_chemotherapy"]

    def test_several_contradictions_reported_together(self) -> None:
        fields = problem_fields(
            setting="after_nac",
            neoadjuvant_chemotherapy=False,
            positive_axillary_nodes=9,
            examined_axillary_nodes=1,
        )
        assert {"setting", "positive_axillary_nodes"} <= set(fields)

    def test_errors_in_several_findings_are_all_reported(self) -> None:
        fields = problem_fields(
            findings=[
                {"modality": "us", "suv_max": 2, "result": "positive"},
                {"modality": "mri", "short_axis_mm": 9, "long_axis_mm": 4},
                {"modality": "ct", "intercostal_space": 7, "result": "negative"},
            ]
        )
        assert "findings[0].suv_max" in fields
        assert "findings[1].long_axis_mm" in fields
        assert "findings[2].intercostal_space" in fields

    def test_result_optional_when_measured(self) -> None:
        assert patient(findings=[{"modality": "mri", "short_axis_mm": 5}]).findings[0].result is None
        assert patient(findings=[{"modality": "ct", "node_count": 0}]).findings[0].node_count == 0

    def test_zero_nodes_but_positive(self) -> None:
        assert "findings[0].node_count" in problem_fields(
            findings=[{"modality": "ct", "node_count": 0, "result": "positive"}]
        )

    def test_sizes_not_for_lymphoscintigraphy(self) -> None:
        assert "findings[0].short_axis_mm" in problem_fields(
            findings=[{"modality": "lymphoscintigraphy", "short_axis_mm": 5}]
        )

    def test_suv_allowed_on_pet_mri(self) -> None:
        patient(findings=[{"modality": "pet_mri", "suv_max": 5.5, "diffusion_restriction": True}])


class TestErrorForm:
    def test_str_lists_every_problem(self) -> None:
        with pytest.raises(PatientInputError) as info:
            patient(age_years=150, grade=4, ki67_percent=-1)
        text = str(info.value)
        assert text.splitlines()[0] == "3 problems with the patient input:"
        assert "age_years: is out of range (got 150) [allowed: 18–100 years]" in text
        assert "grade" in text and "ki67_percent" in text

    def test_to_dict_is_json_ready(self) -> None:
        with pytest.raises(PatientInputError) as info:
            patient(tumor_size_mm="2.5 cm")
        data = json.loads(json.dumps(info.value.to_dict()))
        assert data["error"] == "patient_input"
        (problem,) = data["problems"]
        assert problem["field"] == "tumor_size_mm"
        assert problem["value"] == "'2.5 cm'"
        assert problem["allowed"] == ">0–200 mm"
        assert "25" in problem["message"]

    def test_is_a_value_error(self) -> None:
        with pytest.raises(ValueError):
            patient(grade=9)

    def test_long_values_are_truncated(self) -> None:
        with pytest.raises(PatientInputError) as info:
            patient(sex="x" * 5000)
        (problem,) = info.value.problems
        assert problem.value is not None and len(problem.value) <= 60

    @pytest.mark.parametrize(
        "bad",
        [
            {"age_years": "old"},
            {"findings": [{"modality": "mri", "short_axis_mm": {"a": 1}}]},
            {"tumor_location": 3},
            {"cardiac": []},
            {"patient_id": 12},
            {"findings": "none"},
            {"findings": [{"modality": "us", "result": "negative", "date": 20240101}]},
        ],
    )
    def test_no_pydantic_text_leaks(self, bad: dict) -> None:
        with pytest.raises(PatientInputError) as info:
            patient(**bad)
        text = str(info.value)
        assert "validation error for" not in text
        assert "pydantic" not in text
        assert "Input should be" not in text


class TestNormalise:
    def test_unknowns_explicit_and_derived_added(self) -> None:
        data = normalise({**BASE, "tumor_location": {"clock_position": 12}})
        assert data["grade"] is None
        assert data["cardiac"] is None
        assert data["tumor_location"] == {"quadrant": None, "clock_position": 12.0}
        assert data["derived"] == {"medial_lateral": "boundary"}
        json.dumps(data)

    def test_round_trip_without_derived(self) -> None:
        data = normalise({**BASE, "findings": [{"modality": "us", "result": "negative", "date": "2024-01-02"}]})
        data.pop("derived")
        assert load_patient(data) == load_patient(
            {**BASE, "findings": [{"modality": "us", "result": "negative", "date": "2024-01-02"}]}
        )
