"""Decision-level caches (recommendation, threshold sweep): a hit must be the fresh result, and nothing that
changes the result may be left out of the key. (The next-tests cache: test_next_tests.TestCache.)"""

from __future__ import annotations

import pytest

from imln.decision import DecisionContext, recommend, threshold_sensitivity
from imln.decision import _recommend as recommend_module
from imln.decision import _sensitivity as sensitivity_module
from tests.decision.conftest import estimate, patient

AT_DIAGNOSIS = DecisionContext(setting="diagnosis")
CASES = {
    "recommend": (lambda p, ctx, t, e: recommend(p, None, thresholds=t, evidence=e, context=ctx),
                  recommend_module._recommend.cache_clear),
    "threshold_sensitivity": (lambda p, ctx, t, e: threshold_sensitivity(p, ctx, t),
                              sensitivity_module._default_sweep.cache_clear),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


def test_a_hit_is_the_fresh_result(case, thresholds, evidence):
    call, clear = case
    args = (estimate(0.18, 0.12, 0.26), AT_DIAGNOSIS, thresholds, evidence)
    clear()
    first = call(*args)
    assert call(*args) is first
    clear()
    assert call(*args).model_dump() == first.model_dump()


@pytest.mark.parametrize("change", ["point", "interval", "source", "context", "thresholds"])
def test_every_input_of_the_result_is_in_the_key(case, thresholds, evidence, change):
    call, clear = case
    args = {"p": estimate(0.18, 0.12, 0.26), "ctx": AT_DIAGNOSIS, "t": thresholds, "e": evidence}
    base = call(*args.values())
    if change == "point":
        args["p"] = estimate(0.3, 0.12, 0.4)
    elif change == "interval":
        args["p"] = estimate(0.18, 0.02, 0.26)
    elif change == "source":
        args["p"] = estimate(0.18, 0.12, 0.26, source="another model")
    elif change == "context":
        args["ctx"] = DecisionContext(setting="after_surgery")
    else:
        args["t"] = thresholds.with_values(radiotherapy_at=0.4)
    cached = call(*args.values())
    assert cached is not base
    clear()
    assert cached.model_dump() == call(*args.values()).model_dump()


def test_recommend_reads_the_patient_only_through_its_context(thresholds, evidence):
    """Two patients with one context share the cached recommendation (what makes the cache correct)."""
    from imln.decision import decision_context

    a = patient(age_years=35, tumor_size_mm=12)
    b = patient(age_years=80, tumor_size_mm=45)
    assert decision_context(a) == decision_context(b)
    p = estimate(0.18, 0.12, 0.26)
    assert recommend(p, a, thresholds=thresholds, evidence=evidence) is recommend(
        p, b, thresholds=thresholds, evidence=evidence)
