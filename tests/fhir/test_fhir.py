"""FHIR R4B RiskAssessment export, checked against the spec rules fhir.resources does not enforce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import imln
from imln.fhir import check_risk_assessment, risk_assessment_json
from imln.report import risk_estimate

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module", params=sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def doc(request):
    return imln.assess(imln.load_patient(EXAMPLES / request.param)).model_dump(mode="json")


def test_passes_spec_and_imln_rules(doc):
    resource = risk_assessment_json(doc)
    assert check_risk_assessment(resource) == []


def test_parses_back_with_fhir_resources(doc):
    from fhir.resources.R4B.riskassessment import RiskAssessment

    resource = risk_assessment_json(doc)
    again = RiskAssessment.model_validate_json(json.dumps(resource))
    assert again.model_dump(mode="json", exclude_none=True) == resource


def test_probability_is_the_risk_sections_as_proportion(doc):
    resource = risk_assessment_json(doc)
    est = risk_estimate(doc)
    if est is None:
        assert "prediction" not in resource
        assert any("No probability" in n["text"] for n in resource["note"])
    elif est.point is not None:
        pred = resource["prediction"][0]
        assert pred["probabilityDecimal"] == pytest.approx(est.point, abs=1e-6)
        assert 0 <= pred["probabilityDecimal"] <= 1
        if est.has_interval:
            assert f"{est.lower * 100:.1f}" in pred["rationale"]
    else:
        rng = resource["prediction"][0]["probabilityRange"]
        assert rng["low"]["code"] == "%" and rng["low"]["value"] == pytest.approx(est.lower * 100, abs=1e-3)


def test_versions_and_basis(doc):
    resource = risk_assessment_json(doc)
    text = " ".join(n["text"] for n in resource["note"])
    assert doc["evidence_version"] in text and doc["evidence_digest"] in text and doc["imln_version"] in text
    if doc.get("risk"):
        assert doc["risk"]["model_id"] in resource["method"]["text"]
    contained = {c["id"] for c in resource["contained"]}
    assert {b["reference"][1:] for b in resource["basis"]} == contained
    assert "input-age-years" in contained
    assert resource["subject"]["identifier"]["value"] == doc["input"]["patient_id"]


def test_without_risk_no_prediction_and_a_note(doc):
    resource = risk_assessment_json({**doc, "risk": None})
    assert "prediction" not in resource and check_risk_assessment(resource) == []


def test_range_only_uses_percent_range():
    doc = imln.assess(imln.load_patient(EXAMPLES / "early_lateral_n0.yaml")).model_dump(mode="json")
    doc["risk"] = {"model_id": "m", "model_version": "1", "probability": None, "probability_range": [0.1, 0.4],
                   "ci95": [0.05, 0.5], "missing": ["tumor_size_mm"]}
    resource = risk_assessment_json(doc)
    pred = resource["prediction"][0]
    assert "probabilityDecimal" not in pred
    assert pred["probabilityRange"]["high"] == {"value": 40.0, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    assert "tumor_size_mm" in pred["rationale"]
    assert check_risk_assessment(resource) == []


class TestChecker:
    """The checker catches what fhir.resources lets through."""

    @pytest.fixture
    def base(self):
        doc = imln.assess(imln.load_patient(EXAMPLES / "medial_4plus_nodes.yaml")).model_dump(mode="json")
        return risk_assessment_json(doc)

    def test_library_accepts_out_of_range_decimal(self):
        from fhir.resources.R4B.riskassessment import RiskAssessment

        RiskAssessment.model_validate({"resourceType": "RiskAssessment", "status": "final",
                                       "subject": {"display": "x"}, "prediction": [{"probabilityDecimal": 250}]})

    def test_ras2_and_scale(self, base):
        bad = json.loads(json.dumps(base))
        bad["prediction"] = [{"outcome": {"text": "x"}, "probabilityDecimal": 250}]
        problems = check_risk_assessment(bad)
        assert any(p.startswith("ras-2") for p in problems) and any(p.startswith("imln-scale") for p in problems)
        bad["prediction"][0]["probabilityDecimal"] = 9.1  # a percentage sent as decimal
        assert [p for p in check_risk_assessment(bad) if p.startswith("imln-scale")]
        assert not [p for p in check_risk_assessment(bad, decimal_scale="spec") if p.startswith("ras-2")]

    def test_ras1_range_must_be_ucum_percent(self, base):
        bad = json.loads(json.dumps(base))
        bad["prediction"] = [{"outcome": {"text": "x"}, "probabilityRange": {"low": {"value": 0.1}, "high": {"value": 0.4, "code": "%", "system": "http://unitsofmeasure.org"}}}]
        problems = check_risk_assessment(bad)
        assert [p for p in problems if p.startswith("ras-1")] == ["ras-1: prediction[0].probabilityRange.low is not a UCUM percentage"]

    def test_dom3_unreferenced_contained(self, base):
        bad = json.loads(json.dumps(base))
        bad["basis"] = bad["basis"][1:]
        assert any(p.startswith("dom-3") for p in check_risk_assessment(bad))

    def test_ele1_empty_and_ref_without_target(self, base):
        bad = json.loads(json.dumps(base))
        bad["code"]["text"] = " "
        bad["basis"].append({"reference": "#missing"})
        problems = check_risk_assessment(bad)
        assert any(p.startswith("ele-1") for p in problems) and any(p.startswith("ref-1") for p in problems)
