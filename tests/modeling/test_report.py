"""The TRIPOD-style HTML report is self-contained and carries the numbers it is given."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from scipy.special import expit
from typer.testing import CliRunner

from imln.modeling import (
    LogisticModel,
    calibrate,
    decision_curve,
    nomogram,
    threshold_report,
    validate,
    write_report,
)
from imln.modeling._cli import app

from .conftest import FORMULA


def test_report_contents(model: LogisticModel, tmp_path: Path) -> None:
    v = validate(model, B=10, seed=1)
    c = calibrate(model, B=5, seed=1)
    risk = expit(model.fitted_linear_predictor_)
    path = write_report(tmp_path / "r.html", model, validation=v, calibration=c, nomogram=nomogram(model),
                        decision_curves=decision_curve(model.y_, {"model": risk}),
                        threshold=threshold_report(model.y_, risk, 0.3), data_source="rotterdam.csv")
    html = path.read_text()
    for section in ("Source of data and participants (TRIPOD 4–5)", "Sample size (8)", "Missing data (9)",
                    "Full model (15a)", "Performance (16)", "Risk groups (11)", "Limitations (18)"):
        assert section in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3  # calibration, nomogram, decision curve
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    assert f"{v.table.loc['Slope', 'index.corrected']:.4f}" in html
    assert "2982 patients with complete data, 1546 events" in html


def test_report_command(rotterdam: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    rotterdam.to_csv(data, index=False)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(data), "-y", "nodepos", "-f", FORMULA, "-B", "5", "-o", str(out),
                                      "-t", "0.3"])
    assert result.exit_code == 0, result.output
    assert "seed 1, B=5, rng=R" in " ".join(result.output.split())
    assert out.read_text().count("<h2>") >= 4
