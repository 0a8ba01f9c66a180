"""Forest (paired sensitivity/specificity) and SROC plots with matplotlib.

Study intervals are Wilson score intervals on the uncorrected cells (mada's ``madad`` and
``forest`` default, via statsmodels' ``proportion_confint(method="wilson")``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from statsmodels.stats.proportion import proportion_confint

from .reitsma import ReitsmaFit
from .univariate import UnivariateFit


def _wilson(x: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    return np.asarray(lo), np.asarray(hi)


def forest_plot(
    tp: Sequence[float],
    fp: Sequence[float],
    fn: Sequence[float],
    tn: Sequence[float],
    labels: Sequence[str] | None = None,
    fit: ReitsmaFit | UnivariateFit | None = None,
    level: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Paired forest plot: per-study sensitivity and specificity side by side, with the pooled estimates."""
    tp, fp, fn, tn = (np.asarray(v, dtype=float) for v in (tp, fp, fn, tn))
    k = len(tp)
    labels = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(k)]
    sens, spec = tp / (tp + fn), tn / (tn + fp)
    s_lo, s_hi = _wilson(tp, tp + fn, level)
    c_lo, c_hi = _wilson(tn, tn + fp, level)
    rows = k + (2 if fit is not None else 0)
    fig = Figure(figsize=(9, 1.2 + 0.3 * rows))
    axes = fig.subplots(1, 2, sharey=True)
    ypos = np.arange(k)[::-1] + (2 if fit is not None else 0)
    for ax, est, lo, hi, name in ((axes[0], sens, s_lo, s_hi, "Sensitivity"), (axes[1], spec, c_lo, c_hi, "Specificity")):
        ax.errorbar(est, ypos, xerr=[est - lo, hi - est], fmt="s", color="black", ms=4, capsize=2, lw=1)
        if fit is not None:
            e = fit.sensitivity if name == "Sensitivity" else fit.specificity
            ax.fill([e.lower, e.estimate, e.upper, e.estimate], [0.5, 0.8, 0.5, 0.2], color="tab:blue")
            ax.axvline(e.estimate, color="tab:blue", lw=0.8, ls=":")
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"{name} ({int(level * 100)}% CI)")
        ax.grid(axis="x", alpha=0.3)
    ticks = list(ypos) + ([0.5] if fit is not None else [])
    names = labels + (["Pooled"] if fit is not None else [])
    axes[0].set_yticks(ticks, names)
    axes[0].set_ylim(-0.5 if fit is None else 0, max(ypos) + 0.7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def sroc_plot(
    fit: ReitsmaFit,
    ax: Axes | None = None,
    extrapolate: bool = False,
    predict: bool = True,
    title: str | None = None,
) -> Figure:
    """SROC plot as ``plot(reitsma, predict = TRUE)``: curve over the observed FPR range, summary point,
    confidence and prediction regions, and the studies (uncorrected; marker area ∝ study size)."""
    if ax is None:
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.subplots()
    else:
        fig = ax.figure  # type: ignore[assignment]
    raw = fit.cells.raw
    fpr = raw.fp / (raw.fp + raw.tn)
    sens = raw.tp / (raw.tp + raw.fn)
    size = raw.sum(axis=1)
    ax.scatter(fpr, sens, s=15 + 85 * size / size.max(), facecolors="none", edgecolors="grey", label="Studies")
    if np.min(np.diag(fit.psi)) >= 1e-10:  # else the SROC is not identified (see ReitsmaFit.hsroc)
        curve = fit.sroc()
        if not extrapolate:
            curve = curve[(curve.fpr >= fpr.min()) & (curve.fpr <= fpr.max())]
        ax.plot(curve.fpr, curve.sensitivity, color="black", label="SROC (Rutter–Gatsonis)")
    cr = fit.confidence_region()
    ax.plot(cr.fpr, cr.sensitivity, color="tab:blue", label=f"{int(fit.level * 100)}% confidence region")
    if predict:
        pr = fit.prediction_region()
        ax.plot(pr.fpr, pr.sensitivity, color="tab:blue", ls=":", label=f"{int(fit.level * 100)}% prediction region")
    ax.plot(fit.false_positive_rate.estimate, fit.sensitivity.estimate, "o", color="tab:blue", label="Summary point")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("False positive rate (1 − specificity)")
    ax.set_ylabel("Sensitivity")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small")
    if title:
        ax.set_title(title)
    return fig
