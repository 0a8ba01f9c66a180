"""`imln models …` and the pre-test section of `imln assess`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from imln.cli import app
from imln.risk import get_model
from tests.risk.test_spec_and_registry import PUBLISHED

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMLN_MODELS_DIR", str(tmp_path / "registry"))


def test_assess_json_carries_the_pretest_probability_and_its_sources():
    result = run("assess", str(EXAMPLES / "medial_4plus_nodes.yaml"), "--json")
    assert result.exit_code == 0, result.output
    risk = json.loads(result.stdout)["risk"]
    assert risk["model_id"] == "imln-erm-joint" and risk["setting"] == "erm_era"
    assert 0 < risk["ci95"][0] < risk["probability"] < risk["ci95"][1] < 1
    assert all(c["sources"] for c in risk["contributions"])


def test_assess_terminal_shows_probability_and_factor_table():
    result = run("assess", str(EXAMPLES / "early_lateral_n0.yaml"))
    assert result.exit_code == 0, result.output
    assert "Pre-test probability of IMLN metastasis" in result.stdout
    assert "6.8% (95% interval" in result.stdout  # imln-erm-joint, Veronesi 1985's reference patient
    assert "Veronesi" in result.stdout and "Factors: odds ratios" in result.stdout


def test_assess_with_missing_axillary_count_shows_a_range():
    result = run("assess", str(EXAMPLES / "after_nac_mri_positive.yaml"), "--json")
    payload = json.loads(result.stdout)
    assert payload["risk"]["probability"] is None
    assert payload["risk"]["missing"] == ["positive_axillary_nodes"]
    assert any("range" in n for n in payload["notes"])


def test_unknown_risk_model_is_a_clear_error():
    result = run("assess", str(EXAMPLES / "early_lateral_n0.yaml"), "--risk-model", "nope")
    assert result.exit_code == 2
    assert "no model 'nope' is registered" in result.stderr


def test_models_list_show_add_compare(tmp_path):
    assert [m["id"] for m in json.loads(run("models", "list", "--json").stdout)] == ["imln-erm-joint", "imln-erm-synthesis"]
    shown = run("models", "show", "--json")
    assert json.loads(shown.stdout)["id"] == get_model().id
    card = run("models", "show").stdout
    assert "Fit check" in card and "Assumptions" in card and "validation" in card
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(PUBLISHED))
    added = run("models", "add", str(path))
    assert added.exit_code == 0 and "added example-published" in added.stdout
    compared = run("models", "compare", str(EXAMPLES / "medial_4plus_nodes.yaml"), "--json")
    assert [r["model_id"] for r in json.loads(compared.stdout)] == ["imln-erm-joint", "imln-erm-synthesis", "example-published"]


def test_models_add_bad_file_exits_2_naming_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**PUBLISHED, "default_setting": "elsewhere"}))
    result = run("models", "add", str(path))
    assert result.exit_code == 2
    assert "default_setting 'elsewhere'" in result.stderr


def test_assess_reports_imaging_and_writes_figures(tmp_path):
    result = run("assess", str(EXAMPLES / "early_lateral_n0.yaml"), "--figures", str(tmp_path / "figs"))
    assert result.exit_code == 0, result.output
    assert "Post-test probability:" in result.stdout
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == ["fagan_nomogram.png", "fagan_nomogram.svg", "pretest_posttest.png", "pretest_posttest.svg"]
    assert (tmp_path / "figs" / "fagan_nomogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_own_pretest_replaces_the_models_and_moves_the_posttest():
    base = json.loads(run("assess", str(EXAMPLES / "early_lateral_n0.yaml"), "--json").stdout)
    own = json.loads(run("assess", str(EXAMPLES / "early_lateral_n0.yaml"), "--json", "--pretest", "0.3").stdout)
    assert own["imaging"]["pretest"]["mean"] == pytest.approx(0.3)
    lr = own["imaging"]["posttest"]["lr_point"]
    assert own["imaging"]["posttest"]["point"] == pytest.approx(0.3 * lr / (0.3 * lr + 0.7), rel=1e-9)
    assert own["imaging"]["posttest"]["point"] > base["imaging"]["posttest"]["point"]
    assert any("given by the user" in n for n in own["notes"])


def test_pretest_out_of_range_is_refused():
    result = run("assess", str(EXAMPLES / "early_lateral_n0.yaml"), "--pretest", "1.5")
    assert result.exit_code == 2
    assert "--pretest" in result.output
