"""Reports of an assessment: HTML and PDF, rendered generically from its JSON.

>>> import imln
>>> from imln.report import render_html
>>> html = render_html(imln.assess(imln.load_patient("examples/early_lateral_n0.yaml")))  # doctest: +SKIP

The web page uses the same renderer (:func:`render_assessment`); sections added to the
assessment later appear without changes here. Special renderings are registered per
section name with :func:`register_section`.
"""

from imln.report._adapter import (
    ProbabilityEstimate,
    headline_probability,
    headline_recommendation,
    model_versions,
    risk_estimate,
)
from imln.report._html import render_html, render_pdf, report_css, template_environment
from imln.report._render import (
    SECTION_RENDERERS,
    RenderContext,
    RenderedAssessment,
    Section,
    register_section,
    render_assessment,
    render_value,
)

__all__ = [
    "ProbabilityEstimate",
    "RenderContext",
    "RenderedAssessment",
    "SECTION_RENDERERS",
    "Section",
    "headline_probability",
    "headline_recommendation",
    "model_versions",
    "register_section",
    "render_assessment",
    "render_html",
    "render_pdf",
    "render_value",
    "report_css",
    "risk_estimate",
    "template_environment",
]
