"""Predictions: hand arithmetic, directions the review reports, missing predictors, coverage.

These tests exercise the prediction machinery on the first synthesis, ``imln-erm-synthesis``
(its hand arithmetic, its size term, its single intercept); they pin it as the default for
this module. The joint model, now the bundled default, is tested in test_joint_model.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from imln import load_patient
from imln.evidence import load_evidence
from imln.risk import MissingPredictorError, get_model, predict_proba, predict_risk
from imln.risk._synthesis import fit_cells, fit_glm, load_plan

OLD_MODEL = "imln-erm-synthesis"
SPEC = get_model(OLD_MODEL)
BETA = {t.name: t.log_odds for t in SPEC.terms}
ALPHA = SPEC.setting().intercept


@pytest.fixture(scope="module", autouse=True)
def _first_synthesis_is_the_default_here():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("imln.risk._registry.DEFAULT_MODEL_ID", OLD_MODEL)
        yield


def patient(**fields):
    base = {"age_years": 60, "laterality": "left", "setting": "diagnosis", "positive_axillary_nodes": 0,
            "tumor_size_mm": 15, "tumor_location": {"quadrant": "UOQ"}}
    base.update(fields)
    return load_patient({k: v for k, v in base.items() if v is not None})


class TestHandComputation:
    def test_reference_patient_is_the_anchor_rate(self):
        r = predict_risk(patient())
        assert r.probability == pytest.approx(0.091, abs=1e-9)  # Veronesi 1985 node-negative, 9.1%
        assert r.baseline_probability == pytest.approx(0.091, abs=1e-9)

    def test_medial_young_four_nodes_large(self):
        """logit p = α + β(node+) + β(4-6) + β(medial) + β(<40) + β(≥20 mm); interval by the delta method."""
        r = predict_risk(patient(age_years=35, positive_axillary_nodes=5, tumor_size_mm=25,
                                 tumor_location={"quadrant": "UIQ"}))
        active = ["axillary_positive", "axillary_4_to_6", "site_medial_or_central", "age_under_40", "size_20mm_or_more"]
        eta = ALPHA + sum(BETA[t] for t in active)
        assert r.probability == pytest.approx(1 / (1 + math.exp(-eta)), rel=1e-12)
        names = SPEC.covariance.parameters
        z = np.array([1.0 if n == "(intercept)" or n in active else 0.0 for n in names])
        sd = math.sqrt(z @ np.array(SPEC.covariance.matrix) @ z)
        assert r.ci95[0] == pytest.approx(expit(eta - 1.959963984540054 * sd), rel=1e-9)
        assert r.ci95[1] == pytest.approx(expit(eta + 1.959963984540054 * sd), rel=1e-9)
        applied = {c.term for c in r.contributions if c.applies}
        assert applied == set(active)
        for c in r.contributions:
            assert c.sources and c.odds_multiplier == pytest.approx(math.exp(BETA[c.term]) if c.applies else 1.0)

    def test_age_forty_belongs_to_forty_to_fifty(self):
        r = predict_risk(patient(age_years=40))
        assert {c.term for c in r.contributions if c.applies} == {"age_40_to_50"}

    def test_table_matches_single_patient(self):
        patients = [patient(age_years=a, positive_axillary_nodes=n, tumor_size_mm=s, tumor_location={"quadrant": q})
                    for a, n, s, q in [(30, 0, 10, "UOQ"), (45, 2, 22, "central"), (70, 9, 50, "LIQ"), (50, 6, 19.9, "UIQ")]]
        frame = pd.DataFrame([{"age_years": p.age_years, "positive_axillary_nodes": p.positive_axillary_nodes,
                               "tumor_size_mm": p.tumor_size_mm, "tumor_site": p.medial_lateral.value} for p in patients])
        table = predict_proba(frame)
        for i, p in enumerate(patients):
            r = predict_risk(p)
            assert table["probability"].iloc[i] == pytest.approx(r.probability, rel=1e-12)
            assert (table["lower"].iloc[i], table["upper"].iloc[i]) == pytest.approx(r.ci95, rel=1e-12)


def _eta(age, nodes, size, site):
    p = predict_proba({"age_years": np.array([age]), "positive_axillary_nodes": np.array([nodes]),
                       "tumor_size_mm": np.array([size]), "tumor_site": np.array([site], dtype=object)},
                      interval=False)
    return float(p["probability"].iloc[0])


ages = st.integers(18, 100)
nodes = st.integers(0, 60)
sizes = st.floats(0.5, 150, allow_nan=False)
sites = st.sampled_from(["medial", "central", "lateral"])


class TestDirectionsTheReviewReports:
    """Wang 2022 review, 'Predictive and prognostic factors': more axillary nodes, a medial or
    central site and younger age raise IMLN risk. Properties over generated patients."""

    @settings(max_examples=300, deadline=None)
    @given(ages, nodes, nodes, sizes, sites)
    def test_more_positive_axillary_nodes_never_lower_risk(self, age, n1, n2, size, site):
        lo, hi = sorted((n1, n2))
        assert _eta(age, hi, size, site) >= _eta(age, lo, size, site)

    @settings(max_examples=200, deadline=None)
    @given(ages, nodes, sizes, st.sampled_from(["medial", "central"]))
    def test_medial_or_central_is_riskier_than_lateral(self, age, n, size, site):
        assert _eta(age, n, size, site) > _eta(age, n, size, "lateral")

    @settings(max_examples=300, deadline=None)
    @given(ages, ages, nodes, sizes, sites)
    def test_younger_never_lowers_risk(self, a1, a2, n, size, site):
        young, old = sorted((a1, a2))
        assert _eta(young, n, size, site) >= _eta(old, n, size, site)

    @settings(max_examples=100, deadline=None)
    @given(ages, nodes, sizes, sites)
    def test_probability_and_interval_are_ordered_probabilities(self, age, n, size, site):
        p = predict_risk(patient(age_years=age, positive_axillary_nodes=n, tumor_size_mm=size,
                                 tumor_location={"quadrant": {"medial": "UIQ", "central": "central", "lateral": "UOQ"}[site]}))
        assert 0 < p.ci95[0] < p.probability < p.ci95[1] < 1


class TestMissingPredictors:
    def test_refused_by_default_naming_the_field(self):
        with pytest.raises(MissingPredictorError, match="positive_axillary_nodes"):
            predict_risk(patient(positive_axillary_nodes=None))

    def test_range_brackets_every_possible_value(self):
        r = predict_risk(patient(positive_axillary_nodes=None), missing="range")
        assert r.probability is None and r.missing == ["positive_axillary_nodes"]
        values = [predict_risk(patient(positive_axillary_nodes=n)) for n in (0, 1, 3, 4, 6, 7, 30)]
        lo, hi = r.probability_range
        assert lo == pytest.approx(min(v.probability for v in values))
        assert hi == pytest.approx(max(v.probability for v in values))
        assert r.ci95[0] == pytest.approx(min(v.ci95[0] for v in values))
        assert r.ci95[1] == pytest.approx(max(v.ci95[1] for v in values))
        assert any("unknown" in w for w in r.warnings)

    def test_boundary_clock_position_is_unknown_site(self):
        with pytest.raises(MissingPredictorError, match="tumor_site"):
            predict_risk(patient(tumor_location={"clock_position": 12}))

    def test_table_missing_column_and_bad_level(self):
        with pytest.raises(MissingPredictorError, match="tumor_site"):
            predict_proba(pd.DataFrame({"age_years": [50], "positive_axillary_nodes": [0], "tumor_size_mm": [10]}))
        with pytest.raises(ValueError, match="'inner' not allowed; allowed: medial, central, lateral"):
            predict_proba(pd.DataFrame({"age_years": [50], "positive_axillary_nodes": [0], "tumor_size_mm": [10],
                                        "tumor_site": ["inner"]}))
        with pytest.raises(ValueError, match="'tumor_size_mm' must hold numbers"):
            predict_proba(pd.DataFrame({"age_years": [50], "positive_axillary_nodes": [0], "tumor_size_mm": ["big"],
                                        "tumor_site": ["medial"]}))

    def test_range_in_a_table_marks_only_rows_with_gaps(self):
        frame = pd.DataFrame({"age_years": [50, 50], "positive_axillary_nodes": [0, np.nan],
                              "tumor_size_mm": [10, 10], "tumor_site": ["lateral", "lateral"]})
        out = predict_proba(frame, missing="range")
        assert not math.isnan(out["probability"].iloc[0]) and math.isnan(out["probability"].iloc[1])
        assert out["probability_min"].iloc[1] < out["probability_max"].iloc[1]

    def test_after_nac_is_flagged(self):
        r = predict_risk(patient(setting="after_nac", neoadjuvant_chemotherapy=True))
        assert any("neoadjuvant" in w for w in r.warnings)


def test_interval_coverage_by_simulation():
    """Simulate published tables from a known truth at the model's weights, refit, and count how
    often the 95% interval holds the true probability of five patient profiles (400 replications;
    binomial band for 95% coverage: 0.92-0.975)."""
    evidence = load_evidence()
    cells = fit_cells(load_plan(), evidence)
    terms = [t.name for t in SPEC.terms]
    truth = fit_glm(cells, terms)
    n = np.array([c.weight_n for c in cells])
    true_rates = truth.fitted
    anchor = truth.parameters.index("veronesi1985/axillary status")
    profiles = np.array([  # rows: [anchor intercept, terms...] in truth.parameters order
        [1 if p == "veronesi1985/axillary status" or p in active else 0 for p in truth.parameters]
        for active in ([], ["axillary_positive"], ["axillary_positive", "axillary_7_or_more", "site_medial_or_central"],
                       ["age_under_40", "size_20mm_or_more"], ["axillary_positive", "axillary_4_to_6", "age_40_to_50"])
    ], dtype=float)
    assert profiles[:, anchor].all()
    true_p = expit(profiles @ truth.estimates)
    rng = np.random.default_rng(20261124)
    hits = np.zeros(len(profiles))
    reps = 400
    done = 0
    for _ in range(reps):
        k = rng.binomial(n, true_rates)
        if np.any(k == 0) or np.any(k == n):
            continue  # a rate of 0 or 1 is not a publishable subgroup rate
        sim = [c.__class__(**{**c.__dict__, "rate": kk / c.weight_n}) for c, kk in zip(cells, k, strict=True)]
        fit = fit_glm(sim, terms)
        eta = profiles @ fit.estimates
        sd = np.sqrt(np.einsum("ij,jk,ik->i", profiles, fit.covariance, profiles))
        lo, hi = expit(eta - 1.96 * sd), expit(eta + 1.96 * sd)
        hits += (lo <= true_p) & (true_p <= hi)
        done += 1
    coverage = hits / done
    assert done > 350
    assert np.all(coverage > 0.92) and np.all(coverage < 0.98), coverage


@settings(max_examples=150, deadline=None)
@given(ages, nodes, sizes, sites)
def test_single_patient_path_equals_the_table_path(age, n, size, site):
    quadrant = {"medial": "UIQ", "central": "central", "lateral": "UOQ"}[site]
    r = predict_risk(patient(age_years=age, positive_axillary_nodes=n, tumor_size_mm=size,
                             tumor_location={"quadrant": quadrant}))
    t = predict_proba({"age_years": np.array([age]), "positive_axillary_nodes": np.array([n]),
                       "tumor_size_mm": np.array([size]), "tumor_site": np.array([site], dtype=object)})
    assert r.probability == pytest.approx(float(t["probability"].iloc[0]), rel=1e-12)
    assert r.ci95 == pytest.approx((float(t["lower"].iloc[0]), float(t["upper"].iloc[0])), rel=1e-12)
