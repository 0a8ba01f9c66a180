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


@pytest.mark.parametrize(("raw", "size"), [(None, 256), ("", 256), ("0", 0), ("1024", 1024), (" 7 ", 7)])
def test_cache_size_from_the_environment(raw, size):
    from imln._cache import result_cache_size

    assert result_cache_size(raw) == size


@pytest.mark.parametrize("raw", ["-1", "many", "2.5"])
def test_a_bad_cache_size_names_the_variable_and_the_range(raw):
    from imln._cache import result_cache_size

    with pytest.raises(ValueError, match=r"IMLN_RESULT_CACHE_SIZE must be an integer ≥ 0 .*got"):
        result_cache_size(raw)


def test_size_zero_turns_the_caches_off_with_the_same_results(tmp_path):
    """In a fresh interpreter with IMLN_RESULT_CACHE_SIZE=0: nothing is kept, and the assessment is the one a
    caching process computes."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import imln

    example = Path(__file__).parents[2] / "examples" / "medial_4plus_nodes.yaml"
    code = (
        "import json, sys, imln\n"
        "from imln.decision import _next_tests, _recommend, _sensitivity\n"
        f"p = imln.load_patient({str(example)!r})\n"
        "a, b = imln.assess(p), imln.assess(p)\n"
        "assert a.decision.next_tests is not b.decision.next_tests\n"
        "caches = (_next_tests._next_tests, _recommend._recommend, _sensitivity._default_sweep)\n"
        "assert all(c.cache_info().maxsize == 0 and c.cache_info().currsize == 0 for c in caches)\n"
        "out = a.model_dump(mode='json'); out.pop('created_at')\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "IMLN_RESULT_CACHE_SIZE": "0"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    p = imln.load_patient(example)
    imln.assess(p)
    cached = imln.assess(p).model_dump(mode="json")  # the second is served from the caches
    cached.pop("created_at")
    assert json.loads(run.stdout) == json.loads(json.dumps(cached))


def test_a_bad_cache_size_warns_on_import_and_stops_the_command():
    """The library keeps the default with a warning naming the variable; ``imln`` refuses to start."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "IMLN_RESULT_CACHE_SIZE": "-3"}
    code = "import imln._cache as c; print(c.RESULT_CACHE_SIZE)"
    run = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "256"
    assert "RuntimeWarning: IMLN_RESULT_CACHE_SIZE must be an integer ≥ 0" in run.stderr
    run = subprocess.run([sys.executable, "-m", "imln", "--version"], env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert "error: IMLN_RESULT_CACHE_SIZE must be an integer ≥ 0" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr and __import__("imln").__version__ not in run.stdout
