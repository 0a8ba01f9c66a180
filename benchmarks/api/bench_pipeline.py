"""CPU time per request of what ``POST /api/v1/assessments`` runs, in-process: parse, assess, save.

The three steps run one after the other for each of 500 distinct patients (as the
server runs them, so each step finds the caches the way the others left them; timing a
step alone in a tight loop flatters it by up to a third). Reported: the best of
``--rounds`` rounds of ``--per-round`` patients, in ms of CPU per request
(``time.process_time``).

The shared development machine's speed drifts by tens of per cent within minutes, so two
versions of the code are compared **at the same time**: ``--against TREE`` runs this
measurement for TREE's ``src`` and for this checkout's simultaneously, one process pinned
to each core (``taskset``), then again with the cores swapped, and reports the ratio::

    git worktree add /tmp/imln-before <commit>
    python benchmarks/api/bench_pipeline.py --against /tmp/imln-before

Two copies of the same tree measured this way agree to about 1%.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure(patient: Path, per_round: int, rounds: int, vary: str = "age-size") -> dict[str, float]:
    import imln
    from imln.storage import Store
    from load import patient_bodies

    bodies = patient_bodies(patient, 500, vary)
    with tempfile.TemporaryDirectory(prefix="imln-bench-pipeline-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        for body in bodies[:50]:  # warm-up: imports, caches, the database file
            store.save(imln.assess(imln.load_patient(body, name="request body")))
        clock = time.process_time
        best: dict[str, float] | None = None
        for r in range(rounds):
            parse = assess = save = 0.0
            chunk = [bodies[(r * per_round + i) % len(bodies)] for i in range(per_round)]
            for body in chunk:
                t0 = clock()
                patient_ = imln.load_patient(body, name="request body")
                t1 = clock()
                assessment = imln.assess(patient_)
                t2 = clock()
                store.save(assessment)
                t3 = clock()
                parse, assess, save = parse + t1 - t0, assess + t2 - t1, save + t3 - t2
            ms = {k: v * 1000 / per_round for k, v in (("parse", parse), ("assess", assess), ("save", save))}
            ms["total"] = sum(ms.values())
            if best is None or ms["total"] < best["total"]:
                best = ms
        store.close()
    assert best is not None
    return {k: round(v, 3) for k, v in best.items()} | {"imln": str(Path(imln.__file__).parent)}


def _run_pinned(tree: Path, cpu: int, args: argparse.Namespace) -> subprocess.Popen:
    cmd = ["taskset", "-c", str(cpu), sys.executable, __file__, "--patient", str(args.patient),
           "--per-round", str(args.per_round), "--rounds", str(args.rounds), "--vary", args.vary, "--json"]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)


def compare(args: argparse.Namespace) -> dict:
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        raise SystemExit("--against needs taskset and two cores")
    this, other = ROOT, Path(args.against).resolve()
    rounds = []
    for this_cpu, other_cpu in ((0, 1), (1, 0)):
        procs = {"this": _run_pinned(this, this_cpu, args), "against": _run_pinned(other, other_cpu, args)}
        out = {name: json.loads(p.communicate()[0]) for name, p in procs.items()}
        if any(p.returncode for p in procs.values()):
            raise SystemExit("a measurement failed")
        out["ratio_total"] = round(out["this"]["total"] / out["against"]["total"], 3)
        rounds.append(out)
        print(f"this (cpu {this_cpu}) {out['this']}\nagainst (cpu {other_cpu}) {out['against']}\n"
              f"this / against: {out['ratio_total']}", file=sys.stderr)
    return {"patient": Path(args.patient).name, "vary": args.vary, "rounds": rounds,
            "ratio_total_mean": round(sum(r["ratio_total"] for r in rounds) / len(rounds), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patient", type=Path, default=ROOT / "examples" / "medial_4plus_nodes.yaml")
    ap.add_argument("--per-round", type=int, default=250)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--vary", choices=("age-size", "risk-factors"), default="age-size",
                    help="what differs between the 500 patients (see load.py)")
    ap.add_argument("--against", default=None, help="another checkout (its src/) measured at the same time")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--out", default=None, help="also write the result as JSON here")
    args = ap.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    result = compare(args) if args.against else measure(args.patient, args.per_round, args.rounds, args.vary)
    text = json.dumps(result, indent=None if args.json else 2)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
