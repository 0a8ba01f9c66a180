"""Bayesian post-test probability of IMLN metastasis after imaging.

Bayes' theorem on the odds scale: ``post_odds = pre_odds × LR`` with
``LR+ = sens / (1 − spec)`` for a positive and ``LR− = (1 − sens) / spec`` for a
negative result. Every number here carries its uncertainty:

* sensitivity and specificity are Beta posteriors from a 2×2 table
  (:class:`AccuracyPosterior`, Jeffreys prior Beta(0.5, 0.5) by default);
* the pre-test probability is a point value or a Beta distribution
  (:class:`PretestProbability`);
* :func:`posttest_probability` and :func:`combine_tests` report an analytic point
  estimate (posterior means plugged into Bayes' theorem) and a Monte Carlo
  credible interval that propagates both sources of uncertainty.

All Monte Carlo work is done on the log-odds scale from Gamma draws
(a Beta(a, b) variable is G_a / (G_a + G_b)), so that 1 − spec and 1 − sens are
drawn as accurately as spec and sens themselves and no likelihood ratio becomes
0/0 or ∞/∞. Results record ``seed`` and ``n_draws``: the same call gives
bit-identical numbers.

Seeded streams: ``np.random.SeedSequence(seed).spawn(2)`` gives two child
streams. The pre-test Beta draws (G_alpha, then G_beta) come from child 0; the
accuracy draws of the applied tests come from child 1, test after test in the
order given (for each test G_tp, G_fn, G_tn, G_fp; an indeterminate result
draws nothing). The tests' draws therefore do not depend on the pre-test
probability, and every function here that reports a likelihood ratio interval
or a post-test interval for the same tests, ``n_draws`` and ``seed`` uses the
same draws: :meth:`AccuracyPosterior.lr_interval`, :func:`posttest_probability`,
:func:`combine_tests` and the batch functions. Those patient-independent draws
(the summed per-draw log likelihood ratios of a sequence of tests) and their
order statistics are kept in bounded LRU caches, read-only, and so are the
post-test results themselves (a pure function of the pre-test distribution, the
results and the run settings; patients whose risk factors give one pre-test
distribution share them); a cached value is bit-identical to a fresh
computation (:func:`_clear_caches` empties them).

Quantiles are numpy's default ``'linear'`` method (as ``np.quantile``),
computed from a partial sort (``np.partition``) at the order statistics needed.
With a point pre-test probability the post-test probability is an increasing
function of the summed log LR, so its quantiles and median are read off the
order statistics of the cached log-LR draws and interpolated on the
probability scale: the numbers ``np.quantile`` and ``np.median`` give for the
post-test draws (to rounding; the tests check 1e-14). The batch functions use
exactly that computation, so their bounds equal the scalar functions' intervals.
The likelihood ratio intervals are interpolated on the log scale (quantiles of
the log LR, exponentiated).

These are computing functions only: they take tables and probabilities and
return frozen result objects; loading evidence, auditing it and presenting the
result happen elsewhere.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import special

from imln._cache import RESULT_CACHE_SIZE
from imln._quantiles import lerp, order_positions
from imln.evidence import TwoByTwo

__all__ = [
    "JEFFREYS_PRIOR",
    "AccuracyDistribution",
    "AccuracyPosterior",
    "PooledAccuracy",
    "PretestProbability",
    "PosttestResult",
    "BatchPosttestResult",
    "posttest_probability",
    "combine_tests",
    "posttest_probability_batch",
    "combine_tests_batch",
]

Result = Literal["positive", "negative", "indeterminate"]
RESULTS: tuple[str, ...] = ("positive", "negative", "indeterminate")

#: Jeffreys prior Beta(0.5, 0.5) for a binomial proportion: invariant under
#: reparameterisation, and its equal-tailed intervals have close to nominal
#: frequentist coverage even for small tables (Brown, Cai & DasGupta 2001).
JEFFREYS_PRIOR: tuple[float, float] = (0.5, 0.5)

DEFAULT_SEED = 20261124
DEFAULT_DRAWS = 20_000

CORRELATION_WARNING = (
    "tests combined under conditional independence (likelihood ratios multiplied); "
    "correlated tests, e.g. CT and PET/CT of the same node, overstate certainty"
)


# --------------------------------------------------------------------------- argument constraints


@dataclass(frozen=True)
class _Interval:
    """An allowed range of a real or integer argument, written as in the error message."""

    low: float
    high: float
    closed: Literal["both", "left", "right", "neither"]
    integer: bool = False

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def contains(self, value: float) -> bool:
        above = value >= self.low if self.closed in ("both", "left") else value > self.low
        below = value <= self.high if self.closed in ("both", "right") else value < self.high
        return bool(above and below)

    def check(self, name: str, value: object) -> None:
        kind = "an integer" if self.integer else "a number"
        wanted = numbers.Integral if self.integer else numbers.Real
        # NaN fails every comparison in contains(), so it is refused with the same message.
        if isinstance(value, bool) or not isinstance(value, wanted) or not self.contains(float(value)):
            raise ValueError(f"{name} must be {kind} in {self}; got {value!r}")


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"


_PROBABILITY = _Interval(0, 1, "neither")
_POSITIVE = _Interval(0, math.inf, "neither")
_COUNT = _Interval(0, math.inf, "left", integer=True)

#: argument name -> allowed range (checked by :func:`_check`).
_CONSTRAINTS: dict[str, _Interval] = {
    "pretest": _PROBABILITY,
    "pretest.mean": _PROBABILITY,
    "pretest.lower": _PROBABILITY,
    "pretest.upper": _PROBABILITY,
    "pretest.alpha": _POSITIVE,
    "pretest.beta": _POSITIVE,
    "level": _PROBABILITY,
    "prior[0]": _POSITIVE,
    "prior[1]": _POSITIVE,
    "n_draws": _Interval(2, math.inf, "left", integer=True),
    "seed": _Interval(0, math.inf, "left", integer=True),
    "weight": _Interval(0, 1, "right"),
    "table.tp": _COUNT,
    "table.fn": _COUNT,
    "table.tn": _COUNT,
    "table.fp": _COUNT,
}


def _check(name: str, value: object) -> None:
    _CONSTRAINTS[name].check(name, value)


def _check_result(value: object, name: str = "result") -> str:
    if not isinstance(value, str) or value not in RESULTS:
        raise ValueError(f"{name} must be one of {', '.join(repr(r) for r in RESULTS)}; got {value!r}")
    return value


# --------------------------------------------------------------------------- accuracy


class AccuracyDistribution:
    """What the Bayes machinery needs of a test's accuracy: summaries, likelihood ratios and draws.

    Two kinds exist: :class:`AccuracyPosterior` (Beta posteriors from one study's
    2×2 table) and :class:`PooledAccuracy` (the predictive distribution of a
    meta-analysis pool). Subclasses provide the means, the intervals, ``sample``
    and ``_log_lr_draws``; the likelihood ratios and their intervals are shared.
    """

    source: str | None

    @property
    def sensitivity_mean(self) -> float:
        raise NotImplementedError

    @property
    def specificity_mean(self) -> float:
        raise NotImplementedError

    def sensitivity_interval(self, level: float = 0.95) -> tuple[float, float]:
        raise NotImplementedError

    def specificity_interval(self, level: float = 0.95) -> tuple[float, float]:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _log_lr_draws(self, result: str, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def lr_positive(self) -> float:
        """LR+ = sens / (1 − spec) at the means."""
        return self.sensitivity_mean / (1.0 - self.specificity_mean)

    def lr_negative(self) -> float:
        """LR− = (1 − sens) / spec at the means."""
        return (1.0 - self.sensitivity_mean) / self.specificity_mean

    def lr(self, result: str) -> float:
        """The likelihood ratio of ``result`` at the means (1 for indeterminate)."""
        result = _check_result(result)
        return {"positive": self.lr_positive, "negative": self.lr_negative}.get(result, lambda: 1.0)()

    def lr_interval(
        self, result: str, level: float = 0.95, *, n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED
    ) -> tuple[float, float]:
        """Equal-tailed ``level`` interval of the likelihood ratio of ``result``.

        Monte Carlo: ``n_draws`` draws from the tests' stream of ``seed`` (child 1
        of ``SeedSequence(seed).spawn(2)``), the same draws as
        :func:`posttest_probability` of this ``result`` with any pre-test
        probability, so this is its ``lr_interval``. ``(1, 1)`` for
        indeterminate. Cached: a repeated call costs no draws.
        """
        result = _check_result(result)
        _check_run(n_draws, seed, level)
        if result == "indeterminate":
            return (1.0, 1.0)
        lo, hi = _log_lr_interval(((result, self),), n_draws, seed, level)
        return (math.exp(lo), math.exp(hi))


@dataclass(frozen=True)
class AccuracyPosterior(AccuracyDistribution):
    """Beta posteriors of sensitivity and specificity from one 2×2 table.

    With prior Beta(a, b) on each proportion (``prior=(a, b)``; Jeffreys
    Beta(0.5, 0.5) by default)::

        sens ~ Beta(tp + a, fn + b)        spec ~ Beta(tn + a, fp + b)

    ``source`` names the evidence record the table comes from, for reporting.
    A table with no diseased (tp + fn = 0) or no non-diseased (tn + fp = 0)
    subjects carries no information on sensitivity or specificity and is refused.

    ``weight`` in (0, 1] down-weights a table the evidence audit flagged (a
    power prior: the counts enter as ``weight × count``, so the posterior is as
    wide as a table ``weight`` times the size); 1, the default, uses the counts
    as they are.
    """

    table: TwoByTwo
    prior: tuple[float, float] = JEFFREYS_PRIOR
    source: str | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.table, TwoByTwo):
            raise ValueError(f"table must be a TwoByTwo; got {type(self.table).__name__}")
        for name in ("tp", "fn", "tn", "fp"):
            _check(f"table.{name}", getattr(self.table, name))
        if self.table.tp + self.table.fn == 0:
            raise ValueError(
                "table.tp + table.fn (diseased subjects) must be an integer in [1, inf); got 0: "
                "the table says nothing about sensitivity"
            )
        if self.table.tn + self.table.fp == 0:
            raise ValueError(
                "table.tn + table.fp (non-diseased subjects) must be an integer in [1, inf); got 0: "
                "the table says nothing about specificity"
            )
        prior = tuple(self.prior)
        if len(prior) != 2:
            raise ValueError(f"prior must be a pair (a, b) with a, b in (0, inf); got {self.prior!r}")
        _check("prior[0]", prior[0])
        _check("prior[1]", prior[1])
        object.__setattr__(self, "prior", (float(prior[0]), float(prior[1])))
        _check("weight", self.weight)
        object.__setattr__(self, "weight", float(self.weight))

    @classmethod
    def from_table(
        cls,
        table: TwoByTwo,
        prior: tuple[float, float] = JEFFREYS_PRIOR,
        source: str | None = None,
        weight: float = 1.0,
    ) -> AccuracyPosterior:
        """Posterior from ``table`` (e.g. one of ``RecordAudit.tables``) under ``prior``."""
        return cls(table=table, prior=prior, source=source, weight=weight)

    @classmethod
    def from_audit(
        cls, audit: object, label: str | None = None, prior: tuple[float, float] = JEFFREYS_PRIOR
    ) -> AccuracyPosterior:
        """Posterior from the one table the audit reconstructed for a record.

        ``audit`` is a :class:`~imln.evidence.RecordAudit`; ``label`` picks the
        denominator (e.g. ``"nodes (n_imln)"``) when several were tried. Refuses
        when no table, or more than one, agrees with the printed figures: an
        underdetermined table is not evidence of one sensitivity. Which records
        may be used at all is decided by :func:`~imln.evidence.select_records`.
        """
        tables: dict[str, list[TwoByTwo]] = getattr(audit, "tables")
        record_id = getattr(audit, "id", None)
        options = {label: tables.get(label, [])} if label is not None else tables
        candidates = [t for ts in options.values() for t in ts]
        if len(candidates) != 1:
            raise ValueError(
                f"record {record_id!r} must have exactly one reconstructed 2×2 table"
                f"{'' if label is None else f' over {label!r}'}; got {len(candidates)}"
                f" (labels: {sorted(tables)})"
            )
        return cls(table=candidates[0], prior=prior, source=record_id)

    # Beta parameters
    @property
    def sensitivity_params(self) -> tuple[float, float]:
        a, b = self.prior
        w = self.weight
        return (w * self.table.tp + a, w * self.table.fn + b)

    @property
    def specificity_params(self) -> tuple[float, float]:
        a, b = self.prior
        w = self.weight
        return (w * self.table.tn + a, w * self.table.fp + b)

    # posterior summaries
    @property
    def sensitivity_mean(self) -> float:
        a, b = self.sensitivity_params
        return a / (a + b)

    @property
    def specificity_mean(self) -> float:
        a, b = self.specificity_params
        return a / (a + b)

    def sensitivity_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed posterior interval of sensitivity (Beta quantiles)."""
        return _beta_interval(*self.sensitivity_params, level)

    def specificity_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed posterior interval of specificity (Beta quantiles)."""
        return _beta_interval(*self.specificity_params, level)

    def lr_positive(self) -> float:
        """LR+ = sens / (1 − spec) at the posterior means (1 − spec as b / (a + b), no cancellation)."""
        a, b = self.specificity_params
        return self.sensitivity_mean / (b / (a + b))

    def lr_negative(self) -> float:
        """LR− = (1 − sens) / spec at the posterior means."""
        a, b = self.sensitivity_params
        return (b / (a + b)) / self.specificity_mean

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` joint posterior draws ``(sens, spec)`` (independent Betas)."""
        g_tp, g_fn, g_tn, g_fp = self._gammas(n, rng)
        return g_tp / (g_tp + g_fn), g_tn / (g_tn + g_fp)

    def _gammas(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """Gamma draws behind sens = G_tp/(G_tp+G_fn) and spec = G_tn/(G_tn+G_fp), in that order."""
        _check("n_draws", n)
        shapes = (*self.sensitivity_params, *self.specificity_params)
        return tuple(rng.standard_gamma(shape, size=n) for shape in shapes)

    def _log_lr_draws(self, result: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """Per-draw log LR of ``result``, exact in the tails (no 1 − x cancellation)."""
        g_tp, g_fn, g_tn, g_fp = self._gammas(n, rng)
        log_sens_total = np.log(g_tp + g_fn)
        log_spec_total = np.log(g_tn + g_fp)
        if result == "positive":  # log sens − log(1 − spec)
            return (np.log(g_tp) - log_sens_total) - (np.log(g_fp) - log_spec_total)
        # log(1 − sens) − log spec
        return (np.log(g_fn) - log_sens_total) - (np.log(g_tn) - log_spec_total)


#: Gauss–Hermite nodes and weights (probabilists'), for the mean of a logit-normal proportion.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


@dataclass(frozen=True)
class PooledAccuracy(AccuracyDistribution):
    """Accuracy of a test in a new study (the patient's setting), from a meta-analysis pool.

    ``(logit sensitivity, logit false-positive rate)`` is bivariate normal with
    mean ``mean`` and covariance ``covariance`` = ``((var_sens, cov), (cov,
    var_fpr))``: for a bivariate (Reitsma) pool Ψ + Var(μ̂), the predictive
    distribution behind its prediction region; for a univariate pool
    diag(τ²_sens + SE², τ²_fpr + SE²). Between-study heterogeneity is therefore
    part of every likelihood ratio drawn from it: this is what a patient scanned
    in a new centre may face, not the confidence region of the summary point.
    It is a plug-in (REML estimates taken as known), stated wherever it is used.

    ``source`` names the pool; ``studies`` the evidence records pooled.
    """

    mean: tuple[float, float]
    covariance: tuple[tuple[float, float], tuple[float, float]]
    source: str | None = None
    studies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        mean = tuple(float(x) for x in self.mean)
        cov = np.asarray(self.covariance, dtype=float)
        if len(mean) != 2 or not all(math.isfinite(x) for x in mean):
            raise ValueError(f"mean must be two finite logits (sensitivity, false-positive rate); got {self.mean!r}")
        if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T):
            raise ValueError(f"covariance must be a finite symmetric 2×2 matrix; got {self.covariance!r}")
        if np.any(np.linalg.eigvalsh(cov) < -1e-12):
            raise ValueError(f"covariance must be positive semi-definite; got {self.covariance!r}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "covariance", ((cov[0, 0], cov[0, 1]), (cov[1, 0], cov[1, 1])))

    def _sd(self, k: int) -> float:
        return math.sqrt(max(self.covariance[k][k], 0.0))

    def _mean_of_expit(self, k: int, sign: float) -> float:
        return float(np.sum(_GH_WEIGHTS * special.expit(sign * (self.mean[k] + self._sd(k) * _GH_NODES))))

    @property
    def sensitivity_mean(self) -> float:
        return self._mean_of_expit(0, 1.0)

    @property
    def specificity_mean(self) -> float:
        return self._mean_of_expit(1, -1.0)

    def lr_positive(self) -> float:
        """LR+ at the means (1 − spec as the mean false-positive rate, no cancellation)."""
        return self.sensitivity_mean / self._mean_of_expit(1, 1.0)

    def lr_negative(self) -> float:
        """LR− at the means."""
        return self._mean_of_expit(0, -1.0) / self.specificity_mean

    def _interval(self, k: int, level: float) -> tuple[float, float]:
        _check("level", level)
        z = float(special.ndtri(1 - (1 - level) / 2))
        return (float(special.expit(self.mean[k] - z * self._sd(k))), float(special.expit(self.mean[k] + z * self._sd(k))))

    def sensitivity_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central ``level`` interval of a new study's sensitivity (exact: expit of normal quantiles)."""
        return self._interval(0, level)

    def specificity_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central ``level`` interval of a new study's specificity."""
        lo, hi = self._interval(1, level)
        return (1.0 - hi, 1.0 - lo)

    def _logits(self, n: int, rng: np.random.Generator) -> np.ndarray:
        _check("n_draws", n)
        cov = np.asarray(self.covariance)
        # Cholesky of a (possibly singular) 2×2 covariance, written out: a zero variance gives a zero column.
        l11 = math.sqrt(max(cov[0, 0], 0.0))
        l21 = cov[1, 0] / l11 if l11 > 0 else 0.0
        l22 = math.sqrt(max(cov[1, 1] - l21 * l21, 0.0))
        z = rng.standard_normal((2, n))
        return np.vstack([self.mean[0] + l11 * z[0], self.mean[1] + l21 * z[0] + l22 * z[1]])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws ``(sens, spec)`` of a new study."""
        t = self._logits(n, rng)
        return special.expit(t[0]), special.expit(-t[1])

    def _log_lr_draws(self, result: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """Per-draw log LR of ``result`` on the log scale throughout (log expit: exact in the tails)."""
        t = self._logits(n, rng)
        if result == "positive":  # log sens − log FPR
            return special.log_expit(t[0]) - special.log_expit(t[1])
        return special.log_expit(-t[0]) - special.log_expit(-t[1])  # log(1 − sens) − log(1 − FPR)


def _beta_interval(a: float, b: float, level: float) -> tuple[float, float]:
    _check("level", level)
    tail = (1 - level) / 2
    lo, hi = special.betaincinv(a, b, [tail, 1 - tail])  # the Beta quantile function, without rv overhead
    return (float(lo), float(hi))


# --------------------------------------------------------------------------- pre-test probability


@dataclass(frozen=True)
class PretestProbability:
    """Pre-test probability of IMLN metastasis: a point value or a Beta distribution.

    Build with :meth:`from_point` (no uncertainty), :meth:`from_beta`
    (``alpha``, ``beta``) or :meth:`from_interval` (a mean and a 95% interval,
    converted to a Beta by matching mean and variance). A plain float passed as
    ``pretest`` to the functions of this module means :meth:`from_point`.
    """

    mean: float
    alpha: float | None = None
    beta: float | None = None
    method: Literal["point", "beta", "mean_interval"] = "point"

    def __post_init__(self) -> None:
        _check("pretest.mean", self.mean)
        if (self.alpha is None) != (self.beta is None):
            raise ValueError("pretest.alpha and pretest.beta must be given together")
        if self.alpha is not None:
            _check("pretest.alpha", self.alpha)
            _check("pretest.beta", self.beta)
            implied = self.alpha / (self.alpha + self.beta)  # type: ignore[operator]
            if not math.isclose(implied, self.mean, rel_tol=1e-9):
                raise ValueError(f"pretest.mean must equal alpha / (alpha + beta) = {implied:g}; got {self.mean!r}")

    @classmethod
    def from_point(cls, probability: float) -> PretestProbability:
        """A known pre-test probability in (0, 1), without uncertainty."""
        _check("pretest", probability)
        return cls(mean=float(probability))

    @classmethod
    def from_beta(cls, alpha: float, beta: float) -> PretestProbability:
        """Pre-test probability ~ Beta(alpha, beta), alpha, beta in (0, inf)."""
        _check("pretest.alpha", alpha)
        _check("pretest.beta", beta)
        return cls(mean=alpha / (alpha + beta), alpha=float(alpha), beta=float(beta), method="beta")

    @classmethod
    def from_interval(cls, mean: float, lower: float, upper: float, level: float = 0.95) -> PretestProbability:
        """Beta matched to a reported mean and equal-tailed interval (method of moments).

        The interval is read as mean ± z·sd with z = Φ⁻¹(1 − (1 − level)/2)
        (1.96 for 95%), so sd = (upper − lower) / (2z). The Beta with that mean m
        and variance v = sd² has ``alpha + beta = m(1 − m)/v − 1``,
        ``alpha = m(alpha + beta)``. Only the mean and the width are matched: the
        Beta's own interval reproduces a roughly symmetric input interval to
        about 0.01 on the probability scale; an asymmetric one is not
        reproduced exactly (check :meth:`interval`). Refused when the interval
        is too wide for any Beta with that mean (v ≥ m(1 − m)).
        """
        for name, value in (("pretest.mean", mean), ("pretest.lower", lower), ("pretest.upper", upper)):
            _check(name, value)
        _check("level", level)
        if not lower < mean < upper:
            raise ValueError(
                f"pretest interval must satisfy lower < mean < upper; got {lower!r} < {mean!r} < {upper!r}"
            )
        z = special.ndtri(1 - (1 - level) / 2)
        variance = ((upper - lower) / (2 * z)) ** 2
        if variance >= mean * (1 - mean):
            raise ValueError(
                f"pretest interval ({lower!r}, {upper!r}) is too wide for a Beta with mean {mean!r}: "
                f"implied variance {variance:.4g} must be in (0, mean(1 − mean) = {mean * (1 - mean):.4g})"
            )
        total = mean * (1 - mean) / variance - 1
        alpha, beta = float(mean * total), float((1 - mean) * total)
        return cls(mean=float(mean), alpha=alpha, beta=beta, method="mean_interval")

    @property
    def is_point(self) -> bool:
        return self.alpha is None

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed interval of the pre-test probability ((mean, mean) for a point value)."""
        if self.is_point:
            _check("level", level)
            return (self.mean, self.mean)
        return _beta_interval(self.alpha, self.beta, level)  # type: ignore[arg-type]

    def _logit_draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.is_point:
            return np.full(n, special.logit(self.mean))
        g_a = rng.standard_gamma(self.alpha, size=n)
        g_b = rng.standard_gamma(self.beta, size=n)
        return np.log(g_a) - np.log(g_b)


def _as_pretest(pretest: PretestProbability | float) -> PretestProbability:
    if isinstance(pretest, PretestProbability):
        return pretest
    return PretestProbability.from_point(pretest)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- post-test probability


@dataclass(frozen=True)
class PosttestResult:
    """Post-test probability after one or more imaging results.

    ``point`` is analytic: Bayes' theorem with the pre-test mean and the
    posterior means of sensitivity and specificity. ``mc_mean``, ``mc_median``
    and ``interval`` summarise ``n_draws`` Monte Carlo draws (seeded by
    ``seed``) that propagate the uncertainty of both the pre-test probability
    and test accuracy (drawn from the two streams of ``seed`` described in the
    module docstring); ``interval`` is the equal-tailed ``level`` credible
    interval (percentiles of the per-draw post-test probabilities).
    ``lr_point``/``lr_interval`` are the likelihood ratio that was applied
    (the product over tests when several were combined).
    """

    pretest_mean: float
    point: float
    mc_mean: float
    mc_median: float
    interval: tuple[float, float]
    lr_point: float
    lr_interval: tuple[float, float]
    results: tuple[str, ...]
    sources: tuple[str | None, ...]
    mode: Literal["single", "independent", "most_informative"]
    level: float
    n_draws: int
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return asdict(self)


def _check_run(n_draws: int, seed: int, level: float) -> None:
    _check("n_draws", n_draws)
    _check("seed", seed)
    _check("level", level)


# --------------------------------------------------------------------------- seeded streams and caches

#: Child streams of ``np.random.SeedSequence(seed).spawn(2)``: the pre-test draws, the tests' draws.
PRETEST_STREAM = 0
TESTS_STREAM = 1

#: Entries of the cache of summed log-LR draws (``n_draws`` float64 each: 160 kB at 20,000 draws).
LOG_LR_CACHE_SIZE = 64
#: Runs of more draws than this are drawn afresh, not cached (the cache stays under 64 × 400 kB).
LOG_LR_CACHE_MAX_DRAWS = 50_000

#: The applied tests of a run, in order: (result, accuracy) pairs, no indeterminate result.
_Tests = tuple[tuple[str, AccuracyDistribution], ...]


def _rng(seed: int, stream: int) -> np.random.Generator:
    """Generator of child ``stream`` (:data:`PRETEST_STREAM` or :data:`TESTS_STREAM`) of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[stream])


def _draw_log_lr_sum(tests: _Tests, n_draws: int, seed: int) -> np.ndarray:
    """Per-draw sum of the log LRs of ``tests``, drawn test after test from the tests' stream; read-only."""
    rng = _rng(seed, TESTS_STREAM)
    total = np.zeros(n_draws)
    for result, accuracy in tests:
        total += accuracy._log_lr_draws(result, n_draws, rng)
    total.setflags(write=False)
    return total


_cached_log_lr_sum = lru_cache(maxsize=LOG_LR_CACHE_SIZE)(_draw_log_lr_sum)


def _log_lr_sum(tests: _Tests, n_draws: int, seed: int) -> np.ndarray:
    """:func:`_draw_log_lr_sum`, from the cache unless ``n_draws`` > :data:`LOG_LR_CACHE_MAX_DRAWS`."""
    if n_draws > LOG_LR_CACHE_MAX_DRAWS:
        return _draw_log_lr_sum(tests, n_draws, seed)
    return _cached_log_lr_sum(tests, n_draws, seed)


@lru_cache(maxsize=512)
def _log_lr_order_values(tests: _Tests, n_draws: int, seed: int, level: float) -> np.ndarray:
    """The order statistics of :func:`_log_lr_sum` that :func:`_summarise` needs (read-only)."""
    values = _order_values(_log_lr_sum(tests, n_draws, seed), _positions(n_draws, level))
    values.setflags(write=False)
    return values


def _log_lr_interval(tests: _Tests, n_draws: int, seed: int, level: float) -> tuple[float, float]:
    """Equal-tailed ``level`` interval of the summed log LR of ``tests`` (as ``np.quantile``)."""
    lo, hi, _ = _summarise(_log_lr_order_values(tests, n_draws, seed, level), _positions(n_draws, level))
    return (float(lo), float(hi))


def _clear_caches() -> None:
    """Empty the Monte Carlo caches (the next calls draw afresh, with bit-identical results)."""
    _cached_log_lr_sum.cache_clear()
    _log_lr_order_values.cache_clear()
    _pretest_logit_draws.cache_clear()
    _posterior.cache_clear()


# --------------------------------------------------------------------------- quantiles from a partial sort


@dataclass(frozen=True, eq=False)
class _Positions:
    """Where the equal-tailed quantiles and the median of ``n`` values sit in sorted order.

    As ``np.quantile(x, [tail, 1 − tail])`` (method ``'linear'``) and ``np.median(x)``
    compute them: each quantile interpolates between the order statistics
    ``previous`` and ``next`` with weight ``gamma``; the median is the middle
    value, or the mean of the two middle values.
    """

    index: np.ndarray  # order statistics read: lower previous/next, upper previous/next, median pair
    gamma: tuple[float, float]  # interpolation weights of the lower and upper quantile
    odd: bool  # n odd: the median is one order statistic
    kth: np.ndarray  # the sorted distinct positions to partition at


@lru_cache(maxsize=64)
def _positions(n: int, level: float) -> _Positions:
    tail = (1 - level) / 2
    previous, following, gamma = order_positions(n, (tail, 1 - tail))  # numpy's 'linear' method
    middle = [n // 2 - 1, n // 2] if n % 2 == 0 else [(n - 1) // 2] * 2
    index = np.concatenate([np.stack([previous, following], axis=1).ravel(), middle]).astype(np.intp) % n
    index.setflags(write=False)
    kth = np.unique(index)
    kth.setflags(write=False)
    return _Positions(index=index, gamma=(float(gamma[0]), float(gamma[1])), odd=n % 2 == 1, kth=kth)


def _order_values(x: np.ndarray, positions: _Positions, *, overwrite: bool = False) -> np.ndarray:
    """The order statistics ``positions.index`` of ``x`` from one partial sort; all NaN if ``x`` holds a NaN.

    ``overwrite=True`` partitions ``x`` in place (no copy).
    """
    if overwrite:
        part = x
        part.partition(positions.kth)
    else:
        part = np.partition(x, positions.kth)
    values = part[positions.index]
    if np.isnan(part[positions.kth[-1]:]).any():  # a partition puts NaN after every number
        values[:] = np.nan  # as np.quantile and np.median
    return values


def _summarise(values: np.ndarray, positions: _Positions) -> tuple:
    """(lower, upper, median) from :func:`_order_values` (or an increasing function of them)."""
    lower = lerp(values[0], values[1], positions.gamma[0])
    upper = lerp(values[2], values[3], positions.gamma[1])
    median = values[4] if positions.odd else (values[4] + values[5]) / 2
    return lower, upper, median


# --------------------------------------------------------------------------- the update


@lru_cache(maxsize=8)
def _pretest_logit_draws(pretest: PretestProbability, n_draws: int, seed: int) -> np.ndarray:
    """The pre-test's logit draws from its stream (read-only). A pure function of the pre-test, so cached: the
    small cache serves the several updates of one assessment (the combined result and each step), and any
    patient whose risk factors give the same pre-test distribution (a risk model of categorical terms has few
    such patterns; each new one costs one draw, about 0.75 ms at 20,000 draws)."""
    draws = pretest._logit_draws(n_draws, _rng(seed, PRETEST_STREAM))
    draws.setflags(write=False)
    return draws


def _update(
    pretest: PretestProbability,
    tests: Sequence[tuple[str, AccuracyDistribution]],
    *,
    mode: Literal["single", "independent", "most_informative"],
    n_draws: int,
    seed: int,
    level: float,
    notes: list[str],
) -> PosttestResult:
    """Apply the likelihood ratios of ``tests`` (already validated) to ``pretest``."""
    return _posterior(pretest, tuple((r, a) for r, a in tests), mode, n_draws, seed, level, tuple(notes))


@lru_cache(maxsize=RESULT_CACHE_SIZE)
def _posterior(pretest: PretestProbability, tests: _Tests, mode: str, n_draws: int, seed: int, level: float,
               notes: tuple[str, ...]) -> PosttestResult:
    """:func:`_update`: a pure function of its arguments, so cached (:data:`imln._cache.RESULT_CACHE_SIZE`
    results: patients with the same pre-test distribution and results share it)."""
    applied: _Tests = tuple((r, a) for r, a in tests if r != "indeterminate")
    positions = _positions(n_draws, level)
    log_lr_point = 0.0
    for result, accuracy in applied:
        log_lr_point += math.log(accuracy.lr(result))
    if not applied:  # nothing to apply: the pre-test probability, exactly
        point = pretest.mean
        lr_interval = (1.0, 1.0)
        if pretest.is_point:
            mc_mean = lower = upper = median = pretest.mean
        else:
            post = special.expit(_pretest_logit_draws(pretest, n_draws, seed))
            mc_mean = np.mean(post)
            lower, upper, median = _summarise(_order_values(post, positions, overwrite=True), positions)
    else:
        point = float(special.expit(special.logit(pretest.mean) + log_lr_point))
        lr_lo, lr_hi = _log_lr_interval(applied, n_draws, seed, level)
        lr_interval = (math.exp(lr_lo), math.exp(lr_hi))
        log_lr = _log_lr_sum(applied, n_draws, seed)
        if pretest.is_point:
            # post = expit(logit(p) + log LR) is increasing in log LR: its order statistics are
            # those of the cached log-LR draws, transformed (as posttest_probability_batch does)
            shift = special.logit(pretest.mean)
            mc_mean = np.mean(special.expit(shift + log_lr))
            values = special.expit(shift + _log_lr_order_values(applied, n_draws, seed, level))
            lower, upper, median = _summarise(values, positions)
        else:
            post = special.expit(_pretest_logit_draws(pretest, n_draws, seed) + log_lr)
            mc_mean = np.mean(post)
            lower, upper, median = _summarise(_order_values(post, positions, overwrite=True), positions)
    return PosttestResult(
        pretest_mean=pretest.mean,
        point=point,
        mc_mean=float(mc_mean),
        mc_median=float(median),
        interval=(float(lower), float(upper)),
        lr_point=math.exp(log_lr_point),
        lr_interval=lr_interval,
        results=tuple(r for r, _ in tests),
        sources=tuple(a.source for _, a in tests),
        mode=mode,
        level=level,
        n_draws=n_draws,
        seed=seed,
        notes=notes,
    )


def posttest_probability(
    pretest: PretestProbability | float,
    result: Result,
    accuracy: AccuracyDistribution,
    *,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> PosttestResult:
    """Post-test probability after one imaging ``result`` of a test with ``accuracy``.

    ``pretest`` is a probability in (0, 1) or a :class:`PretestProbability`;
    ``result`` is ``"positive"``, ``"negative"`` or ``"indeterminate"`` (which
    leaves the pre-test probability unchanged, LR = 1, and says so in ``notes``).
    """
    pretest = _as_pretest(pretest)
    result = _check_result(result)  # type: ignore[assignment]
    if not isinstance(accuracy, AccuracyDistribution):
        raise ValueError(f"accuracy must be an AccuracyPosterior or a PooledAccuracy; got {type(accuracy).__name__}")
    _check_run(n_draws, seed, level)
    notes = []
    if result == "indeterminate":
        notes.append("indeterminate result: the pre-test probability is returned unchanged (LR = 1)")
    return _update(
        pretest, [(result, accuracy)], mode="single", n_draws=n_draws, seed=seed, level=level, notes=notes
    )


def combine_tests(
    pretest: PretestProbability | float,
    results: Sequence[tuple[Result, AccuracyDistribution]],
    *,
    mode: Literal["independent", "most_informative"] = "independent",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> PosttestResult:
    """Post-test probability after several imaging results.

    ``mode="independent"`` updates sequentially assuming the tests are
    conditionally independent given nodal status (per-draw likelihood ratios
    multiplied) and warns, in ``notes``, that correlated tests overstate
    certainty. ``mode="most_informative"`` applies only the single test whose
    likelihood ratio at the posterior means moves the log-odds most
    (largest |log LR|; the first such test on a tie) and names it in ``notes``.
    Indeterminate results contribute LR = 1.
    """
    pretest = _as_pretest(pretest)
    if mode not in ("independent", "most_informative"):
        raise ValueError(f"mode must be one of 'independent', 'most_informative'; got {mode!r}")
    if len(results) == 0:
        raise ValueError("results must hold at least one (result, AccuracyPosterior or PooledAccuracy) pair; got 0")
    tests: list[tuple[str, AccuracyDistribution]] = []
    for i, item in enumerate(results):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise ValueError(f"results[{i}] must be a (result, AccuracyPosterior or PooledAccuracy) pair; got {item!r}")
        result, accuracy = item
        _check_result(result, f"results[{i}][0]")
        if not isinstance(accuracy, AccuracyDistribution):
            raise ValueError(f"results[{i}][1] must be an AccuracyPosterior or a PooledAccuracy; got {type(accuracy).__name__}")
        tests.append((result, accuracy))
    _check_run(n_draws, seed, level)

    notes: list[str] = []
    informative = [i for i, (r, _) in enumerate(tests) if r != "indeterminate"]
    if mode == "independent":
        if len(informative) >= 2:
            notes.append(CORRELATION_WARNING)
        used = tests
    elif informative:
        best = max(informative, key=lambda i: abs(math.log(tests[i][1].lr(tests[i][0]))))
        result, accuracy = tests[best]
        notes.append(
            f"most informative test used: results[{best}] ({result}, source {accuracy.source!r}, "
            f"LR {accuracy.lr(result):.4g}); the other {len(tests) - 1} result(s) were not applied"
        )
        used = [tests[best]]
    else:
        used = []
    if not informative:
        notes.append("all results indeterminate: the pre-test probability is returned unchanged (LR = 1)")
    # In most_informative mode, ``results``/``sources`` of the answer name only the test applied.
    return _update(pretest, used, mode=mode, n_draws=n_draws, seed=seed, level=level, notes=notes)


# --------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class BatchPosttestResult:
    """Post-test probabilities of many patients, one test each.

    ``point`` is analytic (posterior means of sens/spec, like
    :attr:`PosttestResult.point`); ``lower``/``upper`` are the credible bounds
    from one shared set of ``n_draws`` accuracy draws per result (None unless
    requested), equal to each patient's :func:`posttest_probability` interval.
    """

    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    lr_point: dict[str, float]
    level: float
    n_draws: int | None
    seed: int | None
    source: str | None


def posttest_probability_batch(
    pretest: np.ndarray,
    results: np.ndarray,
    accuracy: AccuracyDistribution,
    *,
    intervals: bool = False,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> BatchPosttestResult:
    """Post-test probabilities for many patients at once, without Python loops.

    ``pretest`` holds point pre-test probabilities in (0, 1) and ``results``
    the codes +1 (positive), −1 (negative), 0 (indeterminate); the two
    broadcast together. With ``intervals=True`` the accuracy uncertainty is
    propagated through one shared set of draws per result (the same draws, for
    the same ``seed``, as :func:`posttest_probability` and
    :meth:`AccuracyPosterior.lr_interval`: the tests' stream of ``seed``).
    Since the post-test probability is increasing in log LR, each patient's
    bounds are the post-test probabilities at the order statistics of the
    shared log-LR draws, interpolated as ``np.quantile`` interpolates, which
    is exactly how :func:`posttest_probability` computes a point pre-test's
    interval: the bounds equal the scalar call's. Memory stays
    O(patients + draws).
    """
    pre = np.asarray(pretest, dtype=float)
    codes = np.asarray(results)
    if not isinstance(accuracy, AccuracyDistribution):
        raise ValueError(f"accuracy must be an AccuracyPosterior or a PooledAccuracy; got {type(accuracy).__name__}")
    if pre.size and not (np.all(pre > 0) and np.all(pre < 1)):  # NaN fails both comparisons
        bad = float(pre[~((pre > 0) & (pre < 1))].flat[0])
        raise ValueError(f"pretest must hold numbers in {_PROBABILITY}; got {bad!r}")
    if codes.size and not np.all(np.isin(codes, (-1, 0, 1))):
        bad = codes[~np.isin(codes, (-1, 0, 1))].flat[0].item()
        raise ValueError(f"results must hold codes in {{+1, -1, 0}}; got {bad!r}")
    try:
        pre, codes = np.broadcast_arrays(pre, codes)
    except ValueError:
        raise ValueError(f"pretest and results must broadcast together; got shapes {pre.shape} and {codes.shape}")
    _check("level", level)

    lr_point = {"positive": accuracy.lr_positive(), "negative": accuracy.lr_negative(), "indeterminate": 1.0}
    pre_logit = special.logit(pre)
    shift = np.select(
        [codes == 1, codes == -1], [math.log(lr_point["positive"]), math.log(lr_point["negative"])], 0.0
    )
    point = np.where(codes == 0, pre, special.expit(pre_logit + shift))  # indeterminate: pre-test, exactly
    if not intervals:
        return BatchPosttestResult(point, None, None, lr_point, level, None, None, accuracy.source)

    _check("n_draws", n_draws)
    _check("seed", seed)
    # Same draws and order statistics as posttest_probability(point pretest, result, accuracy, seed=seed).
    positions = _positions(n_draws, level)
    v_pos = _log_lr_order_values((("positive", accuracy),), n_draws, seed, level)
    v_neg = _log_lr_order_values((("negative", accuracy),), n_draws, seed, level)
    positive, negative = codes == 1, codes == -1

    def at(i: int) -> np.ndarray:  # post-test probability at order statistic i of each patient's result
        return special.expit(pre_logit + np.select([positive, negative], [v_pos[i], v_neg[i]]))

    lower = np.where(codes == 0, pre, lerp(at(0), at(1), positions.gamma[0]))
    upper = np.where(codes == 0, pre, lerp(at(2), at(3), positions.gamma[1]))
    return BatchPosttestResult(point, lower, upper, lr_point, level, n_draws, seed, accuracy.source)


@dataclass(frozen=True)
class BatchCombinedResult:
    """Post-test probabilities of many patients after several tests each.

    ``point`` is analytic (posterior means, like :attr:`PosttestResult.point`);
    ``lower``/``upper`` are the credible bounds (None unless requested).
    ``sources`` name the accuracy of each column of ``results``.
    """

    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    level: float
    n_draws: int | None
    seed: int | None
    sources: tuple[str | None, ...]
    notes: tuple[str, ...]


#: Largest number of tests per patient in :func:`combine_tests_batch` (3**k result combinations).
MAX_BATCH_TESTS = 10


def combine_tests_batch(
    pretest: np.ndarray,
    results: np.ndarray,
    accuracies: Sequence[AccuracyDistribution],
    *,
    intervals: bool = False,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> BatchCombinedResult:
    """Post-test probabilities for many patients with ``k`` tests each, without loops over patients.

    ``pretest`` holds point pre-test probabilities in (0, 1), shape ``(n,)``
    (or a scalar); ``results`` holds codes +1 / −1 / 0 (positive / negative /
    indeterminate) with shape ``(n, k)``, column ``j`` read with
    ``accuracies[j]``. Tests are combined under conditional independence
    (likelihood ratios multiplied), as :func:`combine_tests` with
    ``mode="independent"``; ``notes`` carry the same warning.

    With ``intervals=True``, for each combination of results that occurs (at
    most 3**k) the per-draw log likelihood ratios are summed from exactly the
    draws :func:`combine_tests` uses for that combination and the same
    ``seed`` (the tests' stream, applied tests in order; these sums are
    cached); each patient's bounds are the post-test probabilities at that
    combination's log-LR order statistics, interpolated as ``np.quantile``
    does (the post-test probability is increasing in log LR), which is how
    :func:`combine_tests` computes a point pre-test's interval: the bounds
    equal the scalar call's. Memory stays O(n·k + n_draws).
    """
    pre = np.asarray(pretest, dtype=float)
    codes = np.asarray(results)
    accuracies = tuple(accuracies)
    if not 1 <= len(accuracies) <= MAX_BATCH_TESTS:
        raise ValueError(f"accuracies must hold 1 to {MAX_BATCH_TESTS} accuracies; got {len(accuracies)}")
    for j, accuracy in enumerate(accuracies):
        if not isinstance(accuracy, AccuracyDistribution):
            raise ValueError(f"accuracies[{j}] must be an AccuracyPosterior or a PooledAccuracy; got {type(accuracy).__name__}")
    k = len(accuracies)
    if codes.ndim != 2 or codes.shape[1] != k:
        raise ValueError(f"results must have shape (n, {k}), one column per accuracy; got shape {codes.shape}")
    if codes.size and (
        codes.dtype.kind not in "iub" and not np.array_equal(codes, np.round(codes))
        or codes.min() < -1 or codes.max() > 1
    ):
        bad = codes[~np.isin(codes, (-1, 0, 1))].flat[0].item()
        raise ValueError(f"results must hold codes in {{+1, -1, 0}}; got {bad!r}")
    n = codes.shape[0]
    if pre.ndim > 1 or (pre.ndim == 1 and pre.shape[0] != n):
        raise ValueError(f"pretest must be a scalar or have shape ({n},); got shape {pre.shape}")
    pre = np.broadcast_to(pre, (n,))
    if pre.size and not (np.all(pre > 0) and np.all(pre < 1)):  # NaN fails both comparisons
        bad = float(pre[~((pre > 0) & (pre < 1))].flat[0])
        raise ValueError(f"pretest must hold numbers in {_PROBABILITY}; got {bad!r}")
    _check("level", level)

    # Each patient's results as one combination index c = sum_j (code_j + 1) 3**j (k small: a loop over columns).
    combo = np.zeros(n, dtype=np.intp)
    for j in range(k):
        combo += (codes[:, j].astype(np.intp) + 1) * 3**j
    digits = [[(c // 3**j) % 3 for j in range(k)] for c in range(3**k)]
    names = ("negative", "indeterminate", "positive")
    log_lr_point = [(math.log(a.lr_negative()), 0.0, math.log(a.lr_positive())) for a in accuracies]
    shift = np.array([sum(log_lr_point[j][d] for j, d in enumerate(ds)) for ds in digits])
    nothing_index = sum(3**j for j in range(k))  # every result indeterminate
    nothing = combo == nothing_index
    pre_logit = special.logit(pre)
    point = special.expit(pre_logit + shift[combo])
    point[nothing] = pre[nothing]  # indeterminate only: the pre-test probability, exactly
    notes = (CORRELATION_WARNING,) if k >= 2 else ()
    sources = tuple(a.source for a in accuracies)
    if not intervals:
        return BatchCombinedResult(point, None, None, level, None, None, sources, notes)

    _check("n_draws", n_draws)
    _check("seed", seed)
    positions = _positions(n_draws, level)
    values = np.zeros((3**k, len(positions.index)))  # log-LR order statistics of each combination
    for c in np.flatnonzero(np.bincount(combo, minlength=3**k)):  # result combinations, at most 3**k
        if c == nothing_index:
            continue
        # as combine_tests: the tests' stream, applied tests in order
        applied = tuple((names[d], accuracies[j]) for j, d in enumerate(digits[c]) if d != 1)
        values[c] = _log_lr_order_values(applied, n_draws, seed, level)

    def at(i: int) -> np.ndarray:  # post-test probability at order statistic i of each patient's combination
        x = values[:, i][combo]
        x += pre_logit
        return special.expit(x, out=x)

    lower = lerp(at(0), at(1), positions.gamma[0])
    upper = lerp(at(2), at(3), positions.gamma[1])
    lower[nothing] = pre[nothing]
    upper[nothing] = pre[nothing]
    return BatchCombinedResult(point, lower, upper, level, n_draws, seed, sources, notes)
