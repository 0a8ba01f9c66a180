"""Reconstruct 2×2 tables that agree with printed accuracy figures.

A diagnostic-accuracy row prints rounded percentages over a small integer
count. Only some integer tables (TP, FN, TN, FP) reproduce every printed figure
at its printed precision; enumerating them tells whether the row can be true at
all, and if so which counts lie behind it (a GRIM-style consistency test).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from imln.evidence._records import EvidenceValue

__all__ = ["TwoByTwo", "RATE_DEFINITIONS", "fraction_matches", "reconstruct_tables", "feasible_numerators"]


@dataclass(frozen=True)
class TwoByTwo:
    """Counts of a diagnostic 2×2 table."""

    tp: int
    fn: int
    tn: int
    fp: int

    @property
    def total(self) -> int:
        return self.tp + self.fn + self.tn + self.fp

    @property
    def diseased(self) -> int:
        return self.tp + self.fn

    @property
    def test_positive(self) -> int:
        return self.tp + self.fp

    def rate(self, name: str) -> float | None:
        """A rate defined in RATE_DEFINITIONS, or None when its denominator is 0."""
        numerator, denominator = RATE_DEFINITIONS[name](self)
        return None if denominator == 0 else numerator / denominator

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


#: name -> (numerator, denominator) of each accuracy rate.
RATE_DEFINITIONS = {
    "sensitivity": lambda t: (t.tp, t.tp + t.fn),
    "specificity": lambda t: (t.tn, t.tn + t.fp),
    "accuracy": lambda t: (t.tp + t.tn, t.total),
    "ppv": lambda t: (t.tp, t.tp + t.fp),
    "npv": lambda t: (t.tn, t.tn + t.fn),
}

_COUNT_NAMES = ("tp", "fn", "tn", "fp")


def fraction_matches(numerator: int, denominator: int, printed: EvidenceValue) -> bool:
    """Whether numerator/denominator rounds to the printed rate at its printed precision."""
    if denominator <= 0:
        return False
    return math.isclose(
        numerator / denominator * printed.scale, printed.number, abs_tol=printed.rounding_halfwidth + 1e-9
    )


def feasible_numerators(printed: EvidenceValue, denominator: int) -> list[int]:
    """All integers k in 0..denominator with k/denominator matching the printed rate."""
    if denominator <= 0:
        return []
    target = printed.number / printed.scale * denominator
    lo = max(0, math.floor(target) - 2)
    hi = min(denominator, math.ceil(target) + 2)
    return [k for k in range(lo, hi + 1) if fraction_matches(k, denominator, printed)]


def reconstruct_tables(
    rates: Mapping[str, EvidenceValue],
    total: int,
    counts: Mapping[str, int] | None = None,
    *,
    max_tables: int = 50,
    max_steps: int = 2_000_000,
) -> tuple[list[TwoByTwo], bool]:
    """Integer 2×2 tables over ``total`` subjects reproducing every printed rate.

    ``rates`` maps names from RATE_DEFINITIONS to printed values; ``counts`` may
    fix tp/fn/tn/fp or ``diseased``/``test_positive``. Returns the tables found
    (at most ``max_tables``) and whether the search was exhaustive.
    """
    counts = dict(counts or {})
    tables: list[TwoByTwo] = []
    steps = 0
    sens, spec, acc = rates.get("sensitivity"), rates.get("specificity"), rates.get("accuracy")
    for diseased in _range_or_fixed(counts.get("diseased"), 0, total):
        healthy = total - diseased
        tp_options = feasible_numerators(sens, diseased) if sens else range(diseased + 1)
        for tp in tp_options:
            if acc is not None and spec is None:
                tn_options: Iterable[int] = [
                    k - tp for k in feasible_numerators(acc, total) if 0 <= k - tp <= healthy
                ]
            elif spec is not None:
                tn_options = feasible_numerators(spec, healthy)
            else:
                tn_options = range(healthy + 1)
            for tn in tn_options:
                steps += 1
                if steps > max_steps:
                    return tables, False
                table = TwoByTwo(tp=tp, fn=diseased - tp, tn=tn, fp=healthy - tn)
                if _agrees(table, rates, counts):
                    tables.append(table)
                    if len(tables) >= max_tables:
                        return tables, False
    return tables, True


def _range_or_fixed(fixed: int | None, lo: int, hi: int) -> Iterable[int]:
    if fixed is not None:
        return [fixed] if lo <= fixed <= hi else []
    return range(lo, hi + 1)


def _agrees(table: TwoByTwo, rates: Mapping[str, EvidenceValue], counts: Mapping[str, int]) -> bool:
    for name, printed in rates.items():
        numerator, denominator = RATE_DEFINITIONS[name](table)
        if not fraction_matches(numerator, denominator, printed):
            return False
    for name in _COUNT_NAMES:
        if name in counts and getattr(table, name) != counts[name]:
            return False
    if "test_positive" in counts and table.test_positive != counts["test_positive"]:
        return False
    return True
