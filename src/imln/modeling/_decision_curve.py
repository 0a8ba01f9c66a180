"""Decision curve analysis (Vickers & Elkin 2006) for binary outcomes, as ``dcurves`` computes it.

At threshold probability ``t`` a patient is "treated" (here: IMN irradiated or
biopsied) when the predicted risk is at least ``t``. Then

    net benefit = TP/n − FP/n · t/(1 − t) − harm

with TP/n = P(risk ≥ t | event)·prevalence and FP/n = P(risk ≥ t | no event)·(1 −
prevalence); ``prevalence`` defaults to the sample's and may be given for
case-control data. "Treat all" is the same formula with every risk = 1; "treat
none" has net benefit 0 at every threshold (``dcurves`` counts a risk of 0 as ≥ 0
at t = 0; we do not). Net interventions avoided per ``nper`` patients =
(NB − NB_all)/(t/(1 − t))·nper; standardized net benefit = NB/prevalence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from imln.modeling._design import ModelingInputError

DEFAULT_THRESHOLDS = np.round(np.arange(0.0, 1.0, 0.01), 2)  # R/Python dcurves default: 0, 0.01, …, 0.99


def _check_inputs(y: np.ndarray, risks: Mapping[str, np.ndarray]) -> None:
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ModelingInputError(f"outcome must be 0/1; found values {sorted(set(np.unique(y)))[:5]}")
    for name, r in risks.items():
        if name in ("all", "none"):
            raise ModelingInputError(f"model name {name!r} is reserved for the reference strategies; rename it")
        if r.shape != y.shape:
            raise ModelingInputError(f"model {name!r} has {r.size} predictions for {y.size} outcomes")
        if np.any(np.isnan(r)):
            raise ModelingInputError(f"model {name!r} has {int(np.isnan(r).sum())} missing predictions")
        if np.any((r < 0) | (r > 1)):
            raise ModelingInputError(f"model {name!r} has predictions outside [0, 1]; give probabilities")


def decision_curve(
    y: Sequence[float] | np.ndarray,
    risks: Mapping[str, Sequence[float] | np.ndarray],
    *,
    thresholds: Sequence[float] | np.ndarray | None = None,
    harm: Mapping[str, float] | None = None,
    prevalence: float | None = None,
    nper: int = 100,
) -> pd.DataFrame:
    """Net benefit of each model and of treat-all / treat-none at each threshold.

    Returns a long table: ``model, threshold, n, prevalence, harm, test_pos_rate,
    tp_rate, fp_rate, net_benefit, standardized_net_benefit,
    net_intervention_avoided`` (the last per ``nper`` patients).
    """
    y = np.asarray(y, dtype=float)
    risks = {name: np.asarray(r, dtype=float) for name, r in risks.items()}
    _check_inputs(y, risks)
    t = np.asarray(DEFAULT_THRESHOLDS if thresholds is None else thresholds, dtype=float)
    if np.any((t < 0) | (t >= 1)):
        raise ModelingInputError("thresholds must lie in [0, 1) (net benefit is undefined at 1)")
    harm = dict(harm or {})
    n = y.size
    prev = float(y.mean()) if prevalence is None else float(prevalence)
    odds = t / (1 - t)
    events = y == 1
    n1, n0 = int(events.sum()), int((~events).sum())
    rows = []
    strategies: dict[str, np.ndarray | None] = {**risks, "all": np.ones(n), "none": None}
    nb_all = None
    for name, r in strategies.items():
        if r is None:
            tp = fp = pos = np.zeros_like(t)
        else:
            tp = (r[events][None, :] >= t[:, None]).sum(axis=1) / max(n1, 1) * prev
            fp = (r[~events][None, :] >= t[:, None]).sum(axis=1) / max(n0, 1) * (1 - prev)
            pos = (r[None, :] >= t[:, None]).mean(axis=1)
        h = float(harm.get(name, 0.0))
        nb = tp - odds * fp - h
        if name == "all":
            nb_all = nb
        rows.append(pd.DataFrame({
            "model": name, "threshold": t, "n": n, "prevalence": prev, "harm": h,
            "test_pos_rate": pos, "tp_rate": tp, "fp_rate": fp, "net_benefit": nb,
        }))
    out = pd.concat(rows, ignore_index=True)
    out["standardized_net_benefit"] = out["net_benefit"] / prev if prev > 0 else np.nan
    assert nb_all is not None
    nb_all_by_t = pd.Series(nb_all, index=t)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["net_intervention_avoided"] = (
            (out["net_benefit"].to_numpy() - nb_all_by_t.loc[out["threshold"]].to_numpy())
            / (out["threshold"] / (1 - out["threshold"])).to_numpy() * nper
        )
    return out


def plot_decision_curve(curves: pd.DataFrame, ax: Any = None, *, ylim: tuple[float, float] | None = None,
                        title: str | None = None) -> Any:
    """Draw net benefit against threshold for every model plus treat-all and treat-none."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    styles = {"all": dict(color="0.45", lw=1.2, ls="-"), "none": dict(color="black", lw=1.2, ls="-")}
    labels = {"all": "Treat all", "none": "Treat none"}
    for name, part in curves.groupby("model", sort=False):
        ax.plot(part["threshold"], part["net_benefit"], label=labels.get(str(name), str(name)),
                **styles.get(str(name), dict(lw=1.8)))
    prev = float(curves["prevalence"].iloc[0])
    if ylim is None:
        ylim = (-0.05 * max(prev, 0.05), max(prev, 0.01) * 1.1)
    ax.set_ylim(ylim)
    ax.set_xlim(float(curves["threshold"].min()), float(curves["threshold"].max()))
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.set_title(title or "Decision curve")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.2)
    return ax
