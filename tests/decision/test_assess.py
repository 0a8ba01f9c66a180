"""assess_decision: the object the lead wires into imln.assess — JSON, what is used, what is refused."""

from __future__ import annotations

import json

from imln.decision import DecisionAssessment, RecommendationClass, assess_decision
from imln.evidence import TwoByTwo
from imln.imaging import AccuracyPosterior
from imln.risk import RiskPrediction
from tests.decision.conftest import patient

MRI = AccuracyPosterior.from_table(TwoByTwo(tp=14, fn=1, tn=25, fp=3), source="review-table1-mri")
CARDIAC = {"mean_heart_dose_gy_with_imn": 4.0, "mean_heart_dose_gy_without_imn": 1.5,
           "baseline_cardiac_risk_percent": 5.0, "baseline_cardiac_risk_horizon_years": 15}


def prediction(probability, ci95, probability_range=None, missing=()):
    return RiskPrediction(
        model_id="test-model", model_version="1", model_title="test", obtained="test", validation="none",
        setting="diagnosis", setting_anchor="test", probability=probability, ci95=ci95,
        probability_range=probability_range, baseline_probability=0.1, contributions=[], missing=list(missing),
        missing_policy="range",
    )


def test_full_assessment_is_json_serialisable(evidence):
    subject = patient(tumor_location={"quadrant": "UIQ"}, cardiac=CARDIAC,
                      findings=[{"modality": "us", "result": "negative"}])
    a = assess_decision(subject, prediction(0.2, (0.14, 0.27)), None, {"mri": MRI, "us": MRI},
                        evidence=evidence, n_draws=3_000)
    assert a.probability_basis == "pretest" and "test-model" in a.probability.source
    assert a.recommendation.recommendation is RecommendationClass.im_sentinel_biopsy
    assert [t.status for t in a.next_tests.tests] == ["ranked", "already_done"]
    assert a.rt_balance.status == "computed"
    assert a.post_treatment is None and a.threshold_sensitivity is not None
    text = a.model_dump_json()
    again = DecisionAssessment.model_validate_json(text)
    assert again.recommendation.recommendation is a.recommendation.recommendation
    payload = json.loads(text)
    assert payload["schema_version"] == "3" and payload["evidence_version"] == evidence.version
    assert payload["thresholds"]["thresholds"]["omit_below"]["basis"] == "choice"


def test_posttest_wins_over_pretest(evidence):
    a = assess_decision(patient(), prediction(0.05, (0.03, 0.08)), (0.4, 0.3, 0.5), None, evidence=evidence,
                        sensitivity=False)
    assert a.probability_basis == "posttest" and a.probability.point == 0.4
    assert a.recommendation.recommendation is RecommendationClass.imn_radiotherapy
    assert a.next_tests is None and any("no accuracy posteriors" in n for n in a.notes)
    assert a.threshold_sensitivity is None


def test_missing_cardiac_data_is_structured_not_raised(evidence):
    a = assess_decision(patient(setting="after_surgery"), None, (0.4, 0.3, 0.5), None, evidence=evidence)
    assert a.rt_balance.status == "not_computable"
    assert "cardiac.mean_heart_dose_gy_with_imn" in a.rt_balance.needs
    assert any("Not computable" in n for n in a.notes)
    assert a.post_treatment is not None  # after surgery the recurrence context is shown


def test_pretest_range_gives_no_recommendation_but_says_why(evidence):
    p = prediction(None, (0.04, 0.95), probability_range=(0.12, 0.79), missing=["positive_axillary_nodes"])
    a = assess_decision(patient(), p, None, None, evidence=evidence)
    assert a.recommendation is None and a.probability_basis == "none"
    assert any("positive_axillary_nodes" in n and "range" in n for n in a.notes)
    assert a.rt_balance is not None  # still lists the trial figures (or what it needs)


def test_nothing_given(evidence):
    a = assess_decision(patient(), None, None, None, evidence=evidence)
    assert a.recommendation is None
    assert any("neither a pre-test nor a post-test" in n for n in a.notes)


def test_bad_posttest_is_a_note(evidence):
    a = assess_decision(patient(), None, (1.5, 0.6, 0.7), None, evidence=evidence)
    assert a.recommendation is None
    assert any("could not be used" in n for n in a.notes)


def test_posttest_point_outside_its_interval_widens_it_with_a_note(evidence):
    a = assess_decision(patient(), None, (0.5, 0.55, 0.7), None, evidence=evidence, sensitivity=False)
    assert (a.probability.lower, a.probability.upper) == (0.5, 0.7)
    assert any("outside its interval" in n for n in a.notes)
