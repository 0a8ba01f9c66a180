"""Accuracy of each imaging modality in the patient's clinical setting, from the evidence base.

:func:`select_accuracy` chooses one diagnostic-accuracy record for a modality
and setting and turns its audited 2×2 table into an
:class:`~imln.imaging.AccuracyPosterior`. The answer, an
:class:`AccuracyChoice`, names the record used, its table (patient- or
node-level, and whether that level was stated or inferred from the
denominator), and every other record of the modality with the reason it was
not used: the audit check that failed, no unique 2×2 table, a setting that
does not apply, or a lower rank.

The rule, in order (documented in :data:`SELECTION_RULE`):

1. Only ``diagnostic_accuracy`` records of the modality, passed through
   :func:`imln.evidence.select_records` with the audit policy (``refuse``
   leaves failed records out with the audit's messages; ``downweight`` keeps
   them with weight 0.25 as a power prior; ``include`` uses them and says so).
2. The record must yield exactly one reconstructed 2×2 table with both
   diseased and non-diseased subjects (a sensitivity alone is not a test).
3. Its setting must apply: the patient's own setting first; then, for some
   settings, declared fallbacks (:data:`SETTING_FALLBACKS`), with a warning.
   After implant reconstruction nothing else is transferred.
4. Among the rest, in order: the record of the criterion that decided the
   result (or, for a reader's call, the record named in ``criteria.yaml``);
   audit status pass before warn before fail; read in the primary source
   before derived before quoted by the review; patient-level before node- or
   lesion-level; more subjects; record id. The best record is used alone:
   studies of different criteria and cohorts are not pooled (the evidence base
   holds no pooled meta-analysis of IMLN imaging accuracy).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from imln._cache import Same
from imln.evidence import (
    AuditPolicy,
    AuditReport,
    EvidenceBase,
    EvidenceRecord,
    Kind,
    Modality,
    Obtained,
    Setting,
    TwoByTwo,
    select_records,
)
from imln.imaging._bayes import (
    JEFFREYS_PRIOR,
    AccuracyDistribution,
    AccuracyPosterior,
    PooledAccuracy,
)

__all__ = [
    "SELECTION_RULE",
    "SETTING_FALLBACKS",
    "AccuracyCandidate",
    "AccuracyChoice",
    "Estimate",
    "PoolUsed",
    "TableUsed",
    "evidence_setting",
    "select_accuracy",
]

SELECTION_RULE = (
    "a meta-analysis pool of the modality (imln.synthesis.accuracy_pools: >= 2 primary studies with identified "
    "2×2 tables, one per study, patients before nodes) in the patient's setting, else in the first declared "
    "fallback setting that has one, is used when no single record ranks in an earlier setting; its predictive "
    "distribution for a new study gives the likelihood ratios. Otherwise "
    "one diagnostic-accuracy record per modality: audit policy applied (select_records); exactly one "
    "reconstructed 2×2 table with diseased and non-diseased subjects; the patient's setting, else a declared "
    "fallback (with a warning; none after implant reconstruction); then the decisive criterion's own record "
    "(or the reader-call record), audit pass > warn > fail, primary > derived > quoted by the review, "
    "patient- > node-/lesion-level, more subjects, record id"
)

#: Evidence settings whose accuracy may stand in for the patient's, in order, when
#: no record of the patient's own setting qualifies. Not data from a source but a
#: policy, shown in every answer. After implant reconstruction nothing is
#: transferred: MRI-visible IMLNs there had a PPV of 0.005 (sutton-implant-mri-ppv).
SETTING_FALLBACKS: dict[Setting, tuple[Setting, ...]] = {
    Setting.newly_diagnosed: (Setting.staging_or_restaging, Setting.mixed, Setting.not_stated),
    Setting.after_nac: (Setting.mixed, Setting.not_stated, Setting.newly_diagnosed, Setting.staging_or_restaging),
    Setting.post_treatment_follow_up: (Setting.staging_or_restaging, Setting.mixed, Setting.not_stated),
    Setting.after_implant_reconstruction: (),
}

_AUDIT_RANK = {"pass": 0, "warn": 1, "fail": 2}
_OBTAINED_RANK = {Obtained.primary: 0, Obtained.derived: 1, Obtained.quoted_by_review: 2}
_LEVEL_RANK = {"patient": 0, "not_stated": 1, "node": 2, "lesion": 2, "breast": 2, "procedure": 2}


class Estimate(BaseModel):
    """A posterior mean with its equal-tailed credible interval."""

    model_config = ConfigDict(frozen=True)

    mean: float
    lower: float
    upper: float
    level: float


class TableUsed(BaseModel):
    """The reconstructed 2×2 table behind an accuracy posterior."""

    model_config = ConfigDict(frozen=True)

    tp: int
    fn: int
    tn: int
    fp: int
    denominator: str = Field(description="Which count the audit reconstructed over, e.g. 'patients (n_patients)'.")
    level: Literal["patient", "node", "lesion", "not_stated"]
    level_basis: str = Field(description="'stated in the record' or 'inferred from the denominator ...'.")


class PoolStudyUsed(BaseModel):
    """One study of a pool: its record and 2×2 table."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    citation: str
    criterion: str | None
    tp: int
    fp: int
    fn: int
    tn: int


class PoolUsed(BaseModel):
    """The meta-analysis pool behind an accuracy: its studies, its model, and its summary and predictive accuracy."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="'modality/setting/unit', as `imln evidence pool --modality M --setting S` shows it.")
    modality: str
    setting: str
    unit: str = Field(description="Unit of analysis of the pooled tables: 'patients' or 'nodes'.")
    model: str
    note: str
    n_studies: int
    studies: list[PoolStudyUsed]
    summary_sensitivity: Estimate = Field(description="Pooled (summary) sensitivity with its confidence interval.")
    summary_specificity: Estimate
    predictive_sensitivity: Estimate = Field(
        description="A new study's sensitivity: mean and central interval of the predictive distribution (used).")
    predictive_specificity: Estimate
    method: str


class AccuracyCandidate(BaseModel):
    """A record of the modality that was considered, and what became of it."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    status: Literal["used", "excluded", "not_chosen"]
    reasons: list[str]
    audit_status: str
    setting: str
    level: str
    obtained: str
    criterion: str | None


class AccuracyChoice(BaseModel):
    """Accuracy of one modality in one setting: the record used, and every record not used, with reasons."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    modality: Modality
    setting: Setting
    policy: AuditPolicy
    record_id: str | None
    citation: str | None = Field(description="Short label of the source.")
    statement: str | None
    criterion: str | None
    record_setting: str | None
    setting_match: Literal["exact", "fallback", "none"]
    table: TableUsed | None
    weight: float | None
    prior: tuple[float, float]
    sensitivity: Estimate | None
    specificity: Estimate | None
    audit_status: str | None
    audit_messages: list[str]
    caveats: list[str] = Field(default_factory=list, description="The record's own caveats (selection, spectrum).")
    reason: str = Field(description="Why this record (or why none).")
    rule: str = SELECTION_RULE
    considered: list[AccuracyCandidate]
    warnings: list[str]
    pool: PoolUsed | None = Field(default=None, description="The pool used, when the accuracy is pooled.")
    pool_note: str | None = Field(default=None, description="Why no pool was used (never silent).")
    posterior: AccuracyDistribution | None = Field(default=None, exclude=True)

    @property
    def usable(self) -> bool:
        return self.posterior is not None

    @property
    def source(self) -> str | None:
        """What the accuracy comes from: the pool's id ('pool us/newly_diagnosed/patients') or the record id."""
        if self.pool is not None:
            return f"pool {self.pool.id}"
        return self.record_id

    @property
    def excluded(self) -> list[AccuracyCandidate]:
        return [c for c in self.considered if c.status == "excluded"]


def evidence_setting(patient: object) -> tuple[Setting, str]:
    """The evidence setting of the patient's imaging, and why (the input does not date imaging against treatment).

    * ``diagnosis`` → newly diagnosed;
    * ``after_nac`` → after NAC;
    * ``after_surgery`` → the imaging is taken to be the preoperative staging:
      after NAC when ``neoadjuvant_chemotherapy`` is true, else newly diagnosed;
    * ``follow_up`` → after implant reconstruction when ``implant_reconstruction``
      is true, else post-treatment follow-up.

    :func:`~imln.imaging.assess_imaging` accepts ``imaging_setting`` to state it instead.
    """
    setting = getattr(getattr(patient, "setting", None), "value", getattr(patient, "setting", None))
    nac = getattr(patient, "neoadjuvant_chemotherapy", None)
    implant = getattr(patient, "implant_reconstruction", None)
    if setting == "diagnosis":
        return Setting.newly_diagnosed, "setting diagnosis"
    if setting == "after_nac":
        return Setting.after_nac, "setting after_nac"
    if setting == "after_surgery":
        if nac:
            return Setting.after_nac, (
                "setting after_surgery with neoadjuvant_chemotherapy true: the findings are taken to be the "
                "preoperative imaging after NAC (pass imaging_setting if they are not)"
            )
        return Setting.newly_diagnosed, (
            "setting after_surgery: the findings are taken to be the preoperative staging imaging "
            "(pass imaging_setting if they are not)"
        )
    if setting == "follow_up":
        if implant:
            return Setting.after_implant_reconstruction, "setting follow_up with implant_reconstruction true"
        return Setting.post_treatment_follow_up, "setting follow_up"
    raise ValueError(f"patient setting must be one of diagnosis, after_nac, after_surgery, follow_up; got {setting!r}")


def _table_of(record: EvidenceRecord, report: AuditReport) -> tuple[TableUsed | None, TwoByTwo | None, str]:
    """The one usable reconstructed table of a record, or why there is none."""
    tables = report[record.id].tables
    if not tables:
        return None, None, "no 2×2 table can be reconstructed from the printed figures (no counts, or none fits)"
    usable: list[tuple[str, TwoByTwo]] = []
    problems = []
    for label, options in tables.items():
        if len(options) != 1:
            problems.append(f"{len(options)}{'+' if len(options) >= 50 else ''} tables fit over {label}")
            continue
        t = options[0]
        if t.tp + t.fn == 0 or t.tn + t.fp == 0:
            problems.append(f"the table over {label} has no {'diseased' if t.tp + t.fn == 0 else 'non-diseased'} subjects")
            continue
        usable.append((label, t))
    if len(usable) != 1:
        if len(usable) > 1:
            problems.append(f"one table each over {', '.join(l for l, _ in usable)}: the level is ambiguous")
        return None, None, "no unique 2×2 table: " + "; ".join(problems)
    label, table = usable[0]
    if record.level.value in ("patient", "node", "lesion"):
        level, basis = record.level.value, "stated in the record"
    elif label.startswith("patients"):
        level, basis = "patient", f"inferred from the denominator {label}; the record does not state its level"
    elif label.startswith("nodes"):
        level, basis = "node", f"inferred from the denominator {label}; the record does not state its level"
    else:
        level, basis = "not_stated", f"over {label}; the level is not stated"
    used = TableUsed(tp=table.tp, fn=table.fn, tn=table.tn, fp=table.fp, denominator=label, level=level,
                     level_basis=basis)
    return used, table, ""


def _estimate(posterior: AccuracyPosterior, which: str, level: float) -> Estimate:
    mean = posterior.sensitivity_mean if which == "sensitivity" else posterior.specificity_mean
    lo, hi = posterior.sensitivity_interval(level) if which == "sensitivity" else posterior.specificity_interval(level)
    return Estimate(mean=mean, lower=lo, upper=hi, level=level)


def _label(evidence: EvidenceBase, record: EvidenceRecord) -> str:
    ref = evidence.references.get(record.primary_citation or record.citation)
    label = ref.label if ref is not None else record.citation
    if record.review_ref and not record.primary_citation:
        label += f" {record.review_ref}"
    return label


def select_accuracy(
    modality: Modality | str,
    setting: Setting | str,
    *,
    evidence: EvidenceBase,
    audit: AuditReport,
    policy: AuditPolicy | str = AuditPolicy.refuse,
    prefer: Sequence[str] = (),
    prefer_reason: str | None = None,
    fallback: bool = True,
    prior: tuple[float, float] = JEFFREYS_PRIOR,
    level: float = 0.95,
) -> AccuracyChoice:
    """Choose the accuracy record for ``modality`` in ``setting`` (see the module docstring for the rule).

    ``prefer`` names records to rank first among those that qualify (the
    accuracy of the criterion that decided a finding); ``fallback=False``
    refuses records of other settings.

    The choice depends only on its arguments, and evidence bases and audits are
    immutable, so it is computed once per process and argument set (the same
    evidence and audit objects) and shared; treat it as read-only.
    """
    return _select_accuracy(Modality(modality), Setting(setting), Same(evidence), Same(audit), AuditPolicy(policy),
                            tuple(prefer), prefer_reason, bool(fallback), tuple(prior), float(level))


@lru_cache(maxsize=512)
def _select_accuracy(
    modality: Modality,
    setting: Setting,
    evidence_key: Same,
    audit_key: Same,
    policy: AuditPolicy,
    prefer: tuple[str, ...],
    prefer_reason: str | None,
    fallback: bool,
    prior: tuple[float, float],
    level: float,
) -> AccuracyChoice:
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    audit: AuditReport = audit_key.obj  # type: ignore[assignment]
    records = [r for r in evidence if r.kind is Kind.diagnostic_accuracy and r.modality is modality]
    selection = select_records(records, audit, policy)
    weights = {r.id: w for r, w in selection.used}
    fallbacks = SETTING_FALLBACKS.get(setting, ()) if fallback else ()
    candidates: list[AccuracyCandidate] = []
    qualified: list[tuple[tuple, EvidenceRecord, TableUsed, TwoByTwo, str]] = []

    def candidate(record: EvidenceRecord, status: str, reasons: list[str]) -> AccuracyCandidate:
        return AccuracyCandidate(
            record_id=record.id, status=status, reasons=reasons, audit_status=audit[record.id].status,
            setting=record.setting.value, level=record.level.value, obtained=record.obtained.value,
            criterion=record.criterion,
        )

    for record, messages in selection.excluded:
        candidates.append(candidate(record, "excluded", [f"audit failed (policy {policy.value}): {m}" for m in messages]))
    for record, _ in selection.used:
        if record.setting is setting:
            setting_rank, match = 0, "exact"
        elif record.setting in fallbacks:
            setting_rank, match = 1 + fallbacks.index(record.setting), "fallback"
        else:
            why = (
                f"setting {record.setting.value} does not apply to {setting.value}"
                + ("" if fallbacks or not fallback else " (no other setting is transferred to this one)")
            )
            candidates.append(candidate(record, "excluded", [why]))
            continue
        table_used, table, problem = _table_of(record, audit)
        if table_used is None:
            candidates.append(candidate(record, "excluded", [problem]))
            continue
        key = (
            setting_rank,
            0 if record.id in prefer else 1,
            prefer.index(record.id) if record.id in prefer else 0,
            _AUDIT_RANK[audit[record.id].status],
            _OBTAINED_RANK[record.obtained],
            _LEVEL_RANK[table_used.level],
            -table.total,
            record.id,
        )
        qualified.append((key, record, table_used, table, match))

    qualified.sort(key=lambda q: q[0])
    warnings: list[str] = []
    settings_order = (setting, *fallbacks)
    pool, pool_rank, pool_note = _find_pool(modality, settings_order, evidence_key, audit_key)
    best_single_rank = qualified[0][0][0] if qualified else len(settings_order)
    if pool is not None and pool_rank <= best_single_rank:
        return _pooled_choice(pool, pool_rank, modality, setting, policy, prior, level, evidence, audit, candidates,
                              qualified)
    if pool is not None:
        pool_note = (f"the {pool.unit}-level pool of setting {pool.setting} is not used: a single record of an "
                     f"earlier-ranked setting ({qualified[0][1].setting.value}) applies")
    if not qualified:
        reason = f"no usable {modality.value} accuracy record for the setting {setting.value}"
        if setting is Setting.after_implant_reconstruction:
            reason += "; " + _implant_reason(evidence)
        elif not fallback:
            reason += " (fallback to other settings refused)"
        return AccuracyChoice(
            modality=modality, setting=setting, policy=policy, record_id=None, citation=None, statement=None,
            criterion=None, record_setting=None, setting_match="none", table=None, weight=None, prior=prior,
            sensitivity=None, specificity=None, audit_status=None, audit_messages=[], reason=reason,
            considered=_ordered(candidates), warnings=[reason], pool_note=pool_note,
        )

    key, record, table_used, table, match = qualified[0]
    weight = weights[record.id]
    posterior = AccuracyPosterior.from_table(table, prior=prior, source=record.id, weight=weight)
    reasons = []
    if record.id in prefer:
        reasons.append(prefer_reason or "the accuracy record of the criterion that decided the result")
    reasons.append(f"{'setting ' + record.setting.value + ' matches' if match == 'exact' else 'fallback setting ' + record.setting.value}")
    reasons.append(f"audit {audit[record.id].status}, {record.obtained.value.replace('_', ' ')}, "
                   f"{table_used.level}-level table over {table_used.denominator} ({table.total} subjects)")
    for other_key, other, _, other_table, _ in qualified[1:]:
        why = _why_below(key, other_key, record, other, audit)
        candidates.append(candidate(other, "not_chosen", [f"ranked below {record.id}: {why}"]))
    candidates.append(candidate(record, "used", reasons))
    if match == "fallback" and record.setting is Setting.not_stated:
        warnings.append(
            f"{record.id} does not state its clinical setting; it is taken to apply to {setting.value}"
        )
    elif match == "fallback":
        warnings.append(
            f"no usable {modality.value} accuracy measured in the setting {setting.value}; using {record.id} "
            f"(setting {record.setting.value}), which may not hold in this setting"
        )
    if audit[record.id].status == "warn":
        warnings.append(f"{record.id} is used with audit warnings: " + "; ".join(audit[record.id].messages))
    if audit[record.id].status == "fail":
        warnings.append(
            f"{record.id} FAILED the evidence audit and is used under policy {policy.value} (weight {weight:g}): "
            + "; ".join(audit[record.id].messages)
        )
    if table_used.level != "patient":
        warnings.append(
            f"{record.id} is a {table_used.level}-level table ({table_used.level_basis}); a patient's result is "
            "read with node-level accuracy"
        )
    return AccuracyChoice(
        modality=modality,
        setting=setting,
        policy=policy,
        record_id=record.id,
        citation=_label(evidence, record),
        statement=record.statement,
        criterion=record.criterion,
        record_setting=record.setting.value,
        setting_match=match,
        table=table_used,
        weight=weight,
        prior=prior,
        sensitivity=_estimate(posterior, "sensitivity", level),
        specificity=_estimate(posterior, "specificity", level),
        audit_status=audit[record.id].status,
        audit_messages=audit[record.id].messages,
        caveats=list(record.caveats),
        reason="; ".join(reasons),
        considered=_ordered(candidates),
        warnings=warnings,
        pool_note=pool_note,
        posterior=posterior,
    )


_UNIT_RANK = {"patients": 0}


@lru_cache(maxsize=256)
def _pool_report(modality: Modality, setting: Setting, evidence_key: Same, audit_key: Same):
    from imln.synthesis.evidence import (
        accuracy_pools,  # imln.synthesis imports imln.evidence only
    )

    return accuracy_pools(modality.value, setting.value, evidence=evidence_key.obj, audit=audit_key.obj)


def _find_pool(modality: Modality, settings: Sequence[Setting], evidence_key: Same, audit_key: Same):
    """The first setting (in order) with a fitted pool, its rank, and, when there is none, why (per setting tried)."""
    why: list[str] = []
    for rank, s in enumerate(settings):
        report = _pool_report(modality, s, evidence_key, audit_key)
        fitted = sorted((p for p in report.pools if p.fit is not None), key=lambda p: _UNIT_RANK.get(p.unit, 1))
        if fitted:
            return fitted[0], rank, None
        found = [f"{len(p.studies)} at the {p.unit} level ({', '.join(st.record_id for st in p.studies)})"
                 for p in report.pools]
        why.append(f"{s.value}: " + ("; ".join(found) if found else "no primary study with an identified 2×2 table"))
    return None, len(settings), (
        f"no {modality.value} pool (a pool needs at least 2 primary studies with an identified 2×2 table at one "
        f"level): " + "; ".join(why)
    )


def _estimate_of(e, level: float) -> Estimate:
    return Estimate(mean=e.estimate, lower=e.lower, upper=e.upper, level=level)


def _pooled_choice(pool, rank: int, modality: Modality, setting: Setting, policy: AuditPolicy,
                   prior: tuple[float, float], level: float, evidence: EvidenceBase, audit: AuditReport,
                   candidates: list[AccuracyCandidate], qualified: list) -> AccuracyChoice:
    """The choice when a pool is used: its predictive distribution, its studies, and every record's fate."""
    pool_id = f"{modality.value}/{pool.setting}/{pool.unit}"
    mean, cov = pool.fit.predictive_logits()
    posterior = PooledAccuracy(mean=(float(mean[0]), float(mean[1])),
                               covariance=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
                               source=f"pool {pool_id}", studies=tuple(st.record_id for st in pool.studies))
    records = {r.id: r for r in evidence}
    studies = [
        PoolStudyUsed(record_id=st.record_id, citation=_label(evidence, records[st.record_id]),
                      criterion=records[st.record_id].criterion, tp=st.tp, fp=st.fp, fn=st.fn, tn=st.tn)
        for st in pool.studies
    ]
    model = ("bivariate random effects (Reitsma), REML" if hasattr(pool.fit, "psi")
             else "separate univariate random effects, REML")
    method = (
        "likelihood ratios drawn from the pool's predictive distribution for a new study (logit-normal with the "
        "between-study variance plus the summary's variance; REML estimates plugged in), not from the confidence "
        "region of the summary point"
    )
    used = PoolUsed(
        id=pool_id, modality=modality.value, setting=pool.setting, unit=pool.unit, model=model, note=pool.note,
        n_studies=len(studies), studies=studies,
        summary_sensitivity=_estimate_of(pool.fit.sensitivity, pool.fit.level),
        summary_specificity=_estimate_of(pool.fit.specificity, pool.fit.level),
        predictive_sensitivity=Estimate(mean=posterior.sensitivity_mean, lower=posterior.sensitivity_interval(level)[0],
                                        upper=posterior.sensitivity_interval(level)[1], level=level),
        predictive_specificity=Estimate(mean=posterior.specificity_mean, lower=posterior.specificity_interval(level)[0],
                                        upper=posterior.specificity_interval(level)[1], level=level),
        method=method,
    )
    in_pool = {st.record_id for st in studies}
    excluded_from_pool = dict(_pool_report(modality, Setting(pool.setting), Same(evidence), Same(audit)).excluded)
    out = list(candidates)
    for _, record, _, _, _ in qualified:
        if record.id in in_pool:
            continue
        why = excluded_from_pool.get(record.id, f"not in the setting {pool.setting} pool")
        out.append(AccuracyCandidate(
            record_id=record.id, status="not_chosen", reasons=[f"pool {pool_id} used instead; not pooled: {why}"],
            audit_status=audit[record.id].status, setting=record.setting.value, level=record.level.value,
            obtained=record.obtained.value, criterion=record.criterion))
    for st in studies:
        record = records[st.record_id]
        out = [c for c in out if c.record_id != st.record_id]
        out.append(AccuracyCandidate(
            record_id=st.record_id, status="used", reasons=[f"one of {len(studies)} studies of pool {pool_id}"],
            audit_status=audit[st.record_id].status, setting=record.setting.value, level=record.level.value,
            obtained=record.obtained.value, criterion=record.criterion))
    warnings: list[str] = []
    if rank > 0:
        warnings.append(f"no {modality.value} pool or record of the setting {setting.value}; using the pool of the "
                        f"setting {pool.setting} ({pool_id}), which may not hold in this setting")
    if pool.unit != "patients":
        warnings.append(f"pool {pool_id} is of {pool.unit}; a patient's result is read with {pool.unit[:-1]}-level "
                        "accuracy")
    if not hasattr(pool.fit, "psi"):
        warnings.append(f"pool {pool_id}: {pool.fit.reason}; sensitivity and specificity pooled separately "
                        "(their correlation ignored)")
    reason = (f"pool {pool_id}: {len(studies)} studies ({', '.join(st.record_id for st in studies)}), {model}; "
              + method)
    return AccuracyChoice(
        modality=modality, setting=setting, policy=policy, record_id=None,
        citation="; ".join(st.citation for st in studies), statement=f"Pooled {modality.value} accuracy ({pool.note}).",
        criterion=None, record_setting=pool.setting, setting_match="exact" if rank == 0 else "fallback", table=None,
        weight=None, prior=prior, sensitivity=used.predictive_sensitivity, specificity=used.predictive_specificity,
        audit_status=None, audit_messages=[], reason=reason, considered=_ordered(out), warnings=warnings, pool=used,
        posterior=posterior,
    )


def _why_below(best: tuple, other: tuple, record: EvidenceRecord, other_record: EvidenceRecord,
               audit: AuditReport) -> str:
    """The first criterion of the ranking on which ``other`` lost to ``best``."""
    index = next(i for i, (a, b) in enumerate(zip(best, other)) if a != b)
    return {
        0: f"setting {other_record.setting.value} ranks after {record.setting.value}",
        1: "not the accuracy record of the deciding criterion (or of the reader's call)",
        2: "listed after it among the deciding criteria",
        3: f"audit {audit[other_record.id].status} ranks after {audit[record.id].status}",
        4: f"{other_record.obtained.value.replace('_', ' ')} ranks after {record.obtained.value.replace('_', ' ')}",
        5: "a node- or lesion-level (or unstated) table ranks after a patient-level one",
        6: f"fewer subjects ({-other[6]} vs {-best[6]})",
        7: "record id order (a tie on every other criterion)",
    }[index]


def _ordered(candidates: list[AccuracyCandidate]) -> list[AccuracyCandidate]:
    order = {"used": 0, "not_chosen": 1, "excluded": 2}
    return sorted(candidates, key=lambda c: (order[c.status], c.record_id))


def _implant_reason(evidence: EvidenceBase) -> str:
    """Why accuracy from other settings is not transferred after implant reconstruction (from the record)."""
    try:
        record = evidence.get("sutton-implant-mri-ppv")
    except KeyError:
        return "accuracy from other settings is not transferred to it"
    value = record.values.get("proportion")
    malignant, total = record.values.get("malignant"), record.values.get("total")
    figures = (
        f"{malignant.printed} of {total.printed} women with MRI-visible IMLNs had a malignant node, PPV "
        f"{value.printed}" if value and malignant and total else record.statement
    )
    return (
        f"after implant reconstruction {figures} ({record.id}); accuracy measured in other settings is not "
        "transferred to it"
    )

