"""Bootstrap overfitting-corrected calibration curve, as ``rms::calibrate`` (lrm fits).

The apparent curve is ``lowess(predicted, y, iter = 0)`` read off at 50 equally
spaced predicted probabilities from the 5th smallest to the 5th largest
prediction. Its error (calibrated − predicted) is optimism-corrected with the same
bootstrap as ``validate``: each resample's model is smoothed on the resample
(training) and on the original rows (test); the corrected curve is
``calibrated.orig − (mean training error − mean test error)``. A grid point where a
resample's curve is undefined (outside its range) does not count for that point,
so ``n`` varies along the curve as in R.

``compute`` and ``draw`` are separate: :func:`calibrate` returns a
:class:`CalibrationCurve`; :func:`plot_calibration` draws one on a matplotlib axis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from imln.modeling._design import ModelingInputError
from imln.modeling._fit import (
    LogisticModel,
    _full_penalty,
    _with_intercept,
    design_products,
    newton_logistic_batch,
    single_threaded_blas,
)
from imln.modeling._lowess import approx_first, approx_mean, lowess
from imln.modeling._rng import RngKind, make_rng
from imln.modeling._validate import _run_chunks

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CalibrationCurve:
    """``rms::calibrate`` output: the grid, apparent and bias-corrected curves, and errors."""

    table: pd.DataFrame  # rms's columns: predy, calibrated.orig, calibrated.corrected, index.orig, …, n
    predicted: np.ndarray  # apparent predicted probability of each subject
    outcome: np.ndarray
    B: int
    seed: int
    rng: RngKind
    failed_resamples: tuple[int, ...]
    elapsed_seconds: float

    @property
    def mean_absolute_error(self) -> float:
        return float(np.nanmean(np.abs(self._errors())))

    @property
    def mean_squared_error(self) -> float:
        return float(np.nanmean(self._errors() ** 2))

    @property
    def quantile_90_absolute_error(self) -> float:
        return float(np.nanquantile(np.abs(self._errors()), 0.9))

    def _errors(self) -> np.ndarray:
        """predicted − corrected calibrated probability at each subject's prediction (print.calibrate)."""
        t = self.table
        ok = t[["predy", "calibrated.corrected"]].notna().all(axis=1)
        return self.predicted - approx_mean(t.loc[ok, "predy"].to_numpy(), t.loc[ok, "calibrated.corrected"].to_numpy(),
                                            self.predicted)

    def describe(self) -> str:
        return (
            f"calibration by bootstrap (B={self.B}, seed {self.seed}, rng={self.rng}"
            f"{f'; {len(self.failed_resamples)} failed resamples dropped' if self.failed_resamples else ''}): "
            f"n={self.predicted.size}, mean absolute error {self.mean_absolute_error:.3f}, "
            f"mean squared error {self.mean_squared_error:.5f}, 0.9 quantile of absolute error "
            f"{self.quantile_90_absolute_error:.3f}"
        )


def calibration_error(prob: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """lowess-smoothed observed risk minus predicted, on ``grid`` (``cal.error`` in rms)."""
    xs, fitted = lowess(prob, y)
    return approx_first(xs, fitted, grid) - grid


def prediction_grid(predicted: np.ndarray, points: int = 50) -> np.ndarray:
    """50 points from the 5th smallest to the 5th largest prediction (rms default)."""
    p = np.sort(predicted)
    n = p.size
    if n < 11:
        raise ModelingInputError(f"calibrate needs more than 10 subjects (got {n})")
    return np.linspace(p[4], p[n - 5], points)


def calibrate(
    model: LogisticModel,
    *,
    B: int = 200,
    seed: int = 1,
    rng: RngKind = "R",
    progress: Progress | None = None,
    n_threads: int = 2,
    chunk_size: int = 32,
) -> CalibrationCurve:
    """Bootstrap bias-corrected calibration curve of a fitted model (``rms::calibrate``).

    With ``rng="R"`` the resamples are those of ``set.seed(seed); calibrate(fit, B=B)``.
    """
    model._check_fitted()
    if B < 1 or int(B) != B:
        raise ModelingInputError(f"B must be a positive integer (got {B})")
    t0 = time.perf_counter()
    sampler = make_rng(seed, rng)
    X1 = _with_intercept(model.X_)
    X1T = np.ascontiguousarray(X1.T)
    y = model.y_
    n = y.size
    predicted = expit(model.fitted_linear_predictor_)
    grid = prediction_grid(predicted)
    orig = calibration_error(predicted, y, grid)
    pen_full = _full_penalty(model.penalty_matrix_, model.X_.shape[1]) if model.penalty_matrix_ is not None else None
    beta_hat = model.coef_.to_numpy()
    products = design_products(X1)

    def work(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = idx.shape[0]
        flat = (idx + (np.arange(m) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=m * n).reshape(m, n).astype(float)
        beta, ok, _ = newton_logistic_batch(X1, y, counts, beta_hat, penalty_full=pen_full, products=products)
        prob = expit(beta @ X1T)
        train = np.full((m, grid.size), np.nan)
        test = np.full((m, grid.size), np.nan)
        for k in np.flatnonzero(ok):
            train[k] = calibration_error(prob[k, idx[k]], y[idx[k]], grid)
            test[k] = calibration_error(prob[k], y, grid)
        return ok, train, test

    train_sum = np.zeros(grid.size)
    test_sum = np.zeros(grid.size)
    num = np.zeros(grid.size)
    failed: list[int] = []
    done = 0

    def absorb(first: int, result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        nonlocal done
        ok, train, test = result
        failed.extend(first + int(k) + 1 for k in np.flatnonzero(~ok))
        both = train + test
        valid = ~np.isnan(both)
        train_sum[:] += np.where(valid, train, 0).sum(axis=0)
        test_sum[:] += np.where(valid, test, 0).sum(axis=0)
        num[:] += valid.sum(axis=0)
        done += ok.size
        if progress:
            progress(done, B)

    starts = list(range(0, B, chunk_size))

    def draw(first: int) -> np.ndarray:
        m = min(chunk_size, B - first)
        return sampler.sample_with_replacement(n, n * m).reshape(m, n)

    with single_threaded_blas():
        _run_chunks(starts, draw, work, absorb, n_threads)

    with np.errstate(invalid="ignore", divide="ignore"):
        train_mean = train_sum / num
        test_mean = test_sum / num
    optimism = train_mean - test_mean
    table = pd.DataFrame({
        "predy": grid,
        "calibrated.orig": orig + grid,
        "calibrated.corrected": orig + grid - optimism,
        "index.orig": orig,
        "training": train_mean,
        "test": test_mean,
        "optimism": optimism,
        "index.corrected": orig - optimism,
        "n": num.astype(int),
    })
    return CalibrationCurve(table, predicted, y.copy(), int(B), int(seed), rng, tuple(sorted(failed)),
                            time.perf_counter() - t0)


def plot_calibration(curve: CalibrationCurve, ax: Any = None, *, title: str | None = None) -> Any:
    """Draw apparent and bias-corrected curves, the ideal line and a rug of predictions."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    t = curve.table
    lim = (0, 1)
    ax.plot(lim, lim, color="0.6", lw=1, ls="--", label="Ideal")
    ax.plot(t["predy"], t["calibrated.orig"], color="tab:blue", lw=1.2, ls=":", label="Apparent")
    ax.plot(t["predy"], t["calibrated.corrected"], color="tab:red", lw=1.8, label=f"Bias-corrected (B={curve.B})")
    counts, edges = np.histogram(curve.predicted, bins=100, range=(0, 1))
    if counts.max() > 0:
        ax.bar(edges[:-1], counts / counts.max() * 0.06, width=edges[1] - edges[0], bottom=0, align="edge",
               color="0.3", alpha=0.5, linewidth=0)
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed probability")
    ax.set_title(title or "Calibration (lowess, bootstrap bias-corrected)")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.text(0.98, 0.02, f"Mean absolute error {curve.mean_absolute_error:.3f}\nn={curve.predicted.size}",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    return ax
