"""Loaders: every accepted source form, content-based format detection, and tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from imln.schema import (
    Patient,
    PatientInputError,
    load_patient,
    patients_from_table,
    table_columns,
)

MINIMAL = {"age_years": 60, "laterality": "right", "setting": "follow_up"}
YAML_TEXT = "age_years: 60\nlaterality: right\nsetting: follow_up\n"


class TestLoadPatient:
    def test_from_mapping(self) -> None:
        assert load_patient(MINIMAL).age_years == 60

    def test_from_patient_returns_it(self) -> None:
        p = load_patient(MINIMAL)
        assert load_patient(p) is p

    def test_from_other_pydantic_model(self) -> None:
        class Row(BaseModel):
            age_years: int
            laterality: str
            setting: str

        assert load_patient(Row(**MINIMAL)).laterality == "right"

    def test_from_yaml_and_json_text(self) -> None:
        assert load_patient(YAML_TEXT) == load_patient(json.dumps(MINIMAL))

    def test_from_bytes_with_bom(self) -> None:
        assert load_patient(b"\xef\xbb\xbf" + YAML_TEXT.encode()).age_years == 60

    @pytest.mark.parametrize("suffix", [".yaml", ".json", ".txt", ""])
    def test_content_decides_not_suffix(self, tmp_path: Path, suffix: str) -> None:
        as_json = tmp_path / f"a{suffix}"
        as_json.write_text(json.dumps(MINIMAL))
        as_yaml = tmp_path / f"b{suffix}"
        as_yaml.write_text(YAML_TEXT)
        assert load_patient(as_json) == load_patient(as_yaml) == load_patient(str(as_yaml))

    def test_yaml_flow_mapping(self) -> None:
        assert load_patient("{age_years: 60, laterality: right, setting: follow_up}").age_years == 60

    def test_missing_file(self) -> None:
        with pytest.raises(PatientInputError, match="file not found"):
            load_patient("no/such/patient.yaml")

    def test_folder(self, tmp_path: Path) -> None:
        with pytest.raises(PatientInputError, match="folder"):
            load_patient(tmp_path)

    def test_unsupported_type(self) -> None:
        with pytest.raises(PatientInputError, match="cannot read a patient from int"):
            load_patient(42)

    def test_source_named_in_message(self) -> None:
        with pytest.raises(PatientInputError, match="in web form"):
            load_patient({"age_years": 3}, name="web form")

    def test_yaml_python_tags_are_refused(self) -> None:
        with pytest.raises(PatientInputError, match="invalid YAML"):
            load_patient("age_years: !!python/object/apply:os.system ['echo hi']\n")

    def test_deep_nesting(self) -> None:
        with pytest.raises(PatientInputError) as info:
            load_patient("[" * 100_000 + "]" * 100_000)
        assert info.value.fields == ["<input>"]

    def test_yaml_dates_accepted(self) -> None:
        p = load_patient(YAML_TEXT + "findings:\n  - {modality: us, result: negative, date: 2024-03-01}\n")
        assert p.findings[0].date is not None and p.findings[0].date.year == 2024

    def test_yaml_datetime_refused(self) -> None:
        with pytest.raises(PatientInputError) as info:
            load_patient(YAML_TEXT + "findings:\n  - {modality: us, result: negative, date: 2024-03-01 10:00:00}\n")
        assert info.value.fields == ["findings[0].date"]


ROWS = [
    {
        "patient_id": "p1",
        "age_years": "58",
        "laterality": "left",
        "setting": "diagnosis",
        "tumor_quadrant": "UOQ",
        "tumor_clock_position": "",
        "tumor_size_mm": "14",
        "lvi": "false",
        "us_result": "negative",
        "mri_short_axis_mm": "",
        "anthracycline": "",
    },
    {
        "patient_id": "p2",
        "age_years": "47",
        "laterality": "right",
        "setting": "after_nac",
        "tumor_quadrant": "",
        "tumor_clock_position": "3",
        "tumor_size_mm": "",
        "lvi": "true",
        "us_result": "",
        "mri_short_axis_mm": "7",
        "anthracycline": "yes",
    },
]


class TestTable:
    def test_rows(self) -> None:
        p1, p2 = patients_from_table(ROWS)
        assert p1.patient_id == "p1" and p1.tumor_size_mm == 14 and p1.lvi is False
        assert [f.modality.value for f in p1.findings] == ["us"]
        assert p1.cardiac is None
        assert p2.medial_lateral == "medial"
        assert p2.findings[0].modality == "mri" and p2.findings[0].short_axis_mm == 7
        assert p2.cardiac is not None and p2.cardiac.anthracycline is True
        assert p2.tumor_size_mm is None

    def test_csv_file(self, tmp_path: Path) -> None:
        path = tmp_path / "cohort.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
            writer.writeheader()
            writer.writerows(ROWS)
        assert patients_from_table(path) == patients_from_table(ROWS)

    def test_problems_name_row_and_column(self) -> None:
        rows = [dict(ROWS[0]), dict(ROWS[1], mri_short_axis_mm="0.7 cm", age_years="200")]
        with pytest.raises(PatientInputError) as info:
            patients_from_table(rows)
        fields = info.value.fields
        assert "rows[1].mri_short_axis_mm" in fields
        assert "rows[1].age_years" in fields
        assert "did you mean 7" in str(info.value)

    def test_conflicts_map_to_columns(self) -> None:
        rows = [dict(ROWS[1], mri_short_axis_mm="8", mri_long_axis_mm="5")]
        with pytest.raises(PatientInputError) as info:
            patients_from_table(rows)
        (problem,) = info.value.problems
        assert problem.field == "rows[0].mri_long_axis_mm"
        assert problem.related == ("rows[0].mri_short_axis_mm",)

    def test_unknown_column_reported_once(self) -> None:
        rows = [dict(r, tumour_size_mm="") for r in ROWS]
        with pytest.raises(PatientInputError) as info:
            patients_from_table(rows)
        assert info.value.fields == ["tumour_size_mm"]
        assert "did you mean 'tumor_size_mm'" in str(info.value)

    def test_empty_rows_skipped(self) -> None:
        assert len(patients_from_table([*ROWS, {k: "" for k in ROWS[0]}])) == 2

    def test_single_mapping_refused(self) -> None:
        with pytest.raises(PatientInputError, match="list of rows"):
            patients_from_table(ROWS[0])

    def test_column_names_are_unique_and_documented(self) -> None:
        columns = table_columns()
        assert columns["mri_short_axis_mm"] == "findings.mri.short_axis_mm"
        assert columns["pet_ct_suv_max"] == "findings.pet_ct.suv_max"
        assert columns["tumor_quadrant"] == "tumor_location.quadrant"
        assert columns["mean_heart_dose_gy_with_imn"] == "cardiac.mean_heart_dose_gy_with_imn"
        assert len(set(columns.values())) == len(columns)

    def test_dataframe(self) -> None:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(
            {
                "age_years": [58, 47],
                "laterality": ["left", "right"],
                "setting": ["diagnosis", "follow_up"],
                "tumor_size_mm": [14.0, float("nan")],
                "mri_short_axis_mm": [None, 6.5],
                "lvi": [True, False],
            }
        )
        p1, p2 = patients_from_table(frame)
        assert p1.tumor_size_mm == 14 and p2.tumor_size_mm is None
        assert p1.findings == [] and p2.findings[0].short_axis_mm == 6.5
        assert p2.lvi is False


def test_loaders_return_patients() -> None:
    assert all(isinstance(p, Patient) for p in patients_from_table(ROWS))
