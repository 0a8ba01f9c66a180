"""Every file in tests/schema/malformed must be refused with a problem naming its field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imln.schema import MAX_INPUT_BYTES, PatientInputError, load_patient

HERE = Path(__file__).parent / "malformed"
MANIFEST = yaml.safe_load((HERE / "manifest.yaml").read_text(encoding="utf-8"))
LEAKS = ("validation error for", "pydantic", "Traceback", "input_value", "type=", "errors.pydantic.dev")


def test_manifest_covers_every_file() -> None:
    listed = {entry["file"] for entry in MANIFEST}
    present = {p.name for p in HERE.iterdir() if p.name != "manifest.yaml"}
    assert listed == present
    assert len(listed) >= 35


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_malformed_file_is_refused(entry: dict) -> None:
    with pytest.raises(PatientInputError) as info:
        load_patient(HERE / entry["file"])
    err = info.value
    text = str(err)
    assert entry["field"] in err.fields, text
    named = [p for p in err.problems if entry["field"] in p.fields]
    if "allowed" in entry:
        assert any(p.allowed and entry["allowed"] in p.allowed for p in named), text
        assert entry["allowed"] in text
    if "message" in entry:
        assert entry["message"] in text
    for leak in LEAKS:
        assert leak not in text
    assert str(HERE / entry["file"]) in text  # the source file is named
    assert err.to_dict()["problems"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_malformed_bytes_are_refused_the_same_way(entry: dict) -> None:
    """Reading the same content from bytes gives the same field (no path-only guards); a .json file
    is bytes declared as JSON (as an application/json request body is)."""
    fmt = "json" if entry["file"].endswith(".json") else None
    with pytest.raises(PatientInputError) as info:
        load_patient((HERE / entry["file"]).read_bytes(), format=fmt)
    assert entry["field"] in info.value.fields


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("w") as fh:
        fh.write("age_years: 55\nlaterality: left\nsetting: diagnosis\nnotes: '")
        fh.write("x" * (MAX_INPUT_BYTES + 10))
        fh.write("'\n")
    with pytest.raises(PatientInputError, match=r"limited to 1 MiB") as info:
        load_patient(huge)
    assert info.value.fields == ["<input>"]


def test_huge_text_is_refused() -> None:
    with pytest.raises(PatientInputError, match=r"1 MiB limit"):
        load_patient("age_years: 55\n" + "#" * (MAX_INPUT_BYTES + 1))


def test_unbounded_device_is_read_only_up_to_the_limit() -> None:
    """/dev/zero reports size 0; reading stops at the limit and binary content is refused."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(PatientInputError, match="limit"):
        load_patient(Path("/dev/zero"))


ISSUE_19 = ["age_5000_digits.json", "age_5000_digits.yaml", "finding_date_feb_30.yaml", "tissue_date_month_13.json",
            "finding_date_year_1.yaml", "age_as_text.json", "flag_as_number.json", "json_trailing_comma.json"]


@pytest.mark.parametrize("name", ISSUE_19)
def test_cli_answers_the_issue_19_inputs_without_a_traceback(name: str) -> None:
    """`imln assess` on each of them: exit 2, the field named, no traceback (they were tracebacks before)."""
    from typer.testing import CliRunner

    from imln.cli import app

    entry = next(e for e in MANIFEST if e["file"] == name)
    result = CliRunner().invoke(app, ["assess", str(HERE / name), "--json"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert entry["field"] in result.output
