"""Seeded streams, caches and quantiles of the Bayesian post-test probability.

The stream layout is checked against a plain NumPy re-implementation written
here from the documented layout (``SeedSequence(seed).spawn(2)``: the pre-test
Beta from child 0, the applied tests' Gamma draws from child 1 in order), with
Beta draws and likelihood ratios formed in the textbook way and summarised with
``np.quantile``/``np.median``/``np.mean``. The partial-sort quantiles are
checked against ``np.quantile`` and ``np.median`` themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from imln._quantiles import quantiles
from imln.evidence._twobytwo import TwoByTwo
from imln.imaging import (
    AccuracyPosterior,
    PretestProbability,
    _bayes,
    combine_tests,
    combine_tests_batch,
    posttest_probability,
    posttest_probability_batch,
)

MRI = (14, 1, 25, 3)
US = (160, 64, 42, 12)


def posterior(table: tuple[int, int, int, int], source: str) -> AccuracyPosterior:
    return AccuracyPosterior.from_table(TwoByTwo(*table), source=source)


def reference(pretest, tests, *, n: int, seed: int, old_layout: bool = False):
    """Per-draw post-test probabilities and likelihood ratios by the documented layout, in plain NumPy.

    ``pretest`` is a probability or ``(alpha, beta)``; ``tests`` are (result, (tp, fn, tn, fp))
    under the Jeffreys prior. ``old_layout=True`` draws everything from one ``default_rng(seed)``
    (pre-test first), as before the streams were split: a negative control.
    """
    if old_layout:
        pre_rng = tests_rng = np.random.default_rng(seed)
    else:
        pre_child, tests_child = np.random.SeedSequence(seed).spawn(2)
        pre_rng, tests_rng = np.random.default_rng(pre_child), np.random.default_rng(tests_child)
    if isinstance(pretest, tuple):
        g_alpha = pre_rng.standard_gamma(pretest[0], n)
        g_beta = pre_rng.standard_gamma(pretest[1], n)
        p = g_alpha / (g_alpha + g_beta)
    else:
        p = np.full(n, pretest)
    lr = np.ones(n)
    for result, (tp, fn, tn, fp) in tests:
        if result == "indeterminate":
            continue
        g_tp, g_fn, g_tn, g_fp = (tests_rng.standard_gamma(count + 0.5, n) for count in (tp, fn, tn, fp))
        sens, spec = g_tp / (g_tp + g_fn), g_tn / (g_tn + g_fp)
        lr *= sens / (1 - spec) if result == "positive" else (1 - sens) / spec
    odds = p / (1 - p) * lr
    return odds / (1 + odds), lr


def summary(post: np.ndarray, lr: np.ndarray, level: float = 0.95) -> dict:
    tail = (1 - level) / 2
    return {
        "interval": np.quantile(post, [tail, 1 - tail]),
        "mc_mean": np.mean(post),
        "mc_median": np.median(post),
        # the LR interval is interpolated on the log scale (quantiles of log LR, exponentiated)
        "lr_interval": np.exp(np.quantile(np.log(lr), [tail, 1 - tail])),
    }


def assert_matches(r, expected: dict, rtol: float) -> None:
    assert_allclose(r.interval, expected["interval"], rtol=rtol)
    assert_allclose(r.mc_mean, expected["mc_mean"], rtol=rtol)
    assert_allclose(r.mc_median, expected["mc_median"], rtol=rtol)
    assert_allclose(r.lr_interval, expected["lr_interval"], rtol=rtol)


class TestStreamLayout:
    """Same random numbers as the plain NumPy layout: agreement to rounding, 1e-12 (different draws differ by ~1e-2)."""

    def test_beta_pretest_two_tests_and_an_indeterminate(self):
        mri, us = posterior(MRI, "mri"), posterior(US, "us")
        pretest = PretestProbability.from_beta(6, 24)
        r = combine_tests(pretest, [("positive", mri), ("indeterminate", us), ("negative", us)],
                          n_draws=8_000, seed=42)
        expected = summary(*reference((6, 24), [("positive", MRI), ("negative", US)], n=8_000, seed=42))
        assert_matches(r, expected, rtol=1e-12)
        old = summary(*reference((6, 24), [("positive", MRI), ("negative", US)], n=8_000, seed=42, old_layout=True))
        assert not np.allclose(r.interval, old["interval"], rtol=1e-6)

    def test_point_pretest(self):
        r = posttest_probability(0.15, "negative", posterior(US, "us"), n_draws=6_000, seed=7)
        assert_matches(r, summary(*reference(0.15, [("negative", US)], n=6_000, seed=7)), rtol=1e-12)

    def test_beta_pretest_without_an_applied_test(self):
        r = posttest_probability(PretestProbability.from_beta(4, 16), "indeterminate", posterior(MRI, "mri"),
                                 n_draws=5_000, seed=3)
        expected = summary(*reference((4, 16), [], n=5_000, seed=3))
        assert_allclose(r.interval, expected["interval"], rtol=1e-12)
        assert_allclose((r.mc_mean, r.mc_median), (expected["mc_mean"], expected["mc_median"]), rtol=1e-12)
        assert r.lr_interval == (1.0, 1.0)

    def test_lr_interval_and_batches_use_the_tests_stream(self):
        mri, us = posterior(MRI, "mri"), posterior(US, "us")
        _, lr = reference(0.5, [("positive", MRI)], n=5_000, seed=11)
        tail = 0.025
        assert_allclose(mri.lr_interval("positive", n_draws=5_000, seed=11),
                        np.exp(np.quantile(np.log(lr), [tail, 1 - tail])), rtol=1e-12)
        post, _ = reference(0.3, [("negative", MRI)], n=5_000, seed=11)
        batch = posttest_probability_batch(np.array([0.3]), np.array([-1]), mri, intervals=True,
                                           n_draws=5_000, seed=11)
        assert_allclose((batch.lower[0], batch.upper[0]), np.quantile(post, [tail, 1 - tail]), rtol=1e-12)
        post, _ = reference(0.3, [("negative", MRI), ("positive", US)], n=5_000, seed=11)
        batch = combine_tests_batch(np.array([0.3]), np.array([[-1, 1]]), [mri, us], intervals=True,
                                    n_draws=5_000, seed=11)
        assert_allclose((batch.lower[0], batch.upper[0]), np.quantile(post, [tail, 1 - tail]), rtol=1e-12)

    def test_pretest_does_not_move_the_tests_draws(self):
        mri, us = posterior(MRI, "mri"), posterior(US, "us")
        tests = [("positive", mri), ("negative", us)]
        a = combine_tests(0.2, tests, n_draws=3_000, seed=5)
        b = combine_tests(PretestProbability.from_interval(0.2, 0.1, 0.3), tests, n_draws=3_000, seed=5)
        assert a.lr_interval == b.lr_interval


class TestCaches:
    def test_cached_values_are_bit_identical_to_recomputation(self):
        mri, us = posterior(MRI, "mri"), posterior(US, "us")
        tests = [("positive", mri), ("negative", us)]
        pretest = PretestProbability.from_beta(5, 20)
        key = (("positive", mri), ("negative", us))

        def run():
            return (
                combine_tests(pretest, tests, n_draws=4_000, seed=9),
                combine_tests(0.25, tests, n_draws=4_000, seed=9),
                mri.lr_interval("positive", n_draws=4_000, seed=9),
                combine_tests_batch(np.array([0.1, 0.6]), np.array([[1, -1], [0, 1]]), [mri, us], intervals=True,
                                    n_draws=4_000, seed=9).lower.tobytes(),
            )

        _bayes._clear_caches()
        first = run()
        draws = _bayes._log_lr_sum(key, 4_000, 9)
        assert _bayes._log_lr_sum(key, 4_000, 9) is draws  # from the cache
        hits = _bayes._cached_log_lr_sum.cache_info().hits
        pretest_hits = _bayes._pretest_logit_draws.cache_info().hits
        posterior_hits = _bayes._posterior.cache_info().hits
        served = run()  # the post-test results themselves, from their cache
        assert _bayes._posterior.cache_info().hits == posterior_hits + 2
        assert served[0] is first[0] and served[1] is first[1]
        _bayes._posterior.cache_clear()  # recomputed from the cached draws
        cached = run()
        assert _bayes._cached_log_lr_sum.cache_info().hits > hits
        assert _bayes._pretest_logit_draws.cache_info().hits > pretest_hits  # the Beta pre-test's draws, reused
        assert not _bayes._pretest_logit_draws(pretest, 4_000, 9).flags.writeable
        _bayes._clear_caches()
        assert _bayes._cached_log_lr_sum.cache_info().currsize == 0
        assert _bayes._pretest_logit_draws.cache_info().currsize == 0
        assert _bayes._log_lr_order_values.cache_info().currsize == 0
        assert _bayes._posterior.cache_info().currsize == 0
        fresh_draws = _bayes._log_lr_sum(key, 4_000, 9)
        assert fresh_draws is not draws and fresh_draws.tobytes() == draws.tobytes()
        assert run() == cached == first

    def test_cached_draws_are_read_only(self):
        draws = _bayes._log_lr_sum((("negative", posterior(US, "us")),), 1_000, 2)
        assert not draws.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            draws[0] = 0.0
        values = _bayes._log_lr_order_values((("negative", posterior(US, "us")),), 1_000, 2, 0.95)
        assert not values.flags.writeable

    def test_bounded(self):
        _bayes._clear_caches()
        us = posterior(US, "us")
        assert _bayes._cached_log_lr_sum.cache_info().maxsize == _bayes.LOG_LR_CACHE_SIZE
        for seed in range(_bayes.LOG_LR_CACHE_SIZE + 10):
            us.lr_interval("positive", n_draws=50, seed=seed)
        assert _bayes._cached_log_lr_sum.cache_info().currsize == _bayes.LOG_LR_CACHE_SIZE

    def test_large_runs_are_not_cached(self):
        _bayes._clear_caches()
        n = _bayes.LOG_LR_CACHE_MAX_DRAWS + 1
        us = posterior(US, "us")
        first = posttest_probability(0.2, "positive", us, n_draws=n, seed=1)
        assert _bayes._cached_log_lr_sum.cache_info().currsize == 0
        _bayes._clear_caches()
        assert posttest_probability(0.2, "positive", us, n_draws=n, seed=1) == first


class TestPartialSortQuantiles:
    @pytest.mark.parametrize("n", [2, 3, 4, 5, 10, 101, 1_000, 20_000, 20_001])
    @pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99])
    def test_equal_to_numpy(self, n, level):
        """Bit for bit: the interpolation follows numpy's 'linear' method step by step."""
        rng = np.random.default_rng(n)
        tail = (1 - level) / 2
        for x in (rng.standard_normal(n), np.round(rng.standard_normal(n), 1), rng.gamma(0.3, size=n)):
            before = x.copy()
            assert tuple(quantiles(x, (tail, 1 - tail))) == tuple(np.quantile(x, [tail, 1 - tail]))
            positions = _bayes._positions(n, level)
            assert _bayes._summarise(_bayes._order_values(x, positions), positions)[2] == np.median(x)
            assert np.array_equal(x, before)  # not partitioned in place unless asked

    def test_nan_and_infinity_as_numpy(self):
        x = np.random.default_rng(0).standard_normal(500)
        x[7] = np.nan
        assert np.isnan(quantiles(x, (0.025, 0.975))).all() and np.isnan(np.quantile(x, [0.025, 0.975])).all()
        x[7], x[9] = np.inf, -np.inf
        with np.errstate(invalid="ignore"):
            assert_allclose(quantiles(x, (0.0005, 0.9995)), np.quantile(x, [0.0005, 0.9995]), equal_nan=True)

    def test_point_pretest_summary_from_the_log_lr_order_statistics(self):
        """With a point pre-test the interval and median are read off the log-LR order statistics
        (expit is increasing); they equal np.quantile and np.median of the post-test draws."""
        from scipy import special

        for seed, (result, table) in enumerate([("positive", MRI), ("negative", MRI), ("negative", US)]):
            acc = posterior(table, "x")
            r = posttest_probability(0.35, result, acc, n_draws=5_001 + seed, seed=seed)
            post = special.expit(special.logit(0.35) + _bayes._draw_log_lr_sum(((result, acc),), 5_001 + seed, seed))
            assert_allclose(r.interval, np.quantile(post, [(1 - 0.95) / 2, 1 - (1 - 0.95) / 2]), rtol=1e-14)
            assert_allclose(r.mc_median, np.median(post), rtol=1e-14)
            assert r.mc_mean == np.mean(post)
