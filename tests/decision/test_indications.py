"""Guideline indications: three-valued matching, the indication group, and how the group sets the class.

The matching logic is tested on criteria built here (independent of which records the bundled
evidence holds); the bundled records are checked in ``test_bundled_indications``.
"""

from __future__ import annotations

import dataclasses

import pytest

from imln.decision import RecommendationClass as C
from imln.decision import class_steps, classify, decision_context
from imln.decision._indications import _evaluate, imn_disease_basis, patient_facts
from imln.evidence import IndicationCriteria
from tests.decision.conftest import patient


def truth(criteria: dict, **fields) -> tuple[bool | None, list[str]]:
    missing: list[str] = []
    value = _evaluate(IndicationCriteria.model_validate(criteria), patient_facts(patient(**fields)), missing)
    return value, missing


class TestThreeValuedMatching:
    def test_a_known_fact_decides(self):
        assert truth({"positive_axillary_nodes_min": 4}, positive_axillary_nodes=5, examined_axillary_nodes=12)[0] is True
        assert truth({"positive_axillary_nodes_min": 4}, positive_axillary_nodes=2, examined_axillary_nodes=12)[0] is False

    def test_a_missing_fact_is_unknown_never_false_and_is_named(self):
        value, missing = truth({"positive_axillary_nodes_min": 4})
        assert value is None and missing == ["positive_axillary_nodes"]

    def test_the_pn_category_bounds_an_unknown_count(self):
        # pN2a = 4-9 nodes: ≥4 holds; pN1a = 1-3: ≥4 fails; both without a count
        assert truth({"positive_axillary_nodes_min": 4}, pathological_n_stage="pN2a")[0] is True
        assert truth({"positive_axillary_nodes_min": 4}, pathological_n_stage="pN1a")[0] is False
        assert truth({"positive_axillary_nodes_min": 1, "positive_axillary_nodes_max": 3},
                     pathological_n_stage="pN3a")[0] is False

    def test_a_count_decides_a_pn_criterion_when_every_fitting_category_agrees(self):
        # 5 positive nodes fits only pN2a/pN3b/pN3c: a criterion listing pN0 is false, one listing all three true
        assert truth({"pathological_n": ["pN0"]}, positive_axillary_nodes=5)[0] is False
        assert truth({"pathological_n": ["pN2a", "pN3b", "pN3c"]}, positive_axillary_nodes=5)[0] is True
        # 0 nodes fits pN0, pN0(i+), pN1b, pN2b, pN3c: 'pN0' alone cannot be decided
        assert truth({"pathological_n": ["pN0"]}, positive_axillary_nodes=0)[0] is None

    def test_any_of_is_true_on_one_branch_and_unknown_only_when_no_branch_is_true(self):
        crit = {"any_of": [{"tumor_size_mm_min": 50}, {"location": ["medial", "central"]}]}
        assert truth(crit, tumor_size_mm=60)[0] is True  # location unknown, size decides
        assert truth(crit, tumor_location={"quadrant": "UIQ"})[0] is True
        value, missing = truth(crit, tumor_size_mm=20)
        assert value is None and missing == ["tumor_location"]
        assert truth(crit, tumor_size_mm=20, tumor_location={"quadrant": "UOQ"})[0] is False

    def test_a_boundary_clock_position_is_not_a_side(self):
        value, missing = truth({"location": ["lateral"]}, tumor_location={"clock_position": 12})
        assert value is None and missing == ["tumor_location"]

    def test_setting_and_nac(self):
        assert truth({"settings": ["after_nac"], "nac": True}, setting="after_nac", neoadjuvant_chemotherapy=True)[0]
        assert truth({"settings": ["after_surgery"]}, setting="diagnosis")[0] is False

    def test_imn_involved(self):
        assert truth({"imn_involved": True}, clinical_n_stage="cN3b")[0] is True
        assert truth({"imn_involved": True}, clinical_n_stage="cN1")[0] is False
        assert truth({"imn_involved": True})[0] is None


class TestImnDisease:
    @pytest.mark.parametrize("fields", [
        {"clinical_n_stage": "cN2b"},
        {"clinical_n_stage": "cN3b"},
        {"pathological_n_stage": "pN1b"},
        {"pathological_n_stage": "pN3b", "positive_axillary_nodes": 2},
        {"im_node_tissue": {"method": "core_biopsy", "result": "positive"}},
    ])
    def test_established_by(self, fields):
        assert imn_disease_basis(patient_facts(patient(**fields)))

    @pytest.mark.parametrize("fields", [
        {"clinical_n_stage": "cN2a"}, {"pathological_n_stage": "pN3a"},
        {"im_node_tissue": {"method": "fna", "result": "negative"}},
        {"im_node_tissue": {"method": "fna", "result": "non_diagnostic"}},
        {"findings": [{"modality": "pet_ct", "result": "positive", "suv_max": 6.5}]},
    ])
    def test_not_established_by(self, fields):
        assert not imn_disease_basis(patient_facts(patient(**fields)))

    @pytest.mark.parametrize("setting", ["diagnosis", "after_nac", "after_surgery"])
    def test_established_disease_gets_imn_radiotherapy_at_every_probability(self, setting, thresholds, evidence):
        subject = patient(setting=setting, neoadjuvant_chemotherapy=setting == "after_nac", clinical_n_stage="cN3b")
        ctx = decision_context(subject, evidence)
        assert ctx.indication_group == "imn_disease"
        assert class_steps(ctx, thresholds).classes == (C.imn_radiotherapy,)

    def test_a_positive_im_biopsy_at_follow_up_is_worked_up(self, thresholds, evidence):
        subject = patient(setting="follow_up", im_node_tissue={"method": "core_biopsy", "result": "positive"})
        assert class_steps(decision_context(subject, evidence), thresholds).classes == (C.full_work_up,)


class TestGroupsSetTheClass:
    """The step function of each indication group, on contexts built directly (no records needed)."""

    def ctx(self, evidence, **changes):
        base = decision_context(patient(setting="after_surgery"), evidence)
        return dataclasses.replace(base, **changes)

    def test_recommended_is_radiotherapy_whatever_the_probability(self, thresholds, evidence):
        ctx = self.ctx(evidence, indication_group="recommended", surgery_done=True)
        assert {classify(p, ctx, thresholds) for p in (0.0, 0.05, 0.2, 0.9)} == {C.imn_radiotherapy}

    def test_not_indicated_is_omit_whatever_the_probability(self, thresholds, evidence):
        ctx = self.ctx(evidence, indication_group="not_indicated", surgery_done=True)
        assert {classify(p, ctx, thresholds) for p in (0.0, 0.2, 0.3, 0.9)} == {C.omit}

    def test_consider_after_surgery_omits_in_the_band_and_irradiates_above(self, thresholds, evidence):
        ctx = self.ctx(evidence, indication_group="consider", surgery_done=True)
        assert classify(0.15, ctx, thresholds) is C.omit  # after_surgery_band_action: omit (choice)
        assert classify(thresholds.radiotherapy_at, ctx, thresholds) is C.imn_radiotherapy

    def test_consider_before_surgery_offers_im_sentinel_biopsy_in_the_band(self, thresholds, evidence):
        ctx = self.ctx(evidence, setting="diagnosis", indication_group="consider", surgery_done=False)
        assert classify(0.15, ctx, thresholds) is C.im_sentinel_biopsy

    def test_a_negative_im_biopsy_resolves_a_visible_node(self, thresholds, evidence):
        ctx = self.ctx(evidence, indication_group="consider", visible_node=True, visible_node_modalities=("us",),
                       im_tissue="negative")
        assert class_steps(ctx, thresholds).classes == (C.omit,)

    def test_a_negative_im_biopsy_does_not_override_a_guideline_recommendation(self, thresholds, evidence):
        ctx = self.ctx(evidence, indication_group="recommended", im_tissue="negative")
        assert class_steps(ctx, thresholds).classes == (C.imn_radiotherapy,)

    @pytest.mark.parametrize("setting", ["diagnosis", "after_nac", "after_surgery"])
    def test_an_unquantified_positive_node_is_never_omitted(self, setting, thresholds, evidence):
        ctx = self.ctx(evidence, setting=setting, indication_group="not_indicated", visible_node=True,
                       visible_node_modalities=("pet_ct",), unquantified_positive=("pet_ct",))
        assert classify(0.0, ctx, thresholds) is C.image_guided_biopsy
        quantified = dataclasses.replace(ctx, unquantified_positive=())
        assert classify(0.0, quantified, thresholds) is C.omit

    def test_groups_are_ordered_by_intensity(self, thresholds, evidence):
        """More indication never gives less treatment: at every probability the classes are ordered."""
        from imln.decision import INTENSITY

        order = ["not_indicated", "consider", "recommended", "imn_disease"]
        for p in (0.0, 0.05, 0.12, 0.3, 0.8):
            ranks = [INTENSITY[classify(p, self.ctx(evidence, indication_group=g, surgery_done=True), thresholds)]
                     for g in order]
            assert ranks == sorted(ranks), (p, ranks)
