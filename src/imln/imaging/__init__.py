"""Imaging results to post-test probabilities of IMLN metastasis.

* :func:`classify_finding` — the criteria engine: a finding's measurements to
  positive / negative / indeterminate by published criteria (``data/criteria.yaml``),
  each rule traceable to an evidence record, with the reasons.
* :func:`select_accuracy` — the accuracy of a modality in the patient's setting,
  from audited evidence records, with what was used and what was excluded and why.
* Bayes' theorem on the odds scale, with the uncertainty of test accuracy (Beta
  posteriors from audited 2×2 tables) and of the pre-test probability carried
  into a Monte Carlo credible interval (:func:`posttest_probability`,
  :func:`combine_tests`, and the loop-free batch versions).
* :func:`assess_imaging` — all of it for one patient, as an :class:`ImagingAssessment`.
* :func:`fagan_data` / :func:`plot_fagan`, :func:`prepost_data` / :func:`plot_prepost`,
  :func:`save_figures` — the Fagan nomogram and the pre- → post-test chart.

>>> from imln.evidence._twobytwo import TwoByTwo
>>> from imln.imaging import AccuracyPosterior, posttest_probability
>>> mri = AccuracyPosterior.from_table(TwoByTwo(tp=14, fn=1, tn=25, fp=3), source="review-table1-mri")
>>> round(mri.lr_positive(), 3)
7.509
>>> round(posttest_probability(0.15, "positive", mri).point, 3)
0.57
"""

from imln.imaging._accuracy import (
    SELECTION_RULE,
    SETTING_FALLBACKS,
    AccuracyCandidate,
    AccuracyChoice,
    PoolUsed,
    evidence_setting,
    select_accuracy,
)
from imln.imaging._assess import (
    FindingAssessment,
    ImagingAssessment,
    LikelihoodRatio,
    PosttestSummary,
    PretestSummary,
    Step,
    assess_imaging,
)
from imln.imaging._bayes import (
    JEFFREYS_PRIOR,
    AccuracyDistribution,
    AccuracyPosterior,
    BatchCombinedResult,
    BatchPosttestResult,
    PooledAccuracy,
    PosttestResult,
    PretestProbability,
    combine_tests,
    combine_tests_batch,
    posttest_probability,
    posttest_probability_batch,
)
from imln.imaging._criteria import (
    CriteriaError,
    CriteriaResult,
    CriteriaSet,
    Rule,
    RuleOutcome,
    classify_finding,
    load_criteria,
)
from imln.imaging._figures import (
    FaganData,
    PrePostData,
    fagan_data,
    plot_fagan,
    plot_prepost,
    prepost_data,
    save_figures,
)

__all__ = [
    "JEFFREYS_PRIOR",
    "SELECTION_RULE",
    "SETTING_FALLBACKS",
    "AccuracyCandidate",
    "AccuracyChoice",
    "AccuracyDistribution",
    "AccuracyPosterior",
    "BatchCombinedResult",
    "BatchPosttestResult",
    "CriteriaError",
    "CriteriaResult",
    "CriteriaSet",
    "FaganData",
    "FindingAssessment",
    "ImagingAssessment",
    "LikelihoodRatio",
    "PoolUsed",
    "PooledAccuracy",
    "PosttestResult",
    "PosttestSummary",
    "PrePostData",
    "PretestProbability",
    "PretestSummary",
    "Rule",
    "RuleOutcome",
    "Step",
    "assess_imaging",
    "classify_finding",
    "combine_tests",
    "combine_tests_batch",
    "evidence_setting",
    "fagan_data",
    "load_criteria",
    "plot_fagan",
    "plot_prepost",
    "posttest_probability",
    "posttest_probability_batch",
    "prepost_data",
    "save_figures",
    "select_accuracy",
]
