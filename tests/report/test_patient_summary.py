"""The patient summary: plain language, one page, and no number that the clinician page does not show."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

import imln
from imln.api._cli import app
from imln.report import present, render_html, render_patient_summary

from .conftest import EXAMPLES, NAMES
from .test_present import elements

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)*")


@pytest.fixture(scope="module", params=NAMES)
def example(request):
    doc = imln.assess(imln.load_patient(EXAMPLES / request.param)).model_dump(mode="json")
    return doc, render_patient_summary(doc), render_html(doc)


def test_no_number_the_clinician_page_does_not_show(example):
    _, summary, clinician = example
    _, summary_text = elements(summary)
    _, clinician_text = elements(clinician)
    shown = set(NUMBER.findall(clinician_text))
    extra = [n for n in NUMBER.findall(summary_text) if n not in shown]
    assert not extra, extra


def test_natural_frequencies_and_plain_words(example):
    doc, summary, _ = example
    view = present(doc)
    _, text = elements(summary)
    prob = view.headline.probability
    if prob is not None:
        assert f"women like you, {prob.frequency.text} have cancer in these lymph nodes" in text
        if prob.frequency.interval_text:
            assert prob.frequency.interval_text in text
        assert "%" not in text  # frequencies, not percentages
    else:
        assert "could not give one number" in text
    if view.rt and view.rt.harm and view.rt.harm.per_1000 and view.rt.benefit:
        assert f"{view.rt.harm.per_1000.text.capitalize()} more women have a serious heart problem" in text
    # decision support, uncertainty, and none of the clinician's jargon
    assert "not a diagnosis" in text and "How sure can we be?" in text
    for jargon in ("IMLN", "percentage points", "likelihood ratio", "post-test", "pre-test", "interval"):
        assert jargon not in text, jargon


def test_the_recommendation_in_lay_words(example):
    doc, summary, _ = example
    view = present(doc)
    recommendation = re.search(r'id="ps-recommendation">([^<]+)<', summary).group(1)
    assert recommendation != view.recommendation.label  # not the clinician's label
    if view.recommendation.code == "imn_radiotherapy":
        assert recommendation.startswith("Radiotherapy")


def test_cli_writes_a_one_page_pdf(tmp_path):
    out = tmp_path / "patient.pdf"
    result = CliRunner().invoke(app, ["report", str(EXAMPLES / "medial_4plus_nodes.yaml"), "--patient-summary",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    html = tmp_path / "patient.html"
    assert CliRunner().invoke(app, ["report", str(EXAMPLES / "early_lateral_n0.yaml"), "--patient-summary",
                                    "-o", str(html)]).exit_code == 0
    assert "a summary for you" in html.read_text()
