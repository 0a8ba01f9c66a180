"""Pool the evidence base's diagnostic-accuracy records of one modality (and setting).

Which records enter a pool (each exclusion is reported with its reason, never dropped silently):

1. ``kind: diagnostic_accuracy`` of the modality (and of the setting, when one is asked for);
2. read in the primary paper (``obtained: primary``): figures quoted by a review are left out,
   because the review's row may be the same study as a primary record (the review's MRI row
   and radmed1999 reconstruct to the same table) and its denominators are often unstated;
3. the audit passes or warns, and its 2×2 reconstruction found exactly one table over exactly
   one denominator (the cells then reproduce every printed rate);
4. one record per study (citation): several thresholds of one study are not independent
   studies, so the first in file order is used and the others are listed as excluded;
5. studies are pooled separately by unit of analysis (patients or nodes, the reconstructed
   table's denominator), never mixed.

A group with at least 2 studies is pooled by :func:`imln.synthesis.fit_accuracy` (bivariate
from 4 studies, univariate below); a group of 1 is reported, not pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import expit

from imln.evidence import AuditReport, EvidenceBase, Obtained, audit_evidence, load_evidence

from .reitsma import ReitsmaFit
from .univariate import UnivariateFit, fit_accuracy


@dataclass(frozen=True)
class PoolStudy:
    record_id: str
    citation: str
    unit: str
    setting: str
    tp: int
    fp: int
    fn: int
    tn: int


@dataclass
class AccuracyPool:
    modality: str
    setting: str | None
    unit: str
    studies: list[PoolStudy]
    fit: ReitsmaFit | UnivariateFit | None
    note: str


@dataclass
class PoolReport:
    modality: str
    setting: str | None
    pools: list[AccuracyPool] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "modality": self.modality,
            "setting": self.setting,
            "pools": [
                {
                    "unit": p.unit,
                    "note": p.note,
                    "studies": [s.__dict__ for s in p.studies],
                    "result": p.fit.summary() if p.fit is not None else None,
                    "predictive": _predictive(p.fit) if p.fit is not None else None,
                }
                for p in self.pools
            ],
            "excluded": [{"record": r, "reason": why} for r, why in self.excluded],
        }


def _predictive(fit: ReitsmaFit | UnivariateFit) -> dict:
    """A new study's sensitivity and specificity: median and central interval of the predictive distribution
    (the distribution imaging reads a finding with), at the fit's level."""
    mean, cov = fit.predictive_logits()
    z = float(stats.norm.ppf(1 - (1 - fit.level) / 2))
    sd = np.sqrt(np.diag(cov))
    sens = expit([mean[0], mean[0] - z * sd[0], mean[0] + z * sd[0]])
    spec = 1 - expit([mean[1], mean[1] + z * sd[1], mean[1] - z * sd[1]])
    return {
        "distribution": "(logit sensitivity, logit FPR) ~ normal(mean, covariance); covariance = between-study "
                        "variance + variance of the summary",
        "mean_logit": [float(x) for x in mean],
        "covariance": [[float(x) for x in row] for row in cov],
        "level": fit.level,
        "sensitivity": {"median": float(sens[0]), "lower": float(sens[1]), "upper": float(sens[2])},
        "specificity": {"median": float(spec[0]), "lower": float(spec[1]), "upper": float(spec[2])},
    }


def accuracy_pools(
    modality: str,
    setting: str | None = None,
    evidence: EvidenceBase | None = None,
    audit: AuditReport | None = None,
) -> PoolReport:
    """The pools of one modality (optionally one setting) under the rules in the module docstring."""
    evidence = load_evidence() if evidence is None else evidence
    audit = audit_evidence(evidence) if audit is None else audit
    report = PoolReport(modality, setting)
    groups: dict[str, list[PoolStudy]] = {}
    used_citations: dict[str, str] = {}
    for record in evidence:
        if record.kind.value != "diagnostic_accuracy" or record.modality is None:
            continue
        if str(getattr(record.modality, "value", record.modality)) != modality:
            continue
        rec_setting = str(getattr(record.setting, "value", record.setting))
        if setting is not None and rec_setting != setting:
            report.excluded.append((record.id, f"setting {rec_setting}, not {setting}"))
            continue
        if record.obtained is not Obtained.primary:
            report.excluded.append((record.id, f"obtained {record.obtained.value}: only figures read in the primary paper are pooled"))
            continue
        result = audit[record.id]
        if result.status == "fail":
            report.excluded.append((record.id, "fails the audit"))
            continue
        tables = result.tables
        if len(tables) != 1 or len(next(iter(tables.values()))) != 1:
            n = sum(len(t) for t in tables.values())
            report.excluded.append((record.id, f"2×2 table not identified ({n} candidate tables over {len(tables)} denominators)"))
            continue
        if record.citation in used_citations:
            report.excluded.append((record.id, f"same study as {used_citations[record.citation]} (one record per study)"))
            continue
        label, (table,) = next(iter(tables.items()))
        unit = label.split(" ", 1)[0]
        used_citations[record.citation] = record.id
        groups.setdefault(unit, []).append(
            PoolStudy(record.id, record.citation, unit, rec_setting, table.tp, table.fp, table.fn, table.tn)
        )
    for unit, studies in groups.items():
        if len(studies) < 2:
            report.pools.append(AccuracyPool(modality, setting, unit, studies, None,
                                             f"1 study at the {unit} level: nothing to pool"))
            continue
        fit = fit_accuracy([s.tp for s in studies], [s.fp for s in studies], [s.fn for s in studies],
                           [s.tn for s in studies])
        note = f"{len(studies)} studies at the {unit} level"
        if isinstance(fit, UnivariateFit):
            note += f"; {fit.reason}"
        report.pools.append(AccuracyPool(modality, setting, unit, studies, fit, note))
    return report
