"""The standard codes the FHIR export uses, each with the public source it was found printed in.

A code is used here only when it was found printed in a source that can be cited; the
source's address is kept with the code (and listed in ``docs/fhir.md``). Every
CodeableConcept keeps its ``text``, so a receiver that does not know the code still
reads what is meant. Concepts for which no code was found stay text-only
(:data:`TEXT_ONLY`, with what was looked for and why near misses were not used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ASSESSMENT_CODE", "CODES", "SNOMED_CT", "TEXT_ONLY", "Code", "codeable_concept"]

#: SNOMED CT's canonical URI in FHIR (as printed by HL7's own value sets, e.g. mCODE's
#: SecondaryCancerDisorderVS: https://hl7.org/fhir/us/mcode/STU3/ValueSet-mcode-secondary-cancer-disorder-vs.html).
SNOMED_CT = "http://snomed.info/sct"


@dataclass(frozen=True)
class Code:
    """One coding, with where it was found printed (``source``) and why it fits."""

    system: str
    code: str
    display: str
    source: str
    why: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


#: ``RiskAssessment.code``: the type of assessment. The FHIR specification's own RiskAssessment
#: example ("riskexample", a breast cancer risk assessment) codes it with this concept; the R6
#: ballot prints it under SNOMED CT's URI (the R4-era example printed the same code under the
#: browser address http://browser.ihtsdotools.org/, which is not a code system URI).
ASSESSMENT_CODE = Code(
    system=SNOMED_CT,
    code="709510001",
    display="Assessment of risk for disease (procedure)",
    source="https://hl7.org/fhir/6.0.0-ballot5/riskassessment-riskexample.json.html",
    why="The specification's own RiskAssessment example uses it for the kind of assessment this is "
        "(the risk of a disease: here IMLN metastasis); the text says which disease.",
)

#: Every code the export may write (a test asserts that no other coding appears).
CODES: tuple[Code, ...] = (ASSESSMENT_CODE,)

#: Concepts sent as text only: no code for them was found printed in a citable source.
TEXT_ONLY: dict[str, str] = {
    "prediction.outcome (IMLN metastasis)": (
        "No precoordinated SNOMED CT, LOINC or NCI Thesaurus concept for metastasis to an internal mammary "
        "lymph node was found printed in a source. Near misses not used: SNOMED CT 399374009 'Regional "
        "lymph node metastasis present (finding)' (HL7 Breast Cancer IG LymphNodeInvolvementVS) is broader "
        "(it is true of any positive axillary node, so a receiver would read the IMLN probability as the "
        "probability of any regional nodal metastasis); SNOMED CT 245282001 'Internal mammary lymph node "
        "group (body structure)' (HL7 Breast Cancer IG BreastLymphNodeGroupVS) is a body structure, not an "
        "outcome; the AJCC N categories (e.g. N2b, N3b) code staging, not the outcome."
    ),
}


def codeable_concept(text: str, *codes: Code) -> dict[str, Any]:
    """A CodeableConcept with ``text`` always, and the codings of ``codes`` when there are any."""
    concept: dict[str, Any] = {"text": text}
    if codes:
        concept = {"coding": [c.coding() for c in codes], **concept}
    return concept
