"""Typer commands ``serve`` and ``report``; the main CLI registers them.

In ``imln/cli.py``::

    from imln.api._cli import report_command, serve_command
    app.command("serve")(serve_command)
    app.command("report")(report_command)
"""

from __future__ import annotations

import os
import secrets
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "report_command", "serve_command"]

app = typer.Typer(help="Serve the API and web page; write reports.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def _announce_token(token: str) -> str:
    """Where the generated token is (a file only its owner can read) and how it starts; never the whole token.

    Logs and terminal scrollback are read by more people than the token is meant for.
    """
    from platformdirs import user_data_dir

    path = Path(user_data_dir("imln", appauthor=False)) / "session-token"
    shown = f"{token[:4]}… ({len(token)} characters)"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        os.chmod(path, 0o600)
    except OSError as exc:
        return f"{shown}, not written ({exc.strerror or exc}); set IMLN_API_TOKEN to choose one"
    return f"{shown} in {path} (readable by you only)"


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="IMLN_DATABASE_URL",
        help="SQLAlchemy URL (default: SQLite file in the user data folder; postgresql+psycopg://… for PostgreSQL)."
    )] = None,
    open_compute: Annotated[bool, typer.Option(
        "--open-compute/--token-for-compute",
        help="Let the web form and /api/v1/compute work without the token (default on loopback)."
    )] = True,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP API and the clinician web page (uvicorn)."""
    import os

    from pydantic import ValidationError

    from imln.api import Settings
    from imln.api._serve import LOG_LEVEL_ENV, LOG_LEVELS, set_log_level
    from imln.api._settings import config_file_path, settings_problems
    from imln.api._workers import run_workers

    if log_level.strip().upper() not in LOG_LEVELS:
        _err(f"error: --log-level must be one of {', '.join(x.lower() for x in LOG_LEVELS)}; got {log_level!r}")
        raise typer.Exit(2)

    if database_url:
        os.environ["IMLN_DATABASE_URL"] = database_url
    try:
        settings = Settings(open_compute=open_compute)
    except ValidationError as exc:  # e.g. fhir_identifier_system that is not a URI: name the setting, no traceback
        _err(f"error: invalid configuration (IMLN_* variables or {config_file_path()}): {settings_problems(exc)}")
        raise typer.Exit(2) from None
    if settings.token() is None:
        token = secrets.token_urlsafe(24)
        os.environ["IMLN_API_TOKEN"] = token
        _err(f"No IMLN_API_TOKEN configured; token for this session (stored assessments): {_announce_token(token)}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        _err(f"warning: listening on {host}, not loopback; put TLS in front of it")
    os.environ["IMLN_OPEN_COMPUTE"] = "true" if open_compute else "false"
    from imln.storage import default_database_url

    url = settings.database_url or default_database_url()
    os.environ.setdefault("IMLN_DATABASE_URL", url)
    _err(f"imln: web page http://{host}:{port}/ · API http://{host}:{port}/api/v1 · storage {url.split('@')[-1]}")
    set_log_level(log_level)
    os.environ[LOG_LEVEL_ENV] = log_level.upper()  # the workers' imln loggers (imln.api._serve.make_app)
    # workers > 1: one SO_REUSEPORT socket per worker (Linux), so keep-alive connections spread
    # over the workers instead of piling up in whichever accepts first (see imln.api._workers).
    code = run_workers("imln.api._serve:make_app", factory=True, host=host, port=port, workers=workers,
                       log_level=log_level, access_log=log_level == "debug")
    if code:
        raise typer.Exit(code)


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"


@app.command("report")
def report_command(
    patient_file: Annotated[Path, typer.Argument(help="Patient file (YAML or JSON).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .pdf or .html.")],
    format: Annotated[ReportFormat | None, typer.Option(help="Force the format (default: from the suffix).")] = None,
    patient_summary: Annotated[bool, typer.Option(
        "--patient-summary", help="Write the one-page plain-language summary for the patient instead.")] = False,
) -> None:
    """Assess a patient file and write the report (or the patient summary) as PDF or HTML."""
    from imln import assess
    from imln.report import render_html, render_patient_summary, render_pdf
    from imln.schema import PatientInputError, load_patient

    fmt = format.value if format else output.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "html", "htm"):
        _err(f"error: cannot tell the report format from {output.name!r}; use .pdf or .html (or --format)")
        raise typer.Exit(2)
    try:
        patient = load_patient(patient_file)
    except PatientInputError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from None
    assessment = assess(patient)
    try:
        if fmt == "pdf":
            data = render_pdf(assessment, patient=patient_summary)
        else:
            data = (render_patient_summary(assessment) if patient_summary else render_html(assessment)).encode("utf-8")
    except RuntimeError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    _err(f"wrote {output} ({len(data) / 1024:.0f} KiB)")
