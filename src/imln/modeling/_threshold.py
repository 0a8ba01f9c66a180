"""What a risk threshold does: who is spared IMN treatment and how many metastases are missed.

At threshold ``t`` a patient is *low risk* (spared IMN irradiation or biopsy) when
the predicted risk is below ``t`` and *high risk* otherwise. The review compares
nomograms with IM sentinel node biopsy by their false-negative rate, so both
readings are given, with explicit names:

``false_negative_rate``
    FN/(FN + TP): the share of patients **with** IMLN metastasis whom the rule
    calls low risk (= 1 − sensitivity; the SLNB sense of "false-negative rate").
``risk_in_low_risk_group``
    FN/(FN + TN): the share of low-risk (spared) patients who nevertheless have
    metastasis (= 1 − NPV; what some nomogram papers call the false-negative rate
    of the low-risk group).

Confidence intervals are Wilson score intervals by default (``ci_method="wilson"``)
or exact Clopper–Pearson intervals (``"clopper-pearson"``), from
``scipy.stats.binomtest(...).proportion_ci``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from imln.modeling._design import ModelingInputError

CIMethod = Literal["wilson", "clopper-pearson"]
_SCIPY_METHOD = {"wilson": "wilson", "clopper-pearson": "exact"}


@dataclass(frozen=True)
class Proportion:
    """A proportion k/n with its confidence interval."""

    numerator: int
    denominator: int
    estimate: float
    lower: float
    upper: float

    def __str__(self) -> str:
        if self.denominator == 0:
            return "— (0/0)"
        ci = f"{100 * self.lower:.1f}–{100 * self.upper:.1f}"
        return f"{100 * self.estimate:.1f}% ({ci}) [{self.numerator}/{self.denominator}]"


def proportion(k: int, n: int, *, method: CIMethod = "wilson", level: float = 0.95) -> Proportion:
    """k/n with a Wilson or Clopper–Pearson interval (NaN when n = 0)."""
    if method not in _SCIPY_METHOD:
        raise ModelingInputError(f"ci_method must be 'wilson' or 'clopper-pearson' (got {method!r})")
    if n == 0:
        return Proportion(0, 0, float("nan"), float("nan"), float("nan"))
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=_SCIPY_METHOD[method])
    return Proportion(int(k), int(n), k / n, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class ThresholdReport:
    """Counts and rates of the rule "spare IMN treatment when predicted risk < threshold"."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    proportion_spared: Proportion
    false_negative_rate: Proportion
    risk_in_low_risk_group: Proportion
    sensitivity: Proportion
    specificity: Proportion
    ppv: Proportion
    npv: Proportion
    ci_method: CIMethod
    level: float

    @property
    def n(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives

    def as_frame(self) -> pd.DataFrame:
        names = ["proportion_spared", "false_negative_rate", "risk_in_low_risk_group", "sensitivity",
                 "specificity", "ppv", "npv"]
        rows = []
        for name in names:
            p: Proportion = getattr(self, name)
            rows.append({"measure": name, "numerator": p.numerator, "denominator": p.denominator,
                         "estimate": p.estimate, "ci_lower": p.lower, "ci_upper": p.upper})
        return pd.DataFrame(rows).set_index("measure")

    def describe(self) -> str:
        return (
            f"threshold {self.threshold:g} (low risk: predicted risk < {self.threshold:g}); n={self.n}; "
            f"{self.ci_method} {100 * self.level:g}% CIs\n"
            f"  spared (low risk):            {self.proportion_spared}\n"
            f"  false-negative rate FN/(FN+TP): {self.false_negative_rate}\n"
            f"  metastasis among spared (1-NPV): {self.risk_in_low_risk_group}\n"
            f"  sensitivity {self.sensitivity}; specificity {self.specificity}\n"
            f"  PPV {self.ppv}; NPV {self.npv}"
        )


def threshold_report(
    y: Sequence[float] | np.ndarray,
    risk: Sequence[float] | np.ndarray,
    threshold: float,
    *,
    ci_method: CIMethod = "wilson",
    level: float = 0.95,
) -> ThresholdReport:
    """Classify ``risk >= threshold`` as high risk and report the consequences."""
    y = np.asarray(y, dtype=float)
    risk = np.asarray(risk, dtype=float)
    if not 0 < threshold < 1:
        raise ModelingInputError(f"threshold must be a probability strictly between 0 and 1 (got {threshold})")
    if y.shape != risk.shape:
        raise ModelingInputError(f"{risk.size} predictions for {y.size} outcomes")
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ModelingInputError("outcome must be 0/1")
    keep = ~np.isnan(risk)
    y, risk = y[keep], risk[keep]
    high = risk >= threshold
    event = y == 1
    tp = int((high & event).sum())
    fp = int((high & ~event).sum())
    fn = int((~high & event).sum())
    tn = int((~high & ~event).sum())

    def prop(k: int, n: int) -> Proportion:
        return proportion(k, n, method=ci_method, level=level)

    return ThresholdReport(
        threshold=float(threshold), true_positives=tp, false_positives=fp, false_negatives=fn, true_negatives=tn,
        proportion_spared=prop(fn + tn, tp + fp + fn + tn),
        false_negative_rate=prop(fn, fn + tp),
        risk_in_low_risk_group=prop(fn, fn + tn),
        sensitivity=prop(tp, tp + fn),
        specificity=prop(tn, tn + fp),
        ppv=prop(tp, tp + fp),
        npv=prop(tn, tn + fn),
        ci_method=ci_method, level=level,
    )
