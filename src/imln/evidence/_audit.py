"""Evidence audit: internal-consistency checks run on every record.

Each check looks at one record (and, for cross-record checks, the records it
could duplicate or contradict) and returns pass, warn or fail with a message.
A record fails when any check fails. Failed records stay in the evidence base,
marked, so that downstream code can refuse or down-weight them
(:func:`select_records`).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from imln.evidence._load import EvidenceBase
from imln.evidence._records import EvidenceRecord, EvidenceValue, Kind, Obtained, Unit
from imln.evidence._twobytwo import (
    RATE_DEFINITIONS,
    TwoByTwo,
    feasible_numerators,
    fraction_matches,
    reconstruct_tables,
)

__all__ = [
    "AuditPolicy",
    "AuditReport",
    "CheckResult",
    "RecordAudit",
    "Selection",
    "audit_evidence",
    "select_records",
]

Status = Literal["pass", "warn", "fail"]
_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}

#: Rates of a 2×2 table, and values that are percentages of a probability.
_RATE_NAMES = tuple(RATE_DEFINITIONS)
_PROBABILITY_NAMES = {*_RATE_NAMES, "percent", "survival_percent", "event_percent", "false_negative_rate"}
_RATIO_NAMES = {"odds_ratio", "hazard_ratio", "relative_risk", "rate_ratio"}
_PPV_MEASURES = {"imaging_positive_confirmed"}


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "message": self.message}


@dataclass
class RecordAudit:
    """Audit outcome of one record."""

    id: str
    kind: str
    file: str
    results: list[CheckResult] = field(default_factory=list)
    tables: dict[str, list[TwoByTwo]] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        worst = max((r.status for r in self.results), key=_SEVERITY.__getitem__, default="pass")
        return worst

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    @property
    def checks_run(self) -> list[str]:
        return [r.check for r in self.results]

    @property
    def messages(self) -> list[str]:
        return [f"{r.check}: {r.message}" for r in self.results if r.status != "pass"]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "file": self.file,
            "status": self.status,
            "passed": self.passed,
            "checks_run": self.checks_run,
            "checks": [r.as_dict() for r in self.results],
            "messages": self.messages,
            "reconstructed_tables": {
                denominator: [t.as_dict() for t in tables] for denominator, tables in self.tables.items()
            },
        }


@dataclass
class AuditReport:
    """Audit of a whole evidence base, one entry per record."""

    evidence_version: str
    evidence_digest: str
    records: dict[str, RecordAudit]

    def __getitem__(self, record_id: str) -> RecordAudit:
        return self.records[record_id]

    def __iter__(self):
        return iter(self.records.values())

    @property
    def summary(self) -> dict[str, int]:
        counts = {"records": len(self.records), "pass": 0, "warn": 0, "fail": 0}
        for audit in self.records.values():
            counts[audit.status] += 1
        return counts

    def as_dict(self) -> dict:
        return {
            "evidence_version": self.evidence_version,
            "evidence_digest": self.evidence_digest,
            "summary": self.summary,
            "records": [a.as_dict() for a in self.records.values()],
        }


# --------------------------------------------------------------------------- checks


@dataclass
class _Context:
    evidence: EvidenceBase
    by_quantity: dict[tuple, list[EvidenceRecord]]
    by_factor: dict[tuple[str, str], list[EvidenceRecord]]


Check = Callable[[EvidenceRecord, _Context, RecordAudit], CheckResult | None]
_CHECKS: list[tuple[str, Check]] = []


def _check(name: str):
    def register(fn: Check) -> Check:
        _CHECKS.append((name, fn))
        return fn

    return register


def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name, "pass", message)


def _warn(name: str, message: str) -> CheckResult:
    return CheckResult(name, "warn", message)


def _fail(name: str, message: str) -> CheckResult:
    return CheckResult(name, "fail", message)


@_check("citation_resolves")
def _citation_resolves(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult:
    keys = [record.citation] + ([record.primary_citation] if record.primary_citation else [])
    missing = [k for k in keys if k not in ctx.evidence.references]
    if missing:
        return _fail("citation_resolves", f"citation key(s) {missing} not in references.yaml")
    return _ok("citation_resolves", "; ".join(ctx.evidence.references[k].label for k in keys))


@_check("value_ranges")
def _value_ranges(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult:
    problems = []
    for name, value in record.values.items():
        problems.extend(_range_problems(name, value))
    if problems:
        return _fail("value_ranges", "; ".join(problems))
    return _ok("value_ranges", f"{len(record.values)} value(s) within the range of their unit")


def _range_problems(name: str, value: EvidenceValue) -> list[str]:
    x, problems = value.number, []
    if value.unit is Unit.percent and not 0 <= x <= 100:
        problems.append(f"{name}={value.printed} is outside 0–100%")
    if value.unit in (Unit.proportion, Unit.area_under_curve, Unit.p_value) and not 0 <= x <= 1:
        problems.append(f"{name}={value.printed} is outside 0–1")
    if value.unit is Unit.count and value.decimals:
        problems.append(f"{name}={value.printed} is a count but not a whole number")
    if value.unit is Unit.ratio and x <= 0:
        problems.append(f"{name}={value.printed} is a ratio but not positive")
    if name in _PROBABILITY_NAMES and value.unit not in (Unit.percent, Unit.proportion):
        problems.append(f"{name} must be in percent or proportion, not {value.unit.value}")
    if name in _RATIO_NAMES and value.unit is not Unit.ratio:
        problems.append(f"{name} must have unit 'ratio', not {value.unit.value}")
    ci = value.ci_numbers
    if ci is not None:
        lo, hi = ci
        tol = value.rounding_halfwidth + 1e-9
        if lo > hi:
            problems.append(f"{name} CI {value.ci95} has lower bound above upper bound")
        elif value.qualifier is None and not (lo - tol <= x <= hi + tol):
            problems.append(f"{name}={value.printed} lies outside its own 95% CI {value.ci95}")
    return problems


@_check("percent_denominators")
def _percent_denominators(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    pairs = [(n, v, record.values[v.denominator]) for n, v in record.values.items() if v.denominator]
    pairs = [(n, v, d) for n, v, d in pairs if v.unit in (Unit.percent, Unit.proportion) and v.qualifier is None]
    if not pairs:
        return None
    problems, notes, truncated = [], [], []
    for name, value, denom in pairs:
        n = int(denom.number)
        if value.numerator is not None:
            numerator = record.values[value.numerator]
            k = int(numerator.number)
            if k > n:
                problems.append(f"{value.numerator} {numerator.printed} exceeds its denominator {denom.printed}")
            elif not fraction_matches(k, n, value):
                exact = f"{100 * k / n:.{value.decimals + 2}f}%"
                if _truncates_to(k, n, value):
                    truncated.append(f"{name}={value.printed} is {k}/{n} = {exact} truncated, not rounded")
                else:
                    problems.append(f"{name}={value.printed} but {k}/{n} = {exact}")
            else:
                notes.append(f"{name}={value.printed} = {k}/{n}")
            continue
        feasible = feasible_numerators(value, n)
        if not feasible:
            problems.append(f"{name}={value.printed} is impossible for a denominator of {n}: no k/{n} rounds to it")
        else:
            notes.append(f"{name}={value.printed} is attainable as {feasible[0]}/{n}")
    if problems:
        return _fail("percent_denominators", "; ".join(problems + truncated))
    if truncated:
        return _warn("percent_denominators", "; ".join(truncated))
    return _ok("percent_denominators", "; ".join(notes))


def _truncates_to(numerator: int, denominator: int, printed: EvidenceValue) -> bool:
    """Whether the printed rate is the exact rate cut (not rounded) at the printed precision."""
    scale = 10**printed.decimals
    exact = numerator / denominator * printed.scale
    return math.isclose(math.floor(exact * scale + 1e-9) / scale, printed.number, abs_tol=1e-9)


@_check("accuracy_between_sensitivity_and_specificity")
def _accuracy_bounds(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    sens, spec, acc = (record.values.get(k) for k in ("sensitivity", "specificity", "accuracy"))
    if record.kind is not Kind.diagnostic_accuracy or not (sens and spec and acc):
        return None
    s, p, a = sens.as_proportion(), spec.as_proportion(), acc.as_proportion()
    tol = (max(sens.rounding_halfwidth, spec.rounding_halfwidth, acc.rounding_halfwidth) + 1e-9) / acc.scale
    lo, hi = min(s, p), max(s, p)
    name = "accuracy_between_sensitivity_and_specificity"
    if not lo - tol <= a <= hi + tol:
        return _fail(
            name,
            f"accuracy {acc.printed} lies outside [{sens.printed} sensitivity, {spec.printed} specificity]; "
            "accuracy is a prevalence-weighted mean of the two, so these figures cannot all hold",
        )
    if math.isclose(s, p):
        return _ok(name, "sensitivity equals specificity; accuracy must equal both and does")
    prevalence = (a - p) / (s - p)
    return _ok(name, f"accuracy implies a prevalence of {prevalence:.1%} among those tested")


@_check("two_by_two_reconstruction")
def _two_by_two(record: EvidenceRecord, ctx: _Context, audit: RecordAudit) -> CheckResult | None:
    if record.kind is not Kind.diagnostic_accuracy:
        return None
    rates = {n: v for n, v in record.values.items() if n in _RATE_NAMES and v.qualifier is None}
    denominators = _candidate_denominators(record)
    name = "two_by_two_reconstruction"
    if not rates or not denominators:
        return _warn(name, "no count to reconstruct a 2×2 table from; the figures cannot be checked")
    counts = {n: int(v.number) for n, v in record.values.items() if n in ("tp", "fn", "tn", "fp")}
    if "n_diseased" in record.values:
        counts["diseased"] = int(record.values["n_diseased"].number)
    if "n_test_positive" in record.values:
        counts["test_positive"] = int(record.values["n_test_positive"].number)

    found, padded_found, underdetermined = {}, {}, []
    for label, total in denominators.items():
        tables, exhaustive = reconstruct_tables(rates, total, counts)
        if tables:
            found[label] = tables
            if len(tables) > 1 or not exhaustive:
                underdetermined.append(label)
            continue
        relaxed = {n: _without_padding(v) for n, v in rates.items()}
        if relaxed != rates:
            tables, exhaustive = reconstruct_tables(relaxed, total, counts)
            if tables:
                padded_found[label] = tables
    audit.tables = {**found, **padded_found}
    if found:
        text = "; ".join(_describe_tables(label, tables, label in underdetermined) for label, tables in found.items())
        if len(rates) < 2:
            return _warn(
                name, f"only {', '.join(rates)} is printed, so the table is not identified: {text}"
            )
        if set(found) == set(underdetermined):
            return _warn(name, f"consistent but not uniquely identified: {text}")
        thin = _thin_margins(next(t[0] for label, t in found.items() if label not in underdetermined))
        if thin:
            return _warn(name, f"{text}; {thin}")
        return _ok(name, text)
    if padded_found:
        padded = ", ".join(v.printed for v in rates.values() if _without_padding(v) != v)
        text = "; ".join(_describe_tables(label, t, len(t) > 1) for label, t in padded_found.items())
        return _warn(
            name,
            f"no integer table reproduces {padded} at the printed precision; reading trailing zeros as "
            f"padding it is consistent: {text}",
        )
    tried = ", ".join(f"{label}={total}" for label, total in denominators.items())
    return _fail(name, f"no integer 2×2 table over {tried} reproduces {_list_printed(rates)}")


#: Below this many subjects a rate's interval is wide enough to say so.
SMALL_DENOMINATOR = 5


def _thin_margins(table: TwoByTwo) -> str:
    """Warn when sensitivity or specificity rests on very few subjects."""
    notes = []
    if 0 < table.diseased < SMALL_DENOMINATOR:
        notes.append(f"sensitivity rests on {table.diseased} diseased subject(s)")
    if 0 < table.total - table.diseased < SMALL_DENOMINATOR:
        notes.append(f"specificity rests on {table.total - table.diseased} non-diseased subject(s)")
    return " and ".join(notes)


def _candidate_denominators(record: EvidenceRecord) -> dict[str, int]:
    """Totals a record's rates may be over: node count, patient count, or an explicit total."""
    names = {"n_total": "total", "n_imln": "nodes", "n_nodes": "nodes", "n_patients": "patients"}
    level_first = {"node": ("n_imln", "n_nodes"), "patient": ("n_patients",)}.get(record.level.value)
    out = {}
    for key, label in names.items():
        if key in record.values and (level_first is None or key in level_first or key == "n_total"):
            out[f"{label} ({key})"] = int(record.values[key].number)
    return out


def _without_padding(value: EvidenceValue) -> EvidenceValue:
    num_text = value.printed.rstrip("%").strip()
    if "." not in num_text:
        return value
    stripped = num_text.rstrip("0").rstrip(".")
    if stripped == num_text:
        return value
    return value.model_copy(update={"printed": stripped + ("%" if value.printed.strip().endswith("%") else "")})


def _list_printed(rates: dict[str, EvidenceValue]) -> str:
    return ", ".join(f"{n} {v.printed}" for n, v in rates.items())


def _describe_tables(label: str, tables: list[TwoByTwo], underdetermined: bool) -> str:
    if not underdetermined:
        t = tables[0]
        return f"over {label}: TP {t.tp}, FN {t.fn}, TN {t.tn}, FP {t.fp}"
    first = tables[0]
    return (
        f"over {label}: {len(tables)}{'+' if len(tables) >= 50 else ''} tables fit, "
        f"e.g. TP {first.tp}, FN {first.fn}, TN {first.tn}, FP {first.fp}"
    )


def _ref_numbers(review_ref: str | None) -> set[int]:
    numbers: set[int] = set()
    for a, b in re.findall(r"(\d+)\s*(?:[–-]\s*(\d+))?", review_ref or ""):
        numbers.update(range(int(a), int(b or a) + 1))
    return numbers


def _same_source(a: EvidenceRecord, b: EvidenceRecord) -> bool:
    if a.primary_citation and a.primary_citation in (b.primary_citation, b.citation):
        return True
    if b.primary_citation and b.primary_citation in (a.primary_citation, a.citation):
        return True
    if a.citation == b.citation and a.review_ref and b.review_ref:
        return bool(_ref_numbers(a.review_ref) & _ref_numbers(b.review_ref))
    return False


def _same_statement_source(a: EvidenceRecord, b: EvidenceRecord) -> bool:
    """Stricter than _same_source: quoted figures must cite exactly the same references."""
    if a.primary_citation or b.primary_citation:
        return _same_source(a, b)
    if a.citation != b.citation:
        return False
    return _ref_numbers(a.review_ref) == _ref_numbers(b.review_ref)


def _compare_values(a: EvidenceValue, b: EvidenceValue) -> Literal["same", "differ", "bound_ok", "skip"]:
    """Compare two printed values at their precision; an inequality is checked as a bound."""
    if a.unit != b.unit:
        return "differ"
    tol = max(a.rounding_halfwidth, b.rounding_halfwidth) + 1e-9
    qa, qb = a.qualifier, b.qualifier
    if qa == "~" or qb == "~" or (qa and qb):
        return "skip"
    if qa or qb:
        bound, point = (a, b) if qa else (b, a)
        q, x, limit = bound.qualifier, point.number, bound.number
        holds = {"<": x < limit + tol, "<=": x <= limit + tol, "≤": x <= limit + tol,
                 ">": x > limit - tol, ">=": x >= limit - tol, "≥": x >= limit - tol}[q]
        return "bound_ok" if holds else "differ"
    return "same" if abs(a.number - b.number) <= tol else "differ"


@_check("ppv_reported_as_sensitivity")
def _ppv_as_sensitivity(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    sens = record.values.get("sensitivity")
    if record.kind is not Kind.diagnostic_accuracy or sens is None:
        return None
    name = "ppv_reported_as_sensitivity"
    for other in ctx.evidence.records:
        if other.id == record.id or other.modality not in (record.modality, None):
            continue
        if not _same_source(record, other):
            continue
        ppv = other.values.get("ppv") or (other.values.get("percent") if other.measures in _PPV_MEASURES else None)
        if ppv is None:
            continue
        if ppv.qualifier is None and abs(ppv.as_proportion() - sens.as_proportion()) * 100 <= max(
            sens.rounding_halfwidth, ppv.rounding_halfwidth
        ) + 1e-9:
            return _fail(
                name,
                f"sensitivity {sens.printed} equals the positive predictive value {ppv.printed} that the same "
                f"source reports ({other.id}): probably a PPV printed as sensitivity",
            )
        if ppv.qualifier in (">", ">=", "≥") and "specificity" not in record.values:
            return _warn(
                name,
                f"only a sensitivity ({sens.printed}) is printed, and the same source is cited for a PPV "
                f"{ppv.printed} ({other.id}); without specificity it cannot be told apart from a PPV",
            )
    return _ok(name, "no PPV from the same source matches the printed sensitivity")


def _quantity_key(record: EvidenceRecord) -> tuple:
    return (
        record.measures,
        tuple(sorted(record.stratum.items())),
        record.setting.value,
        record.level.value,
        record.modality.value if record.modality else None,
        record.criterion,
        record.factor,
    )


@_check("duplicates_and_conflicts")
def _duplicates(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    name = "duplicates_and_conflicts"
    peers = [
        r for r in ctx.by_quantity[_quantity_key(record)] if r.id != record.id and _same_statement_source(record, r)
    ]
    if not peers:
        return _ok(name, "no other record of the same quantity from the same source")
    results = []
    for other in peers:
        verdicts = {n: _compare_values(record.values[n], other.values[n]) for n in set(record.values) & set(other.values)}
        common = sorted(n for n, v in verdicts.items() if v != "skip")
        differing = [n for n in common if verdicts[n] == "differ"]
        if differing:
            detail = ", ".join(f"{n} {record.values[n].printed} vs {other.values[n].printed}" for n in differing)
            if record.obtained is Obtained.primary and other.obtained is Obtained.quoted_by_review:
                results.append(_warn(name, f"a secondary source quotes this differently ({other.id}: {detail})"))
            elif record.obtained is Obtained.quoted_by_review and other.obtained is Obtained.primary:
                results.append(_fail(name, f"disagrees with the primary source ({other.id}: {detail})"))
            else:
                results.append(_fail(name, f"conflicts with {other.id} from the same source: {detail}"))
        elif common and all(verdicts[n] == "bound_ok" for n in common):
            results.append(_ok(name, f"consistent with the bound in {other.id}"))
        elif not common:
            continue
        elif record.obtained != other.obtained:
            results.append(_ok(name, f"agrees with {other.id} ({other.obtained.value})"))
        else:
            results.append(_warn(name, f"duplicates {other.id}: same quantity, source and value(s)"))
    if not results:
        return _ok(name, "records of the same quantity share no value to compare")
    return max(results, key=lambda r: _SEVERITY[r.status])


@_check("derivation_reproduces")
def _derivation(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    if record.obtained is not Obtained.derived:
        return None
    name = "derivation_reproduces"
    missing = [rid for rid in record.derived_from if rid not in ctx.evidence]
    if missing:
        return _fail(name, f"derived from record(s) {missing}, which are not in the evidence base")
    formula = record.formula
    if formula is None:
        return _warn(name, "derivation is described in words only; it cannot be recomputed")
    operands = []
    for operand in formula.operands:
        rid, vname = operand.split(":")
        if rid not in ctx.evidence or vname not in ctx.evidence.get(rid).values:
            return _fail(name, f"operand {operand!r} does not exist")
        operands.append(ctx.evidence.get(rid).values[vname])
    a, b = operands
    target = record.values[formula.target]
    try:
        result = _apply(formula.op, a, b)
    except (ZeroDivisionError, TypeError) as exc:
        return _fail(name, f"cannot compute {formula.op}: {exc}")
    if math.isclose(result, target.number, abs_tol=target.rounding_halfwidth + 1e-9):
        return _ok(name, f"{formula.op}({a.printed}, {b.printed}) = {result:.4g}, printed {target.printed}")
    return _fail(name, f"{formula.op}({a.printed}, {b.printed}) = {result:.4g}, but {target.printed} is recorded")


def _apply(op: str, a: EvidenceValue, b: EvidenceValue) -> float:
    if op == "odds_ratio":
        pa, pb = a.as_proportion(), b.as_proportion()
        return (pa / (1 - pa)) / (pb / (1 - pb))
    if op == "ratio":
        return a.number / b.number
    if op == "difference":
        return a.number - b.number
    if op == "proportion":
        return 100.0 * a.number / b.number
    raise TypeError(f"unknown operation {op!r}")


@_check("direction_agrees_across_sources")
def _direction(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    if record.kind is not Kind.association:
        return None
    name = "direction_agrees_across_sources"
    others = [r for r in ctx.by_factor[(record.factor or "", record.measures)] if r.id != record.id]
    opposed = [r for r in others if _directions_conflict(record, r)]
    if opposed:
        detail = ", ".join(f"{r.id} says {r.direction}" for r in opposed)
        return _warn(name, f"this record says {record.factor} {record.direction} {record.measures}; {detail}")
    return _ok(name, f"{len(others)} other source(s) agree on the direction" if others else "no other source")


def _directions_conflict(a: EvidenceRecord, b: EvidenceRecord) -> bool:
    """Opposite signs always conflict; 'no effect' conflicts only within the same kind of analysis."""
    if a.direction == b.direction:
        return False
    if {a.direction, b.direction} == {"increases", "decreases"}:
        return True
    analysis_a, analysis_b = a.stratum.get("analysis"), b.stratum.get("analysis")
    if analysis_a and analysis_b and analysis_a != analysis_b:
        return False  # e.g. univariable association lost after adjustment
    return not (_same_source(a, b) and a.stratum != b.stratum)


_NUMBER_IN_TEXT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])")


@_check("indication_numbers_in_quote")
def _indication_numbers(record: EvidenceRecord, ctx: _Context, _: RecordAudit) -> CheckResult | None:
    """Every number of an indication's criteria is printed in its quote (none is added by imln)."""
    if record.kind is not Kind.indication or record.indication is None:
        return None
    name = "indication_numbers_in_quote"
    printed = {float(m) for m in _NUMBER_IN_TEXT.findall(record.indication.quote.replace(",", ""))}
    wanted = record.indication.applies_when.numbers()
    absent = sorted({n for n in wanted if n not in printed})
    if absent:
        return _fail(name, f"criteria numbers {[f'{n:g}' for n in absent]} are not printed in the quote")
    return _ok(name, f"{len(wanted)} criteria number(s), each printed in the quote" if wanted
               else "the criteria hold no number")


# --------------------------------------------------------------------------- driver


def audit_evidence(evidence: EvidenceBase) -> AuditReport:
    """Run every check on every record of ``evidence``."""
    by_quantity: dict[tuple, list[EvidenceRecord]] = defaultdict(list)
    by_factor: dict[tuple[str, str], list[EvidenceRecord]] = defaultdict(list)
    for record in evidence:
        by_quantity[_quantity_key(record)].append(record)
        if record.kind is Kind.association:
            by_factor[(record.factor or "", record.measures)].append(record)
    ctx = _Context(evidence, by_quantity, by_factor)
    audits: dict[str, RecordAudit] = {}
    for record in evidence:
        audit = RecordAudit(id=record.id, kind=record.kind.value, file=evidence.files.get(record.id, ""))
        for _, check in _CHECKS:
            result = check(record, ctx, audit)
            if result is not None:
                audit.results.append(result)
        audits[record.id] = audit
    return AuditReport(evidence.version, evidence.digest, audits)


class AuditPolicy(StrEnum):
    """What downstream code does with records the audit failed."""

    refuse = "refuse"  # leave failed records out
    downweight = "downweight"  # keep them with a reduced weight
    include = "include"  # use them as they are (say so in the output)


@dataclass
class Selection:
    """Records chosen for a computation, with weights, and those left out with reasons."""

    used: list[tuple[EvidenceRecord, float]]
    excluded: list[tuple[EvidenceRecord, list[str]]]

    def describe(self) -> list[str]:
        lines = [f"used {r.id} (weight {w:g})" for r, w in self.used]
        lines += [f"excluded {r.id}: {'; '.join(reasons)}" for r, reasons in self.excluded]
        return lines


def select_records(
    records: Iterable[EvidenceRecord],
    report: AuditReport,
    policy: AuditPolicy | str = AuditPolicy.refuse,
    *,
    failed_weight: float = 0.25,
    warned_weight: float = 1.0,
) -> Selection:
    """Apply an audit policy to ``records``: the single place downstream code consults the audit."""
    policy = AuditPolicy(policy)
    if not 0 <= failed_weight <= 1 or not 0 <= warned_weight <= 1:
        raise ValueError("weights must lie in [0, 1]")
    used, excluded = [], []
    for record in records:
        audit = report[record.id]
        if audit.status == "fail" and policy is AuditPolicy.refuse:
            excluded.append((record, audit.messages))
        elif audit.status == "fail" and policy is AuditPolicy.downweight:
            used.append((record, failed_weight))
        elif audit.status == "warn":
            used.append((record, warned_weight))
        else:
            used.append((record, 1.0))
    return Selection(used, excluded)


def record_summary(record: EvidenceRecord, audit: AuditReport) -> dict[str, Any]:
    """One record in the short JSON layout that `imln evidence list` and the HTTP API share."""
    return {
        "id": record.id,
        "kind": record.kind.value,
        "measures": record.measures,
        "modality": record.modality.value if record.modality else None,
        "setting": record.setting.value,
        "citation": record.citation,
        "values": {k: v.printed for k, v in record.values.items()},
        "audit_status": audit[record.id].status,
    }
