"""Choice of accuracy records per modality and setting: what is used, what is excluded, and why."""

from __future__ import annotations

import copy
import json

import pytest

from imln.evidence import CheckResult, Setting, audit_evidence, load_evidence
from imln.imaging import evidence_setting, select_accuracy
from imln.schema import load_patient


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


@pytest.fixture(scope="module")
def audit(evidence):
    return audit_evidence(evidence)


def _by_id(choice):
    return {c.record_id: c for c in choice.considered}


class TestSelection:
    def test_mri_newly_diagnosed(self, evidence, audit):
        choice = select_accuracy("mri", "newly_diagnosed", evidence=evidence, audit=audit)
        assert choice.record_id == "mri2016-short-axis-4mm"
        assert (choice.table.tp, choice.table.fn, choice.table.tn, choice.table.fp) == (37, 3, 16, 3)
        assert choice.table.level == "patient" and "inferred from the denominator" in choice.table.level_basis
        seen = _by_id(choice)
        assert seen["radmed1999-mri-size"].status == "not_chosen"
        assert "patient-level" in seen["radmed1999-mri-size"].reasons[0]
        assert seen["review-table1-mri"].status == "not_chosen" and "audit warn" in seen["review-table1-mri"].reasons[0]
        assert seen["review-text-mri-threshold-accuracy"].status == "excluded"
        assert "no 2×2 table" in seen["review-text-mri-threshold-accuracy"].reasons[0]
        assert "reconstruction_surgery does not apply" in seen["review-text-ochoa-mri-sensitivity"].reasons[0]
        assert any("does not state its clinical setting" in w for w in choice.warnings)

    def test_node_level_table_is_marked(self, evidence, audit):
        choice = select_accuracy("mri", "newly_diagnosed", evidence=evidence, audit=audit,
                                 prefer=["radmed1999-mri-size"])
        assert choice.record_id == "radmed1999-mri-size"
        assert choice.table.level == "node" and choice.table.level_basis == "stated in the record"
        assert any("node-level table" in w for w in choice.warnings)

    def test_flagged_record_refused_and_named(self, evidence, audit):
        choice = select_accuracy("us", "after_nac", evidence=evidence, audit=audit, policy="refuse")
        flagged = _by_id(choice)["review-table1-us"]
        assert flagged.status == "excluded" and flagged.audit_status == "fail"
        assert any("accuracy_between_sensitivity_and_specificity" in r for r in flagged.reasons)
        assert any("ppv_reported_as_sensitivity" in r for r in flagged.reasons)
        assert choice.record_id != "review-table1-us"
        assert choice.setting_match == "fallback" and any("after_nac" in w for w in choice.warnings)

    def test_failed_record_with_a_table_refused_downweighted_or_included(self, evidence, audit):
        """A record that passes the audit, marked failed here: refuse drops it, downweight keeps it at 0.25."""
        flagged = copy.deepcopy(audit)
        flagged["ji2020-us-short-diameter"].results.append(CheckResult("value_ranges", "fail", "test failure"))
        prefer = ["ji2020-us-short-diameter"]
        refused = select_accuracy("us", "newly_diagnosed", evidence=evidence, audit=flagged, prefer=prefer)
        assert refused.record_id != "ji2020-us-short-diameter"
        entry = _by_id(refused)["ji2020-us-short-diameter"]
        assert entry.status == "excluded" and entry.reasons == ["audit failed (policy refuse): value_ranges: test failure"]
        down = select_accuracy("us", "newly_diagnosed", evidence=evidence, audit=flagged, prefer=prefer,
                               policy="downweight")
        assert down.record_id == "ji2020-us-short-diameter" and down.weight == 0.25
        assert down.posterior.sensitivity_params == (0.25 * 160 + 0.5, 0.25 * 64 + 0.5)
        assert any("FAILED the evidence audit" in w for w in down.warnings)
        included = select_accuracy("us", "newly_diagnosed", evidence=evidence, audit=flagged, prefer=prefer,
                                   policy="include")
        assert included.record_id == "ji2020-us-short-diameter" and included.weight == 1.0
        assert any("FAILED the evidence audit" in w for w in included.warnings)

    def test_sensitivity_only_row_is_not_a_test(self, evidence, audit):
        choice = select_accuracy("pet_ct", "newly_diagnosed", evidence=evidence, audit=audit)
        assert choice.record_id is None and choice.posterior is None and choice.setting_match == "none"
        reason = _by_id(choice)["review-table1-pet-ct"].reasons[0]
        assert "no unique 2×2 table" in reason and "no non-diseased subjects" in reason and "50+ tables" in reason

    def test_prefer_ranks_the_criterion_record_first(self, evidence, audit):
        choice = select_accuracy("us", "newly_diagnosed", evidence=evidence, audit=audit,
                                 prefer=["ji2020-us-long-diameter"], prefer_reason="criterion")
        assert choice.record_id == "ji2020-us-long-diameter" and choice.reason.startswith("criterion")
        assert _by_id(choice)["ji2020-us-short-diameter"].reasons == [
            (
                "ranked below ji2020-us-long-diameter: not the accuracy record of the deciding criterion "
                "(or of the reader's call)"
            )
        ]

    def test_nothing_is_transferred_after_implant_reconstruction(self, evidence, audit):
        choice = select_accuracy("mri", "after_implant_reconstruction", evidence=evidence, audit=audit)
        assert choice.record_id is None
        assert "1 of 207" in choice.reason and "0.005" in choice.reason and "sutton-implant-mri-ppv" in choice.reason
        assert all(c.status == "excluded" for c in choice.considered)

    def test_no_fallback(self, evidence, audit):
        choice = select_accuracy("us", "after_nac", evidence=evidence, audit=audit, fallback=False)
        assert choice.record_id is None and "fallback to other settings refused" in choice.reason

    def test_posterior_and_estimates(self, evidence, audit):
        choice = select_accuracy("pet_mri", "newly_diagnosed", evidence=evidence, audit=audit)
        assert choice.record_id == "review-table1-pet-mri"
        # Jeffreys: sens ~ Beta(7.5, 1.5), spec ~ Beta(1.5, 0.5)
        assert choice.sensitivity.mean == pytest.approx(7.5 / 9)
        assert choice.specificity.mean == pytest.approx(1.5 / 2)
        assert any("specificity rests on 1 non-diseased" in w for w in choice.warnings)

    def test_json_leaves_out_the_posterior_object(self, evidence, audit):
        payload = json.loads(select_accuracy("mri", "after_nac", evidence=evidence, audit=audit).model_dump_json())
        assert "posterior" not in payload and payload["record_id"] == "mri2016-short-axis-4mm"
        assert {c["status"] for c in payload["considered"]} == {"used", "not_chosen", "excluded"}


class TestEvidenceSetting:
    @pytest.mark.parametrize(
        "setting, nac, implant, expected",
        [
            ("diagnosis", None, None, Setting.newly_diagnosed),
            ("after_nac", True, None, Setting.after_nac),
            ("after_surgery", False, None, Setting.newly_diagnosed),
            ("after_surgery", True, None, Setting.after_nac),
            ("after_surgery", None, True, Setting.newly_diagnosed),
            ("follow_up", None, None, Setting.post_treatment_follow_up),
            ("follow_up", None, True, Setting.after_implant_reconstruction),
        ],
    )
    def test_mapping(self, setting, nac, implant, expected):
        patient = load_patient({"age_years": 50, "laterality": "left", "setting": setting,
                                "neoadjuvant_chemotherapy": nac, "implant_reconstruction": implant})
        assert evidence_setting(patient)[0] is expected
