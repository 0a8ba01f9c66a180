"""Each example's assessment and PDF report, computed once per test session and shared by the modules.

A PDF render takes one to three seconds; rendering it once per example (instead of once per test)
keeps the PDF tests from dominating the suite's wall time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import imln

EXAMPLES = Path(__file__).parents[2] / "examples"
NAMES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


@dataclass(frozen=True)
class RenderedPdf:
    doc: dict
    pdf: bytes
    pages: list[str]  # pdftotext -raw of each page (in the order the content was laid out)
    bbox: str  # pdftotext -bbox output (word boxes in points)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.pages))


def pdftotext(pdf: bytes, tmp: Path, *args: str) -> str:
    path = tmp / "r.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def example_pdf(tmp_path_factory):
    """``example_pdf(name)``: the example's assessment, its PDF report and the PDF's text (rendered once)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from imln.report import render_pdf

    cache: dict[str, RenderedPdf] = {}
    tmp = tmp_path_factory.mktemp("pdf")

    def get(name: str) -> RenderedPdf:
        if name not in cache:
            doc = imln.assess(imln.load_patient(EXAMPLES / name)).model_dump(mode="json")
            pdf = render_pdf(doc)
            pages = pdftotext(pdf, tmp, "-raw").split("\f")  # content order: the DOM's, column by column
            cache[name] = RenderedPdf(doc, pdf, [p for p in pages if p.strip() or p is not pages[-1]],
                                      pdftotext(pdf, tmp, "-bbox"))
        return cache[name]

    return get
