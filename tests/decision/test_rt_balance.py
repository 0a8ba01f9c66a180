"""IMN radiotherapy balance: hand arithmetic of harm and benefit, scaling, and structured refusals."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from imln.decision import ProbabilityEstimate, rt_balance
from tests.decision.conftest import estimate, patient

CARDIAC = {"mean_heart_dose_gy_with_imn": 4.0, "mean_heart_dose_gy_without_imn": 1.5,
           "baseline_cardiac_risk_percent": 5.0, "baseline_cardiac_risk_horizon_years": 15}


def eortc15_benefit(hr: float) -> float:
    """EORTC 22922/10925 at 15 years, breast cancer mortality 19.8% without IM-MS RT (eortc2020-bc-mortality):
    under proportional hazards the RNI arm's mortality is 1 − (1 − 0.198)^HR; benefit in percentage points."""
    return 100 * (0.198 - (1 - (1 - 0.198) ** hr))


@pytest.fixture(scope="module")
def computed(evidence):
    return rt_balance(estimate(0.3, 0.2, 0.4), patient(setting="after_surgery", cardiac=CARDIAC), evidence,
                      n_draws=40_000)


class TestHandArithmetic:
    def test_harm_is_baseline_times_err_times_dose_difference(self, computed):
        """harm = 5% × 0.074/Gy × (4.0 − 1.5) Gy = 0.925 percentage points; its 95% interval is the same
        product with Darby's CI bounds, 5 × 2.5 × (0.029, 0.145) = (0.3625, 1.8125)."""
        assert computed.status == "computed"
        assert_allclose(computed.harm.point, 5.0 * 0.074 * 2.5, rtol=1e-12)
        assert_allclose(computed.harm.point, 0.925, rtol=1e-12)
        assert_allclose((computed.harm.lower, computed.harm.upper), (0.3625, 1.8125), rtol=0.03)
        assert computed.harm_inputs.delta_mean_heart_dose_gy == 2.5
        assert computed.harm_inputs.excess_relative_risk_per_gy.display == "7.4%"
        assert computed.harm.horizon_years == 15

    def test_benefit_from_the_hazard_ratio(self, computed):
        """HR 0.81 (0.70–0.94): benefit = 19.8 − 100(1 − 0.802^0.81) = 3.43369 pp; the interval maps the HR's
        CI through the same monotone formula: (benefit(0.94), benefit(0.70)) = (1.06881, 5.48840)."""
        assert_allclose(computed.benefit.point, eortc15_benefit(0.81), rtol=1e-12)
        assert_allclose(computed.benefit.point, 3.43369, atol=1e-5)
        assert_allclose((computed.benefit.lower, computed.benefit.upper),
                        (eortc15_benefit(0.94), eortc15_benefit(0.70)), rtol=0.03)
        assert computed.benefit.horizon_years == 15
        printed = next(t for t in computed.trial_figures if t.record_id == "eortc2020-bc-mortality")
        assert_allclose(printed.printed_difference_pp, 19.8 - 16.0)

    def test_net_is_benefit_minus_harm(self, computed):
        assert_allclose(computed.net.point, eortc15_benefit(0.81) - 0.925, rtol=1e-12)
        assert computed.net.lower < computed.net.point < computed.net.upper
        assert 0 < computed.probability_net_positive <= 1

    def test_survival_endpoint(self, evidence):
        """DBCG IMN2: 15-year OS 60.8% without IMNI, HR 0.85: benefit = 100(0.608^0.85 − 0.608)."""
        b = rt_balance(estimate(0.3), patient(cardiac=CARDIAC), evidence, benefit_source="dbcg2025-imn2-os",
                       n_draws=2_000)
        assert_allclose(b.benefit.point, 100 * (0.608**0.85 - 0.608), rtol=1e-12)
        assert b.benefit_source_basis.startswith("user")

    def test_no_hazard_ratio_interval_is_said(self, evidence):
        b = rt_balance(None, patient(cardiac=CARDIAC), evidence, benefit_source="eortc2015-bc-mortality",
                       n_draws=2_000)
        assert b.benefit.lower == b.benefit.upper == pytest.approx(b.benefit.point)
        assert any("no confidence interval" in w for w in b.warnings)


class TestScaling:
    def test_not_scaled_by_default_and_says_why(self, computed):
        assert computed.scaling.status == "not_scaled"
        assert "holds no prevalence of IMLN metastasis" in computed.scaling.message
        assert computed.break_even_probability is None
        assert "unscaled" in computed.benefit.description

    def test_scaled_by_a_given_trial_prevalence(self, evidence):
        """benefit = trial benefit × p / p_trial = 3.43369 × 0.15/0.30; break-even p* = 0.30 × harm / benefit."""
        trial = ProbabilityEstimate.from_point(0.30, "user's estimate for the EORTC population")
        b = rt_balance(estimate(0.15, 0.10, 0.21), patient(cardiac=CARDIAC), evidence, trial_imln_prevalence=trial,
                       n_draws=20_000)
        assert b.scaling.status == "scaled"
        assert_allclose(b.benefit.point, eortc15_benefit(0.81) * 0.5, rtol=1e-12)
        assert_allclose(b.scaling.factor.point, 0.5)
        assert_allclose(b.break_even_probability, 0.30 * 0.925 / eortc15_benefit(0.81), rtol=1e-12)
        assert_allclose(b.net.point, eortc15_benefit(0.81) * 0.5 - 0.925, rtol=1e-12)

    def test_scaled_by_an_evidence_record_the_user_names(self, evidence):
        b = rt_balance(estimate(0.291), patient(cardiac=CARDIAC), evidence,
                       trial_imln_prevalence="veronesi1985-aln-positive:percent", n_draws=2_000)
        assert b.scaling.trial_prevalence_figure.display == "29.1%"
        assert "user's assumption" in b.scaling.trial_imln_prevalence.source
        assert_allclose(b.scaling.factor.point, 1.0)


class TestNotComputable:
    def test_no_cardiac_context_names_every_field(self, evidence):
        b = rt_balance(estimate(0.3), patient(), evidence)
        assert b.status == "not_computable"
        assert b.needs == ["cardiac.mean_heart_dose_gy_with_imn", "cardiac.mean_heart_dose_gy_without_imn",
                           "cardiac.baseline_cardiac_risk_percent"]
        assert "cardiac.mean_heart_dose_gy_with_imn" in b.message
        assert b.benefit is None and b.harm is None and b.net is None
        assert b.trial_figures  # the unscaled trial figures are still shown

    def test_one_missing_field_is_named(self, evidence):
        cardiac = {k: v for k, v in CARDIAC.items() if not k.startswith("baseline")}
        b = rt_balance(estimate(0.3), patient(cardiac=cardiac), evidence)
        assert b.status == "not_computable" and b.needs == ["cardiac.baseline_cardiac_risk_percent"]

    def test_dose_with_imn_below_without(self, evidence):
        cardiac = {**CARDIAC, "mean_heart_dose_gy_with_imn": 1.0}
        b = rt_balance(estimate(0.3), patient(cardiac=cardiac), evidence)
        assert b.status == "not_computable" and "is below" in b.message


class TestReported:
    def test_label_assumptions_timing_and_modifiers(self, computed):
        assert computed.label.startswith("Model-based estimate")
        assert any("proportional hazards" in a for a in computed.assumptions)
        assert computed.cardiac_timing.display == "56%"
        assert computed.cardiac_timing.record_id == "review-text-cardiac-late"
        ids = {m.id for m in computed.modifiers}
        assert {"anthracycline", "trastuzumab", "coronary_heart_disease", "life_expectancy"} <= ids
        assert all(m.quantified is False for m in computed.modifiers)
        # no modifier text carries a number: none is sourced
        assert not any(ch.isdigit() for m in computed.modifiers for ch in m.text)

    def test_horizons_are_compared(self, evidence):
        cardiac = {**CARDIAC, "baseline_cardiac_risk_horizon_years": 10}
        b = rt_balance(estimate(0.3), patient(cardiac=cardiac), evidence, n_draws=2_000)
        assert any("different horizons" in w for w in b.warnings)
        assert any("misses late cardiac events" in w and "56%" in w for w in b.warnings)

    def test_reproducible(self, evidence):
        p = patient(cardiac=CARDIAC)
        a = rt_balance(estimate(0.3, 0.2, 0.4), p, evidence, n_draws=3_000, seed=11)
        b = rt_balance(estimate(0.3, 0.2, 0.4), p, evidence, n_draws=3_000, seed=11)
        assert a == b and a.seed == 11

    def test_trial_figures_are_as_printed(self, computed, evidence):
        for t in computed.trial_figures:
            record = evidence.get(t.record_id)
            assert t.percent_rni.display == record.values["percent_rni"].printed
            sign = 1 if t.endpoint == "survival" else -1
            assert math.isclose(t.printed_difference_pp,
                                sign * (record.values["percent_rni"].number - record.values["percent_control"].number),
                                abs_tol=1e-9)
