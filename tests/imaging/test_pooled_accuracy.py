"""Imaging reads a finding through a meta-analysis pool's predictive distribution when one exists.

``PooledAccuracy`` is checked against independent computations (scipy quadrature, numpy's own
multivariate normal draws, the pool fit's ``predictive``); the selection and the assessment are
checked on a copy of the evidence with SYNTHETIC MRI studies (tests/_support), since the rules do
not depend on which records the bundled evidence holds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special, stats

from imln.evidence import audit_evidence, load_evidence
from imln.imaging import (
    AccuracyPosterior,
    PooledAccuracy,
    assess_imaging,
    combine_tests,
    select_accuracy,
)
from imln.schema import load_patient
from imln.synthesis import ReitsmaFit, UnivariateFit
from imln.synthesis.evidence import accuracy_pools
from tests._support.synthetic_evidence import SYNTHETIC, write_synthetic_evidence

MEAN = (1.4, -2.1)
COV = ((0.30, -0.08), (-0.08, 0.45))


class TestPooledAccuracy:
    acc = PooledAccuracy(mean=MEAN, covariance=COV, source="pool test")

    def test_means_are_logit_normal_means(self):
        def mean_of(mu, var, sign):
            sd = math.sqrt(var)
            f = lambda z: special.expit(sign * (mu + sd * z)) * stats.norm.pdf(z)
            return integrate.quad(f, -12, 12, epsabs=1e-13)[0]

        assert self.acc.sensitivity_mean == pytest.approx(mean_of(MEAN[0], COV[0][0], 1), abs=1e-10)
        assert self.acc.specificity_mean == pytest.approx(mean_of(MEAN[1], COV[1][1], -1), abs=1e-10)
        fpr = mean_of(MEAN[1], COV[1][1], 1)
        assert self.acc.lr_positive() == pytest.approx(self.acc.sensitivity_mean / fpr, rel=1e-9)

    def test_intervals_are_expit_of_normal_quantiles(self):
        z = stats.norm.ppf(0.975)
        lo, hi = self.acc.sensitivity_interval(0.95)
        assert (lo, hi) == pytest.approx((special.expit(MEAN[0] - z * math.sqrt(COV[0][0])),
                                          special.expit(MEAN[0] + z * math.sqrt(COV[0][0]))), abs=1e-12)
        lo, hi = self.acc.specificity_interval(0.95)
        assert hi == pytest.approx(1 - special.expit(MEAN[1] - z * math.sqrt(COV[1][1])), abs=1e-12)

    def test_lr_interval_matches_numpy_draws(self):
        draws = np.random.default_rng(7).multivariate_normal(MEAN, COV, size=400_000)
        lr_pos = special.expit(draws[:, 0]) / special.expit(draws[:, 1])
        lr_neg = special.expit(-draws[:, 0]) / special.expit(-draws[:, 1])
        for result, values in (("positive", lr_pos), ("negative", lr_neg)):
            lo, hi = self.acc.lr_interval(result, 0.95, n_draws=200_000, seed=3)
            assert lo == pytest.approx(np.quantile(values, 0.025), rel=0.02)
            assert hi == pytest.approx(np.quantile(values, 0.975), rel=0.02)

    def test_a_singular_covariance_is_a_point(self):
        point = PooledAccuracy(mean=MEAN, covariance=((0.0, 0.0), (0.0, 0.0)))
        lo, hi = point.lr_interval("positive", n_draws=1000, seed=1)
        expected = special.expit(MEAN[0]) / special.expit(MEAN[1])
        assert lo == pytest.approx(expected, rel=1e-12) and hi == pytest.approx(expected, rel=1e-12)

    @pytest.mark.parametrize("cov, message", [
        (((1.0, 0.5), (0.4, 1.0)), "symmetric"),
        (((1.0, 2.0), (2.0, 1.0)), "positive semi-definite"),
        (((1.0, 0.0), (0.0, float("nan"))), "finite"),
    ])
    def test_bad_covariance_is_refused_by_name(self, cov, message):
        with pytest.raises(ValueError, match=f"covariance must be .*{message}"):
            PooledAccuracy(mean=MEAN, covariance=cov)

    def test_combines_with_a_beta_posterior(self):
        from imln.evidence import TwoByTwo

        beta = AccuracyPosterior.from_table(TwoByTwo(tp=20, fn=5, tn=30, fp=4))
        both = combine_tests(0.2, [("positive", self.acc), ("negative", beta)], n_draws=20_000, seed=5)
        odds = 0.2 / 0.8 * self.acc.lr_positive() * beta.lr_negative()
        assert both.point == pytest.approx(odds / (1 + odds), rel=1e-12)
        assert both.interval[0] < both.point < both.interval[1]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    folder = write_synthetic_evidence(tmp_path_factory.mktemp("pooled"))
    evidence = load_evidence(folder)
    return evidence, audit_evidence(evidence)


def test_the_pool_is_used_with_its_predictive_distribution(synthetic):
    evidence, audit = synthetic
    choice = select_accuracy("mri", "newly_diagnosed", evidence=evidence, audit=audit)
    assert choice.pool is not None and choice.record_id is None
    assert choice.source == "pool mri/newly_diagnosed/patients"
    assert [(s.tp, s.fp, s.fn, s.tn) for s in choice.pool.studies] == SYNTHETIC
    assert {c.record_id for c in choice.considered if c.status == "used"} == {s.record_id for s in choice.pool.studies}
    fit = accuracy_pools("mri", "newly_diagnosed", evidence=evidence, audit=audit).pools[0].fit
    assert isinstance(fit, ReitsmaFit)
    mean, _ = fit.predictive_logits()
    assert choice.posterior.mean == pytest.approx(tuple(mean), abs=1e-12)
    assert np.asarray(choice.posterior.covariance) == pytest.approx(fit.psi + fit.vcov[:2, :2], abs=1e-12)
    # predictive, not confidence: at least as wide as the summary point's interval
    pred, summ = choice.pool.predictive_sensitivity, choice.pool.summary_sensitivity
    assert pred.lower <= summ.lower and pred.upper >= summ.upper
    # the LR interval is the predictive one that the pool fit itself reports (independent Monte Carlo)
    reference = fit.predictive(level=0.95)["lr_positive"]
    lo, hi = choice.posterior.lr_interval("positive", 0.95, n_draws=200_000, seed=11)
    assert (lo, hi) == pytest.approx((reference.lower, reference.upper), rel=0.03)
    assert any("predictive distribution" in part for part in [choice.reason, choice.pool.method])


def test_a_pool_of_fewer_than_four_studies_is_univariate_and_says_so(tmp_path: Path):
    evidence = load_evidence(write_synthetic_evidence(tmp_path, tables=SYNTHETIC[:2]))
    audit = audit_evidence(evidence)
    choice = select_accuracy("mri", "newly_diagnosed", evidence=evidence, audit=audit)
    fit = accuracy_pools("mri", "newly_diagnosed", evidence=evidence, audit=audit).pools[0].fit
    assert isinstance(fit, UnivariateFit) and choice.pool.n_studies == 2
    assert choice.posterior.covariance[0][1] == 0.0
    assert choice.posterior.covariance[0][0] == pytest.approx(fit.sens.tau2 + fit.sens.se**2, rel=1e-12)
    assert any("pooled separately" in w for w in choice.warnings)


def test_another_setting_falls_back_to_the_pool_with_a_warning(synthetic):
    evidence, audit = synthetic
    choice = select_accuracy("mri", "post_treatment_follow_up", evidence=evidence, audit=audit)
    # follow-up falls back to staging/mixed/not_stated, not to newly diagnosed: the pool does not apply
    assert choice.pool is None and "no mri pool" in (choice.pool_note or "")
    # after NAC, newly diagnosed is a declared fallback, but it ranks after 'not stated', where a record exists:
    # setting comes first, so the single record is used and the note says why the pool was not
    after_nac = select_accuracy("mri", "after_nac", evidence=evidence, audit=audit)
    assert after_nac.pool is None and after_nac.record_id == "mri2016-short-axis-4mm"
    assert "pool of setting newly_diagnosed is not used" in after_nac.pool_note


def test_a_fallback_pool_is_used_when_it_ranks_first(tmp_path: Path):
    evidence = load_evidence(write_synthetic_evidence(tmp_path, setting="mixed"))
    choice = select_accuracy("mri", "after_nac", evidence=evidence, audit=audit_evidence(evidence))
    assert choice.source == "pool mri/mixed/patients" and choice.setting_match == "fallback"
    assert any("may not hold in this setting" in w for w in choice.warnings)


def test_without_a_pool_the_choice_says_why(synthetic):
    evidence, audit = synthetic
    choice = select_accuracy("us", "newly_diagnosed", evidence=evidence, audit=audit)
    assert choice.pool is None and choice.pool_note and choice.pool_note.startswith("no us pool")
    assert "newly_diagnosed: 1 at the patients level (ji2020-us-long-diameter)" in choice.pool_note


def test_a_positive_finding_raises_the_probability_through_the_pool(synthetic):
    evidence, audit = synthetic
    patient = load_patient({
        "age_years": 50, "sex": "female", "laterality": "left", "setting": "diagnosis",
        "findings": [{"modality": "mri", "result": "positive", "side": "ipsilateral"}],
    })
    result = assess_imaging(patient, 0.15, evidence=evidence, audit=audit, n_draws=20_000, seed=2)
    (finding,) = result.findings
    assert finding.applied and finding.accuracy.pool is not None
    assert finding.lr_applied.point == pytest.approx(finding.accuracy.posterior.lr_positive(), rel=1e-12)
    assert finding.lr_applied.lower > 1
    odds = 0.15 / 0.85 * finding.lr_applied.point
    assert result.posttest.point == pytest.approx(odds / (1 + odds), rel=1e-12)
    assert result.posttest.lower > 0.15
