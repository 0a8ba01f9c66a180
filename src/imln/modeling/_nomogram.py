"""Points-scale nomogram of a fitted logistic model, computed as ``rms::nomogram``.

Each predictor's contribution to the linear predictor (all of its terms, e.g. the
spline columns of ``rcs(age, 4)``) is evaluated at the axis values; the predictor
with the widest range of contributions spans 0–``maxscale`` points (100, as in rms)
and the others are scaled alike: points = (contribution − its minimum) × scale.
Total points map back to the linear predictor as ``lp = intercept + total / scale``
— so a nomogram read exactly gives the model's own prediction
(:meth:`Nomogram.points_for` checks this for any patient).

Default axis values follow rms: ``pretty(range, 10)`` over the observed range for
continuous predictors, every value for predictors with fewer than 10 distinct
values, and every level for categorical ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from imln.modeling._design import Categorical, ModelingInputError
from imln.modeling._fit import LogisticModel


def r_pretty(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """R's ``pretty(c(lo, hi), n)``: about ``n`` equally spaced round values covering the range."""
    h, h5, shrink, min_n = 1.5, 0.5 + 1.5 * 1.5, 0.75, n // 3
    eps = 1e-10
    dx = hi - lo
    if dx == 0 and hi == 0:
        cell, small = 1.0, True
    else:
        cell = max(abs(lo), abs(hi))
        u = 1 + (1 / (1 + h) if h5 >= 1.5 * h + 0.5 else 1.5 / (1 + h5))
        u *= max(1, n) * np.finfo(float).eps
        small = dx < cell * u * 3
    if small:
        if cell > 10:
            cell = 9 + cell / 10
        cell *= shrink
        if min_n > 1:
            cell /= min_n
    else:
        cell = dx
        if n > 1:
            cell /= n
    base = 10.0 ** math.floor(math.log10(cell))
    unit = base
    if 2 * base - cell < h * (cell - unit):
        unit = 2 * base
        if 5 * base - cell < h5 * (cell - unit):
            unit = 5 * base
            if 10 * base - cell < h * (cell - unit):
                unit = 10 * base
    ns = math.floor(lo / unit + eps)
    nu = math.ceil(hi / unit - eps)
    while ns * unit > lo + eps * unit:
        ns -= 1
    while nu * unit < hi - eps * unit:
        nu += 1
    k = int(0.5 + nu - ns)
    if k < min_n:
        k = min_n - k
        if ns >= 0:
            nu += k // 2
            ns -= k // 2 + k % 2
        else:
            ns -= k // 2
            nu += k // 2 + k % 2
        k = min_n
    values = np.linspace(ns * unit, nu * unit, k + 1)
    if k:
        values[np.abs(values) < 1e-14 * (nu - ns) * unit / k] = 0.0
    return values


@dataclass(frozen=True)
class NomogramAxis:
    """One predictor's axis: its values and the points each is worth."""

    column: str
    values: tuple[Any, ...]
    points: np.ndarray
    categorical: bool


@dataclass(frozen=True)
class Nomogram:
    """Everything needed to draw or read a nomogram."""

    axes: tuple[NomogramAxis, ...]
    scale: float  # points per unit of linear predictor
    lp_at_zero_points: float
    total_points_ticks: np.ndarray
    lp_ticks: np.ndarray
    risk_ticks: np.ndarray
    maxscale: float
    model: LogisticModel

    def total_points_for_lp(self, lp: np.ndarray | float) -> np.ndarray:
        return (np.asarray(lp) - self.lp_at_zero_points) * self.scale

    def lp_for_total_points(self, total: np.ndarray | float) -> np.ndarray:
        return self.lp_at_zero_points + np.asarray(total) / self.scale

    def points_for(self, patient: Mapping[str, Any]) -> dict[str, float]:
        """Points per predictor, total points, and the risk they give, for one patient."""
        out: dict[str, float] = {}
        for axis in self.axes:
            contribution = _contribution(self.model, axis.column, [patient[axis.column]])[0]
            base = _contribution(self.model, axis.column, list(axis.values)).min()
            out[axis.column] = float((contribution - base) * self.scale)
        total = sum(out.values())
        out["total_points"] = total
        out["linear_predictor"] = float(self.lp_for_total_points(total))
        out["risk"] = float(expit(out["linear_predictor"]))
        return out

    def as_frame(self) -> pd.DataFrame:
        """Long table: predictor, value, points (for checking against R's ``nomogram`` print)."""
        rows = [{"predictor": a.column, "value": v, "points": p}
                for a in self.axes for v, p in zip(a.values, a.points, strict=True)]
        return pd.DataFrame(rows)


def _terms_of(model: LogisticModel, column: str) -> list[tuple[Any, slice]]:
    terms = zip(model.design_.terms, model.design_.term_slices(), strict=True)
    return [(t, sl) for t, sl in terms if t.column == column]


def _contribution(model: LogisticModel, column: str, values: Sequence[Any]) -> np.ndarray:
    beta = model.coef_.to_numpy()[1:]
    total = np.zeros(len(values))
    for term, sl in _terms_of(model, column):
        total += term.encode_values(values) @ beta[sl]
    return total


def default_axis_values(model: LogisticModel, column: str) -> tuple[list[Any], bool]:
    """rms's default values for a predictor's axis (see the module docstring)."""
    terms = _terms_of(model, column)
    if any(isinstance(t.term, Categorical) for t, _ in terms):
        return list(terms[0][0].levels or ()), True
    term = terms[0][0]
    if term.distinct_values is not None:
        return list(term.distinct_values), False
    lo, hi = term.value_range
    return [float(v) for v in r_pretty(lo, hi, 10)], False


def nomogram(
    model: LogisticModel,
    values: Mapping[str, Sequence[Any]] | None = None,
    *,
    maxscale: float = 100.0,
    risk_ticks: Sequence[float] | None = None,
) -> Nomogram:
    """Compute a nomogram; ``values`` overrides the axis values of any predictor."""
    model._check_fitted()
    values = dict(values or {})
    unknown = sorted(set(values) - set(model.design_.columns_used))
    if unknown:
        raise ModelingInputError(f"nomogram values given for {unknown}, which are not predictors; allowed: "
                                 f"{model.design_.columns_used}")
    axes_raw = []
    for column in model.design_.columns_used:
        if column in values:
            vals = list(values[column])
            categorical = any(isinstance(t.term, Categorical) for t, _ in _terms_of(model, column))
        else:
            vals, categorical = default_axis_values(model, column)
        contribution = _contribution(model, column, vals)
        axes_raw.append((column, vals, contribution, categorical))
    ranges = [c.max() - c.min() for _, _, c, _ in axes_raw]
    if max(ranges) <= 0:
        raise ModelingInputError("every predictor contributes nothing over its axis values; nothing to draw")
    scale = maxscale / max(ranges)
    lp0 = float(model.coef_.iloc[0] + sum(c.min() for _, _, c, _ in axes_raw))
    axes = tuple(NomogramAxis(col, tuple(v), (c - c.min()) * scale, cat) for col, v, c, cat in axes_raw)
    lp = model.fitted_linear_predictor_
    lp_ticks = r_pretty(float(lp.min()), float(lp.max()), 10)
    sum_max = maxscale if len(axes) == 1 else max(maxscale, scale * float(np.max(lp_ticks - lp0)))
    total_ticks = r_pretty(0.0, sum_max, 10)
    if risk_ticks is None:
        candidates = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99])
        lo_risk = expit(lp0)
        hi_risk = expit(lp0 + total_ticks.max() / scale)
        risk = candidates[(candidates >= lo_risk) & (candidates <= hi_risk)]
    else:
        risk = np.asarray(risk_ticks, dtype=float)
    return Nomogram(axes, scale, lp0, total_ticks, lp_ticks, risk, maxscale, model)


def plot_nomogram(nomo: Nomogram, ax: Any = None, *, risk_label: str = "Risk of IMLN metastasis") -> Any:
    """Draw the nomogram: points scale, one axis per predictor, total points, lp and risk."""
    import matplotlib.pyplot as plt

    rows = 1 + len(nomo.axes) + 3
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.55 * rows + 0.6))
    top_points = float(nomo.total_points_ticks.max())
    x_of_points = 1.0 / nomo.maxscale  # predictor rows use the 0–maxscale width
    x_of_total = 1.0 / top_points

    def axis_row(y: float, label: str, positions: Sequence[float], labels: Sequence[str]) -> None:
        ax.text(-0.02, y, label, ha="right", va="center", fontsize=9)
        if len(positions):
            ax.plot([min(positions), max(positions)], [y, y], color="black", lw=0.8)
        labelled: list[float] = []
        for x, lab in sorted(zip(positions, labels, strict=True), key=lambda t: t[0]):
            ax.plot([x, x], [y, y + 0.12], color="black", lw=0.8)
            width = 0.012 * max(len(lab), 2)  # skip labels that would overlap the previous one
            if not labelled or x - labelled[-1] >= width:
                ax.text(x, y + 0.17, lab, ha="center", va="bottom", fontsize=7)
                labelled.append(x)

    y = rows - 1.0
    ticks = np.linspace(0, nomo.maxscale, 11)
    axis_row(y, "Points", ticks * x_of_points, [f"{t:g}" for t in ticks])
    for axis in nomo.axes:
        y -= 1
        labels = [str(v) if axis.categorical else f"{v:g}" for v in axis.values]
        axis_row(y, axis.column, axis.points * x_of_points, labels)
    y -= 1
    axis_row(y, "Total points", nomo.total_points_ticks * x_of_total, [f"{t:g}" for t in nomo.total_points_ticks])
    y -= 1
    lp_pos = nomo.total_points_for_lp(nomo.lp_ticks) * x_of_total
    keep = (lp_pos >= -1e-9) & (lp_pos <= 1 + 1e-9)
    axis_row(y, "Linear predictor", lp_pos[keep], [f"{t:g}" for t in nomo.lp_ticks[keep]])
    y -= 1
    risk_pos = nomo.total_points_for_lp(logit(nomo.risk_ticks)) * x_of_total
    keep = (risk_pos >= -1e-9) & (risk_pos <= 1 + 1e-9)
    axis_row(y, risk_label, risk_pos[keep], [f"{t:g}" for t in nomo.risk_ticks[keep]])
    ax.set_xlim(-0.35, 1.05)
    ax.set_ylim(y - 0.6, rows - 0.3)
    ax.axis("off")
    return ax
