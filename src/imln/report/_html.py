"""HTML and PDF reports of one assessment, from the same generic renderer as the web page."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from imln.evidence import EvidenceBase
from imln.report._render import render_assessment

__all__ = ["report_css", "render_html", "render_pdf", "template_environment"]


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


def render_pdf(assessment: Any, *, evidence: EvidenceBase | None = None, stored_id: str | None = None) -> bytes:
    """The HTML report as PDF (WeasyPrint; needs the system Pango library)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        raise RuntimeError(
            "PDF reports need WeasyPrint and the Pango library: pip install 'imln[report]' "
            "and on Debian apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
            f"({exc})"
        ) from exc
    html = render_html(assessment, evidence=evidence, stored_id=stored_id, appendix=True)
    return HTML(string=html, base_url=None).write_pdf()
