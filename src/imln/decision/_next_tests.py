"""The next most informative test: how likely each imaging test not yet done is to change the decision.

Preposterior analysis, per test not yet done. With pre-test probability ``p``,
sensitivity ``s`` and specificity ``c``:

    P(positive) = p·s + (1 − p)(1 − c)
    post(positive) = p·s / P(positive)           post(negative) = p(1 − s) / (1 − P(positive))

After the test the decision is made as now: on the point estimate of the
post-test probability (Bayes at the pre-test point and the posterior means of
accuracy, as :mod:`imln.imaging` reports it), through the same step function as
:func:`~imln.decision.recommend` (a positive US, CT, MRI, PET/CT or PET/MRI
counts as a visible node; at follow-up any positive result as a finding). So

    P(change) = P(positive)·1{level(post+) ≠ level now} + P(negative)·1{level(post−) ≠ level now}

with P(positive) averaged over the uncertainty of the pre-test probability (its
logit-normal, :meth:`ProbabilityEstimate.sample`) and of the accuracy (the Beta
posteriors of :class:`~imln.imaging.AccuracyPosterior`). The three are
independent and P(positive) is linear in each, so its mean is exact:
E[P(+)] = E[p]·E[sens] + (1 − E[p])(1 − E[spec]), with E[p] by quadrature and the
Beta means in closed form; P(change) therefore carries no Monte Carlo error.
"level" is :data:`INTENSITY`: switching between the two tissue-diagnosis routes
(IM sentinel node biopsy ↔ image-guided biopsy) is not a change.

Monte Carlo (``n_draws`` draws, fixed reported seed; :mod:`imln.decision._montecarlo`)
gives what has no closed form: the distribution of each post-test probability
(percentiles), the interval of P(result), the share of draws giving each
recommendation, how often the change would hold across the uncertainty
(``share_of_draws_changing``), and E|post − pre| (with its standard error). A
share's Monte Carlo standard error is at most 0.5/√n_draws.

The result is a pure function of the probability estimate, the tests' accuracy
posteriors, which tests are done, the decision context and the thresholds, so
it is cached (:data:`imln._cache.RESULT_CACHE_SIZE` results): a risk model of categorical terms
gives few distinct pre-test probabilities (the bundled one at most 48), and
patients who share one, and the context, share the whole analysis. A cached
result is the very object returned before (frozen models: do not mutate its
lists or dicts); ``_next_tests.cache_clear()`` empties the cache.

A perfect test (s = c = 1) gives P(change) = P(the true status lies across the
decision boundary); a useless test (s = 1 − c) leaves the probability where it
was and gives 0 (unless the finding alone changes the context, e.g. a first
finding at follow-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from imln._cache import RESULT_CACHE_SIZE, Same
from imln._quantiles import quantiles
from imln.decision._classes import (
    INTENSITY,
    DecisionContext,
    RecommendationClass,
    class_steps,
    classify,
    decision_context,
)
from imln.decision._montecarlo import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    accuracy_draws,
)
from imln.decision._probability import ProbabilityEstimate
from imln.decision._thresholds import ThresholdSet, default_thresholds
from imln.imaging import AccuracyPosterior

__all__ = ["NextTest", "NextTests", "ResultOutcome", "next_tests"]

QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)

METHOD = (
    "preposterior analysis: P(+) = p·sens + (1 − p)(1 − spec); post(+) = p·sens/P(+); post(−) = p(1 − sens)/(1 − P(+)); "
    "P(change) = E[P(+)]·1{level(post+) ≠ level now} + E[P(−)]·1{level(post−) ≠ level now}, post± at the pre-test "
    "point and the posterior means of accuracy; E[P(+)] = E[p]·E[sens] + (1 − E[p])(1 − E[spec]) exactly (independent "
    "inputs; E[p] of the logit-normal through the pre-test interval by quadrature, Beta means); post-test percentiles, "
    "shares of draws and E|post − pre| by Monte Carlo over the same distributions"
)


class ResultOutcome(BaseModel):
    """What one result of the test would do."""

    model_config = ConfigDict(frozen=True)

    result: Literal["positive", "negative"]
    probability_of_result: float = Field(description="E[P(result)] over the uncertainty (exact, not Monte Carlo).")
    probability_of_result_interval: tuple[float, float] = Field(
        description="2.5th and 97.5th percentiles of P(result) over the Monte Carlo draws."
    )
    posttest_point: float = Field(description="Bayes at the pre-test point and the posterior means of accuracy.")
    posttest_quantiles: dict[str, float] = Field(description="Percentiles (2.5, 25, 50, 75, 97.5) over the draws.")
    class_at_point: RecommendationClass = Field(description="Recommendation at posttest_point.")
    changes_recommendation: bool = Field(description="Whether class_at_point is at another level than now.")
    class_distribution: dict[str, float] = Field(description="Share of draws giving each recommendation.")
    share_of_draws_changing: float = Field(
        description="Share of draws whose post-test probability gives another level than now (robustness)."
    )


class NextTest(BaseModel):
    model_config = ConfigDict(frozen=True)

    modality: str
    status: Literal["ranked", "already_done", "no_accuracy"]
    rank: int | None = None
    probability_of_change: float | None = None
    expected_absolute_shift: float | None = Field(None, description="E|post-test − pre-test probability| (Monte Carlo).")
    expected_absolute_shift_mc_se: float | None = Field(None, description="Monte Carlo standard error of that mean.")
    outcomes: list[ResultOutcome] = Field(default_factory=list)
    accuracy_source: str | None = None
    sensitivity_mean: float | None = None
    specificity_mean: float | None = None
    message: str


class NextTests(BaseModel):
    """Tests not yet done, ranked by the probability that their result changes the recommendation."""

    model_config = ConfigDict(frozen=True)

    current_class: RecommendationClass
    probability: ProbabilityEstimate
    tests: list[NextTest]
    method: str = METHOD
    seed: int
    n_draws: int
    notes: list[str] = Field(default_factory=list)

    @property
    def best(self) -> NextTest | None:
        ranked = [t for t in self.tests if t.status == "ranked"]
        return ranked[0] if ranked else None


@lru_cache(maxsize=16)
def _accuracy_rows(accuracies: tuple[AccuracyPosterior, ...], seed: int, n: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked accuracy draws of these tests (one row each, child stream 1 of the seed): sensitivity,
    1 − sensitivity and 1 − specificity (read-only; the same for every patient)."""
    draws = [accuracy_draws(acc, seed, 1, 2, n) for acc in accuracies]
    sens = np.stack([d[0] for d in draws])
    rows = sens, 1 - sens, 1 - np.stack([d[1] for d in draws])
    for r in rows:
        r.setflags(write=False)
    return rows


def _outcome(result: str, p_result_mean: float, p_result_interval: tuple[float, float], post: np.ndarray,
             post_quantiles: np.ndarray, point: float, ctx: DecisionContext, thresholds: ThresholdSet,
             now_level: int) -> ResultOutcome:
    steps = class_steps(ctx, thresholds)
    counts = steps.counts(post) / post.size
    dist: dict[str, float] = {}
    changing = 0.0
    for c, share in zip(steps.classes, counts.tolist()):
        if share > 0:
            dist[c.value] = dist.get(c.value, 0.0) + share
            if INTENSITY[c] != now_level:
                changing += share
    at_point = steps.classes[int(steps.index(point))]
    return ResultOutcome(
        result=result,  # type: ignore[arg-type]
        probability_of_result=p_result_mean,
        probability_of_result_interval=p_result_interval,
        posttest_point=point,
        posttest_quantiles={f"{100 * q:g}": v for q, v in zip(QUANTILES, post_quantiles.tolist())},
        class_at_point=at_point,
        changes_recommendation=INTENSITY[at_point] != now_level,
        class_distribution=dist,
        share_of_draws_changing=changing,
    )


def next_tests(
    probability: ProbabilityEstimate,
    available_modalities: Iterable[str],
    accuracy: Mapping[str, AccuracyPosterior],
    thresholds: ThresholdSet | None = None,
    *,
    context: DecisionContext | None = None,
    patient: Any = None,
    done: Iterable[str] | None = None,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> NextTests:
    """Rank the ``available_modalities`` not in ``done`` by P(result changes the recommendation).

    ``accuracy`` maps a modality to its :class:`~imln.imaging.AccuracyPosterior`
    (the imaging package chooses them); a modality without one is listed as
    ``no_accuracy``. Give the ``patient`` (its :class:`DecisionContext` and, unless
    ``done`` is given, the modalities of its findings are read from it) or the
    ``context`` directly (:func:`~imln.decision.decision_context`).
    """
    if context is None:
        if patient is None:
            raise ValueError("next_tests needs the patient or its decision context")
        context = decision_context(patient)
    if done is None:
        done = [f.modality for f in (getattr(patient, "findings", None) or [])]
    if not isinstance(probability, ProbabilityEstimate):
        raise TypeError(f"probability must be a ProbabilityEstimate; got {type(probability).__name__}")
    if not (isinstance(n_draws, int) and n_draws >= 100):
        raise ValueError(f"n_draws must be an integer ≥ 100; got {n_draws!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    thresholds = thresholds or default_thresholds()
    modalities = tuple(dict.fromkeys(getattr(m, "value", m) for m in available_modalities))
    # the key holds only what the result depends on: which of these tests are done, the others' accuracy
    done_set = frozenset(modalities).intersection(getattr(m, "value", m) for m in done)
    tests_accuracy = tuple((m, accuracy.get(m)) for m in modalities if m not in done_set)
    return _next_tests(probability, modalities, tests_accuracy, done_set, context, Same(thresholds), n_draws, seed)


@lru_cache(maxsize=RESULT_CACHE_SIZE)  # about 20 KB per result with three tests
def _next_tests(probability: ProbabilityEstimate, modalities: tuple[str, ...],
                tests_accuracy: tuple[tuple[str, AccuracyPosterior | None], ...], done_set: frozenset[str],
                context: DecisionContext, thresholds_key: Same, n_draws: int, seed: int) -> NextTests:
    """:func:`next_tests` once its arguments are checked: a pure function of them, so cached (see the module)."""
    thresholds: ThresholdSet = thresholds_key.obj  # type: ignore[assignment]
    accuracy = dict(tests_accuracy)
    now = classify(probability.point, context, thresholds)
    now_level = INTENSITY[now]
    tests: list[NextTest] = []
    # the same draws for every modality: one seed, child streams for p (0) and for accuracy (1)
    p = probability.draws(n_draws, seed, 0, 2)
    mean_p = probability.mean()
    candidates: list[tuple[str, AccuracyPosterior]] = []
    for modality in modalities:
        if modality in done_set:
            tests.append(NextTest(modality=modality, status="already_done", message="already done for this patient"))
            continue
        acc = accuracy.get(modality)
        if acc is None:
            tests.append(NextTest(modality=modality, status="no_accuracy",
                                  message="no accuracy posterior given for this modality; not ranked"))
            continue
        candidates.append((modality, acc))
    ranked: list[NextTest] = []
    if candidates:
        # one row of draws per modality: (modalities × n_draws) arrays, every modality at once; written in
        # place where possible (a handful of arrays of k × n_draws doubles instead of twenty)
        sens, miss, false_pos = _accuracy_rows(tuple(acc for _, acc in candidates), seed, n_draws)
        k = len(candidates)
        # rows: post-test probability after a positive result, after a negative one, and P(+)
        rows = np.empty((3 * k, n_draws))
        post_pos, post_neg, p_pos = rows[:k], rows[k:2 * k], rows[2 * k:]
        p_sens = p * sens
        np.multiply(1 - p, false_pos, out=p_pos)
        p_pos += p_sens  # P(+) = p·sens + (1 − p)(1 − spec)
        p_neg = 1 - p_pos
        np.divide(p_sens, p_pos, out=post_pos)  # p·sens / P(+)
        p_miss = np.multiply(p, miss, out=p_sens)  # p·(1 − sens); p·sens is no longer needed
        np.divide(p_miss, p_neg, out=post_neg)  # p·(1 − sens) / P(−)
        row_q = quantiles(rows, QUANTILES)  # one selection for every row
        post_q = row_q[:2 * k]
        # P(−) = 1 − P(+): its interval mirrors
        p_pos_q = row_q[2 * k:, [QUANTILES.index(0.025), QUANTILES.index(0.975)]].tolist()
        # |shift| = P(+)·|post(+) − p| + P(−)·|post(−) − p|
        shift = np.subtract(post_pos, p)
        np.abs(shift, out=shift)
        shift *= p_pos
        away = np.subtract(post_neg, p, out=p_miss)
        np.abs(away, out=away)
        away *= p_neg
        shift += away
        shift_mean = np.mean(shift, axis=1).tolist()
        shift_se = (np.std(shift, axis=1) / np.sqrt(n_draws)).tolist()
        for i, (modality, acc) in enumerate(candidates):
            s_mean, c_mean = acc.sensitivity_mean, acc.specificity_mean
            pp = probability.point * s_mean + (1 - probability.point) * (1 - c_mean)
            point_pos = probability.point * s_mean / pp
            point_neg = probability.point * (1 - s_mean) / (1 - pp)
            # p, sens and spec are independent: E[P(+)] = E[p]·E[sens] + (1 − E[p])·(1 − E[spec]), exactly
            mean_pos = mean_p * s_mean + (1 - mean_p) * (1 - c_mean)
            lo, hi = p_pos_q[i]
            pos = _outcome("positive", mean_pos, (lo, hi), post_pos[i], post_q[i], point_pos,
                           context.after_result(modality, "positive"), thresholds, now_level)
            neg = _outcome("negative", 1 - mean_pos, (1 - hi, 1 - lo), post_neg[i], post_q[k + i], point_neg,
                           context.after_result(modality, "negative"), thresholds, now_level)
            change = mean_pos * pos.changes_recommendation + (1 - mean_pos) * neg.changes_recommendation
            ranked.append(NextTest(
                modality=modality, status="ranked",
                probability_of_change=float(change),
                expected_absolute_shift=shift_mean[i],
                expected_absolute_shift_mc_se=shift_se[i],
                outcomes=[pos, neg],
                accuracy_source=acc.source,
                sensitivity_mean=s_mean, specificity_mean=c_mean,
                message="",
            ))
    ranked.sort(key=lambda t: (-round(t.probability_of_change or 0.0, 12), -(t.expected_absolute_shift or 0.0),
                               t.modality))
    ranked = [t.model_copy(update={"rank": i + 1, "message": f"rank {i + 1} of {len(ranked)}"})
              for i, t in enumerate(ranked)]
    notes = []
    if not ranked:
        notes.append("No test could be ranked: none is both available, not yet done and given an accuracy.")
    return NextTests(current_class=now, probability=probability, tests=[*ranked, *tests], seed=seed,
                     n_draws=n_draws, notes=notes)
