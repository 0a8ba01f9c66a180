"""Thresholds as data: every default has a basis, choices say so, users can override them."""

from __future__ import annotations

import pytest

from imln.decision import DecisionDataError, default_thresholds, load_thresholds
from imln.decision._thresholds import THRESHOLD_NAMES


class TestBundled:
    def test_every_threshold_has_a_basis_and_no_choice_poses_as_evidence(self, thresholds, evidence):
        assert set(thresholds.thresholds) == set(THRESHOLD_NAMES)
        for name, t in [*thresholds.thresholds.items(), *thresholds.rules.items()]:
            assert t.basis in ("cited", "choice"), name
            if t.basis == "choice":
                assert t.evidence is None and "choice" in t.note.lower(), name
                assert "default choice" in t.note.lower(), name
            else:
                assert t.evidence is not None
        assert thresholds.check_against(evidence) == []

    def test_defaults(self, thresholds):
        assert (thresholds.omit_below, thresholds.radiotherapy_at, thresholds.follow_up_work_up_at) == (0.10, 0.25, 0.10)
        assert thresholds.rules["tissue_first_with_visible_node_in"].value == ["diagnosis"]
        assert thresholds.rules["after_surgery_band_action"].value == "omit_imn_directed_treatment"
        assert len(thresholds.digest) == 64 and thresholds.source == "bundled"


class TestOverrides:
    def test_keyword_override_becomes_user(self, thresholds):
        t = thresholds.with_values(omit_below=0.05)
        assert t.omit_below == 0.05 and t.thresholds["omit_below"].basis == "user"
        assert "default 0.1, choice" in t.thresholds["omit_below"].note
        assert t.radiotherapy_at == thresholds.radiotherapy_at and t.digest != thresholds.digest
        assert thresholds.omit_below == 0.10  # the default set is unchanged

    def test_order_is_enforced(self, thresholds):
        with pytest.raises(DecisionDataError, match="omit_below .* must be below radiotherapy_at"):
            thresholds.with_values(omit_below=0.3)

    @pytest.mark.parametrize("name, value, message", [
        ("omit_below", 1.5, "less than 1"),
        ("omit_below", True, "not true/false"),
        ("nonsense", 0.2, "unknown threshold or rule 'nonsense'"),
        ("after_surgery_band_action", "biopsy", "after_surgery_band_action must be one of"),
        ("tissue_first_with_visible_node_in", ["follow_up"], "must be a list of"),
    ])
    def test_bad_values_name_the_field(self, thresholds, name, value, message):
        with pytest.raises(DecisionDataError, match=message):
            thresholds.with_values(**{name: value})

    def test_yaml_file_with_bare_and_full_entries(self, tmp_path):
        path = tmp_path / "ours.yaml"
        path.write_text(
            "thresholds:\n"
            "  omit_below: 0.05\n"
            "  radiotherapy_at:\n"
            "    value: 0.3\n"
            "    basis: choice\n"
            "    note: Our tumour board's choice.\n"
            "rules:\n"
            "  after_surgery_band_action: omit_imn_directed_treatment\n",
            encoding="utf-8",
        )
        t = load_thresholds(path, follow_up_work_up_at=0.2)
        assert t.omit_below == 0.05 and t.thresholds["omit_below"].basis == "user"
        assert "ours.yaml" in t.thresholds["omit_below"].note
        assert t.radiotherapy_at == 0.3 and t.thresholds["radiotherapy_at"].basis == "choice"
        assert t.rules["after_surgery_band_action"].value == "omit_imn_directed_treatment"
        assert t.follow_up_work_up_at == 0.2 and t.thresholds["follow_up_work_up_at"].basis == "user"
        assert str(path) in t.source

    def test_a_cited_threshold_must_match_its_record(self, tmp_path, evidence):
        good = tmp_path / "cited.yaml"
        good.write_text(
            "thresholds:\n  follow_up_work_up_at:\n    value: 0.005\n    basis: cited\n"
            "    evidence: {record: sutton-implant-mri-ppv, value: proportion}\n", encoding="utf-8")
        t = load_thresholds(good)
        assert t.thresholds["follow_up_work_up_at"].basis_text == "cited: sutton-implant-mri-ppv (proportion)"
        assert t.check_against(evidence) == []
        bad = tmp_path / "bad.yaml"
        bad.write_text(good.read_text().replace("0.005", "0.05"), encoding="utf-8")
        assert "does not match sutton-implant-mri-ppv:proportion = 0.005" in load_thresholds(bad).check_against(
            evidence)[0]

    @pytest.mark.parametrize("body, message", [
        ("thresholds:\n  omit_below:\n    value: 0.1\n    basis: cited\n", "needs 'evidence'"),
        ("thresholds:\n  omit_below:\n    value: 0.1\n    basis: choice\n    note: Our number.\n",
         "must say that it is a"),
        (("thresholds:\n  omit_below:\n    value: 0.1\n    basis: choice\n    note: A choice.\n"
         "    evidence: {record: x, value: y}\n"), "must not name 'evidence'"),
        ("thresholds:\n  made_up: 0.1\n", "unknown threshold 'made_up'"),
        ("thresholds: [1, 2]\n", "must be mappings"),
        ("thresholds: {omit_below: 0.1\n", "not valid YAML"),
    ])
    def test_malformed_files_are_refused_with_the_field(self, tmp_path, body, message):
        path = tmp_path / "t.yaml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(DecisionDataError, match=message):
            load_thresholds(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(DecisionDataError, match="no such file"):
            load_thresholds(tmp_path / "absent.yaml")


def test_default_thresholds_is_cached():
    assert default_thresholds() is default_thresholds()
