"""The evidence base: published figures as versioned data files, each with its citation.

>>> from imln.evidence import load_evidence
>>> evidence = load_evidence()
>>> evidence.get("review-table1-mri").values["sensitivity"].printed
'93.30%'
"""

from imln.evidence._audit import (
    record_summary,
    AuditPolicy,
    AuditReport,
    CheckResult,
    RecordAudit,
    Selection,
    audit_evidence,
    select_records,
)
from imln.evidence._load import EvidenceBase, EvidenceError, default_data_dir, load_evidence
from imln.evidence._twobytwo import TwoByTwo
from imln.evidence._records import (
    EvidenceRecord,
    EvidenceValue,
    Indication,
    IndicationCriteria,
    Kind,
    Level,
    Modality,
    Obtained,
    Reference,
    Setting,
    Unit,
)

__all__ = [
    "record_summary",
    "AuditPolicy",
    "AuditReport",
    "CheckResult",
    "RecordAudit",
    "Selection",
    "audit_evidence",
    "select_records",
    "EvidenceBase",
    "EvidenceError",
    "EvidenceRecord",
    "EvidenceValue",
    "Indication",
    "IndicationCriteria",
    "Kind",
    "Level",
    "Modality",
    "Obtained",
    "Reference",
    "Setting",
    "TwoByTwo",
    "Unit",
    "default_data_dir",
    "load_evidence",
]
