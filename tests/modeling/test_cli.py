"""The ``imln model`` sub-app, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from imln.modeling._cli import app

from .conftest import FORMULA

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, rotterdam: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "rotterdam.csv"
    rotterdam.to_csv(path, index=False)
    return path


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_fit_prints_and_exports(cohort: Path, tmp_path: Path) -> None:
    code, out = run("fit", str(cohort), "-y", "nodepos", "-f", FORMULA, "--export-dict", str(tmp_path / "m.yaml"),
                    "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["statistics"]["n"] == 2982
    assert payload["coefficients"]["size=>50"]["coef"] == pytest.approx(2.4221562124752545, rel=1e-8)
    exported = yaml.safe_load((tmp_path / "m.yaml").read_text())
    assert exported["format"] == "imln.modeling/logistic-model"


def test_fit_exports_a_registry_model(cohort: Path, tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    code, out = run("fit", str(cohort), "-y", "nodepos", "-f", "age + cat(size, ref='<=20') + grade",
                    "--export-spec", str(target), "--model-id", "rotterdam-nodes", "--feature", "age=age_years")
    assert code == 0, out
    from imln.risk import load_model_spec

    spec = load_model_spec(target)
    assert spec.id == "rotterdam-nodes" and spec.terms[0].feature == "age_years"


def test_validate_reports_seed_and_rms_table(cohort: Path) -> None:
    code, out = run("validate", str(cohort), "-y", "nodepos", "-f", FORMULA, "-B", "20", "--seed", "4", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["seed"] == 4 and payload["rng"] == "R"
    assert list(payload["table"]) == ["Dxy", "R2", "Intercept", "Slope", "Emax", "D", "U", "Q", "B", "g", "gp"]
    assert payload["table"]["Dxy"]["index.orig"] == pytest.approx(0.36983976980760858, rel=1e-8)
    code, out = run("validate", str(cohort), "-y", "nodepos", "-f", FORMULA, "-B", "5")
    assert code == 0 and "seed 1 (rng=R)" in flat(out) and "corrected C-index" in flat(out)


def test_calibrate_nomogram_dca_write_figures(cohort: Path, tmp_path: Path) -> None:
    code, out = run("calibrate", str(cohort), "-y", "nodepos", "-f", FORMULA, "-B", "5",
                    "--plot", str(tmp_path / "cal.png"), "--csv", str(tmp_path / "cal.csv"))
    assert code == 0, out
    assert (tmp_path / "cal.png").stat().st_size > 10_000
    assert len(pd.read_csv(tmp_path / "cal.csv")) == 50
    code, out = run("nomogram", str(cohort), "-y", "nodepos", "-f", FORMULA, "-o", str(tmp_path / "n.svg"))
    assert code == 0 and (tmp_path / "n.svg").read_text().startswith("<?xml")
    code, out = run("dca", str(cohort), "-y", "nodepos", "-f", FORMULA, "-f", "simple=grade + meno",
                    "--plot", str(tmp_path / "dca.png"), "--csv", str(tmp_path / "dca.csv"))
    assert code == 0, out
    models = set(pd.read_csv(tmp_path / "dca.csv")["model"])
    assert models == {"model 1", "simple", "all", "none"}


def test_dca_and_threshold_on_a_prediction_column(cohort: Path, rotterdam: pd.DataFrame, tmp_path: Path) -> None:
    d = rotterdam.assign(risk=np.clip(rotterdam["nodes"] / 10, 0.01, 0.99))
    path = tmp_path / "with_risk.csv"
    d.to_csv(path, index=False)
    code, out = run("threshold", str(path), "-y", "nodepos", "--predictions", "risk", "-t", "0.05", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["counts"] == {"tp": 1546, "fp": 0, "fn": 0, "tn": 1436}
    assert payload["ci_method"] == "wilson"
    code, out = run("dca", str(path), "-y", "nodepos", "--predictions", "risk", "--json")
    assert code == 0 and json.loads(out)["n"] == 2982


def test_external_on_exported_model(cohort: Path, tmp_path: Path) -> None:
    run("fit", str(cohort), "-y", "nodepos", "-f", FORMULA, "--export-dict", str(tmp_path / "m.json"))
    code, out = run("external", str(cohort), "-y", "nodepos", "-m", str(tmp_path / "m.json"), "--json")
    assert code == 0, out
    assert json.loads(out)["observed_expected"]["estimate"] == pytest.approx(1.0, abs=1e-9)


def test_parquet_input(rotterdam: pd.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "c.parquet"
    rotterdam.to_parquet(path)
    code, out = run("fit", str(path), "-y", "nodepos", "-f", "age + grade")
    assert code == 0 and "2982 rows complete" in flat(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-y", "nodepos", "-f", "age + tumour"], "column(s) ['tumour'] not in the data"),
        (["-y", "grade2", "-f", "age"], "column(s) ['grade2'] not in the data"),
        (["-y", "nodes", "-f", "age"], "outcome 'nodes' must be binary"),
        (["-y", "nodepos", "-f", "age + constant"], "predictor 'constant' is constant"),
        (["-y", "rare", "-f", "age"], "outcome 'rare' has 3 events among 2982 complete cases; at least 10"),
        (["-y", "nodepos", "-f", "rcs(age, 9)"], "number of knots must be 3 to 7"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(rotterdam: pd.DataFrame, tmp_path: Path, args: list[str],
                                                message: str) -> None:
    d = rotterdam.assign(constant=1, rare=0)
    d.loc[:2, "rare"] = 1
    path = tmp_path / "bad.csv"
    d.to_csv(path, index=False)
    code, out = run("fit", str(path), *args)
    assert code == 2
    assert message in flat(out)
    assert "Traceback" not in out


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "cohort.xlsx"
    path.write_text("x")
    code, out = run("fit", str(path), "-y", "a", "-f", "b")
    assert code == 2 and "unknown table format '.xlsx'; allowed: .csv, .tsv, .parquet" in flat(out)
