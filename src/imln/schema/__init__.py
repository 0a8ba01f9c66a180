"""Patient input: the data dictionary, validation with readable errors, and loaders.

>>> from imln.schema import load_patient
>>> p = load_patient({"age_years": 58, "laterality": "left", "setting": "diagnosis",
...                   "tumor_location": {"quadrant": "UOQ"}})
>>> p.medial_lateral.value
'lateral'
"""

from imln.schema._errors import PatientInputError, Problem
from imln.schema._export import data_dictionary, normalise, patient_json_schema
from imln.schema._load import MAX_INPUT_BYTES, load_patient, patients_from_table, table_columns
from imln.schema._patient import (
    CardiacContext,
    ImagingFinding,
    MedialLateral,
    Patient,
    TumorLocation,
)

__all__ = [
    "CardiacContext",
    "ImagingFinding",
    "MAX_INPUT_BYTES",
    "MedialLateral",
    "Patient",
    "PatientInputError",
    "Problem",
    "TumorLocation",
    "data_dictionary",
    "load_patient",
    "normalise",
    "patient_json_schema",
    "patients_from_table",
    "table_columns",
]
