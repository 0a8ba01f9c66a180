"""`serve` and `report` Typer commands (imln.api._cli.app)."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_serve_refuses_an_unknown_log_level_naming_the_option(monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    result = runner.invoke(app, ["serve", "--log-level", "loud"])
    assert result.exit_code == 2
    assert "--log-level must be one of critical, error, warning, info, debug, trace; got 'loud'" in result.output


@pytest.fixture
def restore_serve_environment(monkeypatch):
    """``serve`` sets the imln loggers' level, and IMLN_LOG_LEVEL and IMLN_OPEN_COMPUTE for its workers: undo
    them afterwards, so later tests see neither."""
    import logging

    monkeypatch.delenv("IMLN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("IMLN_OPEN_COMPUTE", raising=False)
    logger = logging.getLogger("imln")
    level = logger.level
    yield
    logger.setLevel(level)


def test_serve_defaults_to_loopback_and_sqlite(monkeypatch, tmp_path, restore_serve_environment):
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
