"""2×2 reconstruction against brute-force enumeration and round-trip properties."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from imln.evidence import EvidenceValue
from imln.evidence._twobytwo import TwoByTwo, feasible_numerators, reconstruct_tables


def pct(printed: str) -> EvidenceValue:
    return EvidenceValue(printed=printed, unit="percent")


def brute_force(rates: dict[str, EvidenceValue], total: int) -> set[tuple[int, int, int, int]]:
    """Every table over `total` subjects, checked by plain rounding (independent of the module)."""
    found = set()
    for tp, fn, tn in itertools.product(range(total + 1), repeat=3):
        fp = total - tp - fn - tn
        if fp < 0:
            continue
        defs = {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp), "accuracy": (tp + tn, total),
                "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}
        ok = True
        for name, value in rates.items():
            num, den = defs[name]
            if den == 0 or abs(100 * num / den - value.number) > 0.5 * 10 ** -value.decimals + 1e-9:
                ok = False
                break
        if ok:
            found.add((tp, fn, tn, fp))
    return found


class TestAgainstBruteForce:
    def test_small_totals_all_agree(self):
        cases = [
            ({"sensitivity": pct("75%"), "specificity": pct("90%")}, 14),
            ({"sensitivity": pct("66.7%"), "accuracy": pct("80%")}, 15),
            ({"sensitivity": pct("50%"), "specificity": pct("50%"), "accuracy": pct("50%")}, 12),
            ({"ppv": pct("80%"), "npv": pct("75%")}, 13),
            ({"sensitivity": pct("100%"), "specificity": pct("0%")}, 6),
        ]
        for rates, total in cases:
            tables, exhaustive = reconstruct_tables(rates, total, max_tables=10_000)
            assert exhaustive
            assert {(t.tp, t.fn, t.tn, t.fp) for t in tables} == brute_force(rates, total), rates


class TestRoundTrip:
    @settings(max_examples=200, deadline=None)
    @given(
        tp=st.integers(0, 60), fn=st.integers(0, 60), tn=st.integers(0, 60), fp=st.integers(0, 60),
        decimals=st.integers(0, 2),
    )
    def test_true_table_is_always_recovered(self, tp, fn, tn, fp, decimals):
        """Print the rates of any table at some precision: the table must be among the solutions."""
        truth = TwoByTwo(tp, fn, tn, fp)
        rates = {}
        for name in ("sensitivity", "specificity", "accuracy"):
            r = truth.rate(name)
            if r is not None:
                rates[name] = pct(f"{100 * r:.{decimals}f}%")
        if not rates:
            return
        tables, _ = reconstruct_tables(rates, truth.total, max_tables=100_000, max_steps=10_000_000)
        assert truth in tables


def test_feasible_numerators_match_plain_division():
    for denominator in range(1, 60):
        for printed in ("12.5%", "33.3%", "71.8%", "0%", "100%"):
            value = pct(printed)
            expected = [k for k in range(denominator + 1)
                        if abs(100 * k / denominator - value.number) <= 0.5 * 10 ** -value.decimals + 1e-9]
            assert feasible_numerators(value, denominator) == expected
