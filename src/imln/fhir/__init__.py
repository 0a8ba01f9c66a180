"""FHIR export: an assessment as an R4B RiskAssessment (``fhir.resources``).

>>> from imln.fhir import risk_assessment_json, check_risk_assessment
>>> resource = risk_assessment_json(assessment)          # doctest: +SKIP
>>> check_risk_assessment(resource)                       # doctest: +SKIP
[]

``prediction.probabilityDecimal`` is a proportion in [0, 1]. The probability is read
from the assessment's risk section by :func:`imln.report.risk_estimate` (the one
place that knows its field names).
"""

from imln.fhir._export import FHIR_VERSION, risk_assessment_json, to_risk_assessment
from imln.fhir._invariants import check_risk_assessment

__all__ = ["FHIR_VERSION", "check_risk_assessment", "risk_assessment_json", "to_risk_assessment"]
