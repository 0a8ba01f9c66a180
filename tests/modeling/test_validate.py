"""validate(): failed resamples, determinism, Emax and argument checks (R parity is in test_r_parity.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logit

from imln.modeling import LogisticModel, ModelingInputError, validate
from imln.modeling._rng import RCompatibleRNG
from imln.modeling._validate import INDEX_NAMES, emax_from_calibration


def _nearly_separated() -> pd.DataFrame:
    """x = 1..40, y = x > 20 except two swapped rows: the full data have an MLE, many resamples do not."""
    x = np.arange(1.0, 41.0)
    y = (x > 20).astype(int)
    y[[18, 21]] = y[[21, 18]]  # x=19 is an event, x=22 is not
    return pd.DataFrame({"x": x, "y": y})


def test_divergent_resamples_are_dropped_and_listed() -> None:
    """A resample whose events all lie above its non-events has no MLE; exactly those must fail."""
    d = _nearly_separated()
    m = LogisticModel("x").fit(d, "y")
    result = validate(m, B=60, seed=7)
    rng = RCompatibleRNG(7)  # the same resamples, checked for separation directly
    separated = []
    for b in range(1, 61):
        idx = rng.sample_with_replacement(40, 40)
        xs, ys = d["x"].to_numpy()[idx], d["y"].to_numpy()[idx]
        if xs[ys == 0].max() < xs[ys == 1].min():
            separated.append(b)
    assert separated, "the example should produce some separated resamples"
    assert list(result.failed_resamples) == separated
    assert (result.table["n"] == 60 - len(separated)).all()
    assert f"{len(separated)} resample(s) did not converge and were dropped" in result.describe()


def test_threads_and_chunking_do_not_change_results(model: LogisticModel) -> None:
    a = validate(model, B=40, seed=11, n_threads=1, chunk_size=40).table
    b = validate(model, B=40, seed=11, n_threads=2, chunk_size=7).table
    assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-15)


def test_numpy_generator_is_reproducible(model: LogisticModel) -> None:
    a = validate(model, B=20, seed=3, rng="numpy").table
    b = validate(model, B=20, seed=3, rng="numpy").table
    c = validate(model, B=20, seed=4, rng="numpy").table
    assert_array_equal(a.to_numpy(), b.to_numpy())
    assert not np.allclose(a["test"], c["test"])


def test_layout_is_rms(model: LogisticModel) -> None:
    t = validate(model, B=5, seed=1).table
    assert list(t.index) == list(INDEX_NAMES)
    assert list(t.columns) == ["index.orig", "training", "test", "optimism", "index.corrected", "n"]
    assert_allclose(t["optimism"].drop("Emax"), (t["training"] - t["test"]).drop("Emax"), atol=1e-15)
    assert t.loc["Emax", "optimism"] == t.loc["Emax", "index.corrected"] == t.loc["Emax", "test"]  # rms's layout
    assert_allclose(t["index.corrected"].drop("Emax"), (t["index.orig"] - t["optimism"]).drop("Emax"), atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.5, 1.5))
def test_emax_is_the_largest_calibration_error(a: float, b: float) -> None:
    p = np.linspace(0.0005, 0.9995, 1999)
    brute = np.max(np.abs(p - expit(a + b * logit(p))))
    assert emax_from_calibration(a, b) == pytest.approx(brute, abs=1e-12)
    assert emax_from_calibration(0.0, 1.0) == pytest.approx(0.0, abs=1e-15)


def test_bad_arguments(model: LogisticModel) -> None:
    with pytest.raises(ModelingInputError, match="B must be a positive integer"):
        validate(model, B=0)
    with pytest.raises(ModelingInputError, match="method must be 'boot' or 'crossvalidation'"):
        validate(model, method="jackknife")  # type: ignore[arg-type]
    with pytest.raises(ModelingInputError, match=r"B=2000 folds leaves fewer than 2 rows per fold \(n=2982\)"):
        validate(model, B=2000, method="crossvalidation")
    with pytest.raises(ValueError, match="rng must be 'R' or 'numpy'"):
        validate(model, B=2, rng="mt")  # type: ignore[arg-type]


class TestRCompatibleRNG:
    @settings(max_examples=30, deadline=None)
    @given(st.integers(0, 2**31 - 1), st.lists(st.integers(1, 700), min_size=1, max_size=6),
           st.sampled_from([7, 1000, 40000, 70000]))
    def test_batched_draws_continue_one_stream(self, seed: int, sizes: list[int], n: int) -> None:
        """Drawing in pieces gives the same sequence as one draw (the look-ahead buffer is exact)."""
        whole = RCompatibleRNG(seed).sample_with_replacement(n, sum(sizes))
        r = RCompatibleRNG(seed)
        pieces = np.concatenate([r.sample_with_replacement(n, k) for k in sizes])
        assert_array_equal(pieces, whole)
        assert whole.min() >= 0 and whole.max() < n

    def test_permutation_is_a_permutation(self) -> None:
        p = RCompatibleRNG(5).permutation(1000)
        assert_array_equal(np.sort(p), np.arange(1000))
