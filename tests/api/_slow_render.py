"""A stand-in for render_pdf in the flood tests: as slow as asked, tiny output, run in the pool's child process."""

from __future__ import annotations

import os
import time
from typing import Any


def slow_render(doc: dict[str, Any], stored_id: str | None = None) -> bytes:
    time.sleep(float(os.environ.get("IMLN_TEST_RENDER_SECONDS", "1.0")))
    return b"%PDF-1.7 fake " + str((doc.get("input") or {}).get("age_years")).encode()


def broken_render(doc: dict[str, Any], stored_id: str | None = None) -> bytes:
    raise RuntimeError("PDF output needs WeasyPrint (test stand-in)")
