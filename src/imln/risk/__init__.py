"""Pre-test probability of IMLN metastasis from clinicopathological factors.

Models are data (``imln/risk/models/*.yaml``, format in ``docs/risk-models.md``):
a registry lists the bundled ones and any a user adds. The bundled default,
``imln-erm-joint``, is one joint fit to the published subgroup rates of extended
radical mastectomy series (the first synthesis, ``imln-erm-synthesis``, stays
registered for comparison); read its assumptions before trusting its numbers.

>>> from imln import load_patient
>>> from imln.risk import predict_risk
>>> p = load_patient({"age_years": 45, "laterality": "left", "setting": "diagnosis",
...                   "positive_axillary_nodes": 0, "tumor_size_mm": 15,
...                   "tumor_location": {"quadrant": "UOQ"}})
>>> r = predict_risk(p)
>>> r.probability < r.ci95[1]
True
"""

from imln.risk._features import FEATURES, patient_features
from imln.risk._predict import (
    FactorContribution,
    MissingPredictorError,
    RiskPrediction,
    predict_proba,
    predict_risk,
)
from imln.risk._registry import DEFAULT_MODEL_ID, ModelEntry, add_model, get_model, list_models, user_models_dir
from imln.risk._spec import ModelSpec, ModelSpecError, load_model_spec

__all__ = [
    "DEFAULT_MODEL_ID",
    "FEATURES",
    "FactorContribution",
    "MissingPredictorError",
    "ModelEntry",
    "ModelSpec",
    "ModelSpecError",
    "RiskPrediction",
    "add_model",
    "compare_models",
    "get_model",
    "list_models",
    "load_model_spec",
    "patient_features",
    "predict_proba",
    "predict_risk",
    "user_models_dir",
]


def compare_models(patient, model_ids=None, **kwargs) -> list[RiskPrediction]:
    """The same patient through several registered models (all of them when ``None``)."""
    ids = model_ids or [e.id for e in list_models()]
    return [predict_risk(patient, model_id, **kwargs) for model_id in ids]
