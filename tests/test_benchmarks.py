"""The load benchmark's patients: valid, distinct, and covering the risk patterns its README says they cover."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import imln

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def load_module():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "benchmarks" / "api" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Patterns of the default model, imln-erm-joint (age x nodes x site; it has no size term): age-size
# varies 3 of them, risk-factors all 24. The README's measurements were taken with imln-erm-synthesis,
# whose size term doubled both counts (6 and 48).
@pytest.mark.parametrize(("example", "vary", "patterns"), [
    ("medial_4plus_nodes", "age-size", 3),
    ("early_lateral_n0", "age-size", 3),
    ("medial_4plus_nodes", "risk-factors", 24),
    ("early_lateral_n0", "risk-factors", 24),
])
def test_patients_are_valid_distinct_and_span_the_stated_risk_patterns(load_module, example, vary, patterns):
    bodies = load_module.patient_bodies(ROOT / "examples" / f"{example}.yaml", 500, vary)
    assert len(set(bodies)) == 500
    risk = {imln.assess(imln.load_patient(json.loads(b))).risk.probability for b in bodies}
    assert len(risk) == patterns


def test_an_unknown_variation_is_refused(load_module):
    with pytest.raises(ValueError, match="vary must be 'age-size' or 'risk-factors'"):
        load_module.patient_bodies(ROOT / "examples" / "medial_4plus_nodes.yaml", 3, "everything")
