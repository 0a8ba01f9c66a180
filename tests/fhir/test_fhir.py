"""FHIR R4B RiskAssessment export, checked against the spec rules fhir.resources does not enforce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import imln
from imln.fhir import INTERVAL_EXTENSION_URL, check_risk_assessment, risk_assessment_json
from imln.report import present

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


def test_probability_is_the_decisions_as_proportion(doc):
    # it used to be the risk section's (pre-test) probability, or its range in percent, whatever
    # the decision used: the page and FHIR showed different numbers for the same patient
    resource = risk_assessment_json(doc)
    decision = doc["decision"]["probability"]
    if decision is None:
        assert "prediction" not in resource
        assert any(n["text"].startswith("No probability") for n in resource["note"])
        return
    pred = resource["prediction"][0]
    assert "probabilityRange" not in pred
    assert pred["probabilityDecimal"] == pytest.approx(decision["point"], abs=1e-6)
    assert 0 <= pred["probabilityDecimal"] <= 1
    if decision["lower"] < decision["upper"]:
        (ext,) = [e for e in pred["extension"] if e["url"] == INTERVAL_EXTENSION_URL]
        low, high = ext["valueRange"]["low"], ext["valueRange"]["high"]
        assert low["code"] == high["code"] == "1" and low["system"] == "http://unitsofmeasure.org"
        assert low["value"] == pytest.approx(decision["lower"], abs=1e-6)
        assert high["value"] == pytest.approx(decision["upper"], abs=1e-6)
        assert 0 <= low["value"] <= pred["probabilityDecimal"] <= high["value"] <= 1
    assert present(doc).headline.probability.text in pred["rationale"]


def test_recommendation_in_mitigation(doc):
    resource = risk_assessment_json(doc)
    rec = present(doc).recommendation
    assert resource["mitigation"].startswith(rec.text)
    if doc["decision"]["recommendation"] is not None:
        assert resource["mitigation"].startswith(doc["decision"]["recommendation"]["label"])
        for reason in rec.reasons:
            assert reason.text in resource["mitigation"]
    else:
        assert resource["mitigation"].startswith("No recommendation")


def test_rt_balance_in_percentage_points(doc):
    resource = risk_assessment_json(doc)
    harm = (doc["decision"]["rt_balance"] or {}).get("harm")
    text = " ".join(n["text"] for n in resource["note"])
    if harm:
        assert f"cardiac harm +{harm['point']:.2f} percentage points" in text
        assert f"{harm['point'] * 100:.1f}%" not in text


def test_identifier_system(doc):
    resource = risk_assessment_json(doc, identifier_system="urn:example:pseudonyms")
    assert resource["subject"]["identifier"] == {"system": "urn:example:pseudonyms", "value": doc["input"]["patient_id"]}
    assert check_risk_assessment(resource) == []


def test_without_an_identifier_system_no_identifier_only_the_label_in_display(doc):
    # an identifier's value is unique only within its system: without one it is not sent as an identifier
    resource = risk_assessment_json(doc)
    assert "identifier" not in resource["subject"]
    assert doc["input"]["patient_id"] in resource["subject"]["display"]
    assert "no identifier system configured" in resource["subject"]["display"]


@pytest.mark.parametrize("bad", ["not a uri", "pseudonyms", "", "urn:oid:1.2 3"])
def test_a_bad_identifier_system_is_refused_naming_it(doc, bad):
    with pytest.raises(ValueError, match="identifier_system"):
        risk_assessment_json(doc, identifier_system=bad)
    with pytest.raises(ValueError, match="identifier_system"):  # also when a reference makes it unused
        risk_assessment_json(doc, identifier_system=bad, subject_reference="Patient/1")


def test_subject_reference_wins(doc):
    resource = risk_assessment_json(doc, subject_reference="Patient/123", identifier_system="urn:oid:1.2.3")
    assert resource["subject"] == {"reference": "Patient/123"}


def test_code_is_coded_with_a_sourced_snomed_concept_and_keeps_its_text(doc):
    from imln.fhir._codes import ASSESSMENT_CODE, CODES

    resource = risk_assessment_json(doc)
    assert resource["code"]["text"] == "Risk of internal mammary lymph node (IMLN) metastasis"
    assert resource["code"]["coding"] == [{"system": "http://snomed.info/sct", "code": "709510001",
                                           "display": "Assessment of risk for disease (procedure)"}]
    assert ASSESSMENT_CODE.source.startswith("https://hl7.org/fhir/")
    # every coding anywhere in the resource is one of the registered, sourced codes: none is made up
    known = {(c.system, c.code) for c in CODES}
    assert set(_codings(resource)) <= known
    for pred in resource.get("prediction", []):  # no code was found for the outcome: text only
        assert pred["outcome"] == {"text": "Internal mammary lymph node metastasis"}


def test_docs_name_every_code_and_its_source():
    from imln.fhir._codes import CODES, TEXT_ONLY

    docs = (Path(__file__).parents[2] / "docs" / "fhir.md").read_text(encoding="utf-8")
    for c in CODES:
        assert c.code in docs and c.source in docs and c.system in docs
    assert "399374009" in docs and "245282001" in docs  # the near misses, and why they are not used
    assert TEXT_ONLY


def _codings(value):
    if isinstance(value, dict):
        if "coding" in value:
            for c in value["coding"]:
                yield c["system"], c["code"]
        for v in value.values():
            yield from _codings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _codings(v)


def test_probability_range_is_not_sent_alongside(doc):
    # probability[x] is a choice (decimal or range), ras-1 wants a range in percent, and a second
    # prediction of the same outcome would read as a second, different prediction: the interval is in
    # the extension (proportions, the headline's own bounds) and in the rationale text only
    resource = risk_assessment_json(doc)
    view = present(doc)
    preds = resource.get("prediction", [])
    assert len(preds) <= 1
    for pred in preds:
        assert not any(k.startswith("probability") and k != "probabilityDecimal" for k in pred)
        prob = view.headline.probability
        assert pred["probabilityDecimal"] == round(prob.point, 6)
        if prob.has_interval:
            (ext,) = pred["extension"]
            assert (ext["valueRange"]["low"]["value"], ext["valueRange"]["high"]["value"]) == (
                round(prob.lower, 6), round(prob.upper, 6))
            assert prob.interval_text in pred["rationale"]
        else:
            assert "extension" not in pred


def test_versions_and_basis(doc):
    resource = risk_assessment_json(doc)
    text = " ".join(n["text"] for n in resource["note"])
    assert doc["evidence_version"] in text and doc["evidence_digest"] in text and doc["imln_version"] in text
    if doc.get("risk"):
        assert doc["risk"]["model_id"] in resource["method"]["text"]
    contained = {c["id"] for c in resource["contained"]}
    assert {b["reference"][1:] for b in resource["basis"]} == contained
    assert "input-age-years" in contained
    assert "input-patient-id" not in contained  # the label is the subject, not an input observation


def test_without_a_decision_probability_no_prediction_and_a_note(doc):
    decision = {**doc["decision"], "probability": None, "probability_basis": "none", "recommendation": None}
    resource = risk_assessment_json({**doc, "decision": decision})
    assert "prediction" not in resource and check_risk_assessment(resource) == []
    assert resource["mitigation"].startswith("No recommendation")


def test_a_risk_range_the_decision_did_not_use_is_not_sent():
    # after_nac_mri_positive: the risk model gives only a range (34.6–85.2%); the decision was
    # made on no probability, so FHIR sends none (it used to send the range as probabilityRange)
    doc = imln.assess(imln.load_patient(EXAMPLES / "after_nac_mri_positive.yaml")).model_dump(mode="json")
    assert doc["risk"]["probability"] is None and doc["risk"]["probability_range"]
    assert doc["decision"]["probability"] is None
    resource = risk_assessment_json(doc)
    assert "prediction" not in resource
    assert "positive axillary nodes" in resource["text"]["div"].lower()
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
