"""The first synthesis (imln-erm-synthesis, kept for comparison) is what its plan and the evidence imply, and it fits what it was fitted to."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import optimize, stats
from scipy.special import expit, logit

from imln.evidence import load_evidence
from imln.risk import get_model
from imln.risk._synthesis import (
    build_model,
    default_model_path,
    feasible_group_sizes,
    fit_cells,
    fit_glm,
    load_plan,
)


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


@pytest.fixture(scope="module")
def plan():
    return load_plan()


@pytest.fixture(scope="module")
def cells(plan, evidence):
    return fit_cells(plan, evidence)


def _close(a, b, path=""):
    """Structural equality with a relative tolerance on floats (BLAS may differ in the last bits)."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=1e-7, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ {set(a) ^ set(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_regenerating_reproduces_the_shipped_model(plan, evidence):
    shipped = yaml.safe_load(default_model_path().read_text(encoding="utf-8"))
    regenerated = yaml.safe_load(yaml.safe_dump(build_model(plan, evidence), sort_keys=False))
    _close(regenerated, shipped)


def test_shipped_model_validates_and_every_source_resolves(evidence):
    spec = get_model("imln-erm-synthesis")
    for term in spec.terms:
        assert term.sources, term.name
        for rid in term.sources:
            record = evidence.get(rid)
            evidence.reference(record.citation)
    for s in spec.settings:
        for rid in s.sources:
            evidence.get(rid)
    for key in spec.citations:
        evidence.reference(key)


class TestFeasibleGroupSizes:
    def test_two_group_table_by_brute_force(self, plan, evidence):
        """Veronesi 1985 axillary status, re-derived by a plain loop over every split of 1,119."""
        cohort = next(c for c in plan.cohorts if c.id == "veronesi1985")
        sizes = feasible_group_sizes(cohort, evidence)
        # every config of the size table that reproduces p = 0.007 (either chi-square variant)
        size_events = set()
        for n1 in range(1, 1119):
            n2 = 1119 - n1
            for k1 in range(n1 + 1):
                if abs(100 * k1 / n1 - 16.1) > 0.05 + 1e-9:
                    continue
                for k2 in range(n2 + 1):
                    if abs(100 * k2 / n2 - 24.5) > 0.05 + 1e-9:
                        continue
                    table = [[k1, n1 - k1], [k2, n2 - k2]]
                    ps = [stats.chi2_contingency(table, correction=c)[1] for c in (False, True)]
                    if any(0.0065 <= p < 0.0075 for p in ps):
                        size_events.add(k1 + k2)
        assert set(sizes.total_events) <= size_events
        negatives = []
        for n_pos in range(1, 1119):
            n_neg = 1119 - n_pos
            for k_pos in range(n_pos + 1):
                if abs(100 * k_pos / n_pos - 29.1) > 0.05 + 1e-9:
                    continue
                for k_neg in range(n_neg + 1):
                    if abs(100 * k_neg / n_neg - 9.1) <= 0.05 + 1e-9 and k_pos + k_neg in sizes.total_events:
                        negatives.append(n_neg)
        assert sizes.minimum["veronesi1985-aln-negative"] == min(negatives)
        assert sizes.maximum["veronesi1985-aln-negative"] == max(negatives)

    def test_every_weight_reproduces_its_printed_rate(self, cells, evidence):
        for c in cells:
            v = evidence.get(c.record).values["percent"]
            k = [k for k in range(c.weight_n + 1) if abs(100 * k / c.weight_n - v.number) <= v.rounding_halfwidth + 1e-9]
            assert k, f"{c.record}: no k/{c.weight_n} rounds to {v.printed}"
            # and no smaller group could (for subgroups that do not partition a cohort)
            if c.n_range[1] == 1679:
                for n in range(1, c.weight_n):
                    assert not any(
                        abs(100 * k / n - v.number) <= v.rounding_halfwidth + 1e-9 for k in range(n + 1)
                    )


class TestFit:
    def test_saturated_contrasts_equal_hand_log_odds_ratios(self, cells):
        """A term informed by one two-group table is that table's log odds ratio; SE from the weights."""
        spec = get_model("imln-erm-synthesis")
        by_record = {c.record: c for c in cells}
        for term, (ref, exposed) in {
            "axillary_positive": ("veronesi1985-aln-negative", "veronesi1985-aln-positive"),
            "size_20mm_or_more": ("veronesi1985-size-lt2", "veronesi1985-size-ge2"),
            "site_medial_or_central": ("veronesi1981-imn-lateral", "veronesi1981-imn-medial-central"),
            "age_under_40": ("veronesi1985-age-gt50", "veronesi1985-age-lt40"),
            "age_40_to_50": ("veronesi1985-age-gt50", "veronesi1985-age-41-50"),
        }.items():
            a, b = by_record[ref], by_record[exposed]
            hand = logit(b.rate) - logit(a.rate)
            se = math.sqrt(sum(1 / (c.weight_n * c.rate * (1 - c.rate)) for c in (a, b)))
            t = next(t for t in spec.terms if t.name == term)
            assert t.log_odds == pytest.approx(hand, rel=1e-8), term
            assert t.standard_error == pytest.approx(se, rel=1e-6), term

    def test_pooled_axillary_count_terms_match_direct_likelihood_maximisation(self, cells):
        """Huang's two tables share the 4-6 and >=7 terms: maximise the binomial likelihood with scipy."""
        huang = [c for c in cells if c.cohort == "huang2008"]
        tables = sorted({c.table for c in huang})
        y = np.array([c.rate for c in huang])
        n = np.array([c.weight_n for c in huang], dtype=float)
        x = np.array(
            [[c.table == t for t in tables] + ["axillary_4_to_6" in c.terms, "axillary_7_or_more" in c.terms] for c in huang],
            dtype=float,
        )

        def negloglik(beta):
            p = expit(x @ beta)
            return -np.sum(n * (y * np.log(p) + (1 - y) * np.log(1 - p)))

        direct = optimize.minimize(negloglik, np.zeros(x.shape[1]), method="BFGS", options={"gtol": 1e-10}).x
        fit = fit_glm(cells, [t.name for t in get_model("imln-erm-synthesis").terms])
        for name, value in zip(["axillary_4_to_6", "axillary_7_or_more"], direct[-2:], strict=True):
            assert fit.estimates[fit.parameters.index(name)] == pytest.approx(value, abs=1e-5)

    def test_fitted_rates_reproduce_the_published_subgroups_within_sampling_error(self, cells, capsys):
        spec = get_model("imln-erm-synthesis")
        rows = []
        chi2 = 0.0
        for c, fitted in zip(cells, (fc.fitted for fc in spec.fit.cells), strict=True):
            se = math.sqrt(fitted * (1 - fitted) / c.weight_n)
            z = (c.rate - fitted) / se
            chi2 += z**2
            rows.append(f"{c.record:34s} {c.printed:>6s} {100 * fitted:6.1f}% n>={c.weight_n:<5d} z={z:+.2f}")
            assert abs(z) < 1.96, f"{c.record}: published {c.printed}, fitted {fitted:.3f}"
        p_gof = stats.chi2.sf(chi2, spec.fit.df_residual)
        with capsys.disabled():
            print("\nPublished subgroup rate vs model (weights = smallest feasible group size):")
            print("\n".join(rows))
            print(f"Pearson chi2 = {chi2:.2f} on {spec.fit.df_residual} df, p = {p_gof:.2f}")
        assert chi2 == pytest.approx(spec.fit.pearson_chi2, rel=1e-6)
        assert p_gof > 0.05


def test_a_plan_that_cannot_identify_a_term_is_refused(plan, evidence):
    broken = plan.model_copy(deep=True)
    broken.cohorts = [c for c in broken.cohorts if c.id != "veronesi1981"]
    with pytest.raises(ValueError, match="site_medial_or_central"):
        build_model(broken, evidence)
