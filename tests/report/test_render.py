"""Generic rendering: sections appear without renderer changes; shapes get their special rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import imln
from imln.report import (
    headline_probability,
    model_versions,
    register_section,
    render_assessment,
    render_html,
    risk_estimate,
)
from imln.report._adapter import as_probability
from imln.report._render import SECTION_RENDERERS

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def doc():
    return imln.assess(imln.load_patient(EXAMPLES / "medial_4plus_nodes.yaml")).model_dump(mode="json")


def section(rendered, name):
    return next(s for s in rendered.sections if s.name == name)


class TestAdapter:
    def test_shapes(self):
        assert as_probability({"point": 0.2, "lower": 0.1, "upper": 0.3}).has_interval
        assert as_probability({"probability": 0.2, "ci95": [0.1, 0.3]}).level == 0.95
        assert as_probability({"estimate": 0.2, "interval": [0.1, 0.3], "level": 95}).level == 0.95
        assert as_probability({"point": 1.5}) is None  # not a probability
        assert as_probability({"mean": 0.2}) is None  # no interval and no explicit point key
        assert not as_probability({"point": 0.5, "lower": 0.6, "upper": 0.7}).has_interval  # does not bracket
        r = as_probability({"probability": None, "probability_range": [0.2, 0.6]})
        assert r.point is None and (r.lower, r.upper) == (0.2, 0.6)
        assert r.percent_text() == "between 20.0% and 60.0%"

    def test_risk_estimate_reads_the_risk_section(self, doc):
        est = risk_estimate(doc)
        if doc["risk"] is None:
            assert est is None
        else:
            assert est is not None and 0 <= (est.point if est.point is not None else est.lower) <= 1
        assert risk_estimate({**doc, "risk": None}) is None

    def test_model_versions(self):
        d = {"risk": {"model_id": "m1", "model_version": "2"}, "imaging": {"models": [{"model": "m2", "version": 3}]}}
        assert model_versions(d) == {"m1": "2", "m2": "3"}
        assert model_versions({"risk": None}) == {}


class TestGeneric:
    def test_every_non_null_section_is_rendered(self, doc):
        rendered = render_assessment(doc)
        names = {s.name for s in rendered.sections}
        for key, value in doc.items():
            if isinstance(value, (dict, list)) and value:
                assert key in names, key
        assert {"Imaging: post-test probability", "Recommendation"} <= set(rendered.unavailable) or doc["imaging"]

    def test_a_new_section_appears_without_code_changes(self, doc):
        new = {**doc, "radiotherapy_balance": {"net_benefit_percent": 1.5, "heart_events": [{"outcome": "MCE", "excess_percent": 0.4}]}}
        html = render_html(new)
        assert "Radiotherapy balance" in html and "1.5%" in html and "MCE" in html

    def test_probability_interval_and_pre_post_charts(self, doc):
        d = {**doc, "decision": None, "imaging": {"pretest_probability": {"point": 0.2, "lower": 0.1, "upper": 0.3},
                                "posttest_probability": {"point": 0.6, "lower": 0.45, "upper": 0.74},
                                "lr_point": 6.0}}
        rendered = render_assessment(d)
        html = section(rendered, "imaging").html
        assert "60.0% (interval 45.0–74.0%)" in html
        assert 'class="chart pre-post"' in html and 'class="chart fagan"' in html
        assert "likelihood ratio 6" in html
        # without a decision no probability was used for one: no headline number (it used to
        # take the imaging section's post-test probability, found by shape)
        assert rendered.headline_text is None and rendered.presentation.headline.basis == "none"
        assert [s.name for s in rendered.sections].index("imaging") < [s.name for s in rendered.sections].index("risk")

    def test_citations_resolve_to_links_and_a_reference_list(self, doc):
        ev = imln.load_evidence()
        key = next(iter(ev.references))
        record = next(r for r in ev if r.citation == key) if any(r.citation == key for r in ev) else None
        d = {**doc, "decision": {"recommendation": "Consider IMN irradiation", "citations": [key, "not-a-key"]}}
        rendered = render_assessment(d)
        html = section(rendered, "decision").html
        assert f'href="#ref-{key}"' in html and "not-a-key" in html
        refs = section(rendered, "references").html
        ref = ev.reference(key)
        assert f'id="ref-{key}"' in refs and (ref.url is None or ref.url in refs)
        assert rendered.recommendation == "Consider IMN irradiation"
        if record is not None:
            d2 = {**doc, "decision": {"sources": [record.id]}}
            assert f"#ref-{key}" in section(render_assessment(d2), "decision").html

    def test_registered_renderer_is_used(self, doc):
        @register_section("decision")
        def _decision(name, value, schema, ctx):
            from markupsafe import Markup

            return Markup("<p id='custom'>custom</p>")

        try:
            d = {**doc, "decision": {"recommendation": "x"}}
            assert "id='custom'" in section(render_assessment(d), "decision").html
        finally:
            SECTION_RENDERERS.pop("decision")

    def test_text_is_escaped(self, doc):
        d = {**doc, "decision": {"recommendation": "<script>alert(1)</script>"}}
        html = render_html(d)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html

    def test_unknowns_listed_not_invented(self, doc):
        html = section(render_assessment(doc), "input").html
        assert "Unknown or not given" in html


class TestReports:
    def test_html_is_self_contained(self, doc):
        html = render_html(doc)
        assert not re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="http', html)
        assert "@media print" in html
        est = headline_probability(doc)
        if est is not None:
            assert est.percent_text() in html

    def test_pdf_renders_and_contains_the_numbers(self, example_pdf):
        rendered = example_pdf("medial_4plus_nodes.yaml")  # rendered once per session (conftest)
        assert rendered.pdf.startswith(b"%PDF-") and len(rendered.pdf) > 5_000
        assert rendered.doc["evidence_version"] in rendered.text
        est = headline_probability(rendered.doc)
        if est is not None:
            assert est.percent_text().split(" ")[0] in rendered.text
