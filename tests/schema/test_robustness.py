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
