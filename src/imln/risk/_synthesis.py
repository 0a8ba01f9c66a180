"""Synthesise a logistic model from published subgroup rates (no individual patient data).

Method, in three steps (documented for users in ``docs/risk-models.md``):

1. **Group sizes from what was printed.** Papers print "16.1% of tumours < 2 cm"
   without the group size. Every group size n and event count k consistent with
   *all* the paper's printed figures is enumerated: each printed rate must round
   to k/n, the groups of one comparison must add up to the cohort size, the
   comparisons of one cohort must share one total event count, and a printed
   p-value must be reproduced by Pearson's chi-square test (with or without
   Yates' correction for a 2×2 table). Each rate is then weighted by the
   *smallest* n in that feasible set: the true group was at least that large, so
   the fitted standard errors are upper bounds on the sampling error.
2. **Maximum likelihood.** A binomial GLM (logit link) is fitted to the rates
   with those weights. Every published comparison ("table") has its own nuisance
   intercept, so only within-table contrasts inform the shared terms.
3. **Intercept per setting.** The model's intercept is the fitted log-odds of a
   named anchor cell (with its standard error and its covariance with the terms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from imln.evidence import EvidenceBase, load_evidence
from imln.evidence._records import EvidenceValue
from imln.evidence._twobytwo import feasible_numerators

__all__ = [
    "FeasibleSizes",
    "SynthesisPlan",
    "build_model",
    "feasible_group_sizes",
    "load_plan",
]

PLAN_PATH = Path(__file__).parent / "data" / "erm_synthesis_plan.yaml"
SIGNIFICANT_DIGITS = 10


# --------------------------------------------------------------------------- plan


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ValueRef(_Plan):
    record: str
    value: str


class CellPlan(_Plan):
    record: str
    value: str = "percent"
    terms: list[str]


class TablePlan(_Plan):
    name: str
    partition: bool = True
    p_value: ValueRef | None = None
    cells: list[CellPlan] = Field(min_length=2)


class CohortPlan(_Plan):
    id: str
    description: str
    total: ValueRef | None = None
    total_at_most: ValueRef | None = None
    overall: ValueRef | None = None
    tables: list[TablePlan]


class SettingPlan(_Plan):
    id: str
    description: str
    table: str  # "cohort/table name"
    record: str


class SynthesisPlan(_Plan):
    model: dict[str, Any]
    features: list[dict[str, Any]]
    terms: list[dict[str, Any]]
    cohorts: list[CohortPlan]
    settings: list[SettingPlan]
    default_setting: str


def load_plan(path: Path = PLAN_PATH) -> SynthesisPlan:
    return SynthesisPlan.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- feasible sizes


@dataclass(frozen=True)
class FeasibleSizes:
    """Group sizes consistent with every printed figure of one cohort, per cell record."""

    minimum: dict[str, int]
    maximum: dict[str, int]
    total_events: tuple[int, ...]  # feasible cohort event counts (empty when not constrained)
    configurations: int
    how: dict[str, str] = field(default_factory=dict)
    # share of its table's patients in each partition cell, averaged over the feasible
    # configurations (each feasible cohort event total weighted equally, when there are any)
    mean_share: dict[str, float] = field(default_factory=dict)


def _printed_interval(value: EvidenceValue) -> tuple[float, float]:
    half = value.rounding_halfwidth
    return value.number - half, value.number + half


def _numerator_table(rate: EvidenceValue, n_max: int) -> list[list[int]]:
    return [feasible_numerators(rate, n) if n > 0 else [] for n in range(n_max + 1)]


def _chi2_p(n: np.ndarray, k: np.ndarray, *, yates: bool) -> np.ndarray:
    """Pearson chi-square p-values for many 2×c tables at once (rows: configurations)."""
    total_n = n.sum(axis=1, keepdims=True)
    total_k = k.sum(axis=1, keepdims=True)
    expected_k = n * total_k / total_n
    expected_m = n * (total_n - total_k) / total_n
    observed_m = n - k
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_k = np.abs(k - expected_k)
        dev_m = np.abs(observed_m - expected_m)
        if yates:
            dev_k = np.maximum(dev_k - 0.5, 0)
            dev_m = np.maximum(dev_m - 0.5, 0)
        chi2 = np.nansum(dev_k**2 / expected_k + dev_m**2 / expected_m, axis=1)
    return stats.chi2.sf(chi2, df=n.shape[1] - 1)


def _partition_configs(
    rates: Sequence[EvidenceValue], totals: Sequence[int], overall: EvidenceValue | None
) -> tuple[np.ndarray, np.ndarray]:
    """All (n_1..n_c, k_1..k_c) splitting one of ``totals`` into groups matching the rates."""
    c = len(rates)
    if c not in (2, 3):
        raise ValueError("a partition table needs 2 or 3 cells")
    n_max = max(totals)
    tables = [_numerator_table(r, n_max) for r in rates]
    ns: list[tuple[int, ...]] = []
    ks: list[tuple[int, ...]] = []
    for total in totals:
        allowed_k = None
        if overall is not None:
            allowed_k = set(feasible_numerators(overall, total))
            if not allowed_k:
                continue
        if c == 2:
            for n1 in range(1, total):
                n2 = total - n1
                for k1 in tables[0][n1]:
                    for k2 in tables[1][n2]:
                        if allowed_k is None or k1 + k2 in allowed_k:
                            ns.append((n1, n2))
                            ks.append((k1, k2))
        else:
            for n1 in range(1, total - 1):
                if not tables[0][n1]:
                    continue
                for n2 in range(1, total - n1):
                    n3 = total - n1 - n2
                    if not tables[1][n2] or not tables[2][n3]:
                        continue
                    for k1 in tables[0][n1]:
                        for k2 in tables[1][n2]:
                            for k3 in tables[2][n3]:
                                if allowed_k is None or k1 + k2 + k3 in allowed_k:
                                    ns.append((n1, n2, n3))
                                    ks.append((k1, k2, k3))
    return np.asarray(ns, dtype=float).reshape(-1, c), np.asarray(ks, dtype=float).reshape(-1, c)


def feasible_group_sizes(cohort: CohortPlan, evidence: EvidenceBase) -> FeasibleSizes:
    """Enumerate group sizes that reproduce every printed figure of one cohort."""

    def value(ref: ValueRef) -> EvidenceValue:
        return evidence.get(ref.record).values[ref.value]

    def rate(cell: CellPlan) -> EvidenceValue:
        return evidence.get(cell.record).values[cell.value]

    if cohort.total is not None:
        totals = [int(value(cohort.total).number)]
    elif cohort.total_at_most is not None:
        totals = list(range(2, int(value(cohort.total_at_most).number) + 1))
    else:
        raise ValueError(f"cohort {cohort.id}: needs 'total' or 'total_at_most'")
    overall = value(cohort.overall) if cohort.overall else None

    minimum: dict[str, int] = {}
    maximum: dict[str, int] = {}
    how: dict[str, str] = {}
    per_table: list[tuple[TablePlan, np.ndarray, np.ndarray]] = []
    for table in cohort.tables:
        if not table.partition:
            # Subgroups that do not split the cohort: only the printed rate constrains n.
            for cell in table.cells:
                r = rate(cell)
                n = next((n for n in range(1, max(totals) + 1) if feasible_numerators(r, n)), None)
                if n is None:
                    raise ValueError(f"{cell.record}: no group size up to {max(totals)} gives {r.printed}")
                minimum[cell.record], maximum[cell.record] = n, max(totals)
                how[cell.record] = f"smallest n whose k/n rounds to {r.printed}"
            continue
        n, k = _partition_configs([rate(c) for c in table.cells], totals if cohort.total else totals, overall)
        if table.p_value is not None:
            lo, hi = _printed_interval(value(table.p_value))
            p_plain = _chi2_p(n, k, yates=False)
            keep = (p_plain >= lo) & (p_plain < hi)
            if n.shape[1] == 2:
                p_yates = _chi2_p(n, k, yates=True)
                keep |= (p_yates >= lo) & (p_yates < hi)
            n, k = n[keep], k[keep]
        per_table.append((table, n, k))

    events: tuple[int, ...] = ()
    if per_table and cohort.total is not None:
        shared = set.intersection(*(set(k.sum(axis=1).astype(int)) for _, _, k in per_table))
        events = tuple(sorted(shared))
    configurations = 0
    mean_share: dict[str, float] = {}
    for table, n, k in per_table:
        if cohort.total is not None:
            keep = np.isin(k.sum(axis=1).astype(int), events)
            n, k = n[keep], k[keep]
        if len(n) == 0:
            raise ValueError(f"cohort {cohort.id}, table {table.name!r}: no group sizes fit the printed figures")
        configurations += len(n)
        share = n / n.sum(axis=1, keepdims=True)
        if events:
            totals_k = k.sum(axis=1).astype(int)
            share_mean = np.mean([share[totals_k == e].mean(axis=0) for e in events], axis=0)
        else:
            share_mean = share.mean(axis=0)
        for j, cell in enumerate(table.cells):
            mean_share[cell.record] = float(share_mean[j])
        for j, cell in enumerate(table.cells):
            minimum[cell.record] = int(n[:, j].min())
            maximum[cell.record] = int(n[:, j].max())
            parts = ["printed rates", "groups adding up to the cohort"]
            if cohort.total is not None and len(per_table) > 1:
                parts.append("one event total shared by the cohort's comparisons")
            if cohort.overall is not None:
                parts.append(f"overall rate {overall.printed if overall else ''}")
            if table.p_value is not None:
                parts.append(f"p = {value(table.p_value).printed} (Pearson chi-square)")
            how[cell.record] = "smallest n consistent with " + ", ".join(parts)
    return FeasibleSizes(minimum, maximum, events, configurations, how, mean_share)


# --------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class FitCell:
    cohort: str
    table: str
    record: str
    printed: str
    rate: float
    weight_n: int
    n_range: tuple[int, int]
    terms: tuple[str, ...]
    weight_derivation: str


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{SIGNIFICANT_DIGITS}g}")


def fit_cells(plan: SynthesisPlan, evidence: EvidenceBase) -> list[FitCell]:
    cells: list[FitCell] = []
    for cohort in plan.cohorts:
        sizes = feasible_group_sizes(cohort, evidence)
        for table in cohort.tables:
            for cell in table.cells:
                v = evidence.get(cell.record).values[cell.value]
                cells.append(
                    FitCell(
                        cohort=cohort.id,
                        table=table.name,
                        record=cell.record,
                        printed=v.printed,
                        rate=v.as_proportion(),
                        weight_n=sizes.minimum[cell.record],
                        n_range=(sizes.minimum[cell.record], sizes.maximum[cell.record]),
                        terms=tuple(cell.terms),
                        weight_derivation=sizes.how[cell.record],
                    )
                )
    return cells


@dataclass(frozen=True)
class GlmFit:
    parameters: list[str]  # table intercepts ("cohort/table") then term names
    estimates: np.ndarray
    covariance: np.ndarray
    fitted: np.ndarray  # per cell, probability scale
    deviance: float
    pearson_chi2: float
    df_residual: int


def fit_glm(cells: Sequence[FitCell], term_names: Sequence[str]) -> GlmFit:
    """Binomial ML on the cell rates with weights n (statsmodels GLM, scale fixed at 1)."""
    import statsmodels.api as sm

    tables = list(dict.fromkeys(f"{c.cohort}/{c.table}" for c in cells))
    used_terms = [t for t in term_names if any(t in c.terms for c in cells)]
    x = np.zeros((len(cells), len(tables) + len(used_terms)))
    for i, c in enumerate(cells):
        x[i, tables.index(f"{c.cohort}/{c.table}")] = 1.0
        for t in c.terms:
            x[i, len(tables) + used_terms.index(t)] = 1.0
    y = np.array([c.rate for c in cells])
    n = np.array([c.weight_n for c in cells], dtype=float)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("the synthesis plan does not identify every term (design matrix is rank deficient)")
    result = sm.GLM(y, x, family=sm.families.Binomial(), var_weights=n).fit(scale=1.0, tol=1e-12)
    fitted = result.fittedvalues
    pearson = float(np.sum(n * (y - fitted) ** 2 / (fitted * (1 - fitted))))
    return GlmFit(
        parameters=[*tables, *used_terms],
        estimates=np.asarray(result.params),
        covariance=np.asarray(result.cov_params()),
        fitted=np.asarray(fitted),
        deviance=float(result.deviance),
        pearson_chi2=pearson,
        df_residual=int(len(cells) - x.shape[1]),
    )


def _sources_per_term(cells: Sequence[FitCell], plan: SynthesisPlan) -> dict[str, list[str]]:
    """Records of every table in which a term varies (those are the ones that inform it)."""
    out: dict[str, list[str]] = {t["name"]: [] for t in plan.terms}
    by_table: dict[str, list[FitCell]] = {}
    for c in cells:
        by_table.setdefault(f"{c.cohort}/{c.table}", []).append(c)
    for group in by_table.values():
        for term in out:
            present = [term in c.terms for c in group]
            if any(present) and not all(present):
                out[term].extend(c.record for c in group if c.record not in out[term])
    return out


def build_model(plan: SynthesisPlan | None = None, evidence: EvidenceBase | None = None) -> dict[str, Any]:
    """The model specification (a plain dict ready for YAML) that the plan and evidence imply."""
    plan = plan or load_plan()
    evidence = evidence or load_evidence()
    cells = fit_cells(plan, evidence)
    term_names = [t["name"] for t in plan.terms]
    fit = fit_glm(cells, term_names)
    missing = [t for t in term_names if t not in fit.parameters]
    if missing:
        raise ValueError(f"terms with no informative subgroup in the plan: {', '.join(missing)}")
    sources = _sources_per_term(cells, plan)
    index = {p: i for i, p in enumerate(fit.parameters)}
    se = np.sqrt(np.diag(fit.covariance))

    terms = []
    for t in plan.terms:
        i = index[t["name"]]
        terms.append(
            {
                **t,
                "log_odds": _round(fit.estimates[i]),
                "standard_error": _round(se[i]),
                "sources": sources[t["name"]],
                "derivation": "binomial maximum likelihood on published subgroup rates (imln.risk._synthesis)",
            }
        )

    settings = []
    anchor_cov_rows = {}
    for s in plan.settings:
        cell_index = next(i for i, c in enumerate(cells) if c.record == s.record)
        cell = cells[cell_index]
        if f"{cell.cohort}/{cell.table}" != s.table:
            raise ValueError(f"setting {s.id}: record {s.record} is not in table {s.table}")
        # linear predictor of the anchor cell = its table intercept + its terms
        z = np.zeros(len(fit.parameters))
        z[index[s.table]] = 1.0
        for t in cell.terms:
            z[index[t]] = 1.0
        # the model intercept reproduces the anchor cell for a patient at the anchor's term levels
        intercept = float(z @ fit.estimates) - sum(fit.estimates[index[t]] for t in cell.terms)
        zi = z.copy()
        for t in cell.terms:
            zi[index[t]] = 0.0
        anchor_cov_rows[s.id] = zi
        settings.append(
            {
                "id": s.id,
                "description": s.description,
                "intercept": _round(intercept),
                "standard_error": _round(math.sqrt(zi @ fit.covariance @ zi)),
                "anchor": f"fitted rate of {s.record} ({cell.printed}, table {s.table})",
                "sources": [s.record],
            }
        )

    # covariance over (intercept of the default setting, terms): a linear map of the fit's covariance
    names = ["(intercept)", *term_names]
    a = np.zeros((len(names), len(fit.parameters)))
    a[0] = anchor_cov_rows[plan.default_setting]
    for j, t in enumerate(term_names, start=1):
        a[j, index[t]] = 1.0
    cov = a @ fit.covariance @ a.T
    cov = (cov + cov.T) / 2

    fit_data = [
        {
            "record": c.record,
            "cohort": c.cohort,
            "table": c.table,
            "printed": c.printed,
            "weight_n": c.weight_n,
            "n_range": list(c.n_range),
            "weight_derivation": c.weight_derivation,
            "terms": list(c.terms),
            "fitted": _round(float(fit.fitted[i])),
        }
        for i, c in enumerate(cells)
    ]

    m = plan.model
    return {
        "schema_version": "1",
        "id": m["id"],
        "version": m["version"],
        "title": m["title"],
        "summary": m["summary"],
        "obtained": "synthesised_from_aggregate_data",
        "outcome": m["outcome"],
        "ascertainment": m["ascertainment"],
        "intended_population": m["intended_population"],
        "era": m.get("era"),
        "features": plan.features,
        "terms": terms,
        "settings": settings,
        "default_setting": plan.default_setting,
        "covariance": {"parameters": names, "matrix": [[_round(v) for v in row] for row in cov]},
        "performance": [],
        "validation": m["validation"],
        "assumptions": m["assumptions"],
        "limitations": m["limitations"],
        "citations": m["citations"],
        "fit": {
            "method": "binomial GLM (logit), one nuisance intercept per published comparison, "
            "weights = smallest group size consistent with the printed figures",
            "cells": fit_data,
            "deviance": _round(fit.deviance),
            "pearson_chi2": _round(fit.pearson_chi2),
            "df_residual": fit.df_residual,
        },
        "generated_by": "scripts/build_default_risk_model.py from src/imln/risk/data/erm_synthesis_plan.yaml",
    }


HEADER = (
    "# GENERATED by scripts/build_default_risk_model.py from the evidence base and\n"
    "# src/imln/risk/data/erm_synthesis_plan.yaml. Do not edit by hand; regenerate.\n"
)


def default_model_path() -> Path:
    return Path(__file__).parent / "models" / "imln-erm-synthesis.yaml"


def dump_model(model: dict[str, Any]) -> str:
    """YAML text of a model dict, stable across runs (key order kept, floats rounded)."""
    return HEADER + yaml.safe_dump(model, sort_keys=False, allow_unicode=True, width=100)
