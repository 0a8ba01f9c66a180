"""Bootstrap validation: imln.modeling.validate against rms::validate, same data, same resamples.

    python benchmarks/modeling/bench_validate.py            # n=5000, 10 predictors, B=1000
    python benchmarks/modeling/bench_validate.py --no-r     # imln only

Simulates a cohort (fixed seed), fits ``y ~ x1 + … + x10`` in both, runs
``set.seed(seed); validate(f, B=B)`` in R (Rscript, timed inside R with
``system.time``) and ``validate(model, B=B, seed=seed)`` in imln (best of
``--repeat`` runs; imln draws R's resamples, so the two tables must agree), and
prints both times, the speed-up, and the largest difference between the tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from imln.modeling import LogisticModel, validate

HERE = Path(__file__).parent


def simulate(n: int, p: int, seed: int) -> pd.DataFrame:
    """Ten predictors: 7 correlated continuous, 3 binary; true log-odds linear, event rate about 0.4."""
    rng = np.random.default_rng(seed)
    n_cont = p - p * 3 // 10
    cov = 0.3 + 0.7 * np.eye(n_cont)
    cont = rng.multivariate_normal(np.zeros(n_cont), cov, size=n)
    binary = (rng.random((n, p - n_cont)) < 0.35).astype(float)
    X = np.column_stack([cont, binary])
    beta = np.linspace(-0.6, 0.6, p)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.4 + X @ beta)))).astype(int)
    d = pd.DataFrame(X, columns=[f"x{k + 1}" for k in range(p)])
    d["y"] = y
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--B", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="imln runs; the best is reported")
    ap.add_argument("--no-r", action="store_true", help="skip R")
    args = ap.parse_args()

    data = simulate(args.n, args.p, 20241124)
    model = LogisticModel(" + ".join(f"x{k + 1}" for k in range(args.p))).fit(data, "y")
    validate(model, B=10, seed=args.seed)  # warm-up (imports, thread pool)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ours = validate(model, B=args.B, seed=args.seed)
        times.append(time.perf_counter() - t0)
    ours_s = min(times)
    print(f"cohort: n={args.n}, {args.p} predictors, {int(data['y'].sum())} events; B={args.B}, seed={args.seed}")
    print(f"machine: {os.cpu_count()} cores; imln runs: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"imln.modeling.validate : {ours_s:8.2f} s  (failed resamples: {ours.n_failed})")

    if args.no_r:
        return 0
    if shutil.which("Rscript") is None:
        print("Rscript not found: apt-get install -y r-base-core r-cran-rms r-cran-survival (or use --no-r)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "cohort.csv"
        out = Path(tmp) / "r_validate.csv"
        data.to_csv(csv, index=False, float_format="%.17g")
        run = subprocess.run(["Rscript", str(HERE / "bench_validate.R"), str(csv), str(args.B), str(args.seed),
                              str(out)], capture_output=True, text=True, check=True)
        r_s = float(run.stdout.strip().splitlines()[-1])
        theirs = pd.read_csv(out).set_index("index")
    print(f"rms::validate (R)      : {r_s:8.2f} s")
    print(f"speed-up               : {r_s / ours_s:8.1f}x")
    cols = ["index.orig", "training", "test", "optimism", "index.corrected"]
    diff = np.abs(ours.table[cols].to_numpy() - theirs[cols].to_numpy())
    rel = diff / np.maximum(np.abs(theirs[cols].to_numpy()), 1e-300)
    print(f"largest difference between the tables: {diff.max():.2e} absolute, {rel.max():.2e} relative; "
          f"resamples used: imln {ours.table['n'].min()}, R {int(theirs['n'].min())}")
    print(ours.table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
