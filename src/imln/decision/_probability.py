"""The probability of IMLN metastasis a decision is made on: a point, an interval, a source."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special

from imln.decision._montecarlo import logitnormal_mean, standard_normals

__all__ = ["ProbabilityEstimate"]

#: Probabilities are kept inside [EPS, 1 − EPS] on the logit scale (0 and 1 have no log-odds).
EPS = 1e-6


class ProbabilityEstimate(BaseModel):
    """A probability of IMLN metastasis with its interval and where it comes from.

    Monte Carlo work draws the probability from a logit-normal distribution whose
    ``level`` interval is exactly (``lower``, ``upper``): on the log-odds scale,
    centre = midpoint of logit(lower) and logit(upper), sd = their distance / (2 z).
    This is exact for the risk model's delta-method interval (symmetric on the
    log-odds scale) and close for Monte Carlo post-test intervals. With
    ``lower == upper`` the probability is a point value without uncertainty.
    """

    model_config = ConfigDict(frozen=True)

    point: float = Field(ge=0, le=1)
    lower: float = Field(ge=0, le=1)
    upper: float = Field(ge=0, le=1)
    level: float = Field(0.95, gt=0, lt=1)
    source: str = Field(min_length=3, description="What the probability is: model, post-test after which tests…")

    @model_validator(mode="after")
    def _ordered(self) -> ProbabilityEstimate:
        if not self.lower <= self.point <= self.upper:
            raise ValueError(
                f"the interval must contain the point: lower {self.lower:g} ≤ point {self.point:g} ≤ upper {self.upper:g}"
            )
        return self

    @classmethod
    def from_point(cls, p: float, source: str) -> ProbabilityEstimate:
        return cls(point=p, lower=p, upper=p, source=source)

    @classmethod
    def from_risk(cls, prediction: Any) -> ProbabilityEstimate | None:
        """From a :class:`~imln.risk.RiskPrediction` (None when it has no point estimate)."""
        if prediction.probability is None:
            return None
        return cls(
            point=prediction.probability,
            lower=prediction.ci95[0],
            upper=prediction.ci95[1],
            source=f"pre-test probability from risk model {prediction.model_id} {prediction.model_version} "
            f"({prediction.interval_method})",
        )

    @property
    def is_point(self) -> bool:
        return self.lower == self.upper

    def logit_params(self) -> tuple[float, float]:
        """(centre, sd) of the logit-normal whose ``level`` interval is (lower, upper)."""
        lo = special.logit(min(max(self.lower, EPS), 1 - EPS))
        hi = special.logit(min(max(self.upper, EPS), 1 - EPS))
        z = special.ndtri(1 - (1 - self.level) / 2)
        return (lo + hi) / 2, (hi - lo) / (2 * z)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of the probability (all equal to ``point`` for a point value)."""
        if self.is_point:
            rng.standard_normal(n)  # keep the stream aligned whether or not the estimate has an interval
            return np.full(n, self.point, dtype=float)
        centre, sd = self.logit_params()
        return special.expit(centre + sd * rng.standard_normal(n))

    def draws(self, n: int, seed: int, stream: int, of: int) -> np.ndarray:
        """The :meth:`sample` of child ``stream`` of ``SeedSequence(seed).spawn(of)``, from cached normals."""
        if self.is_point:
            return np.full(n, self.point, dtype=float)
        centre, sd = self.logit_params()
        return special.expit(centre + sd * standard_normals(seed, stream, of, n))

    def mean(self) -> float:
        """E[probability] under the logit-normal (exact quadrature; ``point`` for a point value)."""
        if self.is_point:
            return self.point
        return logitnormal_mean(*self.logit_params())

    def describe(self) -> str:
        if self.is_point:
            return f"{self.point:.3g} (no interval given)"
        return f"{self.point:.3g} ({math.floor(self.level * 100):d}% interval {self.lower:.3g}–{self.upper:.3g})"
