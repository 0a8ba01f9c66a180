"""The command-line interface, end to end on the bundled evidence and examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imln import load_evidence
from imln.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


class TestEvidenceCommands:
    def test_audit_json_has_one_entry_per_record(self):
        result = run("evidence", "audit", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        ids = [r["id"] for r in report["records"]]
        assert sorted(ids) == sorted(r.id for r in load_evidence())
        for entry in report["records"]:
            assert {"id", "checks_run", "passed", "status", "messages", "checks"} <= set(entry)
            assert entry["passed"] == (entry["status"] != "fail")
        assert report["summary"]["records"] == len(ids)

    def test_strict_audit_exits_nonzero_when_a_record_fails(self):
        assert run("evidence", "audit", "--strict").exit_code == 1

    def test_audit_table_names_the_failed_table1_rows(self):
        result = run("evidence", "audit", "--show", "fail")
        assert result.exit_code == 0
        assert "review-table1-us" in result.stdout and "review-table1-spect-ct" in result.stdout

    def test_show_gives_record_reference_and_audit(self):
        result = run("evidence", "show", "review-table1-mri", "--json")
        assert result.exit_code == 0
        payload = json.loads(result.stdout)
        assert payload["record"]["values"]["sensitivity"]["printed"] == "93.30%"
        assert payload["reference"]["doi"] == "10.1007/s12282-022-01377-7"
        assert payload["audit"]["status"] in ("pass", "warn", "fail")

    def test_show_unknown_record_is_a_clear_error(self):
        result = run("evidence", "show", "no-such-record")
        assert result.exit_code == 2
        assert "no evidence record 'no-such-record'" in result.stderr

    def test_list_filters_by_kind(self):
        result = run("evidence", "list", "--kind", "diagnostic_accuracy", "--json")
        rows = json.loads(result.stdout)
        assert rows and all(r["kind"] == "diagnostic_accuracy" for r in rows)


class TestAssess:
    @pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
    def test_every_example_assesses(self, example):
        result = run("assess", str(EXAMPLES / example), "--json")
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["evidence_version"] == load_evidence().version
        assert payload["evidence_digest"] == load_evidence().digest
        assert payload["input"]["age_years"] is not None

    def test_invalid_patient_names_the_field_without_traceback(self, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text("age_years: 58\nsex: female\nlaterality: left\ntumor_size_mm: 450\n")
        result = run("assess", str(bad))
        assert result.exit_code == 2
        assert "tumor_size_mm" in result.stderr
        assert "[allowed: >0–200 mm]" in result.stderr  # brackets survive the terminal renderer
        assert "Traceback" not in result.output + result.stderr

    def test_invalid_patient_json_error_is_machine_readable(self, tmp_path):
        bad = tmp_path / "bad.json"
        bad.write_text('{"age_years": -3}')
        result = run("assess", str(bad), "--json")
        assert result.exit_code == 2
        payload = json.loads(result.stdout)
        assert any(p["field"] == "age_years" for p in payload["problems"])

    def test_missing_file_is_a_clear_error(self, tmp_path):
        result = run("assess", str(tmp_path / "absent.yaml"))
        assert result.exit_code == 2
        assert "Traceback" not in result.output + result.stderr


def test_schema_patient_is_json_schema():
    result = run("schema", "patient")
    schema = json.loads(result.stdout)
    assert "age_years" in schema["properties"]
    assert "tumor_size_mm" in schema["properties"]


def test_console_script_runs_as_a_module():
    """The installed entry point, in a real subprocess (what users and CI type)."""
    proc = subprocess.run([sys.executable, "-m", "imln", "evidence", "audit", "--json"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["records"] == len(load_evidence())


def test_unknown_kind_is_refused_with_the_allowed_values():
    result = run("evidence", "list", "--kind", "nonsense")
    assert result.exit_code == 2
    assert "diagnostic_accuracy" in result.output


def test_evidence_show_prints_an_indication_with_its_quote_and_criteria():
    result = run("evidence", "show", "nccn2016pt-bcs-4plus-nodes")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "recommended" in text and "Cancer in 4 or more axillary nodes" in text
    assert '"positive_axillary_nodes_min": 4' in text


def test_vignettes_command_grades_the_suite(tmp_path):
    result = run("vignettes", str(Path(__file__).parents[1] / "clinical" / "vignettes"), "--json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["counts"]["unacceptable"] == 0 and len(payload["results"]) >= 50
    assert run("vignettes", str(tmp_path)).exit_code == 2  # an empty folder is refused, not graded


def test_assess_summary_needs_no_report_extra():
    """`imln assess` (core dependencies only) shows the presentation model's summary without Jinja2/MarkupSafe."""
    code = ("import sys; sys.modules['jinja2'] = None; sys.modules['markupsafe'] = None; "
            "sys.argv = ['imln', 'assess', sys.argv[1]]; from imln.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "medial_4plus_nodes.yaml")],
                          capture_output=True, text=True, check=False, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "Summary" in proc.stdout and "Recommendation: IMN radiotherapy" in proc.stdout
    assert "used by the decision: 49.6% (95% interval 29.8–69.4%)" in proc.stdout
