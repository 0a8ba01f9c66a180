"""Criteria engine: every threshold traceable to the evidence base; rules fire at their thresholds.

The traceability tests read ``data/criteria.yaml`` and the evidence records it
cites, never the engine's own output: a threshold passes only if the same
number is printed in a cited record (its ``criterion`` text or a value).
"""

from __future__ import annotations

import re

import pytest

from imln.evidence import Kind, load_evidence
from imln.imaging import CriteriaError, classify_finding, load_criteria
from imln.schema import ImagingFinding


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


@pytest.fixture(scope="module")
def criteria():
    return load_criteria()


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)", text)]


def _printed_in(evidence, ref: str) -> tuple[str, list[float]]:
    """(where, numbers) for a 'record_id:value_name' or 'record_id:criterion' reference."""
    record_id, name = ref.split(":")
    record = evidence.get(record_id)
    if name == "criterion":
        assert record.criterion, f"{record_id} has no criterion text"
        return record.criterion, _numbers(record.criterion.replace("-", " "))
    assert name in record.values, f"{record_id} has no value {name!r} (values: {sorted(record.values)})"
    return record.values[name].printed, [record.values[name].number]


def _rule_thresholds(rule) -> list[float]:
    if rule.threshold is None:
        return []
    if isinstance(rule.threshold, tuple):
        return list(rule.threshold)
    out = [float(rule.threshold)]
    if rule.size_threshold is not None:
        out.append(float(rule.size_threshold))
    return out


class TestTraceability:
    def test_every_cited_record_exists(self, criteria, evidence):
        for rule in criteria:
            for record_id in rule.evidence + ([rule.accuracy] if rule.accuracy else []):
                assert record_id in evidence, f"{rule.id} cites {record_id}, which is not in the evidence base"
            for ref in rule.threshold_from:
                assert ref.split(":")[0] in rule.evidence, f"{rule.id}: {ref} is not among its evidence records"

    def test_each_threshold_is_printed_in_a_cited_record(self, criteria, evidence):
        """E.g. mri-short-axis-4mm: 4 is in mri2016-short-axis-4mm's criterion 'short axis >= 4 mm';
        us-short-axis-ji2020: 4.5 is ji2020-us-short-diameter's cutoff '4.5' (mm)."""
        checked = 0
        for rule in criteria:
            printed = {ref: _printed_in(evidence, ref) for ref in rule.threshold_from}
            for threshold in _rule_thresholds(rule):
                where = [ref for ref, (_, numbers) in printed.items() if threshold in numbers]
                assert where, f"{rule.id}: threshold {threshold:g} is printed in none of {rule.threshold_from}"
                checked += 1
            if rule.requires is not None:
                _, numbers = _printed_in(evidence, rule.requires.source)
                assert rule.requires.at_least in numbers, f"{rule.id}: requires {rule.requires.at_least:g} not printed"
                checked += 1
        assert checked >= 7  # 4; 4.5, 5; 3, 6; 4.5; 10.5; and the 5 mm long axis of mri2016's cohort

    def test_units_agree_with_the_records(self, criteria, evidence):
        for rule in criteria:
            for ref in rule.threshold_from:
                record_id, name = ref.split(":")
                value = evidence.get(record_id).values.get(name)
                if value is not None and value.unit.value == "mm":
                    assert "mm" in (rule.unit, rule.size_unit), f"{rule.id}: {ref} is in mm, the rule is not"

    def test_reference_criterion_names_the_blood_pool(self, criteria, evidence):
        rule = criteria.get("pet-suv-above-blood-pool")
        assert rule.operator == "above_reference" and rule.reference_field == "suv_blood_pool"
        text, _ = _printed_in(evidence, rule.threshold_from[0])
        assert "blood pool" in text and "SUV" in text

    @pytest.mark.parametrize(
        "rule_id, value_name, positive_means",
        [
            ("mri-fatty-hilum", "percent_absent_fatty_hilum", False),  # absent hilum (False) is the positive sign
            ("mri-diffusion-restriction", "percent_restricted_diffusion", True),
        ],
    )
    def test_feature_direction_follows_the_frequencies(self, criteria, evidence, rule_id, value_name, positive_means):
        """Absent fatty hilum: 95% malignant vs 0% benign; restricted diffusion: 85.0% vs 15.8%."""
        rule = criteria.get(rule_id)
        assert rule.positive_value is positive_means and rule.negative_value is (not positive_means)
        by_status = {}
        for ref in rule.threshold_from:
            record = evidence.get(ref.split(":")[0])
            assert ref.split(":")[1] == value_name
            by_status[record.stratum["node_status"]] = record.values[value_name].number
        assert by_status["malignant"] > by_status["benign"]

    def test_accuracy_links_measure_the_same_criterion(self, criteria, evidence):
        for rule in criteria:
            if rule.accuracy is None:
                continue
            record = evidence.get(rule.accuracy)
            assert record.kind is Kind.diagnostic_accuracy
            assert record.modality in rule.modality
            numbers = _numbers((record.criterion or "").replace("-", " "))
            assert any(t in numbers for t in _rule_thresholds(rule)), f"{rule.id}: {record.id} is another criterion"

    def test_numbers_in_texts_and_notes_come_from_cited_records(self, criteria, evidence):
        """Context and caution texts quote figures (96%, 13 of 46, P = 0.5407 ...): each must be printed in a
        cited record. Reference numbers [24], years (Ji 2020) and intercostal-space labels (ICS 1-4) are names."""
        for rule in criteria:
            printed: set[float] = set()
            for record_id in rule.evidence + ([rule.accuracy] if rule.accuracy else []):
                record = evidence.get(record_id)
                printed |= {v.number for v in record.values.values()}
                printed |= set(_numbers((record.criterion or "").replace("-", " ")))
            for text in (rule.text, rule.text_missing, rule.text_present, rule.note,
                         rule.caution_when_positive.text if rule.caution_when_positive else None):
                if not text:
                    continue
                names = re.sub(r"\[[\d,\s–-]+\]|\b(19|20)\d\d\b|ICS \d(-\d)?|\{value\}", " ", text)
                for number in _numbers(names.replace("-", " ")):
                    assert number in printed, f"{rule.id}: {number:g} in {text!r} is in none of its records"

    def test_not_implemented_is_listed(self, criteria):
        names = " ".join(n["criterion"] for n in criteria.not_implemented)
        assert "CT size threshold" in names and "cortical thickness" in names

    def test_version_and_digest(self, criteria):
        assert criteria.version and len(criteria.digest) == 64


def _outcome(finding: dict, rule_id: str, *, criteria=None, setting=None, extra=None):
    result = classify_finding(ImagingFinding(**finding), criteria=criteria, setting=setting, extra=extra)
    return next(o for o in result.outcomes if o.rule_id == rule_id), result


class TestRulesFire:
    @pytest.mark.parametrize(
        "rule_id, finding, field, above, below",
        [
            ("mri-short-axis-4mm", {"modality": "mri", "long_axis_mm": 10}, "short_axis_mm", 4.0, 3.99),
            ("mri-size-review-4.5-5mm", {"modality": "mri"}, "short_axis_mm", 5.0, 4.49),
            ("us-short-axis-ji2020", {"modality": "us"}, "short_axis_mm", 4.5, 4.49),
            ("us-long-axis-ji2020", {"modality": "us"}, "long_axis_mm", 10.5, 10.49),
        ],
    )
    def test_size_thresholds(self, rule_id, finding, field, above, below):
        at, _ = _outcome({**finding, field: above}, rule_id)
        under, _ = _outcome({**finding, field: below}, rule_id)
        assert at.outcome == "positive" and "≥" in at.explanation
        assert under.outcome == "negative" and "<" in under.explanation
        assert rule_id in (at.rule_id, under.rule_id) and at.evidence and at.citations

    def test_band_is_indeterminate_inside_the_published_range(self):
        inside, result = _outcome({"modality": "mri", "short_axis_mm": 4.7}, "mri-size-review-4.5-5mm")
        assert inside.outcome == "indeterminate" and "4.5–5 mm" in inside.explanation
        assert result.result == "indeterminate"

    def test_mri_4mm_rule_outside_its_derivation_population(self):
        out, _ = _outcome({"modality": "mri", "short_axis_mm": 4.5, "long_axis_mm": 4.9}, "mri-short-axis-4mm")
        assert out.outcome == "outside_range" and "long axis" in out.explanation
        noted, _ = _outcome({"modality": "mri", "short_axis_mm": 6}, "mri-short-axis-4mm")
        assert noted.outcome == "positive" and "long_axis_mm not given" in noted.explanation

    @pytest.mark.parametrize(
        "rule_id, field, positive, negative",
        [("mri-fatty-hilum", "fatty_hilum", False, True), ("mri-diffusion-restriction", "diffusion_restriction", True, False)],
    )
    def test_features(self, rule_id, field, positive, negative):
        assert _outcome({"modality": "mri", field: positive, "node_count": 1}, rule_id)[0].outcome == "positive"
        assert _outcome({"modality": "mri", field: negative, "node_count": 1}, rule_id)[0].outcome == "negative"

    def test_diffusion_positive_carries_the_vein_caution(self):
        _, result = _outcome({"modality": "mri", "diffusion_restriction": True, "node_count": 1}, "mri-diffusion-restriction")
        assert any("internal mammary vein" in c for c in result.cautions)

    def test_suv_above_blood_pool(self):
        above, result = _outcome({"modality": "pet_ct", "suv_max": 2.01}, "pet-suv-above-blood-pool",
                                 extra={"suv_blood_pool": 2.0})
        same, _ = _outcome({"modality": "pet_ct", "suv_max": 2.0}, "pet-suv-above-blood-pool",
                           extra={"suv_blood_pool": 2.0})
        assert above.outcome == "positive" and same.outcome == "negative"
        assert any("reactive hyperplasia" in c for c in result.cautions)

    def test_node_count_rule(self):
        counted = load_criteria(overrides={"mri-node-count-patel": {"count_is_of_nodes_at_or_above_size": True}})
        base = {"modality": "mri", "side": "ipsilateral"}
        fires, _ = _outcome({**base, "node_count": 3, "short_axis_mm": 6}, "mri-node-count-patel", criteria=counted)
        assert fires.outcome == "positive"
        for below in ({"node_count": 2, "short_axis_mm": 8}, {"node_count": 5, "short_axis_mm": 5.9}):
            out, _ = _outcome({**base, **below}, "mri-node-count-patel", criteria=counted)
            assert out.outcome == "not_met"  # a suspicion rule never votes negative
        maybe, result = _outcome({**base, "node_count": 3, "short_axis_mm": 6}, "mri-node-count-patel")
        assert maybe.outcome == "possible" and "only the largest node" in maybe.explanation
        assert any("may be met" in c for c in result.cautions)
        other_side, _ = _outcome({**base, "side": "contralateral", "node_count": 4, "short_axis_mm": 7},
                                 "mri-node-count-patel", criteria=counted)
        assert other_side.outcome == "not_applicable"
        follow_up, _ = _outcome({**base, "node_count": 4, "short_axis_mm": 7}, "mri-node-count-patel",
                                criteria=counted, setting="post_treatment_follow_up")
        assert follow_up.outcome == "not_applicable"

    def test_sternal_erosion_is_a_caution_not_a_positive(self):
        ct = classify_finding(ImagingFinding(modality="ct", short_axis_mm=9, sternal_erosion=True))
        assert ct.result == "indeterminate" and "no sourced criterion" in ct.explanation
        assert any("sternal metastasis" in c for c in ct.cautions)
        mri = classify_finding(ImagingFinding(modality="mri", short_axis_mm=3, long_axis_mm=6, sternal_erosion=True))
        assert mri.result == "negative" and any("sternal" in c for c in mri.cautions)
        erosion = next(o for o in mri.outcomes if o.rule_id == "sternal-erosion-differential")
        assert erosion.outcome == "caution" and erosion.vote is None

    def test_context_rules_do_not_vote(self):
        result = classify_finding(ImagingFinding(modality="us", short_axis_mm=3, long_axis_mm=6, intercostal_space=5,
                                                 shape="irregular", doppler_flow="hilar"))
        assert result.result == "negative"
        assert set(result.decided_by) == {"us-short-axis-ji2020", "us-long-axis-ji2020"}
        text = " ".join(result.context)
        assert "Intercostal space 5" in text and "first to third" in text
        assert "Shape irregular" in text and "Colour Doppler recorded (hilar flow)" in text
        no_doppler = classify_finding(ImagingFinding(modality="us", short_axis_mm=3))
        assert any("perforating" in c for c in no_doppler.context)


class TestIndeterminate:
    def test_missing_fields_are_named(self):
        result = classify_finding(ImagingFinding(modality="mri", node_count=1))
        assert result.result == "indeterminate"
        assert "no criterion could be applied" in result.explanation
        assert {"short_axis_mm", "fatty_hilum", "diffusion_restriction"} <= set(result.missing_fields)
        assert "short_axis_mm not given" in result.explanation

    def test_missing_reference_measurement(self):
        result = classify_finding(ImagingFinding(modality="pet_ct", suv_max=6.0))
        assert result.result == "indeterminate" and result.missing_fields == ["suv_blood_pool"]
        assert "suv_blood_pool not given" in result.explanation

    def test_disagreeing_rules(self):
        result = classify_finding(ImagingFinding(modality="us", short_axis_mm=5, long_axis_mm=9))
        assert result.result == "indeterminate" and result.decided_by == []
        assert "rules disagree" in result.explanation
        assert "us-short-axis-ji2020 says positive" in result.explanation
        assert "us-long-axis-ji2020 says negative" in result.explanation

    def test_modality_without_criteria(self):
        result = classify_finding(ImagingFinding(modality="spect_ct", result="positive"))
        assert result.result == "indeterminate" and "enter the reader's call" in result.explanation
        assert result.not_implemented

    def test_agreeing_rules_decide_and_name_their_accuracy(self):
        result = classify_finding(ImagingFinding(modality="mri", short_axis_mm=7, long_axis_mm=9, fatty_hilum=False))
        assert result.result == "positive"
        assert result.decided_by == ["mri-short-axis-4mm", "mri-size-review-4.5-5mm", "mri-fatty-hilum"]
        assert result.accuracy_records == ["mri2016-short-axis-4mm", "radmed1999-mri-size"]


class TestOverrides:
    def test_threshold_override_fires_at_the_new_threshold_and_drops_the_accuracy(self):
        criteria = load_criteria(overrides={"us-short-axis-ji2020": {"threshold": 6}})
        rule = criteria.get("us-short-axis-ji2020")
        assert rule.threshold == 6 and rule.accuracy is None and rule.overridden == {"threshold": 4.5}
        out, result = _outcome({"modality": "us", "short_axis_mm": 5.5}, "us-short-axis-ji2020", criteria=criteria)
        assert out.outcome == "negative" and "overridden (threshold 4.5 → 6)" in out.explanation
        assert result.accuracy_records == []

    def test_disable(self):
        criteria = load_criteria(overrides={"us-long-axis-ji2020": {"enabled": False}})
        result = classify_finding(ImagingFinding(modality="us", short_axis_mm=5, long_axis_mm=9), criteria=criteria)
        assert result.result == "positive" and result.decided_by == ["us-short-axis-ji2020"]

    def test_bad_overrides(self):
        with pytest.raises(CriteriaError, match=r"override names rule 'nope', which does not exist"):
            load_criteria(overrides={"nope": {"threshold": 1}})
        with pytest.raises(CriteriaError, match=r"may not change \['evidence'\]"):
            load_criteria(overrides={"mri-short-axis-4mm": {"evidence": []}})
        with pytest.raises(CriteriaError, match=r"band needs threshold \[low, high\]"):
            load_criteria(overrides={"mri-size-review-4.5-5mm": {"threshold": [5, 4]}})

    def test_malformed_file(self, tmp_path):
        path = tmp_path / "criteria.yaml"
        path.write_text("rules:\n  - id: x\n    modality: [mri]\n    field: short_axis_mm\n    operator: at_least\n"
                        "    role: classifier\n    evidence: [a]\n")
        with pytest.raises(CriteriaError, match=r"rule 'x'[\s\S]*needs threshold, unit"):
            load_criteria(path)
