"""Every number in every rationale resolves: to an evidence record whose citation is in references.yaml,
to the probability the decision was given, to a patient input, or to a threshold with its basis shown."""

from __future__ import annotations

import re

import pytest

from imln.decision import assess_decision, recommend
from imln.decision._rationale import NAME_TOKENS, statement, strip_names
from tests.decision.conftest import estimate, patient
from tests.decision.test_vignettes import VIGNETTES

NUMBER = re.compile(r"\d")


def _get(obj, path):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def check_statement(s, *, evidence, thresholds, probability, subject):
    """Assert that every figure of ``s`` resolves and that the text shows no other number."""
    for f in s.figures:
        if f.origin == "evidence":
            record = evidence.get(f.record_id)
            value = record.values[f.value_name]
            assert f.value == value.number
            assert f.display.rstrip("%") == value.printed.rstrip("%"), (f.display, value.printed)
            assert f.citation == record.citation and f.citation in evidence.references
            if f.primary_citation:
                assert f.primary_citation in evidence.references
        elif f.origin == "probability_input":
            assert f.value == _get(probability, f.field.removeprefix("probability."))
        elif f.origin == "patient_input":
            assert f.value == _get(subject, f.field)
        elif f.origin == "threshold":
            t = thresholds.thresholds[f.threshold]
            assert f.value == t.value
            assert f.basis == t.basis_text and f.basis.split(":")[0] in ("cited", "choice", "user")
        else:  # pragma: no cover - the model allows nothing else
            pytest.fail(f"unknown origin {f.origin}")
    rest = s.text
    for f in sorted(s.figures, key=lambda f: -len(f.display)):
        rest = rest.replace(f.display, "")
    assert not NUMBER.search(strip_names(rest)), f"a number without a source in: {s.text!r}"
    for rid in s.records:
        assert rid in evidence
        assert evidence.get(rid).citation in evidence.references
    for key in s.citations:
        assert key in evidence.references


@pytest.mark.parametrize("v", VIGNETTES, ids=[v.name for v in VIGNETTES])
def test_every_number_in_a_vignette_rationale_resolves(v, evidence, thresholds):
    subject = patient(**v.patient)
    prob = estimate(*v.probability)
    rec = recommend(prob, subject, thresholds=thresholds, evidence=evidence)
    assert rec.rationale
    for s in rec.rationale:
        check_statement(s, evidence=evidence, thresholds=thresholds, probability=prob, subject=subject)
    # the structured details resolve too
    details = []
    if rec.im_sentinel:
        ims = rec.im_sentinel
        details += [*ims.visualisation, *ims.biopsy_success, *ims.biopsy_success_any_setting,
                    *ims.conventional_technique_visualisation, *ims.metastasis_when_biopsied, *ims.complications]
        assert ims.technique_record in evidence
    if rec.image_guided_biopsy:
        details += rec.image_guided_biopsy.confirmation
    for f in details:
        assert f.origin == "evidence" and f.record_id in evidence and f.citation in evidence.references


def test_thresholds_in_a_recommendation_show_their_basis(evidence, thresholds):
    rec = recommend(estimate(0.18, 0.12, 0.3), patient(), thresholds=thresholds, evidence=evidence)
    assert {t.name for t in rec.thresholds} == {"omit_below", "radiotherapy_at"}
    for t in rec.thresholds:
        assert t.basis == "choice" and t.basis_text.startswith("choice:") and "choice" in t.basis_text[7:]


def test_user_threshold_is_shown_as_user(evidence, thresholds):
    th = thresholds.with_values(omit_below=0.05)
    subject = patient()
    prob = estimate(0.07, 0.06, 0.08)
    rec = recommend(prob, subject, thresholds=th, evidence=evidence)
    assert rec.recommendation.value == "im_sentinel_node_biopsy"
    figs = [f for s in rec.rationale for f in s.figures if f.origin == "threshold"]
    assert figs and all(f.basis.startswith("user:") for f in figs if f.threshold == "omit_below")
    for s in rec.rationale:
        check_statement(s, evidence=evidence, thresholds=th, probability=prob, subject=subject)


def test_assessment_rationale_resolves(evidence, thresholds):
    subject = patient(setting="follow_up", implant_reconstruction=True,
                      findings=[{"modality": "mri", "short_axis_mm": 6, "long_axis_mm": 9}])
    a = assess_decision(subject, None, (0.005, 0.0, 0.027), None, evidence=evidence)
    for s in a.recommendation.rationale:
        check_statement(s, evidence=evidence, thresholds=thresholds, probability=a.probability, subject=subject)
    post = a.post_treatment
    assert post is not None and post.implant is not None
    for f in [*post.recurrence_rates, post.recurrence_bound, *post.survival_after_recurrence]:
        assert f.record_id in evidence and f.citation in evidence.references
    assert {q.id for q in post.confounders} >= {"inflammation", "silicone_granuloma", "altered_drainage", "mimics"}
    for q in post.confounders:
        assert q.citation in evidence.references and q.location


class TestStatementGuard:
    def test_a_bare_number_in_a_template_is_refused(self):
        with pytest.raises(ValueError, match="bare number"):
            statement("x", "Recurrence was 0.8% without it.")

    def test_a_placeholder_without_its_figure_is_refused(self):
        with pytest.raises(ValueError, match="needs figures"):
            statement("x", "Recurrence was {r} without it.")

    def test_trial_names_are_not_numbers(self):
        assert not NUMBER.search(strip_names(" ".join(NAME_TOKENS)).replace(" ", ""))
