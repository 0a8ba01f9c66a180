"""Reports of an assessment: HTML and PDF, rendered generically from its JSON.

>>> import imln
>>> from imln.report import render_html
>>> html = render_html(imln.assess(imln.load_patient("examples/early_lateral_n0.yaml")))  # doctest: +SKIP

The web page uses the same renderer (:func:`render_assessment`); sections added to the
assessment later appear without changes here. Special renderings are registered per
section name with :func:`register_section`.

The headline figures (the probability the decision used, the recommendation and its
reasons, unused inputs, IMN radiotherapy's benefit and harm in percentage points) come
from one presentation model, :func:`present`, which the FHIR export uses too. The PDF
(:func:`render_pdf`) prints those panels on one or two pages and the details as an
appendix; :func:`render_patient_summary` (or ``render_pdf(..., patient=True)``) gives the
one-page plain-language summary for the patient, with the same numbers as natural
frequencies.
"""

from imln.report._adapter import (
    ProbabilityEstimate,
    headline_probability,
    headline_recommendation,
    model_versions,
    risk_estimate,
)
from imln.report._present import (
    Presentation,
    format_percentage_points,
    format_probability,
    natural_frequency,
    present,
)

__all__ = [
    "SECTION_RENDERERS",
    "Presentation",
    "ProbabilityEstimate",
    "RenderContext",
    "RenderedAssessment",
    "Section",
    "format_percentage_points",
    "format_probability",
    "headline_probability",
    "headline_recommendation",
    "model_versions",
    "natural_frequency",
    "present",
    "register_section",
    "render_assessment",
    "render_html",
    "render_patient_summary",
    "render_pdf",
    "render_value",
    "report_css",
    "risk_estimate",
    "template_environment",
]

#: Names imported on first use: their modules need the ``report`` extra (Jinja2, MarkupSafe).
_LAZY = {
    **dict.fromkeys(("render_html", "render_patient_summary", "render_pdf", "report_css", "template_environment"), "imln.report._html"),
    **dict.fromkeys(("SECTION_RENDERERS", "RenderContext", "RenderedAssessment", "Section", "register_section",
                     "render_assessment", "render_value"), "imln.report._render"),
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'imln.report' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
