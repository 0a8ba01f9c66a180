"""Decisions about the internal mammary nodes, each number with its source.

* :func:`recommend` — a recommendation class from the probability of IMLN
  metastasis and the thresholds (``data/thresholds.yaml``: each a cited figure
  or a stated default choice), with a rationale whose every number names its
  evidence record, patient input or threshold, and whether the interval
  straddles a threshold (then the decision is said to be uncertain).
* :func:`next_tests` — for each imaging test not yet done, the probability that
  its result changes the recommendation (preposterior Monte Carlo, fixed seed).
* :func:`rt_balance` — IMN radiotherapy benefit from the trials against excess
  coronary risk from Darby 2013's dose-response: an explicit model, labelled as
  such, or a structured "not computable, needs …".
* :func:`threshold_sensitivity` / :func:`plot_threshold_sensitivity` — the
  recommendation across threshold choices, and a patient-level decision curve.
* :func:`assess_decision` — all of it as one :class:`DecisionAssessment`.

>>> import imln
>>> from imln.decision import ProbabilityEstimate, recommend
>>> p = imln.load_patient({"age_years": 75, "laterality": "left", "setting": "after_surgery",
...                       "tumor_location": {"quadrant": "UOQ"}, "positive_axillary_nodes": 0})
>>> recommend(ProbabilityEstimate(point=0.05, lower=0.03, upper=0.08, source="example"), p).recommendation.value
'omit_imn_directed_treatment'
"""

from imln.decision._assess import (
    DECISION_SCHEMA_VERSION,
    DecisionAssessment,
    assess_decision,
)
from imln.decision._classes import (
    INTENSITY,
    NODE_IMAGING,
    DecisionContext,
    RecommendationClass,
    class_steps,
    classify,
    decision_context,
)
from imln.decision._concordance import Concordance, Vignette, VignetteResult, load_vignettes, run_vignettes
from imln.decision._indications import IndicationAssessment, IndicationMatch, assess_indications
from imln.decision._next_tests import NextTest, NextTests, ResultOutcome, next_tests
from imln.decision._post_treatment import (
    ImplantContext,
    PostTreatmentContext,
    post_treatment_context,
)
from imln.decision._probability import ProbabilityEstimate
from imln.decision._rationale import Figure, Statement
from imln.decision._recommend import (
    BiopsyExpectation,
    IMSentinelExpectation,
    Recommendation,
    recommend,
)
from imln.decision._rt_balance import Quantity, RTBalance, TrialFigure, rt_balance
from imln.decision._sensitivity import (
    ThresholdSensitivity,
    plot_threshold_sensitivity,
    threshold_sensitivity,
)
from imln.decision._sources import DecisionSources, load_sources
from imln.decision._thresholds import (
    DecisionDataError,
    Rule,
    Threshold,
    ThresholdSet,
    default_thresholds,
    load_thresholds,
)

__all__ = [
    "DECISION_SCHEMA_VERSION",
    "INTENSITY",
    "NODE_IMAGING",
    "BiopsyExpectation",
    "Concordance",
    "IndicationAssessment",
    "IndicationMatch",
    "Vignette",
    "VignetteResult",
    "assess_indications",
    "load_vignettes",
    "run_vignettes",
    "DecisionAssessment",
    "DecisionContext",
    "DecisionDataError",
    "DecisionSources",
    "Figure",
    "IMSentinelExpectation",
    "ImplantContext",
    "NextTest",
    "NextTests",
    "PostTreatmentContext",
    "ProbabilityEstimate",
    "Quantity",
    "RTBalance",
    "Recommendation",
    "RecommendationClass",
    "ResultOutcome",
    "Rule",
    "Statement",
    "Threshold",
    "ThresholdSensitivity",
    "ThresholdSet",
    "TrialFigure",
    "assess_decision",
    "class_steps",
    "classify",
    "decision_context",
    "default_thresholds",
    "load_sources",
    "load_thresholds",
    "next_tests",
    "plot_threshold_sensitivity",
    "post_treatment_context",
    "recommend",
    "rt_balance",
    "threshold_sensitivity",
]
