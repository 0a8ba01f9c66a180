"""imln._quantiles: the partial-sort quantiles used by the Monte Carlo summaries, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
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
