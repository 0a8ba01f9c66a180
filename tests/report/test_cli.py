"""`serve` and `report` Typer commands (imln.api._cli.app)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from imln.api._cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def test_report_pdf(tmp_path):
    out = tmp_path / "out.pdf"
    result = runner.invoke(app, ["report", str(EXAMPLES / "early_lateral_n0.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_report_html(tmp_path):
    out = tmp_path / "sub" / "out.html"
    result = runner.invoke(app, ["report", str(EXAMPLES / "medial_4plus_nodes.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "example-medial-4plus" in out.read_text()


def test_report_bad_patient_names_the_field(tmp_path):
    result = runner.invoke(app, ["report", str(EXAMPLES / "invalid" / "bad.yaml"), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "tumor_size_mm" in result.output and "allowed" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_report_unknown_suffix(tmp_path):
    result = runner.invoke(app, ["report", str(EXAMPLES / "early_lateral_n0.yaml"), "-o", str(tmp_path / "x.docx")])
    assert result.exit_code == 2 and ".pdf or .html" in result.output


def test_serve_defaults_to_loopback_and_sqlite(monkeypatch, tmp_path):
    calls = {}

    def fake_run(target, **kwargs):
        calls.update(kwargs, target=target)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("IMLN_DATABASE_URL", raising=False)
    monkeypatch.delenv("IMLN_API_TOKEN", raising=False)
    monkeypatch.setenv("IMLN_CONFIG_FILE", str(tmp_path / "none.toml"))
    result = runner.invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    import os

    assert os.environ["IMLN_DATABASE_URL"].startswith("sqlite:///" + str(tmp_path))
    assert "token for this session" in result.output
    from imln.api._serve import make_app

    app_ = make_app()
    assert app_.state.settings.open_compute is True and app_.state.settings.token()
