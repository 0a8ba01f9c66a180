"""Shared fixtures of the decision tests: the bundled evidence, thresholds and small builders."""

from __future__ import annotations

import pytest

import imln
from imln.decision import ProbabilityEstimate, default_thresholds


@pytest.fixture(scope="session")
def evidence():
    return imln.load_evidence()


@pytest.fixture(scope="session")
def thresholds():
    return default_thresholds()


def estimate(point: float, lower: float | None = None, upper: float | None = None,
             source: str = "given directly by the test") -> ProbabilityEstimate:
    """A probability estimate; a point value when no interval is given."""
    if lower is None:
        return ProbabilityEstimate.from_point(point, source)
    return ProbabilityEstimate(point=point, lower=lower, upper=upper, source=source)


def patient(**fields):
    """A validated patient: defaults for the required fields, overridden by ``fields``."""
    body = {"age_years": 55, "laterality": "left", "setting": "diagnosis"}
    body.update(fields)
    return imln.load_patient(body)
