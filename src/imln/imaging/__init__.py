"""Imaging results to post-test probabilities of IMLN metastasis.

Bayes' theorem on the odds scale, with the uncertainty of test accuracy (Beta
posteriors from audited 2×2 tables) and of the pre-test probability carried
into a Monte Carlo credible interval.

>>> from imln.evidence._twobytwo import TwoByTwo
>>> from imln.imaging import AccuracyPosterior, posttest_probability
>>> mri = AccuracyPosterior.from_table(TwoByTwo(tp=14, fn=1, tn=25, fp=3), source="review-table1-mri")
>>> round(mri.lr_positive(), 3)
7.509
>>> round(posttest_probability(0.15, "positive", mri).point, 3)
0.57
"""

from imln.imaging._bayes import (
    JEFFREYS_PRIOR,
    AccuracyPosterior,
    BatchPosttestResult,
    PosttestResult,
    PretestProbability,
    combine_tests,
    posttest_probability,
    posttest_probability_batch,
)

__all__ = [
    "JEFFREYS_PRIOR",
    "AccuracyPosterior",
    "BatchPosttestResult",
    "PosttestResult",
    "PretestProbability",
    "combine_tests",
    "posttest_probability",
    "posttest_probability_batch",
]
