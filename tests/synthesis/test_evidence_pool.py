"""Pooling the evidence base: the rules of imln.synthesis.evidence, and `imln evidence pool`.

The bundled evidence has no modality with 2 primary studies at one unit of analysis yet, so
the pooled path is tested on a copy of the evidence with four SYNTHETIC MRI records added
(clearly fake citations, in a temporary folder; nothing is added to the evidence base).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from imln.cli import app
from imln.evidence import default_data_dir, load_evidence
from imln.synthesis import ReitsmaFit
from imln.synthesis.evidence import accuracy_pools

SYNTHETIC = [(30, 4, 6, 40), (22, 6, 5, 31), (45, 9, 10, 60), (18, 2, 7, 25)]  # tp, fp, fn, tn


def test_bundled_evidence_is_reported_not_pooled() -> None:
    mri = accuracy_pools("mri")
    assert {p.unit: [s.record_id for s in p.studies] for p in mri.pools} == {
        "patients": ["mri2016-short-axis-4mm"], "nodes": ["radmed1999-mri-size"]}
    assert all(p.fit is None for p in mri.pools)
    assert dict(mri.excluded)["review-table1-mri"].startswith("obtained quoted_by_review")
    us = accuracy_pools("us")
    assert dict(us.excluded)["ji2020-us-short-diameter"] == "same study as ji2020-us-long-diameter (one record per study)"
    pet = accuracy_pools("pet_ct")
    assert pet.pools == [] and [r for r, _ in pet.excluded] == ["review-table1-pet-ct"]


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evidence")
    shutil.copytree(default_data_dir(), folder, dirs_exist_ok=True)
    refs = yaml.safe_load((folder / "references.yaml").read_text())
    records = yaml.safe_load((folder / "imaging_accuracy.yaml").read_text())
    for i, (tp, fp, fn, tn) in enumerate(SYNTHETIC):
        key = f"synthetic{i}"
        refs["references"][key] = {"authors": ["Synthetic A"], "title": f"SYNTHETIC test study {i}", "journal": "None",
                                   "year": 2000, "access": "full_text", "notes": "test fixture, not a publication"}
        records["records"].append({
            "id": f"synthetic-mri-{i}", "kind": "diagnostic_accuracy", "measures": "imln_detection_accuracy",
            "statement": "SYNTHETIC test record.", "citation": key, "location": "nowhere", "obtained": "primary",
            "level": "patient", "setting": "newly_diagnosed", "population": "synthetic", "modality": "mri",
            "reference_standard": "pathology",
            "values": {
                "n_patients": {"printed": str(tp + fp + fn + tn), "unit": "count"},
                "n_diseased": {"printed": str(tp + fn), "unit": "count"},
                "sensitivity": {"printed": f"{100 * tp / (tp + fn):.2f}%", "unit": "percent"},
                "specificity": {"printed": f"{100 * tn / (tn + fp):.2f}%", "unit": "percent"},
            },
        })
    (folder / "references.yaml").write_text(yaml.safe_dump(refs, allow_unicode=True, sort_keys=False))
    (folder / "imaging_accuracy.yaml").write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False))
    return folder


def test_pooled_when_studies_exist(synthetic_dir: Path) -> None:
    report = accuracy_pools("mri", "newly_diagnosed", evidence=load_evidence(synthetic_dir))
    (pool,) = report.pools
    assert [(s.tp, s.fp, s.fn, s.tn) for s in pool.studies] == SYNTHETIC  # cells reproduce the printed rates
    assert isinstance(pool.fit, ReitsmaFit) and pool.fit.n_studies == 4
    assert "mri2016-short-axis-4mm" in dict(report.excluded)  # setting not_stated


def test_cli_pool(synthetic_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["evidence", "pool", "--modality", "mri", "--setting", "newly_diagnosed", "--json",
                              "--figure", str(tmp_path / "sroc.png"), "--data-dir", str(synthetic_dir)])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["pools"][0]["result"]["model"].startswith("bivariate")
    assert (tmp_path / "sroc.png").stat().st_size > 1000
    res = runner.invoke(app, ["evidence", "pool", "--modality", "pet_ct"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "nothing to pool" in res.stdout and "review-table1-pet-ct" in res.stdout
