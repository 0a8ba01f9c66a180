"""One presentation model: the web page, the report and FHIR show the same headline figures.

For every example patient the web result page (through the form, as a browser sends it),
the HTML report and the FHIR RiskAssessment show the probability the decision was made
on, with the same point and interval in the same unit, the same recommendation, and
IMN radiotherapy's benefit and harm in percentage points.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import imln
from imln.report import format_percentage_points, format_probability, present, render_html
from imln.report._adapter import as_probability, headline_probability
from imln.report._render import assessment_schema

EXAMPLES = Path(__file__).parents[2] / "examples"
NAMES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
#: Ids of the summary elements every output is compared on.
IDS = ("headline-quantity", "headline-probability", "recommendation", "rt-benefit", "rt-harm", "rt-net")
#: Ids of the page's panels whose figures the PDF must show the same, with the same units.
PANEL_IDS = (*IDS, "headline-frequency", "reasons", "rt-icon-array", "next-test-best", "next-test-outcomes",
             "chain-steps")


class _Elements(HTMLParser):
    """Text and attributes of the elements with the given ids (stdlib only)."""

    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"})

    def __init__(self, ids: tuple[str, ...]) -> None:
        super().__init__()
        self.ids = ids
        self.found: dict[str, dict] = {}
        self.open: list[list] = []  # [id, depth, text parts]
        self.depth = 0
        self.text: list[str] = []  # visible text of the whole page
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self.skip += 1
        if tag in self.VOID:
            return
        self.depth += 1
        attrs = dict(attrs)
        if attrs.get("id") in self.ids:
            self.found[attrs["id"]] = {"attrs": attrs, "text": ""}
            self.open.append([attrs["id"], self.depth, []])

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self.skip -= 1
        if tag in self.VOID:
            return
        if self.open and self.open[-1][1] == self.depth:
            eid, _, parts = self.open.pop()
            self.found[eid]["text"] = re.sub(r"\s+", " ", "".join(parts)).strip()
        self.depth -= 1

    def handle_data(self, data):
        if self.skip:
            return
        self.text.append(data)
        for _, _, parts in self.open:
            parts.append(data)


def elements(html: str, ids: tuple[str, ...] = IDS) -> tuple[dict[str, dict], str]:
    parser = _Elements(ids)
    parser.feed(html)
    return parser.found, re.sub(r"\s+", " ", " ".join(parser.text))


def _form_values(patient: dict) -> dict[str, str]:
    """The example as the web form sends it (the inverse of ``imln.api._form.form_to_patient``)."""

    def text(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, date):
            return v.isoformat()
        return str(v)

    values: dict[str, str] = {}
    for key, value in patient.items():
        if value is None:
            continue
        if key == "findings":
            for finding in value:
                modality = finding["modality"]
                for k, v in finding.items():
                    if k != "modality" and v is not None:
                        values[f"findings.{modality}.{k}"] = text(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                if v is not None:
                    values[f"{key}.{k}"] = text(v)
        else:
            values[key] = text(value)
    return values


@pytest.fixture(scope="module")
def client():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

    from imln.api import Settings, create_app

    with TestClient(create_app(Settings(open_compute=True, storage=False))) as c:
        yield c


@pytest.fixture(scope="module", params=NAMES)
def outputs(request, client):
    """(assessment JSON, web page HTML, report HTML, FHIR resource) for one example."""
    from imln.fhir import risk_assessment_json

    path = EXAMPLES / request.param
    doc = imln.assess(imln.load_patient(path)).model_dump(mode="json")
    page = client.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    values = _form_values(yaml.safe_load(path.read_text()))
    r = client.post("/assess", data={"csrf": token, **values})
    assert r.status_code == 200, r.text[:2000]
    return doc, r.text, render_html(doc), risk_assessment_json(doc)


def test_the_form_reproduces_the_example(outputs, client):
    doc, page, _, _ = outputs
    # the web page was computed from the form; it must be the same patient as the file
    assert 'name="patient" value="' in page
    assert doc["input"]["patient_id"] in page


def test_page_report_and_fhir_show_the_same_headline(outputs):
    doc, page, report, fhir = outputs
    view = present(doc)
    on_page, page_text = elements(page)
    in_report, report_text = elements(report)
    for eid in IDS:  # the same summary, element by element, on the page and in the report
        assert (eid in on_page) == (eid in in_report), eid
        if eid in on_page:
            assert on_page[eid]["text"] == in_report[eid]["text"], eid
            assert on_page[eid]["attrs"].get("data-point") == in_report[eid]["attrs"].get("data-point"), eid

    decision = doc["decision"]["probability"]
    head = on_page["headline-probability"]
    if decision is None:
        assert head["text"].startswith("No probability")
        rng = (doc["decision"]["recommendation"] or {}).get("probability_range")
        numbers = re.findall(r"\d+(?:\.\d+)?", head["text"])
        if rng is None:
            assert not numbers, "no number when the decision had no probability"
        else:  # only the range the decision was robust over, as percentages
            assert numbers == [f"{100 * rng[0]:.1f}", f"{100 * rng[1]:.1f}"]
        assert "prediction" not in fhir
    else:
        # exactly the decision's probability, labelled with which quantity it is
        assert float(head["attrs"]["data-point"]) == decision["point"]
        assert float(head["attrs"]["data-lower"]) == decision["lower"]
        assert float(head["attrs"]["data-upper"]) == decision["upper"]
        shown = format_probability(decision["point"], decision["lower"], decision["upper"], decision["level"])
        assert head["text"].startswith(shown)
        basis = doc["decision"]["probability_basis"]
        assert on_page["headline-quantity"]["text"].startswith({"posttest": "Post-test", "pretest": "Pre-test"}[basis])
        # FHIR: the same point and interval as proportions, agreeing with the page to its precision
        pred = fhir["prediction"][0]
        point = pred["probabilityDecimal"]
        assert 0 <= point <= 1 and f"{point * 100:.1f}%" == shown.split(" ")[0]
        if decision["lower"] < decision["upper"]:
            rng = pred["extension"][0]["valueRange"]
            lo, hi = rng["low"]["value"], rng["high"]["value"]
            assert f"{lo * 100:.1f}–{hi * 100:.1f}%" in head["text"]
        assert shown in pred["rationale"]
        assert shown in fhir["text"]["div"]

    # the recommendation
    rec = on_page["recommendation"]["text"]
    assert rec == view.recommendation.text
    assert fhir["mitigation"].startswith(rec)
    if doc["decision"]["recommendation"] is not None:
        assert rec.startswith(doc["decision"]["recommendation"]["label"])
    else:
        assert rec == "No recommendation"

    # IMN radiotherapy: absolute differences in percentage points, never a probability
    rt = doc["decision"]["rt_balance"] or {}
    notes = " ".join(n["text"] for n in fhir["note"])
    for key, eid in (("benefit", "rt-benefit"), ("harm", "rt-harm"), ("net", "rt-net")):
        q = rt.get(key)
        if not q:
            assert eid not in on_page
            continue
        expected = format_percentage_points(q["point"], q["lower"], q["upper"], q["level"])
        assert expected in on_page[eid]["text"] and expected in notes
        assert f"{abs(q['point']):.2f} percentage points" in expected
        if 0 < q["point"] < 1:  # as a percentage it would read as a probability, 100× too large
            wrong = f"{q['point'] * 100:.1f}%"
            assert wrong not in page_text and wrong not in report_text, wrong


def test_page_pdf_and_model_show_the_same_figures(outputs, example_pdf):
    """Every figure of the page's panels is in the PDF's text as the page shows it (same numbers, same units).

    Compared without whitespace: the PDF breaks lines anywhere (after an en dash, inside an interval).
    """
    doc, page, _, _ = outputs
    names = {yaml.safe_load((EXAMPLES / n).read_text())["patient_id"]: n for n in NAMES}
    pdf = example_pdf(names[doc["input"]["patient_id"]])
    # list markers ("1.", "•") are the PDF's rendering of <ol>/<ul>, not text of the page
    unmarked = re.sub(r"(?m)^\s*(?:\d+\.|•)\s", "", "\n".join(pdf.pages))
    squashed_pdf = re.sub(r"\s+", "", unmarked)
    on_page, _ = elements(page, PANEL_IDS)
    view = present(doc)
    assert {"headline-probability", "recommendation"} <= set(on_page)
    for eid, element in on_page.items():
        assert re.sub(r"\s+", "", element["text"]) in squashed_pdf, (eid, element["text"])
    # the model's own wording of each figure is what both show
    prob = view.headline.probability
    figures = [view.recommendation.text] + ([prob.text, prob.frequency.text] if prob else [])
    figures += [q.text for q in (view.rt.benefit, view.rt.harm, view.rt.net) if q] if view.rt else []
    figures += [q.per_1000.text for q in (view.rt.benefit, view.rt.harm) if q and q.per_1000] if view.rt else []
    figures += [s.text for s in view.imaging_chain.steps] if view.imaging_chain else []
    page_text = re.sub(r"\s+", "", " ".join(e["text"] for e in on_page.values()))
    for figure in figures:  # a sentence may start with it ("About 34 in 1,000 women"): case aside
        assert re.sub(r"\s+", "", figure).lower() in page_text.lower(), figure
        assert re.sub(r"\s+", "", figure).lower() in squashed_pdf.lower(), figure


def test_no_placeholders_or_class_names(outputs):
    doc, page, report, _ = outputs
    classes = {n for n in assessment_schema().get("$defs", {}) if re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+", n)}
    assert {"RecommendationClass", "ProbabilityEstimate"} <= classes
    for html in (page, report):
        _, text = elements(html)
        assert not re.search(r"\{[A-Za-z_][A-Za-z0-9_]*\}", text), re.search(r".{60}\{[A-Za-z_]\w*\}.{20}", text)
        words = set(re.findall(r"[A-Za-z][A-Za-z0-9]+", text))
        assert not classes & words, classes & words
        # nor in labels read by screen readers
        assert "RecommendationClass" not in html and "ProbabilityEstimate" not in html


def test_unused_inputs_are_listed(outputs):
    doc, page, _, _ = outputs
    not_applied = [f for f in doc["imaging"]["findings"] if f["effect"].startswith("not applied")]
    view = present(doc)
    assert [u.field for u in view.unused_inputs] == ([u["field"] for u in doc["unused_inputs"]]
                                                     + [f"findings[{f['index']}]" for f in not_applied])
    for u in doc["unused_inputs"]:
        assert u["reason"] in page
    for f in not_applied:
        assert f["effect"] in page


# --------------------------------------------------------------------------- the model alone


@pytest.fixture(scope="module")
def medial():
    return imln.assess(imln.load_patient(EXAMPLES / "medial_4plus_nodes.yaml")).model_dump(mode="json")


def test_after_nac_mri_positive_has_no_headline_number():
    doc = imln.assess(imln.load_patient(EXAMPLES / "after_nac_mri_positive.yaml")).model_dump(mode="json")
    view = present(doc)
    assert doc["decision"]["probability"] is None
    assert view.headline.probability is None and view.headline.basis == "none"
    assert "Positive axillary nodes" in view.headline.absent_reason
    assert headline_probability(doc) is None  # it used to find MRI's sensitivity (91.5%)
    # cN3b: IMN radiotherapy whatever the axillary count, given with its guideline basis
    assert view.recommendation.given and view.recommendation.label == "IMN radiotherapy"
    assert view.indication is not None and view.indication.group == "imn_disease"


def test_pretest_basis_is_labelled_pretest(medial):
    decision = {**medial["decision"], "probability_basis": "pretest"}
    view = present({**medial, "decision": decision})
    assert view.headline.quantity.startswith("Pre-test probability")
    assert view.headline.probability.point == medial["decision"]["probability"]["point"]


def test_harm_in_percentage_points(medial):
    view = present(medial)
    harm = medial["decision"]["rt_balance"]["harm"]
    assert view.rt.harm.point == harm["point"] and 0 < harm["point"] < 1
    assert view.rt.harm.text == (f"+{harm['point']:.2f} percentage points "
                                 f"(95% interval {harm['lower']:.2f} to {harm['upper']:.2f})")
    assert as_probability(harm) is None  # a unit other than a probability's: never a probability


def test_formats():
    assert format_percentage_points(0.3885, 0.1665, 0.7668) == "+0.39 percentage points (95% interval 0.17 to 0.77)"
    assert format_percentage_points(-0.5, -1.25, 0.5) == "−0.50 percentage points (95% interval −1.25 to 0.50)"
    assert format_percentage_points(0.001) == "0.00 percentage points"
    assert format_probability(0.77, 0.45, 0.97) == "77.0% (95% interval 45.0–97.0%)"
    assert format_probability(0.05, 0.05, 0.05) == "5.0% (a point value, without interval)"


# --------------------------------------------------------------------------- the CLI too, every example and vignette
# `imln assess` (text and --json), the presentation model and FHIR, for every file in examples/ and every
# vignette in tests/clinical/vignettes/: the same headline numbers in the same units.

VIGNETTES = Path(__file__).parents[1] / "clinical" / "vignettes"
CASES = [("example", n) for n in NAMES] + [("vignette", p.name) for p in sorted(VIGNETTES.glob("*.yaml"))]


@pytest.fixture(scope="module", params=CASES, ids=[f"{kind}:{name}" for kind, name in CASES])
def cli_outputs(request, tmp_path_factory):
    """(assessment JSON from `imln assess --json`, the summary lines of `imln assess`, FHIR) for one case."""
    import json

    from typer.testing import CliRunner

    from imln.cli import app
    from imln.fhir import risk_assessment_json

    kind, name = request.param
    if kind == "example":
        path = EXAMPLES / name
    else:
        path = tmp_path_factory.mktemp("vignette") / name
        path.write_text(yaml.safe_dump(yaml.safe_load((VIGNETTES / name).read_text())["patient"]))
    runner = CliRunner()
    as_json = runner.invoke(app, ["assess", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    text = runner.invoke(app, ["assess", str(path)], env={"COLUMNS": "120"})
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Summary" in line and line.startswith("─"))
    end = next(i for i in range(start + 1, len(lines)) if set(lines[i].strip()) == {"─"})
    return doc, lines[start + 1:end], risk_assessment_json(doc)


def test_cli_presentation_model_and_fhir_show_the_same_headline(cli_outputs):
    doc, summary, fhir = cli_outputs
    view = present(doc)
    head, rec = view.headline, view.recommendation

    # the headline: exactly the decision's probability, in percent in the CLI, as a proportion in FHIR
    decision = doc["decision"]["probability"]
    if decision is None:
        assert head.probability is None
        assert f"{head.quantity}: No probability: {head.absent_reason}" in summary
        assert "prediction" not in fhir
        assert any(head.absent_reason in n["text"] for n in fhir["note"])
    else:
        prob = head.probability
        assert (prob.point, prob.lower, prob.upper) == (decision["point"], decision["lower"], decision["upper"])
        assert f"{head.quantity}: {prob.text}" in summary
        assert prob.text == format_probability(decision["point"], decision["lower"], decision["upper"],
                                               decision["level"])
        (pred,) = fhir["prediction"]
        assert 0 <= pred["probabilityDecimal"] <= 1
        assert f"{pred['probabilityDecimal'] * 100:.1f}%" == prob.point_text
        if prob.has_interval:
            (ext,) = pred["extension"]
            low, high = ext["valueRange"]["low"], ext["valueRange"]["high"]
            assert low["code"] == high["code"] == "1"  # proportions, the decimal's scale
            assert f"{low['value'] * 100:.1f}–{high['value'] * 100:.1f}%" == prob.interval_text
        assert f"{head.quantity}: {prob.text}" in pred["rationale"]

    # the recommendation and its key reasons, word for word
    assert f"Recommendation: {rec.text}" in summary
    assert fhir["mitigation"].startswith(rec.text + ".")
    for i, reason in enumerate(rec.reasons, start=1):
        assert any(line.startswith(f"  {i}. {reason.text}") for line in summary), reason.text
        assert reason.text in fhir["mitigation"]

    # IMN radiotherapy: percentage points in both, never a percentage
    notes = " ".join(n["text"] for n in fhir["note"])
    rt = view.rt
    for name, q in (("benefit", rt and rt.benefit), ("cardiac harm", rt and rt.harm), ("net", rt and rt.net)):
        if q is None:
            assert not any(line.startswith(f"  {name}: ") for line in summary)
            continue
        assert any(line.startswith(f"  {name}: {q.text}") for line in summary)
        assert f"{name} {q.text}" in notes
        if 0 < q.point < 1:
            assert f"{q.point * 100:.1f}%" not in " ".join(summary)

    # what was entered but not used
    if view.unused_inputs:
        (line,) = [line for line in summary if line.startswith("Entered but not used")]
        assert all(u.label in line for u in view.unused_inputs)


def test_natural_frequency():
    from imln.report import natural_frequency

    f = natural_frequency(0.0224, 0.0093, 0.0423)
    assert (f.text, f.interval_text) == ("about 2 in 100", "between 1 and 4 in 100")
    assert natural_frequency(0.005, 0.0, 0.027).text == "about 5 in 1,000"  # 1 in 100 would round to 0
    assert natural_frequency(0.0003).text == "fewer than 1 in 1,000"  # a small risk is never shown as none
    assert natural_frequency(0.0343, denominator=1000).text == "about 34 in 1,000"


def test_validation_notice_only_where_the_model_gave_the_figure(medial):
    assert present(medial).unvalidated_model_used  # the pre-test probability is the risk model's
    followup = imln.assess(imln.load_patient(EXAMPLES / "followup_implant_enlarged_imln.yaml")).model_dump(mode="json")
    view = present(followup)
    assert view.externally_validated is False and view.headline.source.startswith("positive predictive value")
    assert not view.unvalidated_model_used  # a PPV, not the model, is the headline
    assert 'id="validation-notice"' not in render_html(followup)
    assert 'id="validation-notice"' in render_html(medial)


def test_evidence_pool_link_when_the_finding_names_a_pool():
    """The slot for imln.synthesis: a finding whose accuracy names a pool gets a link to it; others none."""
    doc = imln.assess(imln.load_patient(EXAMPLES / "early_lateral_n0.yaml")).model_dump(mode="json")
    assert 'class="evidence-pool"' not in render_html(doc)
    doc["imaging"]["findings"][0]["accuracy"]["pool"] = {"id": "us-newly-diagnosed", "label": "Ultrasound, 3 studies"}
    step = present(doc).imaging_chain.steps[1]
    assert step.evidence_pool.href == "/evidence/pools/us-newly-diagnosed"
    assert '<a class="evidence-pool" href="/evidence/pools/us-newly-diagnosed">' in render_html(doc)
