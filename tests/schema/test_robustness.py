"""Whatever comes in, the only failure is PatientInputError with readable text."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imln.schema import Patient, PatientInputError, data_dictionary, load_patient

FIELDS = [row["field"] for row in data_dictionary() if "." not in row["field"] and "[" not in row["field"]]
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
BASE = {"age_years": 50, "laterality": "left", "setting": "diagnosis"}


def _check(source: object) -> None:
    try:
        result = load_patient(source)
    except PatientInputError as err:
        text = str(err)
        assert err.problems
        assert "validation error for" not in text and "Input should" not in text
        err.to_dict()
    else:
        assert isinstance(result, Patient)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*FIELDS, "findings", "cardiac", "tumor_location"]), JSONISH, max_size=6))
def test_random_field_values(fields: dict) -> None:
    _check({**BASE, **fields})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    if "\n" not in text and len(text) < 200:
        text += "\n"  # keep it text, never a path
    _check(text)


def test_error_survives_pickling() -> None:
    with pytest.raises(PatientInputError) as info:
        load_patient({**BASE, "grade": 7})
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems and str(copy) == str(info.value)


def test_clock_time_hint() -> None:
    with pytest.raises(PatientInputError, match="write 10.5 for 10:30"):
        load_patient({**BASE, "tumor_location": {"clock_position": "10:30"}})


def test_data_dictionary_rows() -> None:
    rows = {row["field"]: row for row in data_dictionary()}
    assert rows["findings[].short_axis_mm"]["unit"] == "mm"
    assert rows["findings[].short_axis_mm"]["allowed"] == "0–100 mm"
    assert rows["age_years"]["required"] is True
    assert rows["cardiac.mean_heart_dose_gy_with_imn"]["allowed"] == "0–50 Gy"


# --------------------------------------------------------------------------- fuzz: no escape (issue 19)

import datetime as _dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import yaml  # noqa: E402

#: Field names at every level, so random trees reach the nested models' validators.
NESTED_FIELDS = [
    *FIELDS, "findings", "cardiac", "tumor_location", "im_node_tissue", "modality", "result", "date",
    "short_axis_mm", "node_count", "coronary_heart_disease", "anthracycline", "quadrant", "clock_position",
    "method",
]
HUGE_INT = st.integers(4200, 6000).map(lambda n: 10**n - 1)
ISO_SHAPED = st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
SCALARS = (
    st.none() | st.booleans() | st.integers() | HUGE_INT | st.floats() | st.text(max_size=20)
    | ISO_SHAPED | st.dates().map(_dt.date.isoformat) | st.sampled_from(["58", "0", "1", "yes", "-", "1e999"])
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(NESTED_FIELDS) | st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
DOCS = st.dictionaries(st.sampled_from(NESTED_FIELDS), TREES, max_size=6).map(lambda d: {**BASE, **d}) | TREES


@contextmanager
def _unlimited_int_digits():
    """Serialising a 5,000-digit integer needs Python's int-string limit lifted (parsing it must not)."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


def _only_patient_input_error(source: object, **kwargs: object) -> None:
    """load_patient returns a Patient or raises PatientInputError with problems; nothing else escapes."""
    try:
        result = load_patient(source, **kwargs)
    except PatientInputError as err:
        assert err.problems
        text = str(err)
        assert "Traceback" not in text and "validation error for" not in text
        json.dumps(err.to_dict())  # the API answers with it
    else:
        assert isinstance(result, Patient)


@settings(max_examples=300, deadline=None)
@given(DOCS)
def test_fuzz_json_trees(doc: object) -> None:
    with _unlimited_int_digits():
        text = json.dumps(doc)
    _only_patient_input_error(text.encode())
    _only_patient_input_error(text.encode(), format="json")


@settings(max_examples=300, deadline=None)
@given(DOCS)
def test_fuzz_yaml_trees(doc: object) -> None:
    with _unlimited_int_digits():
        text = yaml.safe_dump(doc, allow_unicode=True)
    _only_patient_input_error(text.encode())


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_fuzz_mappings(doc: object) -> None:
    _only_patient_input_error(doc)


YAML_SCALAR_TEXT = (
    ISO_SHAPED | st.from_regex(r"\A[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?\Z")
    | st.integers(1, 6000).map(lambda n: "7" * n) | st.from_regex(r"\A[-+]?0[xob][0-9a-f_]{1,30}\Z")
    | st.from_regex(r"\A[0-9]{1,3}(:[0-9]{1,2}){1,3}(\.[0-9]*)?\Z")  # YAML 1.1 sexagesimal
    | st.sampled_from(["!!int abc", "!!float x", "!!bool maybe", "!!timestamp 2024", "!!binary ===", "!!set {a}",
                       "!!omap [a]", "!!str [1]", "!!python/tuple [1]", ".nan", "-.inf", "~", "<<: 1"])
    | st.text(max_size=30).filter(lambda t: "\n" not in t)
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NESTED_FIELDS), YAML_SCALAR_TEXT), max_size=5),
       st.sampled_from(["top", "finding", "cardiac"]))
def test_fuzz_raw_yaml_scalars(pairs: list[tuple[str, str]], where: str) -> None:
    """YAML text whose scalars go through the int, float, bool and timestamp constructors."""
    head = "age_years: 50\nlaterality: left\nsetting: diagnosis\n"
    if where == "top":
        body = "".join(f"{k}: {v}\n" for k, v in pairs)
    elif where == "finding":
        body = "findings:\n  - modality: us\n" + "".join(f"    {k}: {v}\n" for k, v in pairs)
    else:
        body = "cardiac:\n" + "".join(f"  {k}: {v}\n" for k, v in pairs)
    _only_patient_input_error((head + body).encode())


# --------------------------------------------------------------------------- issue 19: named regressions

B = '"laterality": "left", "setting": "diagnosis"'


def _problems(source: object, **kwargs: object) -> list:
    with pytest.raises(PatientInputError) as info:
        load_patient(source, **kwargs)
    return info.value.problems


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_integer_over_python_digit_limit_is_refused_by_field(fmt: str) -> None:
    huge = "9" * 5000
    text = f'{{"age_years": {huge}, {B}}}' if fmt == "json" else f"age_years: {huge}\nlaterality: left\nsetting: diagnosis\n"
    (p,) = _problems(text.encode())
    assert p.field == "age_years" and "5000 digits" in p.message and p.allowed == "18–100 years"


def test_huge_integer_in_a_mapping_is_refused_by_field() -> None:
    (p,) = _problems({**BASE, "tumor_size_mm": 10**5000})
    assert p.field == "tumor_size_mm" and "too large" in p.message and p.allowed == ">0–200 mm"


@pytest.mark.parametrize("date", ["2024-02-30", "2024-13-45", "2023-02-29"])
@pytest.mark.parametrize("quoted", [True, False])
def test_impossible_date_is_refused_by_field(date: str, quoted: bool) -> None:
    value = f'"{date}"' if quoted else date
    text = f"age_years: 50\nlaterality: left\nsetting: diagnosis\nfindings:\n  - {{modality: us, result: negative, date: {value}}}\n"
    (p,) = _problems(text)
    assert p.field == "findings[0].date" and "not a calendar date" in p.message and "YYYY-MM-DD" in p.allowed


def test_impossible_datetime_in_yaml_is_refused_by_field() -> None:
    text = "age_years: 50\nlaterality: left\nsetting: diagnosis\nim_node_tissue: {method: fna, result: negative, date: 2024-02-30 25:00:00}\n"
    (p,) = _problems(text)
    assert p.field == "im_node_tissue.date"


@pytest.mark.parametrize("date", ["0001-01-01", "1899-12-31"])
def test_dates_before_1900_are_refused(date: str) -> None:
    for source in (f"age_years: 50\nlaterality: left\nsetting: diagnosis\nim_node_tissue: {{method: fna, result: negative, date: {date}}}\n",
                   {**BASE, "findings": [{"modality": "us", "result": "negative", "date": date}]}):
        (p,) = _problems(source)
        assert p.field.endswith(".date") and "before 1900" in p.message and "1900-01-01" in p.allowed
    assert load_patient({**BASE, "findings": [{"modality": "us", "result": "negative", "date": "1900-01-01"}]})


@pytest.mark.parametrize("text, field", [
    (f'{{"age_years": "58", {B}}}', "age_years"),
    (f'{{"age_years": 58, {B}, "tumor_size_mm": " 14.5 "}}', "tumor_size_mm"),
    (f'{{"age_years": 58, {B}, "findings": [{{"modality": "us", "short_axis_mm": "7"}}]}}', "findings[0].short_axis_mm"),
    ("age_years: '58'\nlaterality: left\nsetting: diagnosis\n", "age_years"),
])
def test_number_written_as_text_is_refused(text: str, field: str) -> None:
    (p,) = _problems(text)
    assert p.field == field and "not text" in p.message and "without quotes" in p.message and p.allowed


@pytest.mark.parametrize("value", ["0", "1", "0.0", '"1"', '"on"', '"t"'])
def test_flag_written_as_number_is_refused(value: str) -> None:
    (p,) = _problems(f'{{"age_years": 58, {B}, "cardiac": {{"coronary_heart_disease": {value}}}}}')
    assert p.field == "cardiac.coronary_heart_disease" and "true or false" in p.message
    assert p.allowed == "true or false (null = unknown)"


def test_flags_still_accept_true_false_and_yes_no() -> None:
    p = load_patient({**BASE, "lvi": "yes", "multifocal": False, "cardiac": {"coronary_heart_disease": "no"}})
    assert p.lvi is True and p.multifocal is False and p.cardiac.coronary_heart_disease is False


def test_tables_keep_converting_text() -> None:
    """CSV cells are text by nature: the strict document rules do not apply to tables."""
    from imln.schema import patients_from_table

    (p,) = patients_from_table([{"age_years": "58", "laterality": "left", "setting": "diagnosis", "lvi": "1"}])
    assert p.age_years == 58 and p.lvi is True


def test_type_slip_and_model_problem_are_reported_together() -> None:
    fields = {p.field for p in _problems({**BASE, "age_years": "58", "grade": 7})}
    assert fields == {"age_years", "grade"}


def test_json_trailing_comma_is_refused_when_json_is_declared(tmp_path) -> None:
    text = f'{{"age_years": 58, {B},}}'
    (p,) = _problems(text, format="json")
    assert p.field == "<input>" and "invalid JSON at line 1" in p.message and "trailing comma" in p.message
    path = tmp_path / "patient.json"
    path.write_text(text)
    (p,) = _problems(path)
    assert "trailing comma" in p.message
    assert load_patient(text).age_years == 58  # undeclared: a YAML flow mapping, as before


def test_unknown_format_is_refused() -> None:
    (p,) = _problems(b"{}", format="xml")
    assert "unknown input format" in p.message and p.allowed == "json, yaml"


@pytest.mark.parametrize("tagged", ["!!int abc", "!!float x", "!!bool maybe", "!!timestamp 2024"])
def test_explicit_yaml_tags_that_fail_are_refused_by_field(tagged: str) -> None:
    (p,) = _problems(f"age_years: {tagged}\nlaterality: left\nsetting: diagnosis\n")
    assert p.field == "age_years"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_documents_with_too_many_values_are_refused_quickly(fmt: str) -> None:
    """A megabyte of tiny values would take the pure-Python YAML reader many seconds: stopped at 20,000 values."""
    import time

    rows = [[1, 2, 3, 4, 5, 6, 7, 8]] * 30000
    if fmt == "json":
        text = json.dumps({**BASE, "x": rows})
    else:
        text = "age_years: 50\nlaterality: left\nsetting: diagnosis\nx:\n" + "  - [1, 2, 3, 4, 5, 6, 7, 8]\n" * 30000
    started = time.perf_counter()
    (p,) = _problems(text.encode(), format=fmt)
    assert p.field == "<input>" and "more than 20,000 values" in p.message
    assert time.perf_counter() - started < 10
    many_findings = {**BASE, "findings": [{"modality": "us", "result": "negative"}] * 50}
    assert len(load_patient(json.dumps(many_findings), format="json").findings) == 50  # a full patient still loads
