"""Wall time, pages and size of the PDF report (and the patient summary) for every bundled example.

Run: ``python benchmarks/report/bench_pdf.py`` (``--repeat N``, ``--patient`` for the patient summary,
``--json FILE`` to save the results). Times ``imln.report.render_pdf`` on an assessment computed
beforehand (the assessment itself is not timed), after one warm-up render (WeasyPrint's font and
stylesheet set-up, paid once per process); min and median over ``--repeat`` renders. Pages are counted
with ``pdfinfo`` when it is installed. ``cold_s``: a fresh Python process importing ``imln.report``
and rendering once, as the server's PDF pool does for every request (one process per render).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import imln
from imln.report import render_pdf

EXAMPLES = Path(__file__).parents[2] / "examples"


def pages(pdf: bytes) -> int | None:
    if not shutil.which("pdfinfo"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


COLD = """
import json, sys, time
t = time.perf_counter()
from imln.report import render_pdf
render_pdf(json.load(open(sys.argv[1])), patient=sys.argv[2] == "1")
print(time.perf_counter() - t)
"""


def cold(doc: dict, patient: bool) -> float:
    """Wall time of a new process that imports imln.report and renders once (min of 3)."""
    import sys

    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(doc, f)
        f.flush()
        runs = [float(subprocess.run([sys.executable, "-c", COLD, f.name, "1" if patient else "0"], capture_output=True,
                                     text=True, check=True).stdout.split()[-1]) for _ in range(3)]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--patient", action="store_true", help="time the patient summary instead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    docs = {p.stem: imln.assess(imln.load_patient(p)).model_dump(mode="json") for p in sorted(EXAMPLES.glob("*.yaml"))}
    render_pdf(next(iter(docs.values())), patient=args.patient)  # warm-up
    results = []
    for name, doc in docs.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            pdf = render_pdf(doc, patient=args.patient)
            times.append(time.perf_counter() - t)
        cold_s = cold(doc, args.patient)
        results.append({"example": name, "pages": pages(pdf), "kib": round(len(pdf) / 1024),
                        "min_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
                        "cold_s": round(cold_s, 3)})
        print(f"{name:34s} pages {results[-1]['pages']}  {results[-1]['kib']:4d} KiB  "
              f"min {min(times):.2f} s  median {statistics.median(times):.2f} s  new process {cold_s:.2f} s")
    if args.json:
        meta = {"python": platform.python_version(), "machine": platform.machine(), "repeat": args.repeat,
                "kind": "patient summary" if args.patient else "clinical report", "imln": imln.__version__}
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
