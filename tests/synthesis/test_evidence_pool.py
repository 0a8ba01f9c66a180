"""Pooling the evidence base: the rules of imln.synthesis.evidence, and `imln evidence pool`.

The bundled evidence has no modality with 2 primary studies at one unit of analysis yet, so
the pooled path is tested on a copy of the evidence with four SYNTHETIC MRI records added
(clearly fake citations, in a temporary folder; nothing is added to the evidence base).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from imln.cli import app
from imln.evidence import load_evidence
from imln.synthesis import ReitsmaFit
from imln.synthesis.evidence import accuracy_pools
from tests._support.synthetic_evidence import SYNTHETIC, write_synthetic_evidence


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
    return write_synthetic_evidence(tmp_path_factory.mktemp("evidence"))


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


def test_report_carries_the_predictive_distribution_imaging_uses(synthetic_dir: Path) -> None:
    report = accuracy_pools("mri", "newly_diagnosed", evidence=load_evidence(synthetic_dir))
    (pool,) = report.as_dict()["pools"]
    fit = report.pools[0].fit
    reference = fit.predictive(level=0.95)  # exact expit-of-normal intervals, computed inside the fit
    for name in ("sensitivity", "specificity"):
        got = pool["predictive"][name]
        assert (got["median"], got["lower"], got["upper"]) == pytest.approx(
            (reference[name].estimate, reference[name].lower, reference[name].upper), abs=1e-12)
    np.testing.assert_allclose(pool["predictive"]["covariance"], fit.psi + fit.vcov[:2, :2], atol=1e-12)
