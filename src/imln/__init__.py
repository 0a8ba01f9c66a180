"""imln: decision support for internal mammary lymph node (IMLN) metastasis in breast cancer.

The public API is small:

- :func:`load_evidence` and :func:`audit_evidence`: the published figures and their consistency audit;
- :func:`load_patient` and :class:`Patient`: validated patient input;
- :func:`assess`: one patient's assessment, the object every interface renders.

Decision support, not a medical device: every number carries its source.
"""

__version__ = "0.1.0"

from imln.evidence import load_evidence  # noqa: E402
from imln.evidence import audit_evidence  # noqa: E402
from imln.schema import (  # noqa: E402
    CardiacContext,
    ImagingFinding,
    Patient,
    PatientInputError,
    load_patient,
)
from imln._assessment import Assessment, assess  # noqa: E402

__all__ = [
    "Assessment",
    "CardiacContext",
    "ImagingFinding",
    "Patient",
    "PatientInputError",
    "__version__",
    "assess",
    "audit_evidence",
    "load_evidence",
    "load_patient",
]
