"""The joint model (imln-erm-joint): regenerated from its plan, reproducing every published cell.

The checks recompute what the model file claims without imln's fitting code: each cell's
probability is re-averaged here over its case mix from a second transcription of what the
cell means, the exact binomial intervals come from scipy, the likelihood and its Hessian are
written out again, and the example patients are compared with the published subgroup nearest
to them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit, logit

from imln import load_patient
from imln.evidence import load_evidence
from imln.evidence._twobytwo import feasible_numerators
from imln.risk import get_model, list_models, predict_proba, predict_risk
from imln.risk._joint import build_joint_model, joint_model_path, load_joint_plan
from tests.risk.test_synthesis import _close

EXAMPLES = Path(__file__).parents[2] / "examples"
SPEC = get_model("imln-erm-joint")
BETA = {t.name: t.log_odds for t in SPEC.terms}
SERIES = ("veronesi1985", "veronesi1981", "huang2008")
ALPHA = {s: next(r.value for r in SPEC.fit.series if r.name == f"intercept {s}") for s in SERIES}
NODES = ("0", "1-3", "4-6", ">=7")
SITES = ("lateral", "medial_or_central")
AGES = (">50", "40-50", "<40")
TERM_OF = {("nodes", "1-3"): "nodes_1_to_3", ("nodes", "4-6"): "nodes_4_to_6", ("nodes", ">=7"): "nodes_7_or_more",
           ("site", "medial_or_central"): "site_medial_or_central", ("age", "40-50"): "age_40_to_50",
           ("age", "<40"): "age_under_40"}
POSITIVE = ["1-3", "4-6", ">=7"]

# A second transcription of what each published cell fixes (the rest follows its series' mix).
CELLS = {
    "veronesi1985-size-lt2": {"nuisance": True},
    "veronesi1985-size-ge2": {"nuisance": True},
    "veronesi1985-age-lt40": {"age": ["<40"]},
    "veronesi1985-age-41-50": {"age": ["40-50"]},
    "veronesi1985-age-gt50": {"age": [">50"]},
    "veronesi1985-aln-negative": {"nodes": ["0"]},
    "veronesi1985-aln-positive": {"nodes": POSITIVE},
    "veronesi1981-imn-lateral": {"site": ["lateral"]},
    "veronesi1981-imn-medial-central": {"site": ["medial_or_central"]},
    "huang2008-aln-4-6": {"nodes": ["4-6"]},
    "huang2008-aln-7plus": {"nodes": [">=7"]},
    "huang2008-medial-aln-1-3": {"nodes": ["1-3"], "site": ["medial_or_central"]},
    "huang2008-medial-aln-4-6": {"nodes": ["4-6"], "site": ["medial_or_central"]},
    "huang2008-medial-aln-7plus": {"nodes": [">=7"], "site": ["medial_or_central"]},
    "review-text-huang-age-lt35": {"age": ["<40"]},
    "review-text-huang-age-35-50": {"age": ["40-50"]},
    "review-text-huang-age-gt50": {"age": [">50"]},
}


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


def mix(series: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"nodes": {}, "site": {}, "age": {}}
    for r in SPEC.fit.mix:
        s, factor, level = r.name.split(" ")
        if s == series:
            out[factor][level] = r.value
    return out


def cell_probability(series: str, fix: dict, alpha: float, beta: dict, *, node_positive_share: float | None = None,
                     site_effect: bool | None = None) -> float:
    """The model averaged over the cell's patients (``series``' case mix), by explicit loops over every pattern.

    Site has no effect inside Veronesi 1985's own cells; a setting averaged over its mix keeps the site term.
    """
    if site_effect is None:
        site_effect = series != "veronesi1985"
    m = mix(series)
    if node_positive_share is not None:
        q = node_positive_share
        m["nodes"] = {"0": 1 - q, **{lv: q / 3 for lv in POSITIVE}}
    dists = {}
    for factor, levels in (("nodes", NODES), ("site", SITES), ("age", AGES)):
        allowed = fix.get(factor, levels)
        if len(allowed) == 1:
            dists[factor] = {allowed[0]: 1.0}
        else:
            total = sum(m[factor][lv] for lv in allowed)
            dists[factor] = {lv: m[factor][lv] / total for lv in allowed}
    p = 0.0
    for (n, wn), (s, ws), (a, wa) in itertools.product(*(d.items() for d in dists.values())):
        eta = alpha
        for factor, level in (("nodes", n), ("site", s), ("age", a)):
            term = TERM_OF.get((factor, level))
            if term is None or (not site_effect and term == "site_medial_or_central"):
                continue  # reference level, or site inside Veronesi 1985 (no effect there)
            eta += beta[term]
        p += wn * ws * wa * expit(eta)
    return p


def nuisance_share(record: str) -> float:
    return next(r.value for r in SPEC.fit.nuisance if r.name.endswith(record))


def fitted_by_hand(record: str, alpha=ALPHA, beta=BETA) -> float:
    series = record.split("-")[0] if not record.startswith("review-text-huang") else "huang2008"
    fix = CELLS[record]
    if fix.get("nuisance"):
        return cell_probability(series, {}, alpha[series], beta, node_positive_share=nuisance_share(record))
    return cell_probability(series, fix, alpha[series], beta)


# --------------------------------------------------------------------------- the file


def test_regenerating_reproduces_the_shipped_model(evidence):
    shipped = yaml.safe_load(joint_model_path().read_text(encoding="utf-8"))
    regenerated = yaml.safe_load(yaml.safe_dump(build_joint_model(load_joint_plan(), evidence), sort_keys=False))
    _close(regenerated, shipped)


def test_joint_model_is_the_default_and_the_first_synthesis_stays_registered():
    assert get_model().id == "imln-erm-joint"
    assert {"imln-erm-joint", "imln-erm-synthesis"} <= {e.id for e in list_models()}


def test_every_source_resolves_and_size_has_no_term(evidence):
    for term in SPEC.terms:
        assert term.sources
        for rid in term.sources:
            evidence.reference(evidence.get(rid).citation)
    for s in SPEC.settings:
        for rid in s.sources:
            evidence.get(rid)
    for key in SPEC.citations:
        evidence.reference(key)
    assert "tumor_size_mm" not in {t.feature for t in SPEC.terms}  # huang2008-assoc-size-multivariable
    assert evidence.get("huang2008-assoc-size-multivariable").direction == "no_effect"
    assert evidence.get("veronesi1985-site-no-effect").direction == "no_effect"


def test_the_plan_maps_exactly_the_cells_transcribed_here():
    assert [c.record for c in SPEC.fit.cells] == list(CELLS)


# --------------------------------------------------------------------------- every cell


class TestEveryPublishedCell:
    def test_fitted_rate_recomputed_by_hand(self):
        for c in SPEC.fit.cells:
            assert fitted_by_hand(c.record) == pytest.approx(c.fitted, abs=2e-9), c.record

    def test_exact_interval_recomputed_from_the_printed_rate(self, evidence):
        for c in SPEC.fit.cells:
            v = evidence.get(c.record).values["percent"]
            k = min(feasible_numerators(v, c.weight_n), key=lambda k: abs(k / c.weight_n - v.number / 100))
            ci = stats.binomtest(k, c.weight_n).proportion_ci(method="exact")
            assert c.ci95 == pytest.approx((ci.low, ci.high), rel=1e-8), c.record

    def test_every_cell_single_and_multi_factor_is_reproduced_within_its_95_ci(self, evidence, capsys):
        rows = []
        for c in SPEC.fit.cells:
            p = fitted_by_hand(c.record)
            lo, hi = c.ci95
            rows.append(f"{c.record:34s} {c.factors} {c.printed:>6s} ({100 * lo:4.1f}-{100 * hi:4.1f}) "
                        f"fitted {100 * p:5.1f}  O/E {evidence.get(c.record).values['percent'].number / 100 / p:4.2f}  "
                        f"LOSO {100 * c.loso:5.1f}{'' if c.loso_in_ci95 else ' (outside)'}")
            assert lo <= p <= hi, f"{c.record}: published {c.printed} ({lo:.3f}-{hi:.3f}), fitted {p:.3f}"
            assert c.in_ci95 is True
        with capsys.disabled():
            print("\nimln-erm-joint: published cell, factors, rate (exact 95% CI), fitted, O/E, leave-one-series-out")
            print("\n".join(rows))
        assert {c.factors for c in SPEC.fit.cells} == {1, 2}  # single-factor margins and cross-tabulations

    def test_calibration_by_number_of_stacked_factors(self, evidence):
        for g in SPEC.fit.calibration:
            cells = [c for c in SPEC.fit.cells if c.factors == g.factors]
            obs = sum(evidence.get(c.record).values["percent"].as_proportion() * c.weight_n for c in cells)
            exp = sum(c.fitted * c.weight_n for c in cells)
            exp_loso = sum(c.loso * c.weight_n for c in cells)
            assert (g.cells, g.observed, g.expected) == (len(cells), pytest.approx(obs), pytest.approx(exp))
            assert g.expected_loso == pytest.approx(exp_loso)
            assert 0.9 < g.observed_expected < 1.1, g  # no drift as factors stack
        assert [g.factors for g in SPEC.fit.calibration] == [1, 2]

    def test_leave_one_series_out_predictions_are_reported_for_every_cell(self):
        for c in SPEC.fit.cells:
            assert c.loso is not None and 0 < c.loso < 1 and c.loso_in_ci95 is not None
        for s in SERIES:
            assert any(r.name == f"leave out {s}" for r in SPEC.fit.series)
        # without Huang 2008 nothing separates 1-3 from 4-6 and >=7: those steps are held at zero
        huang_out = next(r for r in SPEC.fit.series if r.name == "leave out huang2008")
        assert "raw[nodes_4_to_6]" in huang_out.description and "raw[nodes_7_or_more]" in huang_out.description
        # a series left out is predicted with the others' coefficients: Huang's three node cells coincide
        loso = {c.record: c.loso for c in SPEC.fit.cells}
        assert loso["huang2008-medial-aln-1-3"] == pytest.approx(loso["huang2008-medial-aln-7plus"])


# --------------------------------------------------------------------------- the fit itself


def _negloglik(params: np.ndarray) -> float:
    """Binomial log-likelihood written out again: params = alpha x3, raw chain increments, nuisance logits."""
    alpha = dict(zip(SERIES, params[:3], strict=True))
    n1, n2, n3, site, a1, a2, q1, q2 = params[3:]
    beta = {"nodes_1_to_3": n1, "nodes_4_to_6": n1 + n2, "nodes_7_or_more": n1 + n2 + n3,
            "site_medial_or_central": site, "age_40_to_50": a1, "age_under_40": a1 + a2}
    total = 0.0
    for c in SPEC.fit.cells:
        series = c.cohort
        if CELLS[c.record].get("nuisance"):
            q = expit(q1 if c.record.endswith("lt2") else q2)
            p = cell_probability(series, {}, alpha[series], beta, node_positive_share=q)
        else:
            p = cell_probability(series, CELLS[c.record], alpha[series], beta)
        y = float(c.printed.rstrip("%")) / 100
        total += c.weight_n * (y * math.log(p) + (1 - y) * math.log(1 - p))
    return -total


def _estimates() -> np.ndarray:
    b = BETA
    shares = [nuisance_share("veronesi1985-size-lt2"), nuisance_share("veronesi1985-size-ge2")]
    return np.array([*(ALPHA[s] for s in SERIES), b["nodes_1_to_3"], b["nodes_4_to_6"] - b["nodes_1_to_3"],
                     b["nodes_7_or_more"] - b["nodes_4_to_6"], b["site_medial_or_central"], b["age_40_to_50"],
                     b["age_under_40"] - b["age_40_to_50"], *logit(shares)])


def test_estimates_maximise_the_likelihood_written_out_again():
    theta = _estimates()
    assert np.all(theta[[3, 4, 5, 7, 8]] > 0)  # monotone constraints not binding
    best = _negloglik(theta)
    for i in range(len(theta)):
        for h in (1e-3, -1e-3):
            step = theta.copy()
            step[i] += h
            assert _negloglik(step) >= best - 1e-9, i


def test_standard_errors_from_an_independent_finite_difference_hessian():
    theta = _estimates()
    k = len(theta)
    h = 1e-4
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            def f(di, dj):
                t = theta.copy()
                t[i] += di
                t[j] += dj
                return _negloglik(t)
            hess[i, j] = hess[j, i] = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)
    cov = np.linalg.inv(hess)
    chain = np.eye(k)
    chain[4, 3] = chain[5, 3] = chain[5, 4] = 1.0  # beta = cumulative sums of the increments
    chain[8, 7] = 1.0
    cov_beta = chain @ cov @ chain.T
    names = ["nodes_1_to_3", "nodes_4_to_6", "nodes_7_or_more", "site_medial_or_central", "age_40_to_50", "age_under_40"]
    for j, name in enumerate(names, start=3):
        se = next(t.standard_error for t in SPEC.terms if t.name == name)
        assert math.sqrt(cov_beta[j, j]) == pytest.approx(se, rel=2e-3), name
    v85 = next(r for r in SPEC.fit.series if r.name == "intercept veronesi1985")
    assert math.sqrt(cov[0, 0]) == pytest.approx(v85.standard_error, rel=2e-3)


def test_monotone_effects_and_a_drift_free_node_positive_average():
    assert 0 < BETA["nodes_1_to_3"] <= BETA["nodes_4_to_6"] <= BETA["nodes_7_or_more"]
    assert 0 < BETA["age_40_to_50"] <= BETA["age_under_40"]
    # issue 16: the old model's lowest prediction for 4-6 nodes (49.6%) was above Huang's 4-6 interval,
    # and every node-positive patient was above Veronesi 1985's node-positive average
    alpha = SPEC.setting().intercept
    lo, hi = cell("huang2008-aln-4-6").ci95
    assert lo <= expit(alpha + BETA["nodes_4_to_6"]) <= hi
    assert expit(alpha + BETA["nodes_1_to_3"]) < cell("veronesi1985-aln-positive").ci95[0]


# --------------------------------------------------------------------------- settings


def patient(**fields):
    base = {"age_years": 60, "laterality": "left", "setting": "diagnosis", "positive_axillary_nodes": 0,
            "tumor_size_mm": 15, "tumor_location": {"quadrant": "UOQ"}}
    base.update(fields)
    return load_patient({k: v for k, v in base.items() if v is not None})


class TestSettings:
    def test_patient_setting_picks_the_intercept_and_the_output_names_it(self):
        assert predict_risk(patient()).setting == "erm_era"
        assert predict_risk(patient(setting="after_surgery")).setting == "erm_era"
        r = predict_risk(patient(setting="after_nac", neoadjuvant_chemotherapy=True))
        assert r.setting == "after_nac" and "qiu2019-metastasis-nst" in r.setting_anchor
        assert not any("neoadjuvant" in w for w in r.warnings)
        assert predict_risk(patient(setting="after_nac"), setting="im_slnb").setting == "im_slnb"

    def test_erm_era_intercept_is_veronesi_1985s_reference_patient(self):
        assert SPEC.setting("erm_era").intercept == pytest.approx(ALPHA["veronesi1985"], rel=1e-9)
        r = predict_risk(patient())
        assert r.probability == pytest.approx(expit(ALPHA["veronesi1985"]), rel=1e-9)

    def test_im_slnb_intercept_reproduces_the_pooled_positivity_over_the_stated_mix(self, evidence):
        target = evidence.get("imslnb2019-pooled-positivity").values["percent"].as_proportion()
        s = SPEC.setting("im_slnb")
        assert cell_probability("veronesi1985", {}, s.intercept, BETA, site_effect=True) == pytest.approx(target, abs=1e-9)
        lo, hi = (logit(x / 100) for x in evidence.get("imslnb2019-pooled-positivity").values["percent"].ci_numbers)
        assert s.standard_error == pytest.approx((hi - lo) / (2 * 1.959963984540054), rel=1e-8)

    def test_after_nac_counts_are_derived_consistently_from_qiu_2019(self, evidence):
        v = lambda rid, key: evidence.get(rid).values[key]  # noqa: E731
        n_init = int(v("qiu2019-visualisation-initial-surgery", "visualised").number)
        n_nst = int(v("qiu2019-visualisation-nst", "visualised").number)
        assert n_init + n_nst == int(v("qiu2019-biopsy-nodes", "n_successful_biopsies").number)  # 123 + 60 = 183
        k_nst = feasible_numerators(v("qiu2019-metastasis-nst", "percent"), n_nst)
        k_init = feasible_numerators(v("qiu2019-metastasis-initial-surgery", "percent"), n_init)
        assert k_nst == [8] and k_init == [49]
        assert k_nst[0] + k_init[0] == int(v("qiu2019-stage-change", "upstaged").number)  # 57
        s = SPEC.setting("after_nac")
        assert s.standard_error == pytest.approx(math.sqrt(1 / 8 + 1 / 52), rel=1e-8)
        p = cell_probability("veronesi1985", {"nodes": POSITIVE}, s.intercept, BETA, site_effect=True)
        assert p == pytest.approx(8 / 60, abs=1e-9)

    def test_implied_axillary_odds_ratio_is_inside_the_pooled_im_slnb_interval(self, evidence):
        s = SPEC.setting("im_slnb")
        neg = cell_probability("veronesi1985", {"nodes": ["0"]}, s.intercept, BETA, site_effect=True)
        pos = cell_probability("veronesi1985", {"nodes": POSITIVE}, s.intercept, BETA, site_effect=True)
        implied = (pos / (1 - pos)) / (neg / (1 - neg))
        lo, hi = evidence.get("imslnb2019-or-aln").values["odds_ratio"].ci_numbers
        assert lo <= implied <= hi
        check = next(c for c in SPEC.fit.checks if "odds ratio" in c.name)
        assert check.value == pytest.approx(implied, rel=1e-8)


# --------------------------------------------------------------------------- example patients


def load_example(name: str):
    return load_patient(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


def cell(record: str):
    return next(c for c in SPEC.fit.cells if c.record == record)


# The nearest published subgroup: the cell with the patient's axillary category (the strongest
# factor), matched on site where such a cell exists; after NAC, the only post-NAC series.
@pytest.mark.parametrize(
    ("example", "nearest"),
    [
        ("early_lateral_n0.yaml", "veronesi1985-aln-negative"),  # 0 nodes: the only node-negative cell
        ("medial_4plus_nodes.yaml", "huang2008-medial-aln-4-6"),  # medial, 5 nodes
        ("followup_implant_enlarged_imln.yaml", "huang2008-medial-aln-1-3"),  # 1 node: the only 1-3 cell
    ],
)
def test_example_patients_lie_within_the_ci_of_the_nearest_published_subgroup(example, nearest):
    r = predict_risk(load_example(example))
    lo, hi = cell(nearest).ci95
    assert r.setting == "erm_era"
    assert lo <= r.probability <= hi, f"{example}: {r.probability:.3f} outside {nearest} ({lo:.3f}-{hi:.3f})"


def test_after_nac_example_range_holds_the_post_nac_rate_and_meets_its_ci(evidence):
    """Axillary count unknown after NAC: the range over every count must contain Qiu's 13.3% (8/60)."""
    r = predict_risk(load_example("after_nac_mri_positive.yaml"), missing="range")
    assert r.setting == "after_nac" and r.probability is None
    ci = stats.binomtest(8, 60).proportion_ci(method="exact")
    lo, hi = r.probability_range
    assert lo <= 8 / 60 <= hi
    assert lo <= ci.high and ci.low <= hi


# --------------------------------------------------------------------------- directions


ages = st.integers(18, 100)
nodes = st.integers(0, 60)
sites = st.sampled_from(["medial", "central", "lateral"])


def _p(age, n, site):
    t = predict_proba({"age_years": np.array([age]), "positive_axillary_nodes": np.array([n]),
                       "tumor_site": np.array([site], dtype=object)}, SPEC, interval=False)
    return float(t["probability"].iloc[0])


@settings(max_examples=150, deadline=None)
@given(ages, ages, nodes, nodes, sites)
def test_more_nodes_and_younger_age_never_lower_risk(a1, a2, n1, n2, site):
    young, old = sorted((a1, a2))
    few, many = sorted((n1, n2))
    assert _p(young, few, site) >= _p(old, few, site)
    assert _p(old, many, site) >= _p(old, few, site)
    assert _p(old, few, "medial") > _p(old, few, "lateral")
