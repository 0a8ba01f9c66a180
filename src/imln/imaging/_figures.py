"""Figures of an imaging assessment: the Fagan nomogram and the pre- → post-test chart.

Computing and drawing are separate, as in scikit-learn's displays:
:func:`fagan_data` / :meth:`FaganData.from_assessment` and :func:`prepost_data`
/ :meth:`PrePostData.from_assessment` return plain arrays and positions;
:func:`plot_fagan` and :func:`plot_prepost` draw them on a matplotlib ``Axes``;
:func:`save_figures` writes both for an :class:`~imln.imaging.ImagingAssessment`
as PNG and/or SVG.

The Fagan nomogram puts three vertical axes at x = −1, 0, +1 on the log-odds
scale: the pre-test probability p at y = −logit(p) (so it reads downwards),
the likelihood ratio at y = ln(LR) / 2, the post-test probability q at
y = logit(q). Since logit(q) = logit(p) + ln(LR), the three points are
collinear: the straight line from p through LR meets q.

Matplotlib is imported only when drawing, with the Agg canvas (no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

if TYPE_CHECKING:  # pragma: no cover
    from imln.imaging._assess import ImagingAssessment

__all__ = [
    "FIGURE_FORMATS",
    "FaganData",
    "FaganLine",
    "PrePostData",
    "fagan_data",
    "plot_fagan",
    "plot_prepost",
    "prepost_data",
    "save_figures",
]

#: Probabilities marked on the nomogram's outer axes (as proportions).
PROBABILITY_TICKS = np.array(
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99,
     0.995, 0.998, 0.999]
)
#: Likelihood ratios marked on the middle axis.
LR_TICKS = np.array(
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
)
FIGURE_FORMATS = ("png", "svg", "pdf")
FILE_STEMS = {"fagan": "fagan_nomogram", "prepost": "pretest_posttest"}


@dataclass(frozen=True)
class FaganLine:
    """One straight line of the nomogram: pre-test → likelihood ratio → post-test."""

    label: str
    pretest: float
    likelihood_ratio: float
    posttest: float
    y_pretest: float
    y_lr: float
    y_posttest: float


@dataclass(frozen=True)
class FaganData:
    """Everything :func:`plot_fagan` draws, as numbers (axes at x = −1, 0, +1)."""

    probability_ticks: np.ndarray
    y_pretest_ticks: np.ndarray
    y_posttest_ticks: np.ndarray
    lr_ticks: np.ndarray
    y_lr_ticks: np.ndarray
    lines: tuple[FaganLine, ...]
    posttest_interval: tuple[float, float] | None
    y_posttest_interval: tuple[float, float] | None
    ylim: tuple[float, float]
    title: str

    @classmethod
    def from_assessment(cls, assessment: ImagingAssessment) -> FaganData:
        """The nomogram of an assessment: one line per applied finding, in order."""
        if assessment.pretest is None or assessment.posttest is None:
            raise ValueError("the assessment has no pre-test probability, so there is no Fagan nomogram to draw")
        steps = [s for s in assessment.steps if s.finding_index is not None]
        post = assessment.posttest
        interval = (post.lower, post.upper)
        if not steps:
            return fagan_data(assessment.pretest.mean, [1.0], labels=["no finding applied (LR 1)"],
                              posttest_interval=interval)
        return fagan_data(
            assessment.pretest.mean,
            [s.likelihood_ratio for s in steps],  # type: ignore[misc]
            labels=[s.label.lstrip("+ ") for s in steps],
            posttest_interval=interval,
            title=f"Fagan nomogram ({post.method}; {post.level:.0%} CrI, seed {post.seed})",
        )


def fagan_data(
    pretest: float,
    likelihood_ratios: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    posttest_interval: tuple[float, float] | None = None,
    title: str = "Fagan nomogram",
) -> FaganData:
    """Positions of a Fagan nomogram for ``pretest`` updated by each likelihood ratio in turn.

    Line k starts at the probability after the first k − 1 ratios: several
    findings are drawn as a chain of lines, the last ending at the combined
    post-test probability. ``posttest_interval`` (the credible interval of
    the final probability) is marked on the right axis.
    """
    if not 0 < pretest < 1:
        raise ValueError(f"pretest must be a probability in (0, 1); got {pretest!r}")
    lrs = [float(x) for x in likelihood_ratios]
    if not lrs or any(not x > 0 or not np.isfinite(x) for x in lrs):
        raise ValueError(f"likelihood_ratios must be finite positive numbers, at least one; got {likelihood_ratios!r}")
    labels = list(labels) if labels is not None else [f"LR {x:.3g}" for x in lrs]
    if len(labels) != len(lrs):
        raise ValueError(f"labels must match likelihood_ratios: {len(labels)} vs {len(lrs)}")
    lines = []
    logit = float(special.logit(pretest))
    for label, lr in zip(labels, lrs):
        start = float(special.expit(logit))
        logit += float(np.log(lr))
        end = float(special.expit(logit))
        lines.append(FaganLine(label, start, lr, end, -float(special.logit(start)), float(np.log(lr)) / 2, logit))
    y_interval = None
    if posttest_interval is not None:
        lo, hi = posttest_interval
        y_interval = (float(special.logit(np.clip(lo, 1e-12, 1 - 1e-12))),
                      float(special.logit(np.clip(hi, 1e-12, 1 - 1e-12))))
    span = float(special.logit(PROBABILITY_TICKS[-1]))
    extent = [span] + [abs(v) for line in lines for v in (line.y_pretest, line.y_lr, line.y_posttest)]
    if y_interval:
        extent += [abs(v) for v in y_interval]
    limit = max(extent) * 1.05
    return FaganData(
        probability_ticks=PROBABILITY_TICKS.copy(),
        y_pretest_ticks=-special.logit(PROBABILITY_TICKS),
        y_posttest_ticks=special.logit(PROBABILITY_TICKS),
        lr_ticks=LR_TICKS.astype(float),
        y_lr_ticks=np.log(LR_TICKS) / 2,
        lines=tuple(lines),
        posttest_interval=posttest_interval,
        y_posttest_interval=y_interval,
        ylim=(-limit, limit),
        title=title,
    )


@dataclass(frozen=True)
class PrePostData:
    """The probability before and after each applied finding, with credible intervals (proportions)."""

    labels: tuple[str, ...]
    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    title: str

    @classmethod
    def from_assessment(cls, assessment: ImagingAssessment) -> PrePostData:
        return prepost_data(assessment)


def prepost_data(assessment: ImagingAssessment) -> PrePostData:
    """Pre-test probability, then the probability after each applied finding (cumulative)."""
    if assessment.pretest is None or not assessment.steps:
        raise ValueError("the assessment has no pre-test probability, so there is no pre- → post-test chart")
    steps = assessment.steps
    return PrePostData(
        labels=tuple(s.label for s in steps),
        point=np.array([s.point for s in steps]),
        lower=np.array([s.lower for s in steps]),
        upper=np.array([s.upper for s in steps]),
        level=assessment.level,
        title=f"Probability of IMLN metastasis ({assessment.combine}; {assessment.level:.0%} CrI, "
              f"seed {assessment.seed})",
    )


def _percent(p: float) -> str:
    x = 100 * p
    return f"{x:.1f}" if x < 1 or x > 99 else f"{x:.0f}"


def _new_axes(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def plot_fagan(data: FaganData, ax: Any = None) -> Any:
    """Draw a Fagan nomogram from :class:`FaganData`; returns the ``Axes``."""
    if ax is None:
        ax = _new_axes((5.5, 7.5))
    ink = "0.2"
    for x in (-1, 0, 1):
        ax.plot([x, x], list(data.ylim), color=ink, lw=1)
    for p, yl, yr in zip(data.probability_ticks, data.y_pretest_ticks, data.y_posttest_ticks):
        ax.plot([-1.03, -1], [yl, yl], color=ink, lw=0.8)
        ax.text(-1.06, yl, _percent(p), ha="right", va="center", fontsize=7)
        ax.plot([1, 1.03], [yr, yr], color=ink, lw=0.8)
        ax.text(1.06, yr, _percent(p), ha="left", va="center", fontsize=7)
    for lr, y in zip(data.lr_ticks, data.y_lr_ticks):
        ax.plot([0, 0.03], [y, y], color=ink, lw=0.8)
        ax.text(0.05, y, f"{lr:g}", ha="left", va="center", fontsize=7)
    colours = ["#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d"]
    for k, line in enumerate(data.lines):
        colour = colours[k % len(colours)]
        ax.plot([-1, 0, 1], [line.y_pretest, line.y_lr, line.y_posttest], color=colour, lw=1.6, marker="o", ms=4,
                label=f"{line.label}: {100 * line.pretest:.1f}% × LR {line.likelihood_ratio:.3g} → "
                      f"{100 * line.posttest:.1f}%")
    if data.y_posttest_interval is not None and data.posttest_interval is not None:
        lo, hi = data.y_posttest_interval
        ax.plot([1, 1], [lo, hi], color="black", lw=5, alpha=0.35, solid_capstyle="butt",
                label=f"post-test credible interval {100 * data.posttest_interval[0]:.1f}–"
                      f"{100 * data.posttest_interval[1]:.1f}%")
    top = data.ylim[1]
    ax.text(-1, top * 1.02, "Pre-test\nprobability (%)", ha="center", va="bottom", fontsize=8)
    ax.text(0, top * 1.02, "Likelihood\nratio", ha="center", va="bottom", fontsize=8)
    ax.text(1, top * 1.02, "Post-test\nprobability (%)", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(data.ylim[0], data.ylim[1] * 1.15)
    ax.set_axis_off()
    ax.set_title(data.title, fontsize=9)
    if data.lines:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=7, frameon=False)
    return ax


def plot_prepost(data: PrePostData, ax: Any = None) -> Any:
    """Draw the pre- → post-test chart from :class:`PrePostData`; returns the ``Axes``."""
    if ax is None:
        ax = _new_axes((max(4.0, 1.6 * len(data.labels) + 2), 4.5))
    x = np.arange(len(data.labels))
    pct = 100 * data.point
    err = np.vstack([pct - 100 * data.lower, 100 * data.upper - pct])
    ax.errorbar(x, pct, yerr=np.clip(err, 0, None), fmt="o-", color="#b2182b", ecolor="0.4", capsize=4, lw=1.4)
    for xi, p, lo, hi in zip(x, data.point, data.lower, data.upper):
        ax.annotate(f"{100 * p:.1f}%\n({100 * lo:.1f}–{100 * hi:.1f})", (xi, 100 * p), textcoords="offset points",
                    xytext=(8, 0), fontsize=7, va="center")
    ax.set_xticks(x, data.labels, rotation=15, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Probability of IMLN metastasis (%)")
    ax.set_xlim(-0.5, len(x) - 0.3)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(data.title, fontsize=9)
    return ax


def save_figures(
    imaging_assessment: ImagingAssessment,
    directory: str | Path,
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Write the Fagan nomogram and the pre- → post-test chart; returns the paths written.

    Files are ``fagan_nomogram.<fmt>`` and ``pretest_posttest.<fmt>`` in
    ``directory`` (created if needed). An assessment without a pre-test
    probability has neither figure: nothing is written and the list is empty
    (its ``notes`` say why).
    """
    formats = tuple(formats)
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty selection of {', '.join(FIGURE_FORMATS)}; got {list(formats)}")
    if imaging_assessment.pretest is None or imaging_assessment.posttest is None:
        return []
    import matplotlib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    figures = {
        "fagan": plot_fagan(FaganData.from_assessment(imaging_assessment)).figure,
        "prepost": plot_prepost(prepost_data(imaging_assessment)).figure,
    }
    written = []
    # Reproducible files: fixed SVG ids, no creation date in the metadata.
    with matplotlib.rc_context({"svg.hashsalt": "imln", "svg.fonttype": "path"}):
        for name, fig in figures.items():
            for fmt in formats:
                path = directory / f"{FILE_STEMS[name]}.{fmt}"
                metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
                fig.savefig(path, format=fmt, metadata=metadata, dpi=150)
                written.append(path)
    return written
