"""assess_imaging: post-test probabilities against hand computations, for every accuracy row it uses.

Hand computation, for a 2×2 table (TP, FN, TN, FP) under the Jeffreys prior
Beta(0.5, 0.5)::

    sens = (TP + 0.5) / (TP + FN + 1)      spec = (TN + 0.5) / (TN + FP + 1)
    LR+  = sens / (1 − spec)               LR−  = (1 − sens) / spec
    pre-odds = p / (1 − p)                 post-odds = pre-odds × LR
    post = post-odds / (1 + post-odds)

With p = 0.20 (pre-odds 0.25) the rows give (worked with a calculator):

=========================  ================  =============  ==========  =========  =========  =========
record                     TP FN TN FP       sens           spec        LR+        post(+)    post(−)
=========================  ================  =============  ==========  =========  =========  =========
mri2016-short-axis-4mm     37  3 16  3       37.5/41        16.5/20     5.226481   0.566465   0.025216
radmed1999-mri-size        14  1 25  3       14.5/16        25.5/29     7.508929   0.652444   0.025962
ji2020-us-short-diameter  160 64 42 12       160.5/225      42.5/55     3.138667   0.439671   0.084873
ji2020-us-long-diameter   141 83 49  5       141.5/225      49.5/55     6.288889   0.611231   0.093453
ji2020-us-size-structure  166 58 45  9       166.5/225      45.5/55     4.284211   0.517154   0.072848
review-table1-pet-mri       7  1  1  0       7.5/9          1.5/2       3.333333   0.454545   0.052632
=========================  ================  =============  ==========  =========  =========  =========
"""

from __future__ import annotations

import json

import pytest
from numpy.testing import assert_allclose

from imln.evidence import audit_evidence, load_evidence
from imln.imaging import PretestProbability, assess_imaging, load_criteria
from imln.schema import load_patient

PRETEST = 0.20


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


@pytest.fixture(scope="module")
def audit(evidence):
    return audit_evidence(evidence)


def patient(*findings: dict, setting: str = "diagnosis", **fields) -> object:
    return load_patient({"age_years": 50, "laterality": "left", "setting": setting, "findings": list(findings), **fields})


def hand(tp: int, fn: int, tn: int, fp: int, result: str, p: float = PRETEST) -> tuple[float, float]:
    """(LR, post-test probability) by the formulas of the module docstring."""
    sens = (tp + 0.5) / (tp + fn + 1)
    spec = (tn + 0.5) / (tn + fp + 1)
    lr = sens / (1 - spec) if result == "positive" else (1 - sens) / spec
    odds = p / (1 - p) * lr
    return lr, odds / (1 + odds)


#: (record, table, finding, criteria overrides): a finding for which assess_imaging uses that record.
ROWS = [
    ("mri2016-short-axis-4mm", (37, 3, 16, 3), {"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9}, None),
    ("radmed1999-mri-size", (14, 1, 25, 3), {"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9},
     {"mri-short-axis-4mm": {"enabled": False}}),
    ("ji2020-us-short-diameter", (160, 64, 42, 12), {"modality": "us", "short_axis_mm": 5}, None),
    ("ji2020-us-long-diameter", (141, 83, 49, 5), {"modality": "us", "long_axis_mm": 11}, None),
    ("ji2020-us-size-structure-combined", (166, 58, 45, 9), {"modality": "us", "result": "positive"}, None),
    ("review-table1-pet-mri", (7, 1, 1, 0), {"modality": "pet_mri", "result": "positive"}, None),
]


class TestHandComputation:
    @pytest.mark.parametrize("record_id, table, finding, overrides", ROWS, ids=[r[0] for r in ROWS])
    def test_positive_row(self, evidence, audit, record_id, table, finding, overrides):
        criteria = load_criteria(overrides=overrides)
        a = assess_imaging(patient(finding), PRETEST, evidence=evidence, audit=audit, criteria=criteria)
        f = a.findings[0]
        assert f.result == "positive" and f.applied
        assert f.accuracy.record_id == record_id
        assert (f.accuracy.table.tp, f.accuracy.table.fn, f.accuracy.table.tn, f.accuracy.table.fp) == table
        lr, post = hand(*table, "positive")
        assert_allclose(f.lr_applied.point, lr, rtol=1e-12)
        assert_allclose(a.posttest.point, post, rtol=1e-12)
        assert a.posttest.lower < a.posttest.point < a.posttest.upper
        assert f.lr_positive.lower < f.lr_positive.point < f.lr_positive.upper

    @pytest.mark.parametrize("record_id, table, finding, overrides", ROWS, ids=[r[0] for r in ROWS])
    def test_negative_likelihood_ratio(self, evidence, audit, record_id, table, finding, overrides):
        """LR− of every row; applied to a reader's negative call of the modality."""
        criteria = load_criteria(overrides=overrides)
        a = assess_imaging(patient(finding), PRETEST, evidence=evidence, audit=audit, criteria=criteria)
        assert_allclose(a.findings[0].lr_negative.point, hand(*table, "negative")[0], rtol=1e-12)

    def test_table_values(self):
        """The numbers in the module docstring."""
        assert_allclose(hand(37, 3, 16, 3, "positive"), (5.226481, 0.566465), atol=5e-7)
        assert_allclose(hand(160, 64, 42, 12, "negative"), (0.370980, 0.084873), atol=5e-7)
        assert_allclose(hand(7, 1, 1, 0, "positive"), (10 / 3, 0.454545), atol=5e-7)

    def test_negative_reader_call(self, evidence, audit):
        a = assess_imaging(patient({"modality": "us", "result": "negative"}), PRETEST, evidence=evidence, audit=audit)
        assert a.findings[0].accuracy.record_id == "ji2020-us-size-structure-combined"
        assert_allclose(a.posttest.point, hand(166, 58, 45, 9, "negative")[1], rtol=1e-12)

    def test_two_findings_multiply(self, evidence, audit):
        """MRI positive (LR+ 5.226481) then US negative by criteria (short axis 3 mm: LR− 0.370980):
        post-odds = 0.25 × 5.226481 × 0.370980 = 0.484730; post = 0.326477."""
        p = patient({"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9},
                    {"modality": "us", "short_axis_mm": 3})
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit)
        odds = 0.25 * hand(37, 3, 16, 3, "positive")[0] * hand(160, 64, 42, 12, "negative")[0]
        assert_allclose(a.posttest.point, odds / (1 + odds), rtol=1e-12)
        assert_allclose(a.posttest.point, 0.326477, atol=5e-7)
        assert a.posttest.findings_applied == [0, 1] and a.posttest.method == "independent"
        assert [s.label for s in a.steps] == ["pre-test", "+ mri positive (finding 0)", "+ us negative (finding 1)"]
        assert_allclose(a.steps[1].point, hand(37, 3, 16, 3, "positive")[1], rtol=1e-12)
        assert a.steps[-1].point == a.posttest.point and a.steps[-1].upper == a.posttest.upper
        assert any("conditional independence" in w for w in a.warnings)

    def test_most_informative(self, evidence, audit):
        """|ln 5.226481| = 1.654 > |ln 0.370980| = 0.992: only the MRI is applied."""
        p = patient({"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9},
                    {"modality": "us", "short_axis_mm": 3})
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, combine="most_informative")
        assert_allclose(a.posttest.point, hand(37, 3, 16, 3, "positive")[1], rtol=1e-12)
        assert a.posttest.findings_applied == [0]
        us = a.findings[1]
        assert not us.applied and "most_informative" in us.effect and us.lr_applied is None
        assert not any("conditional independence" in w for w in a.warnings)


class TestBehaviour:
    def test_no_pretest_gives_likelihood_ratios_only(self, evidence, audit):
        a = assess_imaging(patient({"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9}), None,
                           evidence=evidence, audit=audit)
        assert a.posttest is None and a.pretest is None and a.steps == []
        assert_allclose(a.findings[0].lr_positive.point, hand(37, 3, 16, 3, "positive")[0], rtol=1e-12)
        assert any("needs a pre-test probability" in n for n in a.notes)

    def test_indeterminate_leaves_the_probability_unchanged(self, evidence, audit):
        a = assess_imaging(patient({"modality": "us", "short_axis_mm": 5, "long_axis_mm": 9}), PRETEST,
                           evidence=evidence, audit=audit)
        f = a.findings[0]
        assert f.result == "indeterminate" and not f.applied and "unchanged" in f.effect
        assert "rules disagree" in f.criteria.explanation
        assert a.posttest.point == PRETEST and a.posttest.method == "none"
        assert any("leaves the probability unchanged" in n for n in a.notes)

    def test_indeterminate_with_beta_pretest_keeps_its_interval(self, evidence, audit):
        pre = PretestProbability.from_beta(4, 16)
        a = assess_imaging(patient({"modality": "mri", "result": "indeterminate"}), pre, evidence=evidence, audit=audit)
        assert (a.posttest.lower, a.posttest.upper) == pre.interval()

    def test_user_result_wins_and_the_engine_is_shown(self, evidence, audit):
        a = assess_imaging(patient({"modality": "mri", "result": "negative", "short_axis_mm": 8, "long_axis_mm": 10}),
                           PRETEST, evidence=evidence, audit=audit)
        f = a.findings[0]
        assert f.result == "negative" and f.result_source == "user" and f.decided_by == []
        assert f.criteria.result == "positive" and f.engine_agrees is False
        assert any("differs from the criteria engine's 'positive'" in w for w in a.warnings)
        assert_allclose(a.posttest.point, hand(37, 3, 16, 3, "negative")[1], rtol=1e-12)

    def test_engine_decides_without_a_user_result(self, evidence, audit):
        a = assess_imaging(patient({"modality": "us", "short_axis_mm": 5}), PRETEST, evidence=evidence, audit=audit)
        f = a.findings[0]
        assert f.result_source == "criteria" and f.decided_by == ["us-short-axis-ji2020"]
        assert "the criterion that decided" in f.accuracy.reason

    def test_no_usable_accuracy(self, evidence, audit):
        a = assess_imaging(patient({"modality": "ct", "result": "positive"}), PRETEST, evidence=evidence, audit=audit)
        f = a.findings[0]
        assert f.result == "positive" and not f.applied and f.lr_positive is None
        assert "no usable ct accuracy" in f.effect and a.posttest.point == PRETEST

    def test_implant_follow_up(self, evidence, audit):
        p = patient({"modality": "mri", "result": "positive"}, setting="follow_up", implant_reconstruction=True)
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit)
        assert a.evidence_setting.value == "after_implant_reconstruction"
        assert not a.findings[0].applied and any("0.005" in w for w in a.warnings)

    def test_contralateral_finding_not_applied(self, evidence, audit):
        a = assess_imaging(patient({"modality": "us", "result": "positive", "side": "contralateral"}), PRETEST,
                           evidence=evidence, audit=audit)
        assert not a.findings[0].applied and "contralateral" in a.findings[0].effect

    def test_shared_component_warning(self, evidence, audit):
        p = patient({"modality": "mri", "result": "positive"}, {"modality": "pet_mri", "result": "positive"})
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit)
        assert any("PET/MRI contains an MRI" in w for w in a.warnings)

    def test_extra_measurement(self, evidence, audit):
        p = patient({"modality": "pet_ct", "suv_max": 5.0})
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, extra={0: {"suv_blood_pool": 2.0}})
        assert a.findings[0].criteria.result == "positive" and a.findings[0].result == "positive"
        assert not a.findings[0].applied  # no PET/CT accuracy row with a table

    def test_json_and_reproducibility(self, evidence, audit):
        p = patient({"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9}, {"modality": "us", "result": "negative"})
        one = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, seed=7, n_draws=4_000)
        two = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, seed=7, n_draws=4_000)
        assert one.model_dump_json() == two.model_dump_json()
        payload = json.loads(one.model_dump_json())
        assert payload["posttest"]["seed"] == 7 and payload["posttest"]["n_draws"] == 4_000
        assert payload["findings"][0]["accuracy"]["record_id"] == "mri2016-short-axis-4mm"
        assert payload["evidence_version"] == evidence.version and payload["criteria_digest"]
        other = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, seed=8, n_draws=4_000)
        assert other.posttest.point == one.posttest.point and other.posttest.lower != one.posttest.lower

    def test_finding_lr_interval_is_the_posttest_lr_interval(self, evidence, audit):
        """One applied finding: its likelihood ratio interval and the post-test's come from the same draws
        (the tests' stream of the seed), whatever the pre-test distribution."""
        p = patient({"modality": "us", "result": "negative"})
        for pre in (PRETEST, PretestProbability.from_interval(0.2, 0.12, 0.3)):
            a = assess_imaging(p, pre, evidence=evidence, audit=audit, seed=3, n_draws=4_000)
            lr = a.findings[0].lr_applied
            assert (lr.lower, lr.upper) == (a.posttest.lr_lower, a.posttest.lr_upper)

    def test_no_findings(self, evidence, audit):
        a = assess_imaging(patient(), PRETEST, evidence=evidence, audit=audit)
        assert a.findings == [] and a.posttest.point == PRETEST
        assert any("no imaging findings" in n for n in a.notes)

    def test_bad_combine(self, evidence, audit):
        with pytest.raises(ValueError, match="combine must be one of"):
            assess_imaging(patient(), PRETEST, evidence=evidence, audit=audit, combine="sum")

    def test_imaging_setting_override(self, evidence, audit):
        p = patient({"modality": "us", "result": "positive"}, setting="follow_up")
        assert not assess_imaging(p, PRETEST, evidence=evidence, audit=audit).findings[0].applied
        a = assess_imaging(p, PRETEST, evidence=evidence, audit=audit, imaging_setting="newly_diagnosed")
        assert a.findings[0].applied and a.setting_basis == "imaging_setting given by the caller"
