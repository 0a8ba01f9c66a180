"""`imln fhir PATIENT`: a validated FHIR R4B RiskAssessment with the summary's figures, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import imln
from imln.cli import app
from imln.fhir import check_risk_assessment
from imln.report import present

EXAMPLES = Path(__file__).parents[2] / "examples"
MEDIAL = EXAMPLES / "medial_4plus_nodes.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_configuration(monkeypatch, tmp_path):
    """No identifier system from the developer's environment or config file."""
    monkeypatch.delenv("IMLN_FHIR_IDENTIFIER_SYSTEM", raising=False)
    monkeypatch.setenv("IMLN_CONFIG_FILE", str(tmp_path / "absent.toml"))


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["fhir", *args], env=env)


def _validated(payload: str) -> dict:
    from fhir.resources.R4B.riskassessment import RiskAssessment

    resource = json.loads(payload)
    RiskAssessment.model_validate(resource)
    assert check_risk_assessment(resource) == []
    return resource


def test_writes_a_valid_risk_assessment_with_the_summary_figures(tmp_path):
    out = tmp_path / "sub" / "risk.json"
    result = run(str(MEDIAL), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in " ".join(result.stderr.split())
    resource = _validated(out.read_text(encoding="utf-8"))
    view = present(imln.assess(imln.load_patient(MEDIAL)))
    pred = resource["prediction"][0]
    assert pred["probabilityDecimal"] == round(view.headline.probability.point, 6)
    assert f"{pred['probabilityDecimal'] * 100:.1f}%" == view.headline.probability.point_text == "49.6%"
    assert resource["mitigation"].startswith(view.recommendation.text + ".")
    assert resource["code"]["coding"][0]["code"] == "709510001"
    assert "identifier" not in resource["subject"] and "example-medial-4plus" in resource["subject"]["display"]


def test_prints_to_standard_output_without_output_option():
    result = run(str(MEDIAL))
    assert result.exit_code == 0, result.output
    assert _validated(result.stdout)["resourceType"] == "RiskAssessment"


def test_identifier_system_option():
    result = run(str(MEDIAL), "--identifier-system", "urn:oid:1.2.3.4")
    assert result.exit_code == 0, result.output
    subject = _validated(result.stdout)["subject"]
    assert subject["identifier"] == {"system": "urn:oid:1.2.3.4", "value": "example-medial-4plus"}


def test_identifier_system_from_environment_then_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('fhir_identifier_system = "https://hospital.example/pseudonyms"\n')
    monkeypatch.setenv("IMLN_CONFIG_FILE", str(config))
    assert json.loads(run(str(MEDIAL)).stdout)["subject"]["identifier"]["system"] == "https://hospital.example/pseudonyms"
    env = {"IMLN_FHIR_IDENTIFIER_SYSTEM": "urn:oid:9.9"}
    assert json.loads(run(str(MEDIAL), env=env).stdout)["subject"]["identifier"]["system"] == "urn:oid:9.9"
    option = run(str(MEDIAL), "--identifier-system", "urn:oid:1.1", env=env)  # the option wins
    assert json.loads(option.stdout)["subject"]["identifier"]["system"] == "urn:oid:1.1"


@pytest.mark.parametrize("bad", ["not a uri", "pseudonyms", ""])
def test_a_bad_identifier_system_is_a_clear_error_naming_the_option(tmp_path, bad):
    out = tmp_path / "risk.json"
    result = run(str(MEDIAL), "--identifier-system", bad, "-o", str(out))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "--identifier-system (IMLN_FHIR_IDENTIFIER_SYSTEM)" in message and "not an absolute URI" in message
    assert "Traceback" not in result.output + result.stderr and not out.exists()


def test_a_bad_identifier_system_in_the_config_file_names_the_setting(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('fhir_identifier_system = "our pseudonyms"\n')
    monkeypatch.setenv("IMLN_CONFIG_FILE", str(config))
    result = run(str(MEDIAL))
    assert result.exit_code == 2
    assert "fhir_identifier_system" in " ".join(result.stderr.split())


def test_bad_patient_names_the_field_and_writes_nothing(tmp_path):
    out = tmp_path / "risk.json"
    result = run(str(EXAMPLES / "invalid" / "bad.yaml"), "-o", str(out))
    assert result.exit_code == 2
    assert "tumor_size_mm" in result.stderr and "[allowed: >0–200 mm]" in result.stderr
    assert "Traceback" not in result.output + result.stderr and not out.exists()


def test_missing_patient_file_is_a_clear_error(tmp_path):
    result = run(str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2
    assert "absent.yaml" in result.stderr and "Traceback" not in result.output + result.stderr


def test_the_service_uses_the_configured_identifier_system():
    import warnings

    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

    from imln.api import Settings, create_app

    settings = Settings(open_compute=True, storage=False, fhir_identifier_system="urn:oid:1.2.3")
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/compute/fhir", content=MEDIAL.read_bytes(),
                        headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["subject"]["identifier"] == {"system": "urn:oid:1.2.3", "value": "example-medial-4plus"}


def test_settings_refuse_an_identifier_system_that_is_not_a_uri():
    from pydantic import ValidationError

    from imln.api import Settings

    with pytest.raises(ValidationError, match="fhir_identifier_system"):
        Settings(fhir_identifier_system="pseudonyms")


def test_serve_refuses_an_invalid_identifier_system_naming_the_setting(monkeypatch):
    import uvicorn

    from imln.api._cli import app as api_app

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    monkeypatch.setenv("IMLN_FHIR_IDENTIFIER_SYSTEM", "our pseudonyms")
    result = runner.invoke(api_app, ["serve"])
    assert result.exit_code == 2
    assert "fhir_identifier_system" in result.output and "not an absolute URI" in result.output
    assert "Traceback" not in result.output
