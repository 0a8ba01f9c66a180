"""Command-line interface: ``imln assess``, ``imln fhir``, ``imln evidence …``, ``imln schema``.

Every command renders objects computed elsewhere; ``imln assess`` opens with the summary of
the presentation model (:func:`imln.report.present`: the probability the decision used, its
interval, the recommendation and its key reasons, IMN radiotherapy in percentage points,
unused inputs), the same figures the web page, the report and the FHIR export show; ``--json`` prints them in the
stable layout documented in ``docs/json-output.md``. Input problems exit with
status 2 and a message naming each offending field; nothing prints a traceback.
"""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from imln import __version__
from imln._assessment import Assessment, assess
from imln.decision import DecisionAssessment
from imln.evidence import (
    AuditReport,
    EvidenceBase,
    EvidenceError,
    EvidenceRecord,
    Kind,
    Modality,
    Setting,
    audit_evidence,
    load_evidence,
    record_summary,
)
from imln.imaging import ImagingAssessment
from imln.report import Presentation
from imln.risk import (
    MissingPredictorError,
    ModelSpec,
    ModelSpecError,
    RiskPrediction,
    add_model,
    get_model,
    list_models,
    predict_risk,
)
from imln.risk._spec import odds_ratio_ci95
from imln.schema import PatientInputError, load_patient, patient_json_schema

app = typer.Typer(
    name="imln",
    help="Decision support for internal mammary lymph node (IMLN) metastasis. Not a medical device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evidence_app = typer.Typer(help="List, show and audit the bundled evidence.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
models_app = typer.Typer(help="List, show, add and compare pre-test risk models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
from imln.modeling._cli import app as model_app

app.add_typer(model_app, name="model", help="Fit, validate, calibrate and export models on your own cohort.")

out = Console()
err = Console(stderr=True)

_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (layout: docs/json-output.md).")]
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Evidence folder with a manifest.yaml (default: the bundled evidence).",
                 exists=True, file_okay=False, dir_okay=True),
]


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _evidence(data_dir: Path | None) -> tuple[EvidenceBase, AuditReport]:
    try:
        evidence = load_evidence(data_dir)
    except EvidenceError as exc:
        raise _fail(f"the evidence files are malformed:\n{exc}") from None
    return evidence, audit_evidence(evidence)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"imln {__version__}, evidence {load_evidence().version}")
        raise typer.Exit(0)


# --------------------------------------------------------------------------- assess


@app.command("assess")
def assess_command(
    patient_file: Annotated[Path, typer.Argument(help="Patient file (YAML or JSON); see `imln schema patient`.")],
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
    risk_model: Annotated[
        str | None, typer.Option("--risk-model", help="Pre-test model id (see `imln models list`).")
    ] = None,
    pretest: Annotated[
        float | None,
        typer.Option("--pretest", min=0.0001, max=0.9999,
                     help="Your own pre-test probability (0.0001–0.9999) instead of the model's."),
    ] = None,
    figures: Annotated[
        Path | None,
        typer.Option("--figures", file_okay=False, dir_okay=True,
                     help="Write the Fagan nomogram and the pre→post chart (PNG and SVG) to this folder."),
    ] = None,
) -> None:
    """Validate a patient file and assess it against the evidence."""
    try:
        patient = load_patient(patient_file)
    except PatientInputError as exc:
        if as_json:
            _print_json({"error": "invalid patient input", **exc.to_dict()})
            raise typer.Exit(2) from None
        raise _fail(str(exc)) from None
    evidence, audit = _evidence(data_dir)
    if risk_model is not None:
        try:
            get_model(risk_model)
        except ModelSpecError as exc:
            raise _fail(str(exc)) from None
    assessment = assess(patient, evidence=evidence, audit=audit, risk_model=risk_model, pretest=pretest)
    written: list[Path] = []
    if figures is not None and assessment.imaging is not None:
        from imln.imaging import save_figures

        try:
            written = save_figures(assessment.imaging, figures)
        except OSError as exc:
            raise _fail(f"cannot write figures to {figures}: {exc}") from None
    if as_json:
        _print_json(assessment.model_dump(mode="json"))
    else:
        _render_assessment(assessment, patient_file)
        if figures is not None:
            if written:
                out.print("[dim]Figures: " + ", ".join(escape(str(p)) for p in written) + "[/]")
            else:
                out.print("[dim]No figures: they need imaging findings and a single pre-test probability.[/]")


IDENTIFIER_SYSTEM_ENV = "IMLN_FHIR_IDENTIFIER_SYSTEM"


def _configured_identifier_system() -> str | None:
    """``fhir_identifier_system`` from the config file (the service's settings), if the ``api`` extra is there."""
    try:
        from pydantic import ValidationError

        from imln.api._settings import Settings, config_file_path, settings_problems
    except ImportError:
        return None
    try:
        return Settings().fhir_identifier_system
    except ValidationError as exc:
        raise _fail(f"invalid configuration (IMLN_* variables or {config_file_path()}): {settings_problems(exc)}") from None


@app.command("fhir")
def fhir_command(
    patient_file: Annotated[Path, typer.Argument(help="Patient file (YAML or JSON); see `imln schema patient`.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", dir_okay=False, help="Write the JSON here (default: standard output).")] = None,
    identifier_system: Annotated[str | None, typer.Option(
        "--identifier-system", envvar=IDENTIFIER_SYSTEM_ENV, show_envvar=True,
        help="Namespace (absolute URI, e.g. urn:oid:1.2.3 or https://hospital.example/pseudonyms) of the patient "
             "file's patient_id: the subject is then an identifier {system, value}. Default: "
             "fhir_identifier_system in the config file; without any, the label is only in subject.display.")] = None,
) -> None:
    """Assess a patient file and write a FHIR R4B RiskAssessment (JSON): the figures of `imln assess`'s summary."""
    system = identifier_system if identifier_system is not None else _configured_identifier_system()
    try:
        from imln.fhir import (
            check_identifier_system,
            check_risk_assessment,
            risk_assessment_json,
        )
    except ImportError as exc:
        raise _fail(f"this command needs the optional dependencies: pip install 'imln[fhir,report]' ({exc})") from None
    if system is not None:
        try:
            check_identifier_system(system)
        except ValueError as exc:
            raise _fail(f"--identifier-system ({IDENTIFIER_SYSTEM_ENV}): {str(exc).removeprefix('identifier_system: ')}") from None
    try:
        patient = load_patient(patient_file)
    except PatientInputError as exc:
        raise _fail(str(exc)) from None
    try:
        resource = risk_assessment_json(assess(patient), identifier_system=system)
    except ImportError as exc:  # fhir.resources is imported when the resource is built
        raise _fail(f"this command needs the optional dependencies: pip install 'imln[fhir]' ({exc})") from None
    problems = check_risk_assessment(resource)
    if problems:  # a bug in imln, not in the input: say so rather than send a non-conformant resource
        raise _fail("the RiskAssessment breaks FHIR rules (please report): " + "; ".join(problems), code=1)
    text = json.dumps(resource, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {escape(str(output))} (FHIR R4B RiskAssessment)", highlight=False)


@app.command("vignettes")
def vignettes_command(
    folder: Annotated[Path, typer.Argument(file_okay=False, dir_okay=True,
                                           help="Folder of vignette YAML files (e.g. tests/clinical/vignettes).")],
    as_json: JsonFlag = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the concordance table as Markdown.")] = False,
) -> None:
    """Grade imln's recommendations against clinical vignettes (acceptable / questionable / unacceptable)."""
    from imln.decision import load_vignettes, run_vignettes

    if not folder.is_dir():
        raise _fail(f"{folder}: not a folder of vignette files")
    try:
        vignettes = load_vignettes(folder)
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if not vignettes:
        raise _fail(f"{folder}: no *.yaml vignette files")
    result = run_vignettes(vignettes)
    if as_json:
        _print_json({"counts": result.counts, "acceptable_share": result.acceptable_share,
                     "results": [r.model_dump() for r in result.results]})
        return
    if markdown:
        print(result.markdown(), end="")
        return
    t = Table(title="Clinical vignettes: imln against guideline-acceptable recommendations")
    for col in ("vignette", "acceptable", "imln", "group", "verdict"):
        t.add_column(col, overflow="fold")
    style = {"acceptable": "green", "questionable": "yellow", "unacceptable": "red", "no recommendation": "red"}
    for r in result.results:
        t.add_row(r.id, ", ".join(r.expected), r.imln or "—", r.indication_group or "—",
                  f"[{style[r.verdict]}]{r.verdict}[/]")
    out.print(t)
    out.print(result.markdown().splitlines()[0])


def _render_assessment(a: Assessment, source: Path) -> None:
    from imln.report import present

    view = present(a)
    p = a.input
    title = f"imln {a.imln_version} · evidence {a.evidence_version} · {source.name}"
    patient_table = Table.grid(padding=(0, 2))
    for key, value in p.items():
        if key in ("findings", "cardiac") or value is None:
            continue
        patient_table.add_row(f"[dim]{key}[/]", escape(_fmt(value)))
    out.print(Panel(patient_table, title=title, subtitle="validated input", expand=False))

    findings = p.get("findings") or []
    if findings:
        t = Table(title="Imaging findings")
        t.add_column("")
        for i, f in enumerate(findings, start=1):
            t.add_column(f"#{i} {f.get('modality', '')}")
        fields = [k for k in dict.fromkeys(k for f in findings for k in f) if k != "modality"]
        for k in fields:
            if any(f.get(k) is not None for f in findings):
                t.add_row(f"[dim]{k}[/]", *[escape(_fmt(f.get(k))) for f in findings])
        out.print(t)
    if p.get("cardiac"):
        c = Table.grid(padding=(0, 2))
        for key, value in p["cardiac"].items():
            if value is not None:
                c.add_row(f"[dim]{key}[/]", escape(_fmt(value)))
        out.print(Panel(c, title="Cardiac context", expand=False))

    _render_summary(view)
    if a.risk is not None:
        _render_risk(a.risk)
    if a.imaging is not None:
        _render_imaging(a.imaging)
    if a.decision is not None:
        _render_decision(a.decision, view)
    if view.unused_inputs:
        values = {u.field: u.value for u in a.unused_inputs}
        t = Table(title="Entered but not used, and why")
        t.add_column("field")
        t.add_column("value")
        t.add_column("why not used", overflow="fold")
        for u in view.unused_inputs:
            value = _fmt(values[u.field]) if u.field in values else u.label
            t.add_row(u.field, escape(value), escape(u.reason))
        out.print(t)

    if a.evidence_on_file:
        t = Table(title="Accuracy evidence on file for these modalities")
        for col in ("record", "audit", "source", "first problem"):
            t.add_column(col, overflow="fold")
        for e in a.evidence_on_file:
            problem = _shorten(e.audit_messages[0]) if e.audit_messages else ""
            t.add_row(e.record_id, f"[{_STATUS_STYLE[e.audit_status]}]{e.audit_status}[/]",
                      escape(f"{e.citation}, {e.location}"), escape(problem))
        out.print(t)
        out.print("[dim]Details of a record: imln evidence show RECORD_ID[/]")
    for note in a.notes:
        out.print(f"[dim]• {escape(note)}[/]")


def _line(text: str) -> None:
    """One line of the summary, never broken inside a figure (the terminal wraps it, not rich)."""
    out.print(text, soft_wrap=True, highlight=False)


def _citation_labels(keys: list[str]) -> str:
    """Short citations for evidence record ids or reference keys; unknown keys as given."""
    evidence = load_evidence()
    labels = []
    for key in keys:
        if key in evidence.references:
            label = evidence.references[key].label
        else:
            label = _source_labels([key])
        if label not in labels:
            labels.append(label)
    return "; ".join(labels)


def _render_summary(view: Presentation) -> None:
    """The presentation model's summary: the figures every output of imln shows, in its words and units."""
    out.rule("[bold]Summary[/] (the figures the web page, the report and FHIR show)")
    head = view.headline
    if head.probability is not None:
        _line(f"[bold]{escape(head.quantity)}:[/] [bold]{escape(head.probability.text)}[/]")
        if head.source:
            _line(f"  [dim]source: {escape(head.source)}[/]")
        for note in head.notes:
            _line(f"  [dim]• {escape(note)}[/]")
    else:
        _line(f"[bold]{escape(head.quantity)}:[/] No probability: {escape(head.absent_reason or '')}")
    rec = view.recommendation
    _line(f"[bold]Recommendation:[/] [bold]{escape(rec.text)}[/]")
    if rec.reasons:
        _line("  Key reasons:" if rec.given else "  Why:")
        for i, reason in enumerate(rec.reasons, start=1):
            cite = f" [dim]{escape('[' + _citation_labels(reason.citations) + ']')}[/]" if reason.citations else ""
            _line(f"  {i}. {escape(reason.text)}{cite}")
    for caution in rec.cautions:
        _line(f"  [yellow]caution:[/] {escape(caution)}")
    if view.indication is not None:
        _line(f"[bold]Guideline and trial basis:[/] {escape(view.indication.summary)}")
    rt = view.rt
    if rt is not None:
        quantities = [(n, q) for n, q in (("benefit", rt.benefit), ("cardiac harm", rt.harm), ("net", rt.net))
                      if q is not None]
        if quantities:
            _line("[bold]IMN radiotherapy against none[/] (absolute differences in percentage points, model-based):")
            for name, q in quantities:
                what = f" — {escape(q.description)}" if q.description else ""
                _line(f"  {name}: {escape(q.text)}{what}")
            if rt.probability_net_positive is not None:
                _line(f"  [dim]share of draws with net > 0: {_pct(rt.probability_net_positive)}[/]")
            if rt.label:
                _line(f"  [dim]{escape(rt.label)}[/]")
        elif rt.message:
            _line(f"[bold]IMN radiotherapy against none:[/] {escape(rt.message)}")
    if view.unused_inputs:
        names = ", ".join(u.label for u in view.unused_inputs)
        _line(f"[bold]Entered but not used[/] ({len(view.unused_inputs)}; why: the table below): {escape(names)}")
    if view.validation:
        _line(f"[dim]Risk model validation: {escape(view.validation)}[/]")
    out.rule()


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%" if p >= 0.001 else f"{100 * p:.2f}%"


def _source_labels(record_ids: list[str]) -> str:
    """Short citations ('Veronesi 1985') for evidence record ids; unknown ids as given."""
    evidence = load_evidence()
    labels = []
    for rid in record_ids:
        try:
            label = evidence.reference(evidence.get(rid).citation).label
        except KeyError:
            label = rid
        if label not in labels:
            labels.append(label)
    return "; ".join(labels)


def _render_risk(r: RiskPrediction) -> None:
    lo, hi = r.ci95
    if r.probability is not None:
        headline = f"[bold]{_pct(r.probability)}[/] (95% interval {_pct(lo)}–{_pct(hi)})"
    else:
        assert r.probability_range is not None
        a, b = r.probability_range
        headline = (f"[bold]between {_pct(a)} and {_pct(b)}[/] depending on {escape(', '.join(r.missing))} "
                    f"(95% interval over all values {_pct(lo)}–{_pct(hi)})")
    body = Table.grid(padding=(0, 2))
    body.add_row("[dim]probability[/]", headline)
    body.add_row("[dim]model[/]", escape(f"{r.model_id} {r.model_version}: {r.model_title}"))
    body.add_row("[dim]setting[/]", escape(f"{r.setting}; intercept = {r.setting_anchor}"))
    body.add_row("[dim]validation[/]", escape(r.validation))
    out.print(Panel(body, title="Pre-test probability of IMLN metastasis (risk model, its own interval)", expand=False))
    t = Table(title="Factors: odds ratios against the reference patient "
                    f"({_pct(r.baseline_probability)}); dimmed rows do not apply to this patient")
    for col in ("factor", "patient", "applies", "odds ratio", "95% CI", "source"):
        t.add_column(col, overflow="fold")
    for c in r.contributions:
        applies = "—" if c.applies is None else ("yes" if c.applies else "no")
        style = "" if c.applies else "[dim]"
        mult = f"{style}{c.term_odds_ratio:.2f}"
        ci = "—" if c.term_odds_ratio_ci95 is None else f"{style}{c.term_odds_ratio_ci95[0]:.2f}–{c.term_odds_ratio_ci95[1]:.2f}"
        t.add_row(f"{style}{escape(c.label)}", escape(_fmt(c.value)), applies, mult, ci,
                  escape(_source_labels(c.sources)))
    out.print(t)
    for w in r.warnings:
        out.print(f"[yellow]! {escape(w)}[/]")
    out.print(f"[dim]Model card: imln models show {escape(r.model_id)}[/]")


def _lr(lr: object) -> str:
    if lr is None:
        return "—"
    return f"{lr.point:.2f} ({lr.lower:.2f}–{lr.upper:.2f})"


def _render_imaging(im: ImagingAssessment) -> None:
    t = Table(title="Imaging: each test's result and likelihood ratios (95% CrI)")
    for col in ("#", "modality", "result", "decided by", "LR+", "LR−", "accuracy from", "applied"):
        t.add_column(col, overflow="fold")
    for f in im.findings:
        source = f.result_source if not f.decided_by else ", ".join(f.decided_by)
        acc = f.accuracy.source if f.accuracy is not None and f.accuracy.source else "no usable record"
        if f.accuracy is not None and f.accuracy.pool is not None:
            acc += f" ({f.accuracy.pool.n_studies} studies: {', '.join(s.record_id for s in f.accuracy.pool.studies)})"
        t.add_row(str(f.index + 1), f.modality, f.result or "—", escape(source), _lr(f.lr_positive),
                  _lr(f.lr_negative), escape(acc), "yes" if f.applied else "[yellow]no[/]")
    out.print(t)
    post = im.posttest
    if post is not None and im.pretest is not None:
        out.print(
            f"Post-test probability: [bold]{_pct(post.point)}[/] (95% credible interval "
            f"{_pct(post.lower)}–{_pct(post.upper)}; {escape(post.method)} combination, "
            f"Monte Carlo {post.n_draws:,} draws, seed {post.seed})"
        )
    for w in im.warnings:
        out.print(f"[yellow]! {escape(w)}[/]")
    for f in im.findings:
        if not f.applied:
            out.print(f"[yellow]  #{f.index + 1} not applied: {escape(f.effect)}[/]")
        for n in f.notes:
            out.print(f"[dim]  #{f.index + 1}: {escape(_shorten(n, 240))}[/]")
    for n in im.notes:
        out.print(f"[dim]• {escape(n)}[/]")


def _render_indication(d: DecisionAssessment) -> None:
    ind = d.indication
    if ind is None:
        return
    body = Table.grid(padding=(0, 2))
    body.add_row("[dim]basis[/]", escape(ind.summary))
    for m in ind.applies:
        body.add_row("[dim]applies[/]", escape(f"{m.label}: \"{m.quote}\" [{m.citation}, {m.location}]"))
    for m in ind.undetermined:
        if m.source_type in ("guideline", "consensus"):
            body.add_row("[yellow]open[/]", escape(f"{m.label} — needs {', '.join(m.missing) or 'more data'}"))
    for m in ind.not_met_trials:
        body.add_row("[dim]not eligible[/]", escape(f"{m.label} [{m.citation}]"))
    for w in ind.would_change:
        body.add_row("[dim]would change[/]", escape(w))
    out.print(Panel(body, title="Indication: guideline and trial basis", expand=False))


def _render_decision(d: DecisionAssessment, view: Presentation) -> None:
    _render_indication(d)
    r = d.recommendation
    body = Table.grid(padding=(0, 2))
    if r is not None:
        body.add_row("[dim]recommendation[/]", f"[bold]{escape(view.recommendation.text)}[/]")
        body.add_row("[dim]uncertainty[/]", escape(r.uncertainty))
        for i, statement in enumerate(r.rationale, start=1):
            records = list(dict.fromkeys(f.record_id for f in statement.figures if f.record_id))
            cite = f" [dim]{escape('[' + _source_labels(records) + ']')}[/]" if records else ""
            body.add_row(f"[dim]{i}[/]", escape(statement.text) + cite)
        for c in r.cautions:
            body.add_row("[yellow]caution[/]", escape(getattr(c, "text", str(c))))
    else:
        body.add_row("[dim]recommendation[/]", "none (see notes)")
    out.print(Panel(body, title="Recommendation, every reason (thresholds are stated choices)", expand=False))
    tests = [t for t in (d.next_tests.tests if d.next_tests else []) if t.status == "ranked"]
    if tests:
        t = Table(title="Next most informative test: probability that its result changes the recommendation")
        for col in ("rank", "modality", "P(change)", "expected shift", "P(positive)"):
            t.add_column(col)
        for n in tests:
            pos = next((o for o in n.outcomes if o.result == "positive"), None)
            t.add_row(str(n.rank), n.modality, _pct(n.probability_of_change),
                      f"{100 * n.expected_absolute_shift:.1f} points",
                      _pct(pos.probability_of_result) if pos else "—")
        out.print(t)
    rb = d.rt_balance  # its figures are in the summary (percentage points, from the presentation model)
    for w in (rb.warnings if rb is not None and rb.status == "computed" else []):
        out.print(f"[yellow]! IMN radiotherapy balance: {escape(w)}[/]")
    for n in d.notes:
        out.print(f"[dim]• {escape(n)}[/]")


def _shorten(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    return str(value)


# --------------------------------------------------------------------------- evidence


class StatusFilter(StrEnum):
    passed = "pass"
    warn = "warn"
    fail = "fail"


@evidence_app.command("list")
def evidence_list(
    kind: Annotated[Kind | None, typer.Option(help="Only records of this kind.")] = None,
    modality: Annotated[Modality | None, typer.Option(help="Only records for this modality.")] = None,
    status: Annotated[StatusFilter | None, typer.Option(help="Only records with this audit status.")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """List evidence records with their audit status."""
    evidence, audit = _evidence(data_dir)
    records = [
        r for r in evidence.filter(kind=kind, modality=modality)
        if status is None or audit[r.id].status == status.value
    ]
    if as_json:
        _print_json([_record_summary(r, audit) for r in records])
        return
    t = Table(title=f"Evidence {evidence.version}: {len(records)} of {len(evidence)} records")
    for col in ("id", "measures", "value(s)", "source", "audit"):
        t.add_column(col, overflow="fold")
    for r in records:
        values = ", ".join(f"{k} {v.printed}" for k, v in list(r.values.items())[:3])
        st = audit[r.id].status
        source = evidence.references[r.citation].label if r.citation in evidence.references else r.citation
        t.add_row(r.id, r.measures, escape(values), escape(source), f"[{_STATUS_STYLE[st]}]{st}[/]")
    out.print(t)


def _record_summary(r: EvidenceRecord, audit: AuditReport) -> dict:
    return record_summary(r, audit)


@evidence_app.command("show")
def evidence_show(
    record_id: Annotated[str, typer.Argument(help="Record id, as listed by `imln evidence list`.")],
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Show one record in full: values, source, reference and audit."""
    evidence, audit = _evidence(data_dir)
    try:
        record = evidence.get(record_id)
    except KeyError as exc:
        raise _fail(exc.args[0]) from None
    ref = evidence.references.get(record.citation)
    if as_json:
        _print_json({
            "record": record.model_dump(mode="json"),
            "reference": ref.model_dump(mode="json") if ref else None,
            "file": evidence.files.get(record.id),
            "audit": audit[record.id].as_dict(),
        })
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_row("[dim]statement[/]", escape(record.statement))
    for name, v in record.values.items():
        ci = f" (95% CI {v.ci95[0]}–{v.ci95[1]})" if v.ci95 else ""
        grid.add_row(f"[dim]{name}[/]", f"{escape(v.printed + ci)} [dim]{v.unit.value}[/]")
    ind = record.indication
    if ind is not None:
        grid.add_row("[dim]indication[/]", escape(f"{ind.label}: {ind.action.replace('_', ' ')}, {ind.strength} "
                                                  f"({ind.source_type.replace('_', ' ')})"))
        grid.add_row("[dim]quote[/]", escape(ind.quote))
        criteria = ind.applies_when.model_dump(exclude_none=True)
        grid.add_row("[dim]applies when[/]", escape(json.dumps(criteria, ensure_ascii=False)))
    grid.add_row("[dim]level / setting[/]", f"{record.level.value} / {record.setting.value}")
    grid.add_row("[dim]population[/]", escape(record.population))
    grid.add_row("[dim]obtained[/]", escape(record.obtained.value + (f" ({record.review_ref})" if record.review_ref else "")))
    if record.derivation:
        grid.add_row("[dim]derivation[/]", escape(record.derivation))
    grid.add_row("[dim]where[/]", escape(record.location))
    if ref:
        grid.add_row("[dim]source[/]", escape(ref.formatted))
    for c in record.caveats:
        grid.add_row("[dim]caveat[/]", escape(c))
    a = audit[record.id]
    for r in a.results:
        grid.add_row(f"[{_STATUS_STYLE[r.status]}]{r.status}[/] [dim]{r.check}[/]", escape(r.message))
    out.print(Panel(grid, title=f"{record.id} ({record.kind.value})", subtitle=evidence.files.get(record.id, "")))


@evidence_app.command("audit")
def evidence_audit(
    as_json: JsonFlag = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with status 1 when any record fails.")] = False,
    show: Annotated[StatusFilter | None, typer.Option(help="Only print records with this status.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Check every record for internal consistency and report per record."""
    _, audit = _evidence(data_dir)
    if as_json:
        _print_json(audit.as_dict())
    else:
        t = Table(title=f"Evidence audit {audit.evidence_version} — {audit.summary}")
        for col in ("record", "status", "checks", "problems"):
            t.add_column(col, overflow="fold")
        for a in audit:
            if show is not None and a.status != show.value:
                continue
            t.add_row(a.id, f"[{_STATUS_STYLE[a.status]}]{a.status}[/]", str(len(a.results)),
                      escape("\n".join(a.messages)))
        out.print(t)
    if strict and audit.summary["fail"]:
        raise typer.Exit(1)


@evidence_app.command("pool")
def evidence_pool(
    modality: Annotated[Modality, typer.Option(help="Modality whose accuracy records to pool.")],
    setting: Annotated[Setting | None, typer.Option(help="Only records of this setting.")] = None,
    figure: Annotated[Path | None, typer.Option(help="Write the SROC plot (bivariate pools) or forest plot here (PNG/PDF/SVG).")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Pool the modality's primary accuracy studies (bivariate random effects; rules: imln.synthesis.evidence)."""
    from imln.synthesis import ReitsmaFit, forest_plot, sroc_plot
    from imln.synthesis.evidence import accuracy_pools

    evidence, audit = _evidence(data_dir)
    report = accuracy_pools(modality.value, setting.value if setting else None, evidence=evidence, audit=audit)
    fitted = [p for p in report.pools if p.fit is not None]
    if figure is not None and fitted:
        p = fitted[0]
        title = f"{modality.value} ({p.unit})"
        fig = (sroc_plot(p.fit, title=title) if isinstance(p.fit, ReitsmaFit) else
               forest_plot([s.tp for s in p.studies], [s.fp for s in p.studies], [s.fn for s in p.studies],
                           [s.tn for s in p.studies], labels=[s.record_id for s in p.studies], fit=p.fit, title=title))
        fig.savefig(figure, dpi=150)
    if as_json:
        _print_json(report.as_dict())
        return
    if not report.pools:
        out.print(f"[yellow]No primary {modality.value} accuracy study with an identified 2×2 table"
                  f"{' in setting ' + setting.value if setting else ''}: nothing to pool.[/]")
    for p in report.pools:
        t = Table(title=f"{modality.value}, {p.unit} level: {p.note}")
        for col in ("record", "setting", "TP", "FP", "FN", "TN"):
            t.add_column(col)
        for s in p.studies:
            t.add_row(s.record_id, s.setting, str(s.tp), str(s.fp), str(s.fn), str(s.tn))
        out.print(t)
        if p.fit is not None:
            for name in ("sensitivity", "specificity", "lr_positive", "lr_negative", "dor"):
                e = getattr(p.fit, name)
                out.print(f"  {name}: {e.estimate:.3f} (95% CI {e.lower:.3f}–{e.upper:.3f})")
    for rid, why in report.excluded:
        out.print(f"[dim]excluded {rid}: {escape(why)}[/]")
    if figure is not None and not fitted:
        out.print("[dim]No figure: no pool was fitted.[/]")


# --------------------------------------------------------------------------- schema


class SchemaName(StrEnum):
    patient = "patient"
    evidence_record = "evidence-record"


# --------------------------------------------------------------------------- models


def _model_or_fail(model_id: str | None) -> ModelSpec:
    try:
        return get_model(model_id)
    except ModelSpecError as exc:
        raise _fail(str(exc)) from None


@models_app.command("list")
def models_list(as_json: JsonFlag = False) -> None:
    """Registered pre-test risk models (bundled and user-added)."""
    try:
        entries = list_models()
    except ModelSpecError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _print_json([{**e.__dict__, "path": str(e.path)} for e in entries])
        return
    t = Table(title="Pre-test risk models")
    for col in ("id", "version", "origin", "obtained", "title"):
        t.add_column(col, overflow="fold")
    for e in entries:
        t.add_row(e.id, e.version, e.origin, e.obtained, escape(e.title))
    out.print(t)


@models_app.command("show")
def models_show(
    model_id: Annotated[str | None, typer.Argument(help="Model id (default: the bundled default).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A model's card: population, outcome, terms with sources, assumptions, fit check."""
    spec = _model_or_fail(model_id)
    if as_json:
        _print_json(spec.model_dump(mode="json", by_alias=True, exclude_none=True))
        return
    head = Table.grid(padding=(0, 2))
    for label, value in (
        ("summary", spec.summary), ("outcome", spec.outcome), ("ascertainment", spec.ascertainment.value),
        ("population", spec.intended_population), ("era", spec.era or "—"), ("obtained", spec.obtained.value),
        ("validation", spec.validation),
    ):
        head.add_row(f"[dim]{label}[/]", escape(value))
    out.print(Panel(head, title=escape(f"{spec.id} {spec.version}: {spec.title}"), expand=False))
    cov = spec.parameter_covariance()
    t = Table(title="Terms (odds ratios with 95% CI)")
    for col in ("term", "when", "log-odds", "odds ratio", "95% CI", "source"):
        t.add_column(col, overflow="fold")
    for j, term in enumerate(spec.terms, start=1):
        unit = next((f.unit for f in spec.features if f.name == term.feature), "")
        when = term.when.describe(unit) if term.when else f"per {term.per:g} {unit} from {term.centre:g}"
        interval = odds_ratio_ci95(term.log_odds, cov[j, j])
        ci = f"{interval[0]:.2f}–{interval[1]:.2f}" if interval else "—"
        t.add_row(escape(term.label), escape(f"{term.feature} {when}"), f"{term.log_odds:+.3f}",
                  f"{term.odds_ratio:.2f}", ci, escape(_source_labels(term.sources)))
    out.print(t)
    s = Table(title="Settings (intercepts)")
    for col in ("setting", "baseline risk", "picked for", "anchor"):
        s.add_column(col, overflow="fold")
    for st in spec.settings:
        picked = ", ".join(st.patient_settings) + (" (default)" if st.id == spec.default_setting else "")
        s.add_row(st.id, _pct(1 / (1 + math.exp(-st.intercept))), escape(picked.strip() or "—"), escape(st.anchor))
    out.print(s)
    if spec.fit is not None:
        _render_fit(spec.fit)
    for title, items in (("Assumptions", spec.assumptions), ("Limitations", spec.limitations)):
        if items:
            out.print(f"[bold]{title}[/]")
            for item in items:
                out.print(f"  • {escape(item)}")


def _render_fit(fit) -> None:
    """The fit-check tables of a synthesised model's card (joint fits add CI, O/E and leave-one-series-out)."""
    joint = any(c.ci95 is not None for c in fit.cells)
    f = Table(title=f"Fit check: published rate vs fitted (Pearson χ² {fit.pearson_chi2:.2f} on {fit.df_residual} df)")
    cols = ["record", "table", "published", "fitted", "weight n", "feasible n"]
    if joint:
        cols = ["record", "factors", "published (exact 95% CI)", "fitted", "in CI", "O/E", "left-out series", "weight n"]
    for col in cols:
        f.add_column(col, overflow="fold")
    for c in fit.cells:
        if joint and c.ci95 is not None:
            loso = "—" if c.loso is None else _pct(c.loso) + ("" if c.loso_in_ci95 else " (outside CI)")
            f.add_row(c.record, str(c.factors), f"{c.printed} ({_pct(c.ci95[0])}–{_pct(c.ci95[1])})", _pct(c.fitted),
                      "yes" if c.in_ci95 else "NO", f"{c.observed_expected:.2f}", loso, str(c.weight_n))
        else:
            f.add_row(c.record, escape(c.table), c.printed, _pct(c.fitted), str(c.weight_n),
                      f"{c.n_range[0]}–{c.n_range[1]}")
    out.print(f)
    if fit.calibration:
        cal = Table(title="Calibration by number of stacked factors (events at the weight n)")
        for col in ("factors", "cells", "observed", "expected", "O/E", "O/E, left-out series"):
            cal.add_column(col)
        for g in fit.calibration:
            cal.add_row(str(g.factors), str(g.cells), f"{g.observed:.1f}", f"{g.expected:.1f}",
                        f"{g.observed_expected:.2f}",
                        "—" if g.observed_expected_loso is None else f"{g.observed_expected_loso:.2f}")
        out.print(cal)
    extra = [*fit.series, *fit.nuisance, *fit.checks]
    if extra:
        t = Table(title="Series intercepts, nuisance parameters and checks")
        for col in ("quantity", "value", "note"):
            t.add_column(col, overflow="fold")
        for r in extra:
            value = f"{r.value:.4g}" + ("" if r.standard_error is None else f" (SE {r.standard_error:.3g})")
            t.add_row(escape(r.name), value, escape(r.description))
        out.print(t)


@models_app.command("add")
def models_add(
    model_file: Annotated[Path, typer.Argument(help="Model specification YAML (format: docs/risk-models.md).")],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a user model with the same id.")] = False,
) -> None:
    """Validate a model file and add it to your registry."""
    try:
        spec = add_model(model_file, replace=replace)
    except ModelSpecError as exc:
        raise _fail(str(exc)) from None
    out.print(f"added {escape(spec.id)} {escape(spec.version)}")


@models_app.command("compare")
def models_compare(
    patient_file: Annotated[Path, typer.Argument(help="Patient file (YAML or JSON).")],
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model id (repeat; default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The same patient through several models, side by side."""
    try:
        patient = load_patient(patient_file)
    except PatientInputError as exc:
        raise _fail(str(exc)) from None
    try:
        ids = model or [e.id for e in list_models()]
        results = [predict_risk(patient, m, missing="range") for m in ids]
    except (ModelSpecError, MissingPredictorError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _print_json([r.model_dump(mode="json") for r in results])
        return
    t = Table(title=f"Pre-test probability by model · {patient_file.name}")
    for col in ("model", "probability", "95% interval", "missing", "obtained", "validation"):
        t.add_column(col, overflow="fold")
    for r in results:
        point = _pct(r.probability) if r.probability is not None else (
            f"{_pct(r.probability_range[0])}–{_pct(r.probability_range[1])}" if r.probability_range else "—")
        t.add_row(escape(f"{r.model_id} {r.model_version}"), point, f"{_pct(r.ci95[0])}–{_pct(r.ci95[1])}",
                  escape(", ".join(r.missing) or "—"), r.obtained, escape(_shorten(r.validation, 60)))
    out.print(t)


@app.command("schema")
def schema_command(
    name: Annotated[SchemaName, typer.Argument(help="Which schema to print.")] = SchemaName.patient,
) -> None:
    """Print a JSON Schema: the patient input (default) or an evidence record."""
    if name is SchemaName.patient:
        _print_json(patient_json_schema())
    else:
        _print_json(EvidenceRecord.model_json_schema())


def _register_interfaces() -> None:
    """`imln serve` and `imln report` need the `api`/`report` extras; say so if they are missing."""
    try:
        from imln.api._cli import report_command, serve_command
    except ImportError as exc:  # the extras are not installed: explain instead of failing at import
        missing = exc.name or "a dependency"

        def _needs_extra(*_: object, **__: object) -> None:
            raise _fail(f"this command needs the optional dependencies: pip install 'imln[api,report]' ({missing} is missing)")

        app.command("serve", help="Start the web app and REST API (needs imln[api]).")(_needs_extra)
        app.command("report", help="Write an HTML/PDF report (needs imln[report]).")(_needs_extra)
        return
    app.command("serve")(serve_command)
    app.command("report")(report_command)


_register_interfaces()


def _register_quantitative() -> None:
    """`imln measure|batch|radiomics` need the `quantitative` extra; say so if it is missing."""
    try:
        from imln.quantitative._cli import app as quantitative_app
    except ImportError as exc:
        missing = exc.name or "a dependency"

        def _needs_extra(*_: object, **__: object) -> None:
            raise _fail(f"this command needs: pip install 'imln[quantitative]' ({missing} is missing)")

        for name in ("measure", "batch", "radiomics"):
            app.command(name, help="Measure nodes from images and masks (needs imln[quantitative]).")(_needs_extra)
        return
    app.add_typer(quantitative_app)


_register_quantitative()


def main() -> None:
    """Entry point of the ``imln`` console script."""
    from imln._cache import RESULT_CACHE_PROBLEM

    if RESULT_CACHE_PROBLEM:
        err.print(f"error: {RESULT_CACHE_PROBLEM}")
        sys.exit(2)
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
