"""imln.decision step functions: counting draws per interval, and one step function per context."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from imln.decision import DecisionContext, class_steps, default_thresholds

CONTEXTS = [
    DecisionContext(setting=s, visible_node=v, finding_present=f or v)
    for s, v, f in itertools.product(("diagnosis", "after_nac", "after_surgery", "follow_up"), (False, True),
                                     (False, True))
]


@pytest.mark.parametrize("ctx", CONTEXTS, ids=lambda c: f"{c.setting}-{c.visible_node}-{c.finding_present}")
def test_counts_equal_bincount_of_index(ctx):
    steps = class_steps(ctx, default_thresholds())
    rng = np.random.default_rng(5)
    p = rng.beta(0.7, 2.0, 4000)
    p[:20] = np.repeat(np.asarray(steps.breakpoints or (0.5,)), 20)[:20]  # values exactly on a breakpoint
    expected = np.bincount(steps.index(p), minlength=len(steps.classes))
    assert np.array_equal(steps.counts(p), expected)
    p[7] = np.nan  # searchsorted puts NaN above every breakpoint; counts must agree
    assert np.array_equal(steps.counts(p), np.bincount(steps.index(p), minlength=len(steps.classes)))


def test_one_step_function_per_context_and_threshold_set():
    thresholds = default_thresholds()
    ctx = DecisionContext(setting="diagnosis")
    assert class_steps(ctx, thresholds) is class_steps(DecisionContext(setting="diagnosis"), thresholds)
    changed = thresholds.with_values(omit_below=thresholds.omit_below / 2)
    assert class_steps(ctx, changed).breakpoints[0] == thresholds.omit_below / 2
    assert class_steps(ctx, thresholds).breakpoints[0] == thresholds.omit_below
