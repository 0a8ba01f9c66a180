"""Every patient field is read by some layer or its non-use is stated (issue 15)."""

from __future__ import annotations

import pytest

import imln
from imln._inputs import ALWAYS_READ, FEATURE_FIELDS, NOT_READ, fields_read
from imln.decision._indications import _CRITERION_FIELDS
from imln.schema import Patient

DYNAMIC = {f for fields in FEATURE_FIELDS.values() for f in fields} | set(_CRITERION_FIELDS.values())


def test_every_schema_field_is_accounted_for():
    """Read always, read through a model term or an indication criterion, or listed with a reason."""
    for name in Patient.model_fields:
        assert name in ALWAYS_READ or name in NOT_READ or name in DYNAMIC, name
    assert not set(ALWAYS_READ) & set(NOT_READ)
    assert all(len(reason) > 20 for reason in NOT_READ.values())


def test_fields_read_by_the_bundled_risk_model_and_indications():
    patient = imln.load_patient("examples/medial_4plus_nodes.yaml")
    a = imln.assess(patient)
    read = fields_read(a.risk, imln.load_evidence())
    for c in a.risk.contributions:  # every model term's field is listed as read by the risk layer
        for name in FEATURE_FIELDS[c.feature]:
            assert any(s.startswith("risk:") for s in read[name]), name


@pytest.mark.parametrize("field,value", [("ki67_percent", 30), ("sex", "female"), ("her2_status", "positive"),
                                         ("histology", "lobular"), ("bmi_kg_per_m2", 31)])
def test_a_field_no_layer_reads_is_listed_with_its_reason(field, value):
    body = {"age_years": 50, "laterality": "left", "setting": "after_surgery", field: value}
    a = imln.assess(imln.load_patient(body))
    unused = {u.field: u for u in a.unused_inputs}
    assert field in unused and unused[field].reason.startswith(NOT_READ[field])


def test_a_field_that_is_read_is_not_listed():
    a = imln.assess(imln.load_patient("examples/medial_4plus_nodes.yaml"))
    listed = {u.field for u in a.unused_inputs}
    assert not listed & {"positive_axillary_nodes", "tumor_location", "setting", "findings", "cardiac"}
    assert listed <= set(NOT_READ) | DYNAMIC
