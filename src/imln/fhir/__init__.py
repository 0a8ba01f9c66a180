"""FHIR export: an assessment as an R4B RiskAssessment (``fhir.resources``).

>>> from imln.fhir import risk_assessment_json, check_risk_assessment
>>> resource = risk_assessment_json(assessment)          # doctest: +SKIP
>>> check_risk_assessment(resource)                       # doctest: +SKIP
[]

``prediction.probabilityDecimal`` is a proportion in [0, 1]: the probability the
decision was made on, taken from :func:`imln.report.present` like the headline of the
web page and the report; its interval is an extension on the prediction (see
:mod:`imln.fhir._export`). The recommendation is in ``mitigation``. ``code`` carries SNOMED CT
709510001 with its text; the outcome is text only (no code found: :mod:`imln.fhir._codes`).
The subject's identifier needs a namespace, ``identifier_system`` (an absolute URI); the
CLI (``imln fhir --identifier-system``) and the service take it from ``IMLN_FHIR_IDENTIFIER_SYSTEM``
or ``fhir_identifier_system`` in the config file. Details: ``docs/fhir.md``.
"""

from imln.fhir._export import (
    FHIR_VERSION,
    INTERVAL_EXTENSION_URL,
    check_identifier_system,
    risk_assessment_json,
    to_risk_assessment,
)
from imln.fhir._invariants import check_risk_assessment

__all__ = ["FHIR_VERSION", "INTERVAL_EXTENSION_URL", "check_identifier_system", "check_risk_assessment",
           "risk_assessment_json", "to_risk_assessment"]
