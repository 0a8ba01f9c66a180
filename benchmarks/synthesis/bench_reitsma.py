"""The bivariate fit: imln.synthesis.fit_reitsma against R mada::reitsma, same data, same run.

    python benchmarks/synthesis/bench_reitsma.py            # mada's 5 datasets + simulated k = 200
    python benchmarks/synthesis/bench_reitsma.py --no-r     # imln only
    R_LIBS=/path/to/lib python benchmarks/synthesis/bench_reitsma.py   # where mada is installed

Times each fit (mean over ``--reps`` fits, after a warm-up; R timed inside R with
``system.time`` by bench_reitsma.R, so R's start-up is not counted), prints both times, the
ratio mada/imln, and the largest |difference| in (coefficients, Ψ) between the two fits.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from imln.synthesis import fit_reitsma

HERE = Path(__file__).parent
DATA = HERE.parents[1] / "tests" / "synthesis" / "data"


def simulate(k: int, seed: int) -> pd.DataFrame:
    """k studies from a bivariate model (logit sens ~ N(1.5, 0.8²), logit FPR ~ N(-2, 0.9²), ρ = 0.4)."""
    rng = np.random.default_rng(seed)
    cov = np.array([[0.64, 0.4 * 0.8 * 0.9], [0.4 * 0.8 * 0.9, 0.81]])
    mu = rng.multivariate_normal([1.5, -2.0], cov, size=k)
    npos, nneg = rng.integers(20, 200, k), rng.integers(50, 500, k)
    tp, fp = rng.binomial(npos, expit(mu[:, 0])), rng.binomial(nneg, expit(mu[:, 1]))
    return pd.DataFrame({"TP": tp, "FN": npos - tp, "FP": fp, "TN": nneg - fp})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--k", type=int, default=200, help="studies in the simulated dataset")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = [DATA / f"{n}.csv" for n in ("AuditC", "Dementia", "IAQ", "SAQ", "smoking")]
        sim = Path(tmp) / f"simulated_k{args.k}.csv"
        simulate(args.k, 17).to_csv(sim, index=False)
        files.append(sim)
        ours: dict[str, tuple[float, np.ndarray]] = {}
        for f in files:
            d = pd.read_csv(f)
            fit_reitsma(d.TP, d.FP, d.FN, d.TN)  # warm-up
            t0 = time.perf_counter()
            for _ in range(args.reps):
                fit = fit_reitsma(d.TP, d.FP, d.FN, d.TN)
            ours[f.name] = ((time.perf_counter() - t0) / args.reps,
                            np.r_[fit.coefficients, fit.psi[0, 0], fit.psi[1, 0], fit.psi[1, 1]])
        theirs: dict[str, tuple[float, np.ndarray]] = {}
        if not args.no_r:
            if shutil.which("Rscript") is None:
                print("Rscript not found; use --no-r", file=sys.stderr)
                return 1
            out = subprocess.run(["Rscript", str(HERE / "bench_reitsma.R"), str(args.reps), *map(str, files)],
                                 check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                name, secs, *vals = line.split()
                theirs[name] = (float(secs), np.array(vals, dtype=float))
    print(f"{'dataset':<22}{'k':>5}{'imln ms':>10}{'mada ms':>10}{'mada/imln':>11}{'max |diff|':>12}")
    for f in files:
        k = len(pd.read_csv(f)) if f.exists() else args.k
        t, est = ours[f.name]
        row = f"{f.name.removesuffix('.csv'):<22}{k:>5}{t * 1e3:>10.2f}"
        if f.name in theirs:
            tr, er = theirs[f.name]
            row += f"{tr * 1e3:>10.2f}{tr / t:>11.1f}{np.max(np.abs(est - er)):>12.1e}"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
