"""imln._quantiles: the partial-sort quantiles used by the Monte Carlo summaries, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from imln._quantiles import quantiles

QS = [(0.025, 0.975), (0.025, 0.25, 0.5, 0.75, 0.975), (0.0005, 0.9995), (0.0, 0.5, 1.0), (0.3,)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 10, 101, 2_000, 5_000, 20_001])
@pytest.mark.parametrize("qs", QS)
def test_equal_to_numpy_bit_for_bit(n, qs):
    rng = np.random.default_rng(n)
    for x in (rng.standard_normal(n), np.round(rng.standard_normal(n), 1), rng.gamma(0.3, size=n)):
        before = x.copy()
        assert np.array_equal(quantiles(x, qs), np.quantile(x, qs))
        assert np.array_equal(x, before)  # the input is not reordered


def test_nan_and_infinity_as_numpy():
    x = np.random.default_rng(0).standard_normal(500)
    x[7] = np.nan
    assert np.isnan(quantiles(x, (0.025, 0.975))).all() and np.isnan(np.quantile(x, [0.025, 0.975])).all()
    x[7], x[9] = np.inf, -np.inf
    with np.errstate(invalid="ignore"):
        assert_allclose(quantiles(x, (0.0005, 0.5, 0.9995)), np.quantile(x, [0.0005, 0.5, 0.9995]), equal_nan=True)


@pytest.mark.parametrize("n", [1, 2, 7, 5_000])
def test_rows_equal_numpy_row_by_row(n):
    rng = np.random.default_rng(n + 1)
    x = np.stack([rng.standard_normal(n), rng.gamma(0.3, size=n), np.round(rng.standard_normal(n), 1)])
    qs = (0.025, 0.25, 0.5, 0.75, 0.975)
    got = quantiles(x, qs)
    assert got.shape == (3, len(qs))
    for row, expected in zip(got, x):
        assert np.array_equal(row, np.quantile(expected, qs))
    assert np.array_equal(quantiles(x[None], qs)[0], got)  # any number of leading axes


def test_a_nan_row_leaves_the_other_rows_alone():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 400))
    x[1, 17] = np.nan
    got = quantiles(x, (0.025, 0.975))
    assert np.array_equal(got[0], np.quantile(x[0], (0.025, 0.975)))
    assert np.isnan(got[1]).all()


# ---------------------------------------------------------------- bucket selection (rows of ≥ BUCKET_MIN_SIZE)

def _adversarial_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows that stress equal-width buckets: ties, clumps, outliers, tiny and huge ranges, signed zeros."""
    rows = [
        rng.standard_normal(n),
        np.round(rng.standard_normal(n), 1),                      # many ties
        np.full(n, 0.25),                                         # constant
        np.where(rng.random(n) < 0.5, -0.0, 0.0),                 # signed zeros only
        np.r_[rng.random(n - 1), 1e300],                          # one outlier: everything in the first bucket
        np.r_[rng.random(n - 2), -1e308, 1e308],                  # range near the largest double
        1.0 + rng.integers(0, 3, n) * np.finfo(float).eps,        # three adjacent doubles
        rng.random(n) * 5e-324 * 7,                               # subnormals
        rng.gamma(0.05, size=n),                                  # most values near 0
        1 - rng.gamma(0.05, size=n) * 1e-12,                      # clumped just below 1
        np.sort(rng.standard_normal(n))[::-1].copy(),             # reversed order
    ]
    return np.stack(rows)


@pytest.mark.parametrize("n", [1023, 1024, 1025, 4_999, 5_000, 8_192])
def test_bucket_selection_equals_numpy_on_adversarial_rows(n):
    from imln._quantiles import BUCKET_MIN_SIZE

    rng = np.random.default_rng(n)
    x = _adversarial_rows(n, rng)
    before = x.copy()
    qs = (0.0, 0.001, 0.025, 0.25, 0.5, 0.75, 0.975, 0.999, 1.0)
    got = quantiles(x, qs)
    assert n < BUCKET_MIN_SIZE or got.shape == (x.shape[0], len(qs))
    for row, values in zip(x, got):
        assert np.array_equal(values, np.quantile(row, qs))
    assert np.array_equal(x, before)  # rows are not reordered


def test_bucket_selection_leaves_non_finite_rows_to_numpy():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 3000))
    x[1, 5], x[2, 9] = np.inf, np.nan
    qs = (0.025, 0.5, 0.975)
    got = quantiles(x, qs)
    assert np.array_equal(got[0], np.quantile(x[0], qs))
    with np.errstate(invalid="ignore"):
        assert_allclose(got[1], np.quantile(x[1], qs))
    assert np.isnan(got[2]).all()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1024, 3000), st.sampled_from(["normal", "ties", "lognormal", "mixed"]))
def test_bucket_selection_property(seed, n, kind):
    rng = np.random.default_rng(seed)
    x = {"normal": lambda: rng.standard_normal((2, n)),
         "ties": lambda: rng.integers(-3, 4, (2, n)).astype(float),
         "lognormal": lambda: rng.lognormal(0, 6, (2, n)),
         "mixed": lambda: np.where(rng.random((2, n)) < 0.1, rng.standard_normal((2, n)) * 1e9,
                                   rng.standard_normal((2, n)))}[kind]()
    qs = tuple(sorted(rng.random(4)))
    got = quantiles(x, qs)
    for row, values in zip(x, got):
        assert np.array_equal(values, np.quantile(row, qs))
