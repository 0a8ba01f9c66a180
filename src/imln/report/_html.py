"""HTML and PDF reports of one assessment, from the same generic renderer as the web page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from imln.evidence import EvidenceBase
from imln.report._present import Presentation
from imln.report._render import render_assessment

__all__ = ["PatientSummary", "patient_summary", "render_html", "render_patient_summary", "render_pdf", "report_css",
           "template_environment"]


@cache
def template_environment() -> Environment:
    """Jinja2 environment over ``imln/report/templates`` (autoescaping on)."""
    return Environment(
        loader=PackageLoader("imln.report", "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def report_css() -> str:
    """The stylesheet shared by the report and the web result page."""
    return (resources.files("imln.report") / "static" / "report.css").read_text(encoding="utf-8")


def _label(doc: dict[str, Any]) -> str | None:
    inp = doc.get("input") or {}
    return inp.get("patient_id") if isinstance(inp, dict) else None


def render_html(assessment: Any, *, evidence: EvidenceBase | None = None, stored_id: str | None = None,
                appendix: bool = False) -> str:
    """A self-contained HTML document (inline CSS and SVG, no external resource).

    The summary panels, then the details: collapsed, with every computed field (``appendix=False``, the
    HTML report), or as a compact appendix of versions, digests, seeds, thresholds and references
    (``appendix=True``, what the PDF prints).
    """
    doc = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else dict(assessment)
    rendered = render_assessment(doc, evidence=evidence, full=not appendix)
    return template_environment().get_template("report.html").render(
        rendered=rendered, css=report_css(), label=_label(doc), stored_id=stored_id, appendix=appendix
    )


#: The recommendation in words a patient uses (by recommendation class); the clinician label is never shown raw.
LAY_SUGGESTIONS = {
    "omit_imn_directed_treatment": "No extra treatment aimed at these lymph nodes.",
    "short_interval_follow_up": "Another scan after a short time, to see whether anything changes.",
    "im_sentinel_node_biopsy": "A small operation to take out and check a lymph node along the breastbone.",
    "image_guided_biopsy": "A needle test (biopsy) of the lymph node seen on the scan.",
    "full_work_up": "More tests to look for spread of the cancer.",
    "imn_radiotherapy": "Radiotherapy that also covers these lymph nodes.",
}


@dataclass(frozen=True)
class PatientSummary:
    """What the patient summary shows: the presentation model's figures and their plain-language wording."""

    presentation: Presentation
    people: str  # "women" or "men": the patient's sex, for "women like you"
    suggestion: str
    benefit_phrase: str
    harm_phrase: str
    next_test: str | None
    basis_sentence: str  # how the number relates to the scans, or ""
    icon_array: Markup | None
    data: dict[str, Any]


def _benefit_phrase(description: str, people: str) -> str:
    d = description.lower()
    if "breast cancer mortality" in d or "breast cancer death" in d:
        return f"fewer {people} die of breast cancer"
    if "mortality" in d or "survival" in d:
        return f"fewer {people} die"
    if "recurrence" in d:
        return f"fewer {people} have the cancer come back"
    return f"more {people} are helped"


def _harm_phrase(description: str, people: str, within: str) -> str:
    d = description.lower()
    if "coronary" in d or "cardiac" in d or "heart" in d:
        return f"more {people} have a serious heart problem (such as a heart attack){within}, caused by the radiation"
    return f"more {people} are harmed{within}"


def _within(years: float | None) -> str:
    return f" within {years:g} years" if years else ""


def patient_summary(assessment: Any, *, evidence: EvidenceBase | None = None) -> PatientSummary:
    """The plain-language summary of an assessment: the same numbers as the clinician page, in lay words."""
    doc = assessment.model_dump(mode="json") if hasattr(assessment, "model_dump") else dict(assessment)
    rendered = render_assessment(doc, evidence=evidence, full=False)
    p = rendered.presentation
    assert p is not None
    people = "men" if (doc.get("input") or {}).get("sex") == "male" else "women"
    code = p.recommendation.code
    suggestion = LAY_SUGGESTIONS.get(code or "", "") if p.recommendation.given else ""
    if not suggestion:
        suggestion = ("The tool made no suggestion; your care team will talk you through the choices."
                      if not p.recommendation.given else p.recommendation.label + ".")
    benefit = p.rt.benefit if p.rt else None
    harm = p.rt.harm if p.rt else None
    best = p.next_tests.best if p.next_tests else None
    steps = len(p.imaging_chain.steps) if p.imaging_chain else 0
    basis_sentence = {
        ("pretest", True): "This is before any scan results are taken into account.",
        ("posttest", True): "This takes your scan results into account." if steps > 1 else
        ("Your scan results could not be included in this number." if steps == 1 else ""),
    }.get((p.headline.basis, p.headline.probability is not None), "")
    return PatientSummary(
        presentation=p, people=people, suggestion=suggestion,
        benefit_phrase=(_benefit_phrase(benefit.description, people) + _within(benefit.horizon_years)) if benefit else "",
        harm_phrase=_harm_phrase(harm.description, people, _within(harm.horizon_years)) if harm else "",
        next_test=best.label if best is not None and (best.probability_of_change or 0) > 0 else None,
        basis_sentence=basis_sentence, icon_array=rendered.icon_array, data=doc)


def render_patient_summary(assessment: Any, *, evidence: EvidenceBase | None = None) -> str:
    """The one-page plain-language summary for the patient, as a self-contained printable HTML document."""
    summary = patient_summary(assessment, evidence=evidence)
    return template_environment().get_template("patient_summary.html").render(
        s=summary, css=report_css(), label=_label(summary.data))


def render_pdf(assessment: Any, *, evidence: EvidenceBase | None = None, stored_id: str | None = None,
               patient: bool = False) -> bytes:
    """The report as PDF (WeasyPrint; needs the system Pango library); ``patient=True``: the patient summary."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        raise RuntimeError(
            "PDF reports need WeasyPrint and the Pango library: pip install 'imln[report]' "
            "and on Debian apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
            f"({exc})"
        ) from exc
    if patient:
        html = render_patient_summary(assessment, evidence=evidence)
    else:
        html = render_html(assessment, evidence=evidence, stored_id=stored_id, appendix=True)
    return HTML(string=html, base_url=None).write_pdf()
