"""The evidence records the decision package reads exist, say what they are used for, and pass the audit."""

from __future__ import annotations

import re

import pytest

import imln
from imln.decision import load_sources

WORDS = {8: "eight", 10: "ten", 15: "fifteen"}


@pytest.fixture(scope="module")
def sources():
    return load_sources()


@pytest.fixture(scope="module")
def audit(evidence):
    return imln.audit_evidence(evidence)


def _record_ids(sources) -> set[str]:
    ids: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("record"), str):
                ids.add(node["record"])
            for key in ("records", "related_records", "context"):
                ids.update(node.get(key) or [])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(sources.model_dump())
    ids.update(sources.radiotherapy.benefit_sources)
    return ids


def test_every_reference_resolves(sources, evidence, thresholds):
    assert sources.check_against(evidence) == []
    assert thresholds.check_against(evidence) == []


def test_no_record_used_fails_the_audit(sources, evidence, audit, thresholds):
    """The audit's 'refuse' policy would leave failed records out; none is used here."""
    used = _record_ids(sources) | {r for t in [*thresholds.thresholds.values(), *thresholds.rules.values()]
                                   for r in t.context}
    failed = sorted(r for r in used if audit[r].status == "fail")
    assert failed == []


def test_radiotherapy_horizons_match_the_statements(sources, evidence):
    for record_id, src in sources.radiotherapy.benefit_sources.items():
        h = int(src.horizon_years)
        text = evidence.get(record_id).statement.lower()
        patterns = [rf"\b{h}-year", rf"\b{h} years", rf"\b{WORDS.get(h, '@')}-year"]
        assert any(re.search(p, text) for p in patterns), (record_id, h, text)


def test_records_measure_what_they_are_used_for(sources, evidence):
    ims = sources.im_sentinel
    for route, setting in (("initial_surgery", "newly_diagnosed"), ("after_nac", "after_nac")):
        cfg = getattr(ims, route)
        for ref in cfg.visualisation:
            record = evidence.get(ref.record)
            assert record.measures == "im_sln_visualisation" and record.setting.value == setting
        for ref in cfg.biopsy_success:
            assert evidence.get(ref.record).measures == "im_sln_biopsy_success"
    for b in sources.image_guided_biopsy:
        assert evidence.get(b.record).measures == "imaging_positive_confirmed", b.record
    for ref in sources.post_treatment.recurrence_rates:
        assert evidence.get(ref.record).measures == "imn_recurrence"
    for record_id in sources.radiotherapy.benefit_sources:
        assert evidence.get(record_id).kind.value == "effect_estimate"
        assert {"percent_rni", "percent_control"} <= set(evidence.get(record_id).values)
    dose = evidence.get(sources.radiotherapy.dose_response.record)
    assert dose.values["excess_relative_risk_per_gy"].ci95 == ("2.9%", "14.5%")


def test_qualitative_statements_carry_no_number(sources):
    texts = [q.text for q in sources.post_treatment.confounders] + [sources.post_treatment.advice.text]
    texts += [m.text for m in sources.radiotherapy.modifiers]
    assert not [t for t in texts if re.search(r"\d", t)]
