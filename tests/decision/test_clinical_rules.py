"""Clinical rules through the whole pipeline (imln.assess): facts the record gives are honoured."""

from __future__ import annotations

import pytest

import imln
from imln.decision import RecommendationClass as C
from imln.schema import PatientInputError


def rec(body):
    a = imln.assess(imln.load_patient(body))
    r = a.decision.recommendation
    return (r.recommendation if r is not None else None), a


BASE = {"age_years": 52, "laterality": "left"}


class TestRobustOverARange:
    def test_after_nac_example_is_irradiated_although_the_axillary_count_is_unknown(self):
        cls, a = rec("examples/after_nac_mri_positive.yaml")
        assert a.risk.probability is None and a.risk.probability_range is not None
        assert cls is C.imn_radiotherapy
        r = a.decision.recommendation
        assert r.probability is None and "robust" in r.uncertainty.lower()
        # the positive MRI counts: the pre-test range is moved by its likelihood ratio (odds × LR at both ends)
        (mri,) = [f for f in a.imaging.findings if f.applied]
        assert mri.modality.value == "mri" and a.imaging.posttest is None
        lr = mri.lr_applied.point
        moved = [p * lr / (p * lr + 1 - p) for p in a.risk.probability_range]
        assert r.probability_range == pytest.approx(moved, rel=1e-12)
        assert r.probability_range_basis == "post-test"
        assert any(f.key == "lr" and f.value == lr for st in r.rationale for f in st.figures)
        # only the PET/CT finding, which no accuracy record quantifies, is called unquantified
        unquantified = [c for c in r.cautions if "could not be quantified" in c]
        assert len(unquantified) == 1 and "PET/CT" in unquantified[0] and "MRI" not in unquantified[0]

    def test_a_negative_finding_lowers_the_range(self):
        # lateral T1 at diagnosis, axillary count unknown: the pre-test range straddles the thresholds (no class);
        # a negative MRI moves the whole range below the omit threshold, so the finding decides
        body = {**BASE, "setting": "diagnosis", "tumor_location": {"quadrant": "UOQ"}, "tumor_size_mm": 15,
                "findings": [{"modality": "mri", "result": "negative", "side": "ipsilateral"}]}
        cls_without, without = rec({k: v for k, v in body.items() if k != "findings"})
        assert without.risk.probability is None and cls_without is None
        cls, a = rec(body)
        (mri,) = a.imaging.findings
        lr = mri.lr_applied.point
        r = a.decision.recommendation
        assert cls is C.omit and r.probability_range_basis == "post-test"
        assert r.probability_range == pytest.approx([p * lr / (p * lr + 1 - p) for p in a.risk.probability_range])
        assert r.probability_range[1] < a.decision.thresholds.omit_below

    def test_no_recommendation_when_the_range_crosses_a_threshold(self):
        # diagnosis, cN0, medial, count unknown: the range spans omit / IM-SLNB / RT, so no class is given
        cls, a = rec({**BASE, "setting": "diagnosis", "tumor_location": {"quadrant": "UIQ"}, "tumor_size_mm": 25})
        if a.risk.probability is None:
            lo, hi = a.risk.probability_range
            if lo < 0.10 <= hi:
                assert cls is None and any("No recommendation" in n for n in a.decision.notes)


class TestImplantPredictiveValue:
    IMPLANT = {**BASE, "setting": "follow_up", "implant_reconstruction": True}

    def test_applies_to_an_mri_seen_node_without_malignant_features(self):
        cls, a = rec({**self.IMPLANT, "findings": [{"modality": "mri", "short_axis_mm": 5, "long_axis_mm": 8,
                                                    "fatty_hilum": True, "shape": "oval"}]})
        assert cls is C.short_interval_follow_up
        assert "sutton-implant-mri-ppv" in a.decision.probability.source

    def test_does_not_apply_when_another_modality_is_positive(self):
        cls, a = rec({**self.IMPLANT, "findings": [
            {"modality": "mri", "short_axis_mm": 12, "long_axis_mm": 13, "shape": "round", "fatty_hilum": False,
             "diffusion_restriction": True},
            {"modality": "pet_ct", "result": "positive", "suv_max": 8}]})
        assert cls is C.full_work_up
        assert any("does not apply" in n for n in a.notes)
        assert a.decision.recommendation.cautions  # the unquantified positive finding is named

    def test_does_not_apply_to_a_node_the_reader_calls_positive(self):
        cls, _ = rec({**self.IMPLANT, "findings": [{"modality": "mri", "result": "positive", "short_axis_mm": 9}]})
        assert cls is C.full_work_up


class TestFollowUp:
    def test_routine_follow_up_without_a_finding_is_omit(self):
        cls, _ = rec({**BASE, "setting": "follow_up"})
        assert cls is C.omit

    def test_a_positive_pet_node_without_implant_is_worked_up(self):
        cls, _ = rec({**BASE, "setting": "follow_up",
                      "findings": [{"modality": "pet_ct", "result": "positive", "suv_max": 6}]})
        assert cls is C.full_work_up


class TestPositiveFindingsCount:
    def test_a_positive_pet_ct_at_diagnosis_is_biopsied_not_omitted(self):
        cls, a = rec({**BASE, "setting": "diagnosis", "tumor_location": {"quadrant": "UOQ"}, "tumor_size_mm": 15,
                      "clinical_n_stage": "cN0",
                      "findings": [{"modality": "pet_ct", "result": "positive", "suv_max": 6.5}]})
        assert cls is C.image_guided_biopsy

    def test_cn3b_is_treated_as_imn_disease_without_imaging(self):
        for setting in ("diagnosis", "after_surgery"):
            cls, a = rec({**BASE, "setting": setting, "clinical_n_stage": "cN3b", "tumor_location": {"quadrant": "UOQ"},
                          "age_years": 60})
            assert cls is C.imn_radiotherapy, setting
            assert a.decision.indication.group == "imn_disease"

    def test_cn1_to_ypn0_is_not_sent_to_im_sentinel_biopsy_after_surgery(self):
        cls, _ = rec({**BASE, "setting": "after_nac", "neoadjuvant_chemotherapy": True, "clinical_n_stage": "cN1",
                      "pathological_n_stage": "ypN0", "positive_axillary_nodes": 0, "examined_axillary_nodes": 3,
                      "tumor_size_mm": 45, "tumor_location": {"quadrant": "UOQ"}})
        assert cls is not C.im_sentinel_biopsy


class TestSchema:
    def test_ypn_is_read_as_the_pathological_category(self):
        p = imln.load_patient({**BASE, "setting": "after_nac", "neoadjuvant_chemotherapy": True,
                               "pathological_n_stage": "ypN2a"})
        assert p.pathological_n_stage.value == "pN2a"

    def test_a_category_that_contradicts_the_count_names_both_fields(self):
        with pytest.raises(PatientInputError) as err:
            imln.load_patient({**BASE, "setting": "after_surgery", "pathological_n_stage": "pN1a",
                               "positive_axillary_nodes": 5, "examined_axillary_nodes": 12})
        text = str(err.value)
        assert "pathological_n_stage" in text and "1–3" in text

    @pytest.mark.parametrize("tissue,field", [({"method": "fna"}, "result"), ({"method": "scan", "result": "positive"},
                                                                               "method"),
                                              ({"method": "fna", "result": "maybe"}, "result")])
    def test_im_node_tissue_errors_name_the_field(self, tissue, field):
        with pytest.raises(PatientInputError) as err:
            imln.load_patient({**BASE, "setting": "diagnosis", "im_node_tissue": tissue})
        assert f"im_node_tissue.{field}" in str(err.value)

    def test_unknown_pn_category_lists_the_allowed_ones(self):
        with pytest.raises(PatientInputError) as err:
            imln.load_patient({**BASE, "setting": "after_surgery", "pathological_n_stage": "pN4"})
        assert "pN3c" in str(err.value)


class TestExamples:
    """The four example patients get guideline-concordant recommendations (issue 15)."""

    @pytest.mark.parametrize("name,expected,group", [
        ("after_nac_mri_positive", C.imn_radiotherapy, "imn_disease"),      # cN3b: clinically detected IMN disease
        ("medial_4plus_nodes", C.imn_radiotherapy, "recommended"),          # ≥4 positive axillary nodes
        ("early_lateral_n0", C.omit, "not_indicated"),                      # pN0 lateral
        ("followup_implant_enlarged_imln", C.short_interval_follow_up, None),  # implant MRI node, benign features
    ])
    def test_example(self, name, expected, group):
        cls, a = rec(f"examples/{name}.yaml")
        assert cls is expected
        if group is not None:
            assert a.decision.indication.group == group


NODES_ORDER = [0, 1, 2, 3, 4, 6, 9, 12]


@pytest.mark.parametrize("setting", ["after_surgery", "after_nac"])
@pytest.mark.parametrize("quadrant", ["UOQ", "UIQ", "central"])
@pytest.mark.parametrize("age", [35, 55, 75])
def test_more_positive_nodes_never_mean_less_treatment(setting, quadrant, age):
    """Through the whole pipeline (risk model, indications, thresholds): the class never loses intensity."""
    from imln.decision import INTENSITY

    ranks = []
    for n in NODES_ORDER:
        body = {**BASE, "age_years": age, "setting": setting, "tumor_location": {"quadrant": quadrant},
                "tumor_size_mm": 25, "positive_axillary_nodes": n, "examined_axillary_nodes": 15,
                "neoadjuvant_chemotherapy": setting == "after_nac", "clinical_n_stage": "cN1" if n else "cN0"}
        cls, _ = rec(body)
        assert cls is not None, (n, body)
        ranks.append(INTENSITY[cls])
    assert ranks == sorted(ranks), list(zip(NODES_ORDER, ranks))
