"""Properties over generated patients and thresholds.

* Raising the probability of IMLN metastasis never moves the recommendation toward less treatment
  (order of classes: :data:`imln.decision.INTENSITY` — omit < short-interval follow-up < tissue diagnosis
  (IM sentinel node biopsy = image-guided biopsy) < full work-up < IMN radiotherapy).
* A higher heart dose of the IMN plan never raises the net benefit of IMN radiotherapy.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imln.decision import INTENSITY, DecisionContext, class_steps, recommend, rt_balance
from tests.decision.conftest import estimate, patient

FINDINGS = [
    {"modality": "us", "result": "positive", "side": "ipsilateral", "short_axis_mm": 7},
    {"modality": "mri", "result": "positive", "node_count": 3, "short_axis_mm": 6},
    {"modality": "pet_ct", "result": "negative"},
    {"modality": "us", "result": "positive", "side": "contralateral"},
    {"modality": "lymphoscintigraphy", "result": "positive"},
    {"modality": "ct", "result": "indeterminate", "short_axis_mm": 5},
]
SETTINGS = ["diagnosis", "after_nac", "after_surgery", "follow_up"]


@st.composite
def patients(draw):
    setting = draw(st.sampled_from(SETTINGS))
    nac = True if setting == "after_nac" else draw(st.booleans())
    fields = {
        "age_years": draw(st.integers(25, 90)),
        "laterality": draw(st.sampled_from(["left", "right"])),
        "setting": setting,
        "neoadjuvant_chemotherapy": nac,
        "implant_reconstruction": draw(st.booleans()),
        "prior_imn_radiotherapy": draw(st.booleans()),
        "findings": draw(st.lists(st.sampled_from(FINDINGS), max_size=3, unique_by=lambda f: str(f))),
    }
    return patient(**fields)


@st.composite
def threshold_sets(draw, base):
    low = draw(st.floats(0.01, 0.6))
    high = draw(st.floats(low + 0.01, 0.95))
    follow = draw(st.floats(0.01, 0.9))
    tissue_first = draw(st.lists(st.sampled_from(["diagnosis", "after_nac", "after_surgery"]), unique=True))
    band = draw(st.sampled_from(["imn_radiotherapy", "omit_imn_directed_treatment"]))
    return base.with_values(omit_below=low, radiotherapy_at=high, follow_up_work_up_at=follow,
                            tissue_first_with_visible_node_in=tissue_first, after_surgery_band_action=band)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), subject=patients(), p1=st.floats(0, 1), p2=st.floats(0, 1), width=st.floats(0, 0.2))
def test_higher_probability_never_means_less_treatment(data, subject, p1, p2, width, thresholds, evidence):
    th = data.draw(threshold_sets(thresholds))
    lo_p, hi_p = sorted((p1, p2))
    recs = []
    for p in (lo_p, hi_p):
        est = estimate(p, max(0.0, p - width), min(1.0, p + width))
        recs.append(recommend(est, subject, thresholds=th, evidence=evidence))
    low_rec, high_rec = recs
    assert INTENSITY[low_rec.recommendation] <= INTENSITY[high_rec.recommendation]
    for rec in recs:  # and within one interval, from its lower to its upper end
        assert INTENSITY[rec.class_at_lower] <= INTENSITY[rec.class_at_point] <= INTENSITY[rec.class_at_upper]


def test_every_step_function_is_non_decreasing(thresholds):
    """All contexts the rules distinguish, under the default and some user rules."""
    rule_sets = [thresholds,
                 thresholds.with_values(tissue_first_with_visible_node_in=["diagnosis", "after_nac", "after_surgery"]),
                 thresholds.with_values(after_surgery_band_action="omit_imn_directed_treatment")]
    for th, setting, visible, present, nac in itertools.product(rule_sets, SETTINGS, *[(False, True)] * 3):
        ctx = DecisionContext(setting=setting, visible_node=visible, finding_present=present or visible, nac=nac)
        steps = class_steps(ctx, th)
        levels = [INTENSITY[c] for c in steps.classes]
        assert levels == sorted(levels), (ctx, steps)
        assert list(steps.breakpoints) == sorted(steps.breakpoints)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    baseline=st.floats(0.1, 40),
    horizon=st.sampled_from([5, 10, 15, 20]),
    without=st.floats(0, 10),
    delta1=st.floats(0, 10),
    delta2=st.floats(0, 10),
    p=st.floats(0.02, 0.9),
    scaled=st.booleans(),
)
def test_higher_heart_dose_never_raises_net_benefit(baseline, horizon, without, delta1, delta2, p, scaled, evidence):
    d_low, d_high = sorted((delta1, delta2))
    assume(without + d_high <= 50)
    trial = estimate(0.3, 0.25, 0.35) if scaled else None
    nets = []
    for delta in (d_low, d_high):
        subject = patient(cardiac={"mean_heart_dose_gy_with_imn": without + delta,
                                   "mean_heart_dose_gy_without_imn": without,
                                   "baseline_cardiac_risk_percent": baseline,
                                   "baseline_cardiac_risk_horizon_years": horizon})
        b = rt_balance(estimate(p, max(0.0, p - 0.05), min(1.0, p + 0.05)), subject, evidence,
                       trial_imln_prevalence=trial, n_draws=500)
        assert b.status == "computed"
        nets.append(b)
    low, high = nets
    tol = 1e-9
    assert high.net.point <= low.net.point + tol
    assert high.net.lower <= low.net.lower + tol and high.net.upper <= low.net.upper + tol
    assert high.harm.point >= low.harm.point - tol
    assert high.probability_net_positive <= low.probability_net_positive
