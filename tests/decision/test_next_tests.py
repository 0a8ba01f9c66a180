"""Next most informative test: hand-computed preposterior cases against the Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, special, stats

from imln.decision import (
    DecisionContext,
    RecommendationClass,
    next_tests,
)
from imln.evidence import TwoByTwo
from imln.imaging import AccuracyPosterior
from tests.decision.conftest import estimate, patient

# Tables so large that the Beta posteriors are practically point values.
FIXED_60_70 = AccuracyPosterior.from_table(TwoByTwo(tp=600_000, fn=400_000, tn=700_000, fp=300_000), source="s60c70")
PERFECT = AccuracyPosterior.from_table(TwoByTwo(tp=10**7, fn=0, tn=10**7, fp=0), source="perfect")
USELESS = AccuracyPosterior.from_table(TwoByTwo(tp=700_000, fn=300_000, tn=300_000, fp=700_000), source="useless")
# The review's Table 1 MRI row, consistent only at node level (14/15, 25/28; see the evidence README).
MRI_TABLE1 = AccuracyPosterior.from_table(TwoByTwo(tp=14, fn=1, tn=25, fp=3), source="review-table1-mri")
WEAK_US = AccuracyPosterior.from_table(TwoByTwo(tp=12, fn=8, tn=11, fp=9), source="synthetic weak test")

AT_DIAGNOSIS = DecisionContext(setting="diagnosis")


def expected_p(est) -> float:
    """E[p] of the logit-normal through the estimate's interval (numerical integration)."""
    centre, sd = est.logit_params()
    value, _ = integrate.quad(lambda z: special.expit(centre + sd * z) * stats.norm.pdf(z), -12, 12)
    return value


class TestHandComputed:
    def test_simple_case_fixed_accuracy_point_pretest(self, thresholds):
        """p = 0.2, sens 0.6, spec 0.7, at diagnosis, no visible node (IM sentinel node biopsy now):
        P(+) = 0.2·0.6 + 0.8·0.3 = 0.36; post(+) = 0.12/0.36 = 1/3 ≥ 0.25 → IMN radiotherapy (a change);
        post(−) = 0.08/0.64 = 0.125, still in the band → no change. P(change) = 0.36."""
        res = next_tests(estimate(0.2), ["spect_ct"], {"spect_ct": FIXED_60_70}, thresholds, context=AT_DIAGNOSIS)
        t = res.tests[0]
        assert res.current_class is RecommendationClass.im_sentinel_biopsy
        pos, neg = t.outcomes
        assert_allclose(pos.probability_of_result, 0.36, atol=1e-3)
        assert_allclose(pos.posttest_point, 1 / 3, atol=1e-4)
        assert_allclose(neg.posttest_point, 0.125, atol=1e-4)
        assert pos.class_at_point is RecommendationClass.imn_radiotherapy and pos.changes_recommendation
        assert neg.class_at_point is RecommendationClass.im_sentinel_biopsy and not neg.changes_recommendation
        assert_allclose(t.probability_of_change, 0.36, atol=1e-3)
        assert pos.share_of_draws_changing == 1.0 and neg.share_of_draws_changing == 0.0

    def test_pretest_uncertainty_is_integrated(self, thresholds):
        """With p uncertain, P(change) = E[P(+)] = E[p]·0.6 + (1 − E[p])·0.3 (post(+) at the point 0.2 still
        crosses 0.25, post(−) does not); E[p] by scipy's adaptive quadrature over the logit-normal. imln computes
        it exactly (its own quadrature), so the agreement is to 1e-6 (the Beta means of FIXED_60_70 differ from
        0.6/0.3 by < 1e-6), and the Monte Carlo mean of P(+) agrees within its standard error."""
        est = estimate(0.2, 0.1, 0.35)
        res = next_tests(est, ["spect_ct"], {"spect_ct": FIXED_60_70}, thresholds, context=AT_DIAGNOSIS,
                         n_draws=40_000)
        t = res.tests[0]
        mean_p = expected_p(est)
        hand = mean_p * 0.6 + (1 - mean_p) * 0.3
        assert_allclose(t.probability_of_change, hand, atol=1e-6)
        assert_allclose(t.outcomes[0].probability_of_result, hand, atol=1e-6)
        p = est.sample(40_000, np.random.default_rng(1))
        mc = p * 0.6 + (1 - p) * 0.3
        assert abs(mc.mean() - hand) < 4 * mc.std() / math.sqrt(len(mc))
        # the post-test distribution spreads with the pre-test interval
        q = t.outcomes[0].posttest_quantiles
        assert q["2.5"] < 1 / 3 < q["97.5"]

    def test_perfect_test_changes_with_the_probability_that_the_true_status_crosses(self, thresholds):
        """At p = 5% (omit now), a perfect positive gives post ≈ 1 (IMN radiotherapy), a perfect negative
        post ≈ 0 (still omit): P(change) = P(true status positive) = E[p]."""
        est = estimate(0.05, 0.03, 0.08)
        res = next_tests(est, ["spect_ct"], {"spect_ct": PERFECT}, thresholds, context=AT_DIAGNOSIS, n_draws=40_000)
        t = res.tests[0]
        assert res.current_class is RecommendationClass.omit
        assert t.outcomes[0].posttest_point > 0.999 and t.outcomes[1].posttest_point < 1e-6
        assert_allclose(t.probability_of_change, expected_p(est), atol=1e-6)

    @pytest.mark.parametrize("modality", ["spect_ct", "us"])
    def test_useless_test_never_changes_the_recommendation(self, thresholds, modality):
        """sens = 1 − spec: LR = 1 at the posterior means, so post = pre and P(change) = 0 exactly (a positive
        US makes a visible node, but image-guided biopsy is the same level as IM sentinel node biopsy)."""
        res = next_tests(estimate(0.18, 0.15, 0.21), [modality], {modality: USELESS}, thresholds,
                         context=AT_DIAGNOSIS)
        t = res.tests[0]
        assert t.probability_of_change == 0.0
        assert_allclose([o.posttest_point for o in t.outcomes], 0.18, atol=1e-9)


class TestRanking:
    def test_ranked_by_probability_of_change_with_done_and_missing_listed(self, thresholds):
        subject = patient(findings=[{"modality": "pet_ct", "result": "negative"}])
        res = next_tests(estimate(0.18, 0.12, 0.26), ["us", "mri", "pet_ct", "ct"],
                         {"mri": MRI_TABLE1, "us": WEAK_US, "pet_ct": MRI_TABLE1}, thresholds, patient=subject,
                         n_draws=5_000)
        status = {t.modality: t.status for t in res.tests}
        assert status == {"mri": "ranked", "us": "ranked", "pet_ct": "already_done", "ct": "no_accuracy"}
        ranked = [t for t in res.tests if t.status == "ranked"]
        assert [t.rank for t in ranked] == [1, 2]
        assert ranked[0].modality == "mri" and res.best.modality == "mri"
        assert ranked[0].probability_of_change >= ranked[1].probability_of_change
        assert ranked[0].expected_absolute_shift > ranked[1].expected_absolute_shift

    def test_reproducible_with_reported_seed(self, thresholds):
        args = (estimate(0.18, 0.12, 0.26), ["mri"], {"mri": MRI_TABLE1}, thresholds)
        a = next_tests(*args, context=AT_DIAGNOSIS, seed=7, n_draws=3_000)
        b = next_tests(*args, context=AT_DIAGNOSIS, seed=7, n_draws=3_000)
        assert a == b and a.seed == 7 and a.n_draws == 3_000
        assert "preposterior" in a.method

    def test_bad_arguments(self, thresholds):
        with pytest.raises(ValueError, match="n_draws"):
            next_tests(estimate(0.2), ["mri"], {"mri": MRI_TABLE1}, thresholds, context=AT_DIAGNOSIS, n_draws=5)
        with pytest.raises(ValueError, match="needs the patient or its decision context"):
            next_tests(estimate(0.2), ["mri"], {"mri": MRI_TABLE1}, thresholds)
        with pytest.raises(TypeError, match="ProbabilityEstimate"):
            next_tests(0.2, ["mri"], {"mri": MRI_TABLE1}, thresholds, context=AT_DIAGNOSIS)  # type: ignore[arg-type]


def test_a_positive_node_image_at_diagnosis_routes_to_image_guided_biopsy(thresholds):
    """After a positive MRI at diagnosis the node is visible: the recommendation becomes image-guided biopsy."""
    res = next_tests(estimate(0.18), ["mri"], {"mri": MRI_TABLE1}, thresholds, context=AT_DIAGNOSIS, n_draws=2_000)
    pos, neg = res.tests[0].outcomes
    assert pos.class_at_point is RecommendationClass.image_guided_biopsy
    # LR− = (1 − sens)/spec at the posterior means: 1.5/16 / (25.5/29) → post(−) = 0.18·LR−/(…)
    sens, spec = 14.5 / 16, 25.5 / 29
    lr_neg = (1 - sens) / spec
    post_neg = 0.18 * lr_neg / (0.18 * lr_neg + 0.82)
    assert math.isclose(neg.posttest_point, post_neg, rel_tol=1e-9)
    assert neg.class_at_point is RecommendationClass.omit


class TestCache:
    """Results are cached on what they depend on: a hit must equal a fresh computation, and nothing that changes
    the result may be left out of the key."""

    ARGS = (estimate(0.18, 0.12, 0.26), ["us", "mri", "pet_ct"], {"mri": MRI_TABLE1, "us": WEAK_US})

    def fresh(self, *args, **kwargs):
        from imln.decision import _next_tests as module

        module._next_tests.cache_clear()
        return next_tests(*args, **kwargs)

    def test_a_hit_equals_a_fresh_computation(self, thresholds):
        first = self.fresh(*self.ARGS, thresholds, context=AT_DIAGNOSIS)
        hit = next_tests(*self.ARGS, thresholds, context=AT_DIAGNOSIS)
        assert hit is first  # served from the cache
        assert hit.model_dump() == self.fresh(*self.ARGS, thresholds, context=AT_DIAGNOSIS).model_dump()

    @pytest.mark.parametrize("change", ["probability", "source", "accuracy", "done", "context", "thresholds",
                                        "order", "seed", "n_draws"])
    def test_every_input_of_the_result_is_in_the_key(self, thresholds, change):
        est, modalities, accuracy = self.ARGS
        kwargs = {"context": AT_DIAGNOSIS}
        base = next_tests(est, modalities, accuracy, thresholds, **kwargs)
        if change == "probability":
            est = estimate(0.18, 0.12, 0.27)
        elif change == "source":
            est = estimate(0.18, 0.12, 0.26, source="another model")
        elif change == "accuracy":
            accuracy = {**accuracy, "us": FIXED_60_70}
        elif change == "done":
            kwargs["done"] = ["us"]
        elif change == "context":
            kwargs["context"] = DecisionContext(setting="diagnosis", visible_node=True,
                                                visible_node_modalities=("ct",))
        elif change == "thresholds":
            thresholds = thresholds.with_values(radiotherapy_at=0.4)
        elif change == "order":
            modalities = list(reversed(modalities))
        else:
            kwargs[change] = 7 if change == "seed" else 3_000
        cached = next_tests(est, modalities, accuracy, thresholds, **kwargs)
        assert cached is not base
        assert cached.model_dump() == self.fresh(est, modalities, accuracy, thresholds, **kwargs).model_dump()

    def test_done_outside_the_candidates_shares_the_entry(self, thresholds):
        """Tests done that are not offered do not change the result (the key holds only the offered ones)."""
        a = next_tests(*self.ARGS, thresholds, context=AT_DIAGNOSIS, done=[])
        assert next_tests(*self.ARGS, thresholds, context=AT_DIAGNOSIS, done=["spect_ct"]) is a
