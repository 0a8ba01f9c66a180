"""How the recommendation for one patient changes across threshold choices, and its plot.

:func:`threshold_sensitivity` computes; :func:`plot_threshold_sensitivity` draws.

For each threshold of the patient's decision rule, the threshold is swept over a
grid (the others held at their values) and the recommendation is recorded at
the point estimate and at both ends of the interval. The plot is a
decision-curve-style view for the individual patient: the net benefit of acting
on the IMN (treating the patient as IMLN-positive) at threshold probability
``t``, in true-positive units,

    NB(t) = p − (1 − p) · t / (1 − t)

against 0 for not acting (Vickers & Elkin's net benefit with one patient of
probability ``p``), drawn for the point estimate with a band between the
interval's ends; acting is worth it exactly when ``p > t``. Vertical lines mark
the thresholds in use, and strips below show the recommendation as each one is
swept.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from imln._cache import RESULT_CACHE_SIZE, Same
from imln.decision._classes import (
    LABELS,
    DecisionContext,
    RecommendationClass,
    class_steps,
    decision_context,
)
from imln.decision._probability import ProbabilityEstimate
from imln.decision._thresholds import (
    ThresholdSet,
    default_thresholds,
)

__all__ = ["SweepSegment", "ThresholdSensitivity", "ThresholdSweep", "plot_threshold_sensitivity", "threshold_sensitivity"]

DEFAULT_GRID = tuple(np.round(np.arange(0.01, 1.0, 0.01), 2))

COLOURS = {
    RecommendationClass.omit: "#f0f0f0",
    RecommendationClass.short_interval_follow_up: "#d1e5f0",
    RecommendationClass.im_sentinel_biopsy: "#fddbc7",
    RecommendationClass.image_guided_biopsy: "#f4a582",
    RecommendationClass.full_work_up: "#92c5de",
    RecommendationClass.imn_radiotherapy: "#b2182b",
}


class SweepSegment(BaseModel):
    """A run of consecutive grid values of the swept threshold that give the same recommendations."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(description="First grid value of the run.")
    end: float = Field(description="Last grid value of the run.")
    valid: bool = Field(description="False when these values break the ordering of thresholds (omit_below < radiotherapy_at).")
    class_at_point: RecommendationClass | None
    class_at_lower: RecommendationClass | None
    class_at_upper: RecommendationClass | None

    def covers(self, value: float) -> bool:
        return self.start <= value <= self.end


class ThresholdSweep(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: str
    current_value: float
    basis: str
    segments: list[SweepSegment] = Field(description="The grid in runs of equal recommendations, in grid order.")
    switch_points: list[float] = Field(description="Grid values where the class at the point estimate changes.")

    def at(self, value: float) -> SweepSegment:
        """The segment holding grid value ``value``."""
        for seg in self.segments:
            if seg.covers(value):
                return seg
        raise KeyError(f"{value!r} is not on the grid of the {self.threshold} sweep")


class ThresholdSensitivity(BaseModel):
    """The recommendation across threshold choices; the patient's net-benefit curve is :meth:`net_benefit`."""

    model_config = ConfigDict(frozen=True)

    probability: ProbabilityEstimate
    setting: str
    current_class: RecommendationClass
    grid: list[float]
    sweeps: list[ThresholdSweep]
    thresholds_in_use: dict[str, float]
    note: str = (
        "NB(t) = p − (1 − p)·t/(1 − t): the expected net benefit of acting on the IMN for this patient at "
        "threshold probability t, against 0 for not acting; acting is worth it exactly when p > t."
    )

    def net_benefit(self, at: str = "point") -> np.ndarray:
        """NB over ``grid`` for the probability's ``point``, ``lower`` or ``upper`` end."""
        if at not in ("point", "lower", "upper"):
            raise ValueError(f"at must be 'point', 'lower' or 'upper'; got {at!r}")
        return _net_benefit(getattr(self.probability, at), np.asarray(self.grid, dtype=float))


def _net_benefit(p: float, t: np.ndarray) -> np.ndarray:
    return p - (1 - p) * t / (1 - t)


def _segments(grid: np.ndarray, valid: np.ndarray, codes: np.ndarray, classes: tuple) -> list[SweepSegment]:
    """Runs of equal (valid, class at point/lower/upper) along the grid; ``codes`` is (3, len(grid))."""
    key = np.vstack([valid, np.where(valid, codes, -1)])
    change = np.flatnonzero(np.any(key[:, 1:] != key[:, :-1], axis=0)) + 1
    bounds = [0, *change.tolist(), len(grid)]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        ok = bool(valid[a])
        point, lower, upper = (classes[int(c)] if ok else None for c in codes[:, a])
        out.append(SweepSegment(start=float(grid[a]), end=float(grid[b - 1]), valid=ok, class_at_point=point,
                                class_at_lower=lower, class_at_upper=upper))
    return out


def _checked_grid(grid: Any) -> tuple[np.ndarray, list[float]]:
    """The sweep grid as an array and as floats, refused unless a non-empty sequence in (0, 1)."""
    grid_arr = np.asarray(grid, dtype=float)
    if grid_arr.ndim != 1 or grid_arr.size == 0 or np.any((grid_arr <= 0) | (grid_arr >= 1)):
        raise ValueError("grid must be a non-empty sequence of values in (0, 1)")
    return grid_arr, [float(v) for v in grid_arr]


@cache
def _default_grid() -> tuple[np.ndarray, list[float]]:
    """:data:`DEFAULT_GRID`, checked once and kept read-only (shared by every sweep)."""
    grid_arr, grid_list = _checked_grid(DEFAULT_GRID)
    grid_arr.setflags(write=False)
    return grid_arr, grid_list


def threshold_sensitivity(
    probability: ProbabilityEstimate,
    context: DecisionContext | Any,
    thresholds: ThresholdSet | None = None,
    *,
    grid: Any = DEFAULT_GRID,
) -> ThresholdSensitivity:
    """Sweep each threshold of the patient's decision rule over ``grid`` (values in (0, 1)).

    ``context`` is a :class:`DecisionContext` or the patient it is read from. A swept
    value replaces its breakpoint in the step function of :func:`class_steps` (the
    class at probability q is the number of breakpoints ≤ q); a value the threshold
    set does not allow (:meth:`ThresholdSet.allows`) is marked invalid.
    """
    if not isinstance(context, DecisionContext):
        context = decision_context(context)
    thresholds = thresholds or default_thresholds()
    if grid is DEFAULT_GRID:  # the sweep every assessment draws: cached
        return _default_sweep(probability, context, Same(thresholds))
    return _sweep(probability, context, thresholds, *_checked_grid(grid))


@lru_cache(maxsize=RESULT_CACHE_SIZE)
def _default_sweep(probability: ProbabilityEstimate, context: DecisionContext, thresholds_key: Same
                   ) -> ThresholdSensitivity:
    """The sweep over :data:`DEFAULT_GRID`: a pure function of these, so cached (see :mod:`imln._cache`)."""
    return _sweep(probability, context, thresholds_key.obj, *_default_grid())  # type: ignore[arg-type]


def _sweep(probability: ProbabilityEstimate, context: DecisionContext, thresholds: ThresholdSet,
           grid_arr: np.ndarray, grid_list: list[float]) -> ThresholdSensitivity:
    steps = class_steps(context, thresholds)
    ends = np.array([probability.point, probability.lower, probability.upper])
    sweeps = []
    for k, name in enumerate(steps.names):
        breakpoints = np.tile(np.asarray(steps.breakpoints, dtype=float), (grid_arr.size, 1))
        breakpoints[:, k] = grid_arr
        valid = thresholds.allows(name, grid_arr)
        codes = (breakpoints[None, :, :] <= ends[:, None, None]).sum(axis=2)  # (3, grid): index into classes
        segments = _segments(grid_arr, valid, codes, steps.classes)
        # runs are maximal, so adjacent valid runs with another class at the point meet at a switch
        switches = [b.start for a, b in zip(segments, segments[1:])
                    if a.valid and b.valid and a.class_at_point != b.class_at_point]
        t = thresholds.thresholds[name]
        sweeps.append(ThresholdSweep(threshold=name, current_value=t.value, basis=t.basis, segments=segments,
                                     switch_points=switches))
    return ThresholdSensitivity(
        probability=probability,
        setting=context.setting,
        current_class=steps.classes[int(steps.index(probability.point))],
        grid=list(grid_list),
        sweeps=sweeps,
        thresholds_in_use={n: thresholds.value(n) for n in steps.names},
    )


def plot_threshold_sensitivity(data: ThresholdSensitivity, ax: Any = None) -> Any:
    """Draw :class:`ThresholdSensitivity` on a matplotlib ``Axes`` (a new Agg figure when ``ax`` is None)."""
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 4.8))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
    t = np.asarray(data.grid)
    nb = data.net_benefit("point")
    lo = np.minimum(data.net_benefit("lower"), data.net_benefit("upper"))
    hi = np.maximum(data.net_benefit("lower"), data.net_benefit("upper"))
    ymax = max(0.05, float(np.max(hi))) * 1.15
    floor = -0.6 * ymax  # the curve falls steeply toward −∞ as t → 1; show the region that decides
    strip_h = 0.09 * (ymax - floor)
    bottom = floor - strip_h * (len(data.sweeps) + 0.3)
    visible = hi >= floor
    ax.fill_between(t, np.maximum(lo, floor), hi, where=visible, color="#2166ac", alpha=0.2, lw=0,
                    label="interval of the probability")
    ax.plot(t, np.where(nb >= floor, nb, np.nan), color="#2166ac", lw=1.8,
            label=f"act on the IMN (p = {data.probability.point:.3g})")
    ax.axhline(0, color="0.3", lw=1, label="no action (net benefit 0)")
    ax.axhline(floor, color="0.6", lw=0.6)
    for name, value in data.thresholds_in_use.items():
        ax.axvline(value, color="0.2", ls="--", lw=0.9)
        ax.text(value, ymax, f" {name} = {value:g}", rotation=90, va="top", ha="right", fontsize=7)
    ax.axvline(data.probability.point, color="#b2182b", lw=0.9, ls=":")
    width = float(np.median(np.diff(t))) if t.size > 1 else 0.01
    for k, sweep in enumerate(data.sweeps):
        y0 = floor - strip_h * (k + 1)
        for seg in sweep.segments:
            colour = COLOURS[seg.class_at_point] if seg.valid and seg.class_at_point else "white"
            ax.add_patch(_rect((seg.start - width / 2, y0), seg.end - seg.start + width, strip_h * 0.75, colour))
        ax.text(0.995, y0 + strip_h * 0.37, f"recommendation as {sweep.threshold} varies", ha="right",
                va="center", fontsize=6.5, color="0.15")
    seen = {seg.class_at_point for s in data.sweeps for seg in s.segments if seg.valid and seg.class_at_point}
    for cls in RecommendationClass:
        if cls in seen:
            ax.add_patch(_rect((0, 0), 0, 0, COLOURS[cls], label=LABELS[cls]))
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom, ymax)
    ax.set_yticks([y for y in ax.get_yticks() if floor <= y <= ymax])
    ax.set_xlabel("threshold probability of IMLN metastasis")
    ax.set_ylabel("net benefit (true positives per patient)")
    ax.set_title(f"Threshold sensitivity ({data.setting}): now '{LABELS[data.current_class]}'", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    return ax


def _rect(xy: tuple[float, float], w: float, h: float, colour: str, label: str | None = None) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=colour, edgecolor="none", label=label)
