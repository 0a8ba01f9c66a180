"""The quantitative sub-commands end to end: output in imln's schema, exit 2 with a message on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("SimpleITK", reason="the 'quantitative' extra is not installed (SimpleITK)")

from imln import assess, load_patient
from imln.quantitative import Volume
from imln.quantitative._cli import app

from .phantoms import Ellipsoid, ellipsoid_mask, write_image

runner = CliRunner()


@pytest.fixture
def pair(tmp_path):
    shapes = [Ellipsoid((9.0, 6.0, 5.0), np.eye(3), (0.0, 0.0, 8.0)), Ellipsoid((5.0, 4.0, 4.0), np.eye(3), (0, 0, -9))]
    mask = ellipsoid_mask(shapes, (0.6, 0.6, 1.0), np.eye(3), (24, 20, 30))
    image = Volume(mask.array.astype(np.float32) * 500, mask.spacing, mask.origin, mask.direction)
    ribs = tmp_path / "ribs.yaml"
    ribs.write_text("ribs:\n  2: 20.0\n  3: 0.0\n  4: -20.0\n")
    return write_image(tmp_path / "image.nii.gz", image), write_image(tmp_path / "mask.nii.gz", mask), ribs


def test_measure_json_is_a_finding(pair):
    image, mask, ribs = pair
    result = runner.invoke(app, ["measure", str(image), str(mask), "--modality", "mri", "--ribs", str(ribs), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (finding,) = out["findings"]
    assert finding["modality"] == "mri" and finding["node_count"] == 2 and finding["intercostal_space"] == 2
    assert finding["short_axis_mm"] == pytest.approx(6.0, abs=0.6) and finding["long_axis_mm"] == pytest.approx(9.0, abs=0.6)
    assert [n["intercostal_space"] for n in out["nodes"]] == [2, 3]
    load_patient({"age_years": 60, "laterality": "right", "setting": "diagnosis", "findings": out["findings"]})


def test_measure_table(pair):
    image, mask, _ = pair
    result = runner.invoke(app, ["measure", str(image), str(mask), "-m", "ct"])
    assert result.exit_code == 0, result.output
    assert "short axis" in result.stdout and "- modality: ct" in result.stdout and "node_count: 2" in result.stdout


def test_add_to_a_patient_feeds_assess(pair, tmp_path):
    image, mask, _ = pair
    patient = tmp_path / "p.yaml"
    patient.write_text("age_years: 47\nlaterality: left\nsetting: diagnosis\ntumor_location: {quadrant: UIQ}\n")
    result = runner.invoke(app, ["measure", str(image), str(mask), "-m", "mri", "--side", "ipsilateral",
                                 "--add-to", str(patient)])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["findings"][0]["side"] == "ipsilateral" and data["age_years"] == 47
    merged = tmp_path / "merged.yaml"
    merged.write_text(result.stdout)
    assessment = assess(load_patient(merged))
    assert assessment.input["findings"][0]["modality"] == "mri"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "xray"], "modality: unknown modality 'xray'"),
        (["-m", "pet_ct"], "DICOM header: has no DICOM headers"),
        (["-m", "mri", "--label", "7"], "label: label 7 not in the mask (labels present: 1)"),
    ],
)
def test_errors_exit_2_with_the_message(pair, args, message):
    image, mask, _ = pair
    result = runner.invoke(app, ["measure", str(image), str(mask), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_error_as_json(pair, tmp_path):
    image, _, _ = pair
    other = ellipsoid_mask([Ellipsoid((5, 5, 5), np.eye(3), (0, 0, 0))], (0.6, 0.6, 2.0), np.eye(3), (24, 20, 30))
    bad = write_image(tmp_path / "other.nii.gz", other)
    result = runner.invoke(app, ["measure", str(image), str(bad), "-m", "mri", "--json"])
    assert result.exit_code == 2
    err = json.loads(result.stdout)
    assert err["error"] == "grid_mismatch" and err["field"] == "spacing, origin" and err["source"] == str(bad)


def test_batch_exit_codes(pair, tmp_path):
    image, mask, _ = pair
    manifest = tmp_path / "cases.csv"
    manifest.write_text(f"case_id,image,mask,modality\ngood,{image},{mask},mri\nbad,{image},missing.nii.gz,mri\n")
    result = runner.invoke(app, ["batch", str(manifest), "--out", str(tmp_path / "out"), "-j", "1", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "2 cases: 2 measured, 0 already done, 1 failed" in result.stdout
    assert "missing.nii.gz" in result.stderr
    again = runner.invoke(app, ["batch", str(manifest), "--out", str(tmp_path / "out"), "-j", "1", "--no-progress",
                                "--json"])
    summary = json.loads(again.stdout)
    assert (summary["reused"], summary["computed"]) == (1, 1)
    assert runner.invoke(app, ["batch", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]).exit_code == 2


def test_module_entry_point(pair):
    image, mask, _ = pair
    proc = subprocess.run([sys.executable, "-m", "imln.quantitative", "measure", str(image), str(mask), "-m", "mri",
                           "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["node_count"] == 2


def test_radiomics_command(pair, tmp_path):
    pytest.importorskip("radiomics", reason="the 'radiomics' extra is not installed (pyradiomics)")
    image, mask, _ = pair
    result = runner.invoke(app, ["radiomics", str(image), str(mask), "--class", "firstorder", "--out",
                                 str(tmp_path / "rad"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["features"]["original_firstorder_Mean"] == pytest.approx(500.0)
    assert out["provenance"]["featureClass"] == {"firstorder": []}
    assert (tmp_path / "rad" / "radiomics_settings.yaml").is_file()
