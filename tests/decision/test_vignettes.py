"""Clinical vignettes written from the review's scenarios, each with its expected recommendation.

Every vignette gives the probability of IMLN metastasis directly (point and
interval) — as the risk model or the imaging update would — and a patient built
with ``imln.load_patient``. The comment above each justifies the probability
from the evidence base (record ids) and the expected class from the bundled
thresholds (all of basis 'choice'): omit_below 0.10, radiotherapy_at 0.25,
follow_up_work_up_at 0.10; rules tissue_first_with_visible_node_in [diagnosis],
after_surgery_band_action imn_radiotherapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from imln.decision import RecommendationClass as C
from imln.decision import decision_context, recommend, rt_balance
from tests.decision.conftest import estimate, patient


@dataclass(frozen=True)
class Vignette:
    name: str
    patient: dict
    probability: tuple[float, float, float]
    expected: C
    uncertain: bool = False
    extra: dict = field(default_factory=dict)


VIGNETTES = [
    # Node-negative lateral T1 in an elderly woman, after surgery. IMLN metastasis was 9.1% in axillary
    # node-negative patients (veronesi1985-aln-negative; 9.2% in review-text-aln-negative-9-2), about 10% for
    # upper outer quadrant tumours (review-text-uoq-10) and 11% over 70 (review-text-heuts-age-gt70); with all
    # three low-risk features together 5% (3–8%) is plausible. The whole interval is below omit_below (0.10):
    # omit, and clinical IMLN recurrence stays < 1.5% without IMC treatment (review-text-recurrence-lt-1-5-followup).
    Vignette("elderly_lateral_t1_node_negative",
             {"age_years": 76, "laterality": "left", "setting": "after_surgery", "tumor_location": {"quadrant": "UOQ"},
                  "tumor_size_mm": 12, "positive_axillary_nodes": 0, "examined_axillary_nodes": 2, "er_status": "positive"},
             (0.05, 0.03, 0.08), C.omit),
    # Medial tumour with 4+ positive axillary nodes, after surgery: medial tumours with 4-6 positive nodes had
    # IMN metastasis in 47.5% (huang2008-medial-aln-4-6). 45% (35–56%) is wholly above radiotherapy_at (0.25):
    # IMN radiotherapy, the population the IMN trials irradiated (dbcg2016-os, eortc2015-bc-mortality).
    Vignette("medial_4plus_nodes",
             {"age_years": 46, "setting": "after_surgery", "tumor_location": {"quadrant": "UIQ"}, "tumor_size_mm": 32,
                  "grade": 3, "positive_axillary_nodes": 6, "examined_axillary_nodes": 14},
             (0.45, 0.35, 0.56), C.imn_radiotherapy),
    # Positive IM ultrasound node at diagnosis: US-guided biopsy confirmed malignancy in 90% of US-positive
    # IMLNs (ajr2015-us-biopsy-ppv, 26/29), so a post-test probability of 60% (45–74%) is conservative. At
    # diagnosis a visible node is sampled first (rule tissue_first_with_visible_node_in): image-guided biopsy,
    # since pathology changes the N category (review-text-us-restaging) — whatever the probability above 0.10.
    Vignette("positive_im_ultrasound_at_diagnosis",
             {"age_years": 42, "tumor_location": {"quadrant": "UIQ"}, "clinical_n_stage": "cN1",
                  "findings": [{"modality": "us", "result": "positive", "short_axis_mm": 7, "side": "ipsilateral"}]},
             (0.60, 0.45, 0.74), C.image_guided_biopsy),
    # After NAC with residual IMLNs on MRI, 3 nodes of 6 mm or more (Patel's criterion, review-text-patel-
    # criterion): MRI-positive IMLNs after NAC were confirmed in 70% (review-text-nac-confirmation-mri), so
    # 70% (58–80%). After NAC the tissue-first rule does not apply (default: diagnosis only) and the whole
    # interval is above radiotherapy_at: IMN radiotherapy; radiotherapy without IMN surgery for clinically
    # IMN-positive disease gave 96% IMN failure-free survival (kim2019-imn-failure-free-survival).
    Vignette("after_nac_residual_imln_on_mri",
             {"age_years": 39, "laterality": "right", "setting": "after_nac", "neoadjuvant_chemotherapy": True,
                  "tumor_location": {"clock_position": 3}, "clinical_n_stage": "cN3b",
                  "findings": [{"modality": "mri", "result": "positive", "node_count": 3, "short_axis_mm": 7,
                             "side": "ipsilateral"}]},
             (0.70, 0.58, 0.80), C.imn_radiotherapy),
    # Enlarged IMLN on MRI after implant reconstruction, at follow-up: of 207 women with follow-up 1 was malignant,
    # PPV 0.005 (95% CI 0.000–0.027; sutton-implant-mri-ppv). The interval lies wholly below
    # follow_up_work_up_at (0.10): short-interval follow-up, as the review advises; the confounders
    # (inflammation, silicone granuloma, altered drainage, mimics) are listed in the rationale.
    Vignette("enlarged_imln_after_implant_reconstruction",
             {"age_years": 51, "laterality": "right", "setting": "follow_up", "implant_reconstruction": True,
                  "tumor_location": {"quadrant": "LOQ"}, "positive_axillary_nodes": 1, "examined_axillary_nodes": 3,
                  "findings": [{"modality": "mri", "short_axis_mm": 6, "long_axis_mm": 9, "node_count": 1,
                             "fatty_hilum": True, "side": "ipsilateral"}]},
             (0.005, 0.0, 0.027), C.short_interval_follow_up, extra={"implant": True}),
    # PET/CT-positive IMN at follow-up (no implant): in recurrent disease 7 of 12 PET/CT-suspected IMLNs were
    # metastatic, 58.3% (jbc2013-petct-biopsy-recurrent; Jeffreys interval about 31–82%). Wholly above
    # follow_up_work_up_at: full oncologic work-up.
    Vignette("pet_positive_imn_at_follow_up",
             {"age_years": 61, "setting": "follow_up", "tumor_location": {"quadrant": "UIQ"}, "positive_axillary_nodes": 3,
                  "examined_axillary_nodes": 12,
                  "findings": [{"modality": "pet_ct", "result": "positive", "suv_max": 5.2, "short_axis_mm": 11}]},
             (0.583, 0.31, 0.82), C.full_work_up),
    # Routine follow-up without any IMN finding: clinical IMN recurrence stays below 1.5%
    # (review-text-recurrence-lt-1-5-followup). Nothing is found, so nothing IMN-directed is done: omit.
    Vignette("follow_up_without_finding",
             {"age_years": 64, "setting": "follow_up", "positive_axillary_nodes": 0},
             (0.01, 0.005, 0.015), C.omit),
    # Medial tumour with 1-3 positive nodes at diagnosis, surgery first, no IMN imaging finding: 23.6% in
    # huang2008-medial-aln-1-3, so 23.6% (18–30%). The point lies in the tissue band (0.10–0.25): IM sentinel
    # node biopsy at initial surgery (visualisation 71.9%, review-text-imsln-vis-initial-surgery). The interval
    # straddles radiotherapy_at, so the decision is flagged uncertain (IMN radiotherapy at the upper end).
    # The clinical N category is not given, so internal mammary disease is neither established nor excluded:
    # the indication group is 'undetermined' and the probability decides (with cN1 given, no guideline
    # indication applies before surgery and the answer is omit; see tests/clinical).
    Vignette("medial_1_3_nodes_surgery_first",
             {"age_years": 48, "tumor_location": {"quadrant": "UIQ"},
                  "neoadjuvant_chemotherapy": False},
             (0.236, 0.18, 0.30), C.im_sentinel_biopsy, uncertain=True, extra={"route": "initial_surgery"}),
    # Central tumour, cN1, NAC planned, at diagnosis: IMLN metastasis in medial or central tumours 24.6%
    # (veronesi1981-imn-medial-central) before NAC; 18% (13–23%) lies wholly in the tissue band. Surgery will
    # follow NAC, so IM sentinel node biopsy is offered with the after-NAC rates (visualisation 33.1%,
    # review-text-imsln-vis-nac), which the rationale says are much lower.
    # Clinical N category not given: indication group 'undetermined', the probability decides.
    Vignette("nac_planned_central_cn1",
             {"age_years": 44, "tumor_location": {"quadrant": "central"},
                  "neoadjuvant_chemotherapy": True},
             (0.18, 0.13, 0.23), C.im_sentinel_biopsy, extra={"route": "after_nac"}),
    # After NAC, no visible IMN: the IM-SLN was metastatic in 13.3% of clinically node-positive patients
    # biopsied after neoadjuvant therapy (qiu2019-metastasis-nst): 15% (11–20%) lies wholly in the tissue
    # band: IM sentinel node biopsy, after-NAC route.
    # Clinical N category not given: indication group 'undetermined', the probability decides.
    Vignette("after_nac_no_visible_node",
             {"age_years": 50, "setting": "after_nac", "neoadjuvant_chemotherapy": True,
                  "tumor_location": {"quadrant": "UIQ"}},
             (0.15, 0.11, 0.20), C.im_sentinel_biopsy, extra={"route": "after_nac"}),
    # Young, triple-negative, lateral, node-negative at diagnosis: youth and triple-negative status raise the
    # risk (review-synthesis-age-lt50, review-synthesis-triple-negative), lateral site and a negative axilla
    # lower it (review-text-uoq-10, veronesi1985-aln-negative); 12% (7–19%) straddles omit_below: IM sentinel
    # node biopsy at the point estimate, flagged uncertain (omit at the lower end) — when the clinical N
    # category is unknown. With cN0 given, no guideline indication applies and nothing IMN-directed is done
    # before surgery whatever the probability (tests/clinical: diagnosis-young-triple-negative-medial-cn0).
    Vignette("young_triple_negative_lateral_node_negative",
             {"age_years": 33, "tumor_location": {"quadrant": "UOQ"}, "er_status": "negative", "pr_status": "negative",
                  "her2_status": "negative", "neoadjuvant_chemotherapy": False},
             (0.12, 0.07, 0.19), C.im_sentinel_biopsy, uncertain=True),
    Vignette("young_triple_negative_lateral_cn0",
             {"age_years": 33, "tumor_location": {"quadrant": "UOQ"}, "er_status": "negative", "pr_status": "negative",
                  "her2_status": "negative", "clinical_n_stage": "cN0", "neoadjuvant_chemotherapy": False},
             (0.12, 0.07, 0.19), C.omit),
    # Central tumour with 1-3 positive nodes, after surgery, no imaging finding: 18% (13–24%) lies in the tissue
    # band, but after surgery IM-SLNB is no longer possible and there is no node to biopsy. NCCN says to
    # consider IMN irradiation for 1-3 nodes (nccn2016pt-bcs-1to3-nodes: indication group 'consider'), and
    # the rule after_surgery_band_action (choice, default omit) decides the band: omit. With the rule set
    # to imn_radiotherapy the same patient is irradiated and flagged as lying in the band
    # (test_band_rule_set_to_radiotherapy).
    Vignette("central_1_3_nodes_after_surgery",
             {"age_years": 57, "setting": "after_surgery", "tumor_location": {"quadrant": "central"},
                  "positive_axillary_nodes": 2, "examined_axillary_nodes": 12},
             (0.18, 0.13, 0.24), C.omit),
    # Locally advanced disease with a PET/CT-positive IMN at diagnosis: in primary disease 19 of 24
    # PET/CT-suspected IMLNs were metastatic, 79.2% (jbc2013-petct-biopsy-primary): 79% (60–92%). At diagnosis
    # the visible node is sampled first: image-guided biopsy, even though the probability is high.
    Vignette("pet_ct_positive_imn_locally_advanced",
             {"age_years": 52, "tumor_location": {"quadrant": "UIQ"}, "tumor_size_mm": 55, "clinical_n_stage": "cN2a",
                  "findings": [{"modality": "pet_ct", "result": "positive", "suv_max": 6.1, "short_axis_mm": 9}]},
             (0.79, 0.60, 0.92), C.image_guided_biopsy),
    # Left-sided medial tumour with 5 positive nodes, with cardiac risk (CHD, anthracycline, trastuzumab) and
    # plans of 5.0 Gy (with IMN) vs 2.0 Gy mean heart dose: 47.5% in huang2008-medial-aln-4-6 → 47% (38–57%),
    # above radiotherapy_at: IMN radiotherapy. The recommendation class follows the probability; the cardiac
    # cost is shown in rt_balance, whose modifiers are listed, not quantified.
    Vignette("medial_4plus_with_cardiac_risk",
             {"age_years": 58, "setting": "after_surgery", "tumor_location": {"quadrant": "UIQ"},
                  "positive_axillary_nodes": 5, "examined_axillary_nodes": 15,
                  "cardiac": {"mean_heart_dose_gy_with_imn": 5.0, "mean_heart_dose_gy_without_imn": 2.0,
                           "baseline_cardiac_risk_percent": 8, "baseline_cardiac_risk_horizon_years": 10,
                           "anthracycline": True, "trastuzumab": True, "coronary_heart_disease": True}},
             (0.47, 0.38, 0.57), C.imn_radiotherapy, extra={"cardiac": True}),
    # Lateral tumour, 1 positive node, older patient, after surgery: 8% (5–12%). NCCN: consider IMN
    # irradiation for 1-3 nodes (group 'consider'); the whole interval lies below radiotherapy_at and the band
    # rule gives omit, so omission is settled (not flagged uncertain).
    Vignette("lateral_one_node_after_surgery_borderline",
             {"age_years": 72, "setting": "after_surgery", "tumor_location": {"quadrant": "UOQ"},
                  "positive_axillary_nodes": 1, "examined_axillary_nodes": 3},
             (0.08, 0.05, 0.12), C.omit),
    # A positive IM ultrasound on the contralateral side is not a target in the index cancer's chain: with
    # 15% (10–20%) in the tissue band and no ipsilateral visible node, IM sentinel node biopsy is recommended
    # and a caution says that the finding was not treated as a visible node.
    # (clinical N category not given: indication group 'undetermined', the probability decides)
    Vignette("contralateral_us_finding_only",
             {"age_years": 47, "tumor_location": {"quadrant": "UIQ"},
                  "findings": [{"modality": "us", "result": "positive", "side": "contralateral"}]},
             (0.15, 0.10, 0.20), C.im_sentinel_biopsy, extra={"caution": True}),
]


@pytest.mark.parametrize("v", VIGNETTES, ids=[v.name for v in VIGNETTES])
def test_vignette(v: Vignette, evidence, thresholds):
    rec = recommend(estimate(*v.probability), patient(**v.patient), thresholds=thresholds, evidence=evidence)
    assert rec.recommendation is v.expected, [s.text for s in rec.rationale]
    assert rec.uncertain is v.uncertain, rec.uncertainty
    if v.uncertain:
        assert rec.straddled_thresholds
        assert any(s.topic == "uncertainty" and "uncertain" in s.text for s in rec.rationale)
    if "route" in v.extra:
        assert rec.im_sentinel is not None and rec.im_sentinel.route == v.extra["route"]
    if v.expected is C.image_guided_biopsy:
        assert rec.image_guided_biopsy is not None and rec.image_guided_biopsy.confirmation
    if v.extra.get("implant"):
        texts = " ".join(s.text for s in rec.rationale)
        for word in ("Inflammation", "silicone granulomatous", "Altered lymphatic drainage", "mimic"):
            assert word in texts
        assert any(f.record_id == "sutton-implant-mri-ppv" and f.display == "0.005"
                   for s in rec.rationale for f in s.figures)
    if v.extra.get("band"):
        assert rec.in_band_without_tissue_option
    if v.extra.get("caution"):
        assert any("image-guided biopsy was not considered" in c for c in rec.cautions)
    if v.extra.get("cardiac"):
        p = patient(**v.patient)
        balance = rt_balance(estimate(*v.probability), p, evidence, n_draws=2_000)
        assert balance.status == "computed"
        flagged = {m.id: m.patient_value for m in balance.modifiers}
        assert flagged["anthracycline"] is True and flagged["trastuzumab"] is True
        assert flagged["coronary_heart_disease"] is True
        assert all(m.quantified is False for m in balance.modifiers)


def test_band_rule_set_to_radiotherapy(evidence, thresholds):
    """The after-surgery band rule, set to IMN radiotherapy, irradiates a 'consider' patient in the band, flagged."""
    th = thresholds.with_values(after_surgery_band_action="imn_radiotherapy")
    subject = patient(setting="after_surgery", tumor_location={"quadrant": "central"}, positive_axillary_nodes=2,
                      examined_axillary_nodes=12)
    rec = recommend(estimate(0.18, 0.13, 0.24), subject, thresholds=th, evidence=evidence)
    assert rec.recommendation is C.imn_radiotherapy and rec.in_band_without_tissue_option
    assert any(s.topic == "band_rule" for s in rec.rationale)


def test_at_least_twelve_vignettes():
    assert len(VIGNETTES) >= 12
    assert {v.expected for v in VIGNETTES} == set(C)


class TestIMSentinelBySetting:
    def test_initial_surgery_rates_and_technique(self, evidence):
        rec = recommend(estimate(0.18, 0.12, 0.22), patient(tumor_location={"quadrant": "UIQ"}), evidence=evidence)
        ims = rec.im_sentinel
        assert next(f.display for f in ims.visualisation) == "71.9%"
        assert ims.biopsy_success[0].record_id == "cong2016-biopsy-success"
        assert "US-guided injection" in ims.technique
        assert ims.missing == []

    def test_after_nac_rates_say_what_is_missing(self, evidence):
        rec = recommend(estimate(0.18, 0.12, 0.22), patient(setting="after_nac", neoadjuvant_chemotherapy=True),
                        evidence=evidence)
        ims = rec.im_sentinel
        assert ims.visualisation[0].display == "33.1%"
        assert ims.biopsy_success == [] and ims.missing
        assert any("no biopsy success rate" in s.text for s in rec.rationale)


def test_mri_positive_at_diagnosis_has_no_confirmation_rate(evidence):
    """The evidence base has no confirmation rate of MRI-positive IMLNs at diagnosis: said, not invented."""
    p = patient(findings=[{"modality": "mri", "result": "positive", "short_axis_mm": 6}])
    rec = recommend(estimate(0.4, 0.3, 0.5), p, evidence=evidence)
    assert rec.recommendation is C.image_guided_biopsy
    assert rec.image_guided_biopsy.confirmation == []
    assert rec.image_guided_biopsy.missing


def test_prior_imn_radiotherapy_is_a_caution(evidence):
    p = patient(setting="after_surgery", prior_imn_radiotherapy=True, positive_axillary_nodes=5)
    rec = recommend(estimate(0.5, 0.4, 0.6), p, evidence=evidence)
    assert rec.recommendation is C.imn_radiotherapy
    assert any("re-irradiation" in c for c in rec.cautions)


class TestDecisionContext:
    def test_measurements_only_are_read_by_the_imaging_criteria_engine(self):
        ctx = decision_context(patient(findings=[{"modality": "mri", "short_axis_mm": 8, "long_axis_mm": 10,
                                                  "fatty_hilum": False}]))
        assert ctx.visible_node and ctx.visible_node_modalities == ("mri",)
        assert "imaging criteria engine" in ctx.visible_node_basis[0]

    def test_reader_call_wins_and_negative_is_not_a_finding(self):
        ctx = decision_context(patient(setting="follow_up", findings=[
            {"modality": "mri", "result": "negative", "short_axis_mm": 8},
            {"modality": "lymphoscintigraphy", "result": "positive"}]))
        assert not ctx.visible_node
        assert ctx.finding_present and ctx.finding_modalities == ("lymphoscintigraphy",)
