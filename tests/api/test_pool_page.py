"""The evidence-pool page that each pooled imaging finding links to (/evidence/pools/...)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import imln.api._pools as pools_module
from imln.evidence import Kind, load_evidence
from imln.imaging import assess_imaging
from imln.report import present, render_html
from imln.schema import load_patient
from tests._support.synthetic_evidence import write_synthetic_evidence

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client():
    from imln.api import Settings, create_app

    return TestClient(create_app(Settings(api_token="pool-token")))


def test_every_record_of_the_modality_is_shown_pooled_or_excluded_with_its_reason(client):
    page = client.get("/evidence/pools/us")
    assert page.status_code == 200
    records = {r.id for r in load_evidence().filter(kind=Kind.diagnostic_accuracy, modality="us")}
    for record in records:
        assert record in page.text
    assert "ji2020-us-long-diameter" in page.text and "same study as ji2020-us-long-diameter" in page.text
    assert "One study: reported, not pooled." in page.text and "<svg" in page.text  # the forest plot


@pytest.mark.parametrize("path, field", [("/evidence/pools/xray", "modality"),
                                         ("/evidence/pools/us/nowhere/patients", "setting"),
                                         ("/evidence/pools/us/newly_diagnosed/breasts", "unit")])
def test_a_bad_part_is_a_404_naming_it(client, path, field):
    res = client.get(path)
    assert res.status_code == 404 and f"{field} must be one of" in res.text


def test_a_fitted_pool_shows_its_model_prediction_interval_and_sroc(client, tmp_path, monkeypatch):
    folder = write_synthetic_evidence(tmp_path)
    monkeypatch.setattr(pools_module, "load_evidence", lambda: load_evidence(folder))
    res = client.get("/evidence/pools/mri/newly_diagnosed/patients")
    assert res.status_code == 200
    text = res.text
    assert "bivariate random effects (Reitsma), REML" in text and "Summary ROC curve" in text
    assert text.count("<svg") == 2  # forest and SROC
    # the page's prediction interval is the one imaging reads the finding with
    evidence = load_evidence(folder)
    patient = load_patient({"age_years": 50, "sex": "female", "laterality": "left", "setting": "diagnosis",
                            "findings": [{"modality": "mri", "result": "positive", "side": "ipsilateral"}]})
    (finding,) = assess_imaging(patient, 0.2, evidence=evidence).findings
    pred = finding.accuracy.pool.predictive_sensitivity
    shown = re.search(r"A new study's sensitivity[^<]*</dt><dd>([\d.]+)% \(([\d.]+)–([\d.]+)%\)", text)
    assert shown is not None
    assert float(shown.group(2)) == pytest.approx(pred.lower * 100, abs=0.05)
    assert float(shown.group(3)) == pytest.approx(pred.upper * 100, abs=0.05)


def test_the_result_page_links_a_pooled_finding_to_its_pool(tmp_path):
    import imln

    folder = write_synthetic_evidence(tmp_path)
    import yaml

    body = yaml.safe_load((Path(__file__).parents[2] / "examples" / "early_lateral_n0.yaml").read_text())
    body["findings"] = [{"modality": "mri", "result": "positive", "side": "ipsilateral"}]
    doc = imln.assess(load_patient(body), evidence=load_evidence(folder)).model_dump(mode="json")
    assert doc["risk"]["probability"] is not None  # a point pre-test, so the chain has an imaging step
    step = next(s for s in present(doc).imaging_chain.steps if s.evidence_pool is not None)
    assert step.evidence_pool.href == "/evidence/pools/mri/newly_diagnosed/patients"
    assert "4 studies" in step.evidence_pool.label
    assert 'href="/evidence/pools/mri/newly_diagnosed/patients"' in render_html(doc)
