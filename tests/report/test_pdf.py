"""The PDF report: the clinical summary on one or two pages, then an appendix; every section; nothing clipped.

Each example is rendered once per session (``example_pdf`` in conftest). Render time is measured in
``benchmarks/report``, not here.
"""

from __future__ import annotations

import re

import pytest

from imln.report import present

from .conftest import NAMES

#: The panels of the result page, in order, and the appendix's parts: each must be in the PDF.
SECTIONS = ("Summary", "Options: IMN radiotherapy or not", "Next most informative test",
            "Imaging: from pre-test to post-test probability", "Appendix: details", "Versions", "Digests",
            "Random seeds (Monte Carlo)", "Decision thresholds", "References")
FOOTER = re.compile(r"imln assessment — page \d+ of \d+")
MM = 72 / 25.4


@pytest.fixture(params=NAMES)
def rendered(request, example_pdf):
    return example_pdf(request.param)


def test_every_section_in_order(rendered):
    text, at = rendered.text, 0
    for section in SECTIONS:
        found = text.find(section, at)
        assert found >= 0, f"{section!r} missing, or not after the sections before it"
        at = found + len(section)


def test_summary_on_one_or_two_pages_then_the_appendix(rendered):
    pages = rendered.pages
    first_appendix = next(i for i, p in enumerate(pages) if "Appendix: details" in p)
    assert 1 <= first_appendix <= 2, f"the clinical summary takes {first_appendix} pages"
    assert len(pages) - first_appendix <= 2, f"the appendix takes {len(pages) - first_appendix} pages"
    # the RT balance and the next tests are in the clinical part, not only in the appendix
    clinical = " ".join(pages[:first_appendix])
    assert "Options: IMN radiotherapy or not" in clinical and "Next most informative test" in clinical


def test_no_blank_page(rendered):
    for i, page in enumerate(rendered.pages, start=1):
        assert FOOTER.sub("", page).strip(), f"page {i} has nothing but its footer"


def test_nothing_clipped_at_the_margins(rendered):
    """Every word lies inside the page's 14 mm side margins (a table wider than the page would cross them)."""
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', rendered.bbox, re.DOTALL)
    assert len(pages) == len(rendered.pages)
    for n, (width, _, body) in enumerate(pages, start=1):
        right = float(width) - 14 * MM + 1
        for x_min, x_max, word in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', body):
            assert float(x_min) >= 14 * MM - 1 and float(x_max) <= right, f"page {n}: {word!r} at x {x_min}–{x_max}"


def test_the_pdf_shows_the_presentation_models_figures(rendered):
    """The figures of the summary panels, with their units, as the presentation model words them."""
    view = present(rendered.doc)
    squashed = re.sub(r"\s+", "", rendered.text)  # line breaks fall anywhere, e.g. after an en dash

    def shown(text: str) -> bool:
        return re.sub(r"\s+", "", text) in squashed

    prob = view.headline.probability
    if prob is None:
        assert shown("No probability: " + view.headline.absent_reason)
    else:
        assert shown(prob.text) and shown(view.headline.quantity)
        assert shown(prob.frequency.text)
    assert shown(view.recommendation.text)
    if view.rt is not None:
        for q in (view.rt.benefit, view.rt.harm, view.rt.net):
            if q is not None:
                assert shown(q.text) and "percentage points" in q.text
    best = view.next_tests.best if view.next_tests else None
    if best is not None:
        assert shown(f"{best.label}: the probability that its result changes the recommendation")
        assert shown(best.probability_of_change_text)
    for step in view.imaging_chain.steps if view.imaging_chain else []:
        assert shown(step.text)
    for _, digest in view.details.digests:
        assert shown(digest)
