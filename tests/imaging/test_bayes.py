"""Bayesian post-test probability: hand computations, Monte Carlo checks, coverage.

Expected numbers are worked by hand (fractions in the docstrings) or computed
here with ``scipy.stats.beta`` directly, never by the code under test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from imln.evidence._twobytwo import TwoByTwo
from imln.imaging import (
    JEFFREYS_PRIOR,
    AccuracyPosterior,
    PretestProbability,
    combine_tests,
    combine_tests_batch,
    posttest_probability,
    posttest_probability_batch,
)

#: sens 0.9, spec 0.8 from a table so large that the posterior is point-like.
SENS90_SPEC80 = TwoByTwo(tp=900_000, fn=100_000, tn=800_000, fp=200_000)
#: sens 0.6, spec 0.95, equally point-like.
SENS60_SPEC95 = TwoByTwo(tp=600_000, fn=400_000, tn=950_000, fp=50_000)
#: MRI row of the review's Table 1, as reconstructed by the evidence audit.
MRI = TwoByTwo(tp=14, fn=1, tn=25, fp=3)


@pytest.fixture
def sharp() -> AccuracyPosterior:
    return AccuracyPosterior.from_table(SENS90_SPEC80, source="hand")


@pytest.fixture
def mri() -> AccuracyPosterior:
    return AccuracyPosterior.from_table(MRI, source="review-table1-mri")


class TestHandComputations:
    def test_positive_sens90_spec80(self, sharp):
        """pretest 0.20 → pre-odds 0.25; LR+ = 0.9/0.2 = 4.5;
        post-odds = 0.25 × 4.5 = 1.125; post = 1.125/2.125 = 0.529412."""
        r = posttest_probability(0.20, "positive", sharp)
        assert_allclose(r.lr_point, 4.5, rtol=1e-5)
        assert_allclose(r.point, 1.125 / 2.125, rtol=1e-5)
        assert_allclose(r.point, 0.5294, atol=5e-5)

    def test_negative_sens90_spec80(self, sharp):
        """LR− = 0.1/0.8 = 0.125; post-odds = 0.25 × 0.125 = 0.03125;
        post = 0.03125/1.03125 = 0.030303."""
        r = posttest_probability(0.20, "negative", sharp)
        assert_allclose(r.lr_point, 0.125, rtol=1e-4)
        assert_allclose(r.point, 0.03125 / 1.03125, rtol=1e-4)
        assert_allclose(r.point, 0.03030, atol=5e-6)

    def test_mri_posterior_means(self, mri):
        """Jeffreys prior: sens ~ Beta(14.5, 1.5), spec ~ Beta(25.5, 3.5).
        mean sens = 14.5/16 = 0.90625; mean spec = 25.5/29 = 0.879310."""
        assert mri.prior == JEFFREYS_PRIOR == (0.5, 0.5)
        assert mri.sensitivity_params == (14.5, 1.5)
        assert mri.specificity_params == (25.5, 3.5)
        assert_allclose(mri.sensitivity_mean, 14.5 / 16, rtol=1e-12)
        assert_allclose(mri.specificity_mean, 25.5 / 29, rtol=1e-12)

    def test_mri_intervals_against_scipy(self, mri):
        """Equal-tailed 95% intervals are the 2.5/97.5% Beta quantiles."""
        assert_allclose(mri.sensitivity_interval(), stats.beta.ppf([0.025, 0.975], 14.5, 1.5), rtol=1e-12)
        assert_allclose(mri.specificity_interval(), stats.beta.ppf([0.025, 0.975], 25.5, 3.5), rtol=1e-12)
        assert_allclose(mri.sensitivity_interval(0.9), stats.beta.ppf([0.05, 0.95], 14.5, 1.5), rtol=1e-12)

    def test_mri_likelihood_ratios(self, mri):
        """LR+ = (14.5/16) / (3.5/29) = 420.5/56 = 7.508929;
        LR− = (1.5/16) / (25.5/29) = 43.5/408 = 0.106618."""
        assert_allclose(mri.lr_positive(), 420.5 / 56, rtol=1e-12)
        assert_allclose(mri.lr_negative(), 43.5 / 408, rtol=1e-12)
        assert mri.lr("indeterminate") == 1.0

    def test_mri_posttest(self, mri):
        """pretest 0.15 → pre-odds 3/17.
        positive: post-odds = 3/17 × 420.5/56 = 1261.5/952; post = 1261.5/2213.5 = 0.569912.
        negative: post-odds = 3/17 × 43.5/408 = 130.5/6936; post = 130.5/7066.5 = 0.018467."""
        assert_allclose(posttest_probability(0.15, "positive", mri).point, 1261.5 / 2213.5, rtol=1e-12)
        assert_allclose(posttest_probability(0.15, "negative", mri).point, 130.5 / 7066.5, rtol=1e-12)

    def test_other_prior(self):
        """Uniform prior Beta(1, 1) on 14/15 and 25/28: sens = 15/17, spec = 26/30,
        LR+ = (15/17)/(4/30) = 450/68 = 6.617647."""
        acc = AccuracyPosterior.from_table(MRI, prior=(1, 1))
        assert_allclose(acc.sensitivity_mean, 15 / 17)
        assert_allclose(acc.lr_positive(), 450 / 68)

    def test_pretest_mean_used_for_point(self, sharp):
        """Beta(2, 8) pre-test has mean 0.2, so the point estimate is the same 0.529412."""
        r = posttest_probability(PretestProbability.from_beta(2, 8), "positive", sharp)
        assert_allclose(r.point, 1.125 / 2.125, rtol=1e-5)

    def test_indeterminate_returns_pretest(self, mri):
        r = posttest_probability(0.15, "indeterminate", mri)
        assert r.point == r.mc_mean == r.mc_median == 0.15
        assert r.interval == (0.15, 0.15)
        assert r.lr_point == 1.0 and r.lr_interval == (1.0, 1.0)
        assert any("unchanged" in note for note in r.notes)

    def test_indeterminate_beta_pretest_keeps_its_uncertainty(self, mri):
        pretest = PretestProbability.from_beta(2, 8)
        r = posttest_probability(pretest, "indeterminate", mri, n_draws=200_000)
        assert r.point == 0.2
        assert_allclose(r.interval, stats.beta.ppf([0.025, 0.975], 2, 8), atol=0.005)


class TestPretest:
    def test_from_interval_moment_matching(self):
        """mean 0.20, 95% interval (0.13, 0.28):
        sd = 0.15 / (2 × 1.959964) = 0.0382660, var = 0.00146429,
        alpha + beta = 0.2 × 0.8 / var − 1 = 108.268, alpha = 21.654, beta = 86.615."""
        p = PretestProbability.from_interval(0.20, 0.13, 0.28)
        var = (0.15 / (2 * 1.959963984540054)) ** 2
        assert_allclose(p.alpha + p.beta, 0.16 / var - 1, rtol=1e-9)
        assert_allclose(p.alpha, 21.654, atol=1e-3)
        assert_allclose(stats.beta.mean(p.alpha, p.beta), 0.20, rtol=1e-12)
        assert_allclose(stats.beta.var(p.alpha, p.beta), var, rtol=1e-9)

    @pytest.mark.parametrize(
        "mean, lower, upper",
        [(0.20, 0.13, 0.28), (0.30, 0.20, 0.40), (0.10, 0.06, 0.15), (0.50, 0.35, 0.65)],
    )
    def test_from_interval_reproduces_interval(self, mean, lower, upper):
        """Stated tolerance: each reported bound is reproduced within 0.01 (absolute)."""
        p = PretestProbability.from_interval(mean, lower, upper)
        lo, hi = stats.beta.ppf([0.025, 0.975], p.alpha, p.beta)
        assert abs(lo - lower) < 0.01 and abs(hi - upper) < 0.01

    def test_interval_too_wide(self):
        """mean 0.01, (0.001, 0.5): sd = 0.499/3.92 = 0.127, var = 0.0162 ≥ 0.01 × 0.99 = 0.0099."""
        with pytest.raises(ValueError, match=r"too wide for a Beta with mean 0\.01"):
            PretestProbability.from_interval(0.01, 0.001, 0.5)

    def test_point_has_no_uncertainty(self):
        p = PretestProbability.from_point(0.3)
        assert p.is_point and p.interval() == (0.3, 0.3)


class TestMonteCarlo:
    def test_mc_mean_agrees_with_analytic(self, sharp):
        """Point pre-test and point-like accuracy: MC mean within 1e-3 of the analytic value."""
        for result in ("positive", "negative"):
            r = posttest_probability(0.20, result, sharp)
            assert abs(r.mc_mean - r.point) < 1e-3
            assert abs(r.mc_median - r.point) < 1e-3
            assert r.interval[0] <= r.point <= r.interval[1]

    def test_same_seed_bit_identical(self, mri):
        pretest = PretestProbability.from_interval(0.2, 0.13, 0.28)
        a = posttest_probability(pretest, "positive", mri, seed=7)
        b = posttest_probability(pretest, "positive", mri, seed=7)
        assert a == b
        assert a.seed == 7 and a.n_draws == 20_000

    def test_different_seeds_differ(self, mri):
        a = posttest_probability(0.2, "positive", mri, seed=1)
        b = posttest_probability(0.2, "positive", mri, seed=2)
        assert a.mc_mean != b.mc_mean and a.interval != b.interval
        assert a.point == b.point

    def test_lr_interval_matches_direct_sampling(self, mri):
        """LR+ interval against an independent Monte Carlo with scipy's Beta sampler."""
        rng = np.random.default_rng(123)
        sens = stats.beta.rvs(14.5, 1.5, size=400_000, random_state=rng)
        spec = stats.beta.rvs(25.5, 3.5, size=400_000, random_state=rng)
        expected = np.quantile(sens / (1 - spec), [0.025, 0.975])
        r = posttest_probability(0.2, "positive", mri, n_draws=400_000)
        assert_allclose(r.lr_interval, expected, rtol=0.02)

    def test_pretest_uncertainty_widens_interval(self, mri):
        narrow = posttest_probability(0.2, "positive", mri)
        wide = posttest_probability(PretestProbability.from_interval(0.2, 0.1, 0.3), "positive", mri)
        assert wide.interval[1] - wide.interval[0] > narrow.interval[1] - narrow.interval[0]

    def test_extreme_table_gives_finite_numbers(self):
        acc = AccuracyPosterior.from_table(TwoByTwo(tp=1_000_000, fn=0, tn=1_000_000, fp=0))
        r = posttest_probability(0.2, "positive", acc)
        assert np.isfinite([r.mc_mean, r.mc_median, *r.interval, *r.lr_interval]).all()

    def test_sample(self, mri):
        sens, spec = mri.sample(50_000, np.random.default_rng(0))
        assert sens.shape == spec.shape == (50_000,)
        assert abs(sens.mean() - 14.5 / 16) < 0.002 and abs(spec.mean() - 25.5 / 29) < 0.002


class TestCoverage:
    def test_credible_interval_coverage(self):
        """True sens 0.85, spec 0.80; 400 simulated studies of 20 diseased and 30
        non-diseased. The 95% interval of LR+ (and of the post-test probability at
        pre-test 0.2, a monotone function of it) and of LR− must cover the truth
        in 92%–98.5% of studies (a long run of 2,000 studies gave ≈ 0.94)."""
        sens, spec, n_dis, n_non, reps = 0.85, 0.80, 20, 30, 400
        rng = np.random.default_rng(2024)
        lr_pos, lr_neg = sens / (1 - spec), (1 - sens) / spec
        post_true = 0.25 * lr_pos / (1 + 0.25 * lr_pos)
        start = time.perf_counter()
        hits = np.zeros(3)
        for i in range(reps):
            tp, tn = rng.binomial(n_dis, sens), rng.binomial(n_non, spec)
            acc = AccuracyPosterior.from_table(TwoByTwo(tp=tp, fn=n_dis - tp, tn=tn, fp=n_non - tn))
            pos = posttest_probability(0.2, "positive", acc, n_draws=2_000, seed=i)
            neg = posttest_probability(0.2, "negative", acc, n_draws=2_000, seed=i)
            hits += [
                pos.lr_interval[0] <= lr_pos <= pos.lr_interval[1],
                pos.interval[0] <= post_true <= pos.interval[1],
                neg.lr_interval[0] <= lr_neg <= neg.lr_interval[1],
            ]
        coverage = hits / reps
        assert np.all((coverage >= 0.92) & (coverage <= 0.985)), coverage
        assert time.perf_counter() - start < 10


class TestCombination:
    def test_independent_product_of_lrs(self, sharp):
        """A: sens 0.9/spec 0.8, positive, LR = 4.5. B: sens 0.6/spec 0.95, negative,
        LR = 0.4/0.95. Product = 1.8/0.95 = 1.894737; post-odds = 0.25 × 1.894737 = 9/19;
        post = (9/19)/(28/19) = 9/28 = 0.321429."""
        b = AccuracyPosterior.from_table(SENS60_SPEC95, source="B")
        r = combine_tests(0.20, [("positive", sharp), ("negative", b)])
        assert_allclose(r.lr_point, 4.5 * 0.4 / 0.95, rtol=1e-4)
        assert_allclose(r.point, 9 / 28, rtol=1e-4)
        assert abs(r.mc_mean - 9 / 28) < 1e-3
        assert r.results == ("positive", "negative") and r.sources == ("hand", "B")
        assert any("correlated tests" in n and "overstate certainty" in n for n in r.notes)

    def test_most_informative_picks_largest_log_lr(self, sharp):
        """|log 4.5| = 1.504 > |log(0.4/0.95)| = 0.865 → A; but B positive has
        |log 12| = 2.485 > 1.504 → B, post = 0.25 × 12 / 4 = 0.75."""
        b = AccuracyPosterior.from_table(SENS60_SPEC95, source="B")
        r = combine_tests(0.20, [("positive", sharp), ("negative", b)], mode="most_informative")
        assert r.sources == ("hand",) and "results[0]" in r.notes[0]
        assert_allclose(r.point, 1.125 / 2.125, rtol=1e-5)
        r = combine_tests(0.20, [("positive", sharp), ("positive", b)], mode="most_informative")
        assert r.sources == ("B",) and "results[1]" in r.notes[0]
        assert_allclose(r.point, 0.75, rtol=1e-4)
        assert not any("correlated" in n for n in r.notes)

    def test_single_test_equals_posttest_probability(self, mri):
        single = posttest_probability(0.2, "positive", mri)
        combined = combine_tests(0.2, [("positive", mri)])
        assert (combined.point, combined.mc_mean, combined.interval) == (single.point, single.mc_mean, single.interval)
        assert not combined.notes

    def test_indeterminate_contributes_nothing(self, sharp, mri):
        alone = combine_tests(0.2, [("positive", mri)])
        with_indet = combine_tests(0.2, [("positive", mri), ("indeterminate", sharp)])
        assert with_indet.interval == alone.interval and with_indet.point == alone.point


class TestValidation:
    @pytest.mark.parametrize("bad", [0, 1, 1.2, -0.1, float("nan"), "0.2"])
    def test_pretest_out_of_range(self, mri, bad):
        with pytest.raises(ValueError, match=r"pretest must be a number in \(0, 1\); got"):
            posttest_probability(bad, "positive", mri)

    def test_unknown_result(self, mri):
        with pytest.raises(
            ValueError, match=r"result must be one of 'positive', 'negative', 'indeterminate'; got 'maybe'"
        ):
            posttest_probability(0.2, "maybe", mri)

    def test_empty_diseased_column(self):
        with pytest.raises(ValueError, match=r"table\.tp \+ table\.fn .* must be an integer in \[1, inf\); got 0"):
            AccuracyPosterior.from_table(TwoByTwo(tp=0, fn=0, tn=5, fp=1))

    def test_empty_non_diseased_column(self):
        with pytest.raises(ValueError, match=r"table\.tn \+ table\.fp .* must be an integer in \[1, inf\); got 0"):
            AccuracyPosterior.from_table(TwoByTwo(tp=27, fn=4, tn=0, fp=0))

    def test_negative_count(self):
        with pytest.raises(ValueError, match=r"table\.fn must be an integer in \[0, inf\); got -1"):
            AccuracyPosterior.from_table(TwoByTwo(tp=3, fn=-1, tn=5, fp=1))

    def test_bad_prior(self):
        with pytest.raises(ValueError, match=r"prior\[0\] must be a number in \(0, inf\); got 0"):
            AccuracyPosterior.from_table(MRI, prior=(0, 0.5))

    def test_bad_run_settings(self, mri):
        with pytest.raises(ValueError, match=r"n_draws must be an integer in \[2, inf\); got 1"):
            posttest_probability(0.2, "positive", mri, n_draws=1)
        with pytest.raises(ValueError, match=r"level must be a number in \(0, 1\); got 95"):
            posttest_probability(0.2, "positive", mri, level=95)

    def test_combine_inputs(self, mri):
        with pytest.raises(ValueError, match=r"results\[1\]\[0\] must be one of"):
            combine_tests(0.2, [("positive", mri), ("maybe", mri)])
        with pytest.raises(ValueError, match=r"mode must be one of 'independent', 'most_informative'"):
            combine_tests(0.2, [("positive", mri)], mode="max")

    def test_batch_inputs(self, mri):
        with pytest.raises(ValueError, match=r"pretest must hold numbers in \(0, 1\); got nan"):
            posttest_probability_batch(np.array([0.2, np.nan]), np.array([1, 1]), mri)
        with pytest.raises(ValueError, match=r"results must hold codes in \{\+1, -1, 0\}; got 2"):
            posttest_probability_batch(np.array([0.2, 0.3]), np.array([1, 2]), mri)


class TestBatch:
    def test_agrees_with_scalar(self, mri):
        rng = np.random.default_rng(5)
        pretest = rng.uniform(0.01, 0.9, size=30)
        codes = rng.choice([-1, 0, 1], size=30)
        batch = posttest_probability_batch(pretest, codes, mri, intervals=True, n_draws=5_000, seed=11)
        names = {1: "positive", -1: "negative", 0: "indeterminate"}
        for p, c, point, lo, hi in zip(pretest, codes, batch.point, batch.lower, batch.upper):
            r = posttest_probability(float(p), names[int(c)], mri, n_draws=5_000, seed=11)
            assert_allclose(point, r.point, rtol=1e-12)
            # same draws, same order statistics, same probability-scale interpolation: the same numbers
            assert (lo, hi) == r.interval

    def test_million_patients_loop_free(self, mri):
        n = 1_000_000
        rng = np.random.default_rng(0)
        pretest, codes = rng.uniform(0.01, 0.99, n), rng.choice([-1, 0, 1], n)
        start = time.perf_counter()
        batch = posttest_probability_batch(pretest, codes, mri, intervals=True)
        assert time.perf_counter() - start < 5
        assert batch.point.shape == (n,)
        assert np.all((batch.lower <= batch.point) | (codes == 0))
        assert np.all(batch.point[codes == 0] == pretest[codes == 0])


class TestFromAudit:
    def test_bundled_mri_record(self):
        from imln.evidence import audit_evidence, load_evidence

        report = audit_evidence(load_evidence())
        acc = AccuracyPosterior.from_audit(report["review-table1-mri"])
        assert acc.table == MRI and acc.source == "review-table1-mri"
        with pytest.raises(ValueError, match=r"exactly one reconstructed 2×2 table"):
            AccuracyPosterior.from_audit(report["review-table1-pet-ct"])
        with pytest.raises(ValueError, match=r"table\.tn \+ table\.fp"):
            AccuracyPosterior.from_audit(report["review-table1-pet-ct"], label="nodes (n_imln)")


class TestWeightAndLrInterval:
    def test_weight_is_a_power_prior(self):
        """weight 0.25 on MRI (14, 1, 25, 3): sens ~ Beta(0.25·14 + 0.5, 0.25·1 + 0.5) = Beta(4, 0.75)."""
        acc = AccuracyPosterior.from_table(MRI, weight=0.25)
        assert acc.sensitivity_params == (4.0, 0.75) and acc.specificity_params == (6.75, 1.25)
        assert AccuracyPosterior.from_table(MRI).weight == 1.0
        with pytest.raises(ValueError, match=r"weight must be a number in \(0, 1\]; got 0"):
            AccuracyPosterior.from_table(MRI, weight=0)

    def test_lr_interval_is_the_posttest_lr_interval(self, mri):
        r = posttest_probability(0.3, "positive", mri, n_draws=5_000, seed=3)
        assert mri.lr_interval("positive", n_draws=5_000, seed=3) == pytest.approx(r.lr_interval, rel=1e-12)
        assert mri.lr_interval("indeterminate") == (1.0, 1.0)

    def test_lr_interval_is_the_posttest_lr_interval_for_any_pretest(self, mri):
        """The tests' draws come from their own stream: a Beta pre-test leaves them unchanged."""
        beta = posttest_probability(PretestProbability.from_beta(3, 12), "negative", mri, n_draws=5_000, seed=3)
        point = posttest_probability(0.3, "negative", mri, n_draws=5_000, seed=3)
        assert beta.lr_interval == point.lr_interval == mri.lr_interval("negative", n_draws=5_000, seed=3)


class TestCombineBatch:
    def test_agrees_with_scalar_combine_tests(self, mri, sharp):
        """Every result combination of two tests: same point and (to quantile interpolation) same interval."""
        names = {1: "positive", -1: "negative", 0: "indeterminate"}
        codes = np.array([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)])
        pretest = np.linspace(0.05, 0.85, len(codes))
        batch = combine_tests_batch(pretest, codes, [mri, sharp], intervals=True, n_draws=5_000, seed=9)
        for p, (a, b), point, lo, hi in zip(pretest, codes, batch.point, batch.lower, batch.upper):
            r = combine_tests(float(p), [(names[a], mri), (names[b], sharp)], n_draws=5_000, seed=9)
            assert_allclose(point, r.point, rtol=1e-12)
            assert (lo, hi) == r.interval  # the same computation as the scalar path
        assert batch.point[4] == pretest[4] == batch.lower[4]  # both indeterminate: the pre-test, exactly
        assert "conditional independence" in batch.notes[0]

    def test_one_test_equals_the_single_batch(self, mri):
        rng = np.random.default_rng(2)
        pretest, codes = rng.uniform(0.05, 0.9, 50), rng.choice([-1, 0, 1], 50)
        one = posttest_probability_batch(pretest, codes, mri, intervals=True, n_draws=3_000, seed=4)
        many = combine_tests_batch(pretest, codes[:, None], [mri], intervals=True, n_draws=3_000, seed=4)
        assert_allclose(many.point, one.point, rtol=1e-12)
        assert_allclose(many.lower, one.lower, rtol=1e-12)
        assert many.notes == ()

    def test_million_patients_two_tests(self, mri, sharp):
        n = 1_000_000
        rng = np.random.default_rng(0)
        pretest, codes = rng.uniform(0.01, 0.99, n), rng.choice([-1, 0, 1], (n, 2))
        start = time.perf_counter()
        batch = combine_tests_batch(pretest, codes, [mri, sharp], intervals=True)
        assert time.perf_counter() - start < 5
        assert np.all(batch.lower <= batch.upper)

    def test_validation(self, mri):
        with pytest.raises(ValueError, match=r"results must have shape \(n, 2\)"):
            combine_tests_batch(np.array([0.2]), np.array([1, 1]), [mri, mri])
        with pytest.raises(ValueError, match=r"results must hold codes in \{\+1, -1, 0\}; got 2"):
            combine_tests_batch(np.array([0.2]), np.array([[1, 2]]), [mri, mri])
        with pytest.raises(ValueError, match=r"pretest must be a scalar or have shape \(1,\)"):
            combine_tests_batch(np.array([0.2, 0.3]), np.array([[1, 1]]), [mri, mri])
        with pytest.raises(ValueError, match=r"accuracies\[1\] must be an AccuracyPosterior"):
            combine_tests_batch(np.array([0.2]), np.array([[1, 1]]), [mri, "x"])
