"""CPU time of one ``imln.imaging.assess_imaging`` call on the bundled examples.

Each example is assessed as ``imln.assess`` does it (the pre-test probability is the
risk model's, with its interval, or none), in-process and on one core. Reported per
call, in ms of CPU time (``time.process_time``, so other jobs on a shared machine
disturb it far less than wall-clock time): the minimum and the median over
``--repeat`` blocks of ``--number`` calls.

* ``warm``: the Monte Carlo caches of :mod:`imln.imaging._bayes` hold the
  patient-independent draws (a server's steady state: the same accuracy records
  serve every patient);
* ``cold``: those caches are emptied before every call (each call draws everything).

To compare with another version of the code, run the script with
``PYTHONPATH=<other tree>/src`` (it imports whatever ``imln`` is first on the path; a
version without the caches gives the same number in both columns)::

    python benchmarks/imaging/bench_assess.py [--repeat R] [--number N] [--draws D]

``--mc-error S`` instead reports the Monte Carlo error of the credible intervals the
examples get: the standard deviation, over ``S`` seeds, of the 2.5% and 97.5% bounds
of the post-test probability and of each applied likelihood ratio, at 20,000 and at
5,000 draws.
"""

from __future__ import annotations

import os

# One core: set before NumPy loads its threading libraries.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import imln  # noqa: E402
from imln._assessment import _pretest_for_imaging  # noqa: E402
from imln.evidence import audit_evidence, load_evidence  # noqa: E402
from imln.imaging import _bayes, assess_imaging  # noqa: E402
from imln.risk import predict_risk  # noqa: E402
from imln.schema import load_patient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def clear_caches() -> None:
    """Empty the Monte Carlo caches, where this version of imln has them."""
    clear = getattr(_bayes, "_clear_caches", None)
    if clear is not None:
        clear()


def example_inputs() -> list[tuple[str, Any, Any]]:
    """(name, patient, pre-test probability as ``imln.assess`` passes it) for every example."""
    out = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        patient = load_patient(path)
        try:
            risk = predict_risk(patient, None, missing="range")
        except ValueError:
            risk = None
        risk = risk if patient.setting.value != "follow_up" else None
        out.append((path.stem, patient, _pretest_for_imaging(risk, None, [])))
    return out


def describe(patient: Any, pretest: Any, evidence: Any, audit: Any) -> str:
    a = assess_imaging(patient, pretest, evidence=evidence, audit=audit)
    pre = "none" if pretest is None else ("Beta" if pretest.alpha is not None else "point")
    return (f"pre-test {pre}, {len(a.findings)} finding(s), "
            f"{sum(f.lr_positive is not None for f in a.findings)} with accuracy, "
            f"{sum(f.applied for f in a.findings)} applied")


def per_call_ms(fn: Any, *, repeat: int, number: int, before: Any = None) -> tuple[float, float]:
    """(min, median) over ``repeat`` blocks of the CPU ms per call of ``number`` calls."""
    fn()
    blocks = []
    for _ in range(repeat):
        total = 0.0
        for _ in range(number):
            if before is not None:
                before()
            start = time.process_time()
            fn()
            total += time.process_time() - start
        blocks.append(total / number * 1000)
    return min(blocks), statistics.median(blocks)


def timing(args: argparse.Namespace) -> None:
    evidence = load_evidence()
    audit = audit_evidence(evidence)
    draws = {} if args.draws is None else {"n_draws": args.draws}
    print(f"assess_imaging CPU time per call (ms; min / median of {args.repeat} blocks of {args.number}), one core, "
          f"{'default' if args.draws is None else f'{args.draws:,}'} draws")
    print(f"imln from {Path(imln.__file__).parent}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"  {'example':32s} {'warm min':>9s} {'median':>8s} {'cold min':>9s} {'median':>8s}   inputs")
    for name, patient, pretest in example_inputs():
        def call(patient=patient, pretest=pretest):
            return assess_imaging(patient, pretest, evidence=evidence, audit=audit, **draws)
        warm = per_call_ms(call, repeat=args.repeat, number=args.number)
        cold = per_call_ms(call, repeat=args.repeat, number=args.number, before=clear_caches)
        print(f"  {name:32s} {warm[0]:9.3f} {warm[1]:8.3f} {cold[0]:9.3f} {cold[1]:8.3f}   "
              f"{describe(patient, pretest, evidence, audit)}")


def mc_error(args: argparse.Namespace) -> None:
    evidence = load_evidence()
    audit = audit_evidence(evidence)
    seeds = range(args.mc_error)
    print(f"Monte Carlo error of the 95% bounds: SD over {args.mc_error} seeds (seeds 0..{args.mc_error - 1})")
    for name, patient, pretest in example_inputs():
        rows: dict[str, dict[int, list[tuple[float, float]]]] = {}
        for n_draws in (20_000, 5_000):
            for seed in seeds:
                clear_caches()
                a = assess_imaging(patient, pretest, evidence=evidence, audit=audit, seed=seed, n_draws=n_draws)
                if a.posttest is not None and a.posttest.findings_applied:
                    rows.setdefault("post-test probability", {}).setdefault(n_draws, []).append(
                        (a.posttest.lower, a.posttest.upper))
                for f in a.findings:
                    for lr in (f.lr_positive, f.lr_negative):
                        if lr is not None and lr.result == f.result:
                            rows.setdefault(f"finding {f.index} ({f.modality.value}) LR{'+' if lr.result == 'positive' else '-'}",
                                            {}).setdefault(n_draws, []).append((lr.lower, lr.upper))
        print(f"  {name}")
        if not rows:
            print("    no Monte Carlo interval (nothing applied and no likelihood ratio of the finding's result)")
        for label, by_n in rows.items():
            for n_draws, bounds in by_n.items():
                b = np.array(bounds)
                lo_sd, hi_sd = b.std(axis=0, ddof=1)
                lo_m, hi_m = b.mean(axis=0)
                print(f"    {label:32s} {n_draws:6,d} draws: bounds {lo_m:.4g} / {hi_m:.4g}, "
                      f"SD {lo_sd:.2g} / {hi_sd:.2g} (relative {lo_sd / lo_m:.2%} / {hi_sd / hi_m:.2%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="blocks; the minimum and median are reported")
    parser.add_argument("--number", type=int, default=20, help="calls per block")
    parser.add_argument("--draws", type=int, default=None, help="n_draws of each call (default: imln's)")
    parser.add_argument("--mc-error", type=int, default=0, metavar="S",
                        help="report the Monte Carlo error of the bounds over S seeds instead of timing")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.mc_error:
        mc_error(args)
    else:
        timing(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
