"""Benchmark: 1,000,000 patients × 2 imaging tests, post-test probability with 95% credible intervals.

Runs, in the same process and on one core:

1. imln's batch API, :func:`imln.imaging.combine_tests_batch` (two tests per
   patient combined under conditional independence, intervals from 20,000
   posterior draws per result combination);
2. a plain, loop-free NumPy reference written here from the formulas only:
   Beta draws of sensitivity and specificity with ``Generator.beta``, likelihood
   ratios LR+ = sens / (1 − spec), LR− = (1 − sens) / spec for all 3 × 3 result
   combinations at once by broadcasting, quantiles, and Bayes' theorem on the
   odds scale for every patient.

It reports both times, their ratio, and how far the two answers are apart
(the point estimates must agree to rounding; the intervals to Monte Carlo
error, since the two use different draws). imln's Monte Carlo caches are
emptied before every timed run, so each run draws everything afresh. It also
checks that imln's batch reproduces the scalar path: for one patient of every
result combination, the bounds must equal :func:`imln.imaging.combine_tests`'s
interval exactly (same draws, same order statistics). Target: imln under 5 s.

    python benchmarks/imaging/bench_posttest.py [--patients N] [--draws D] [--repeat R]
"""

from __future__ import annotations

import os

# One core: set before NumPy loads its threading libraries.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from imln.evidence import TwoByTwo  # noqa: E402
from imln.imaging import AccuracyPosterior, _bayes, combine_tests, combine_tests_batch  # noqa: E402

#: Two reconstructed tables from the evidence base (audit: mri2016-short-axis-4mm, ji2020-us-short-diameter).
MRI = TwoByTwo(tp=37, fn=3, tn=16, fp=3)
US = TwoByTwo(tp=160, fn=64, tn=42, fp=12)
JEFFREYS = (0.5, 0.5)
TARGET_SECONDS = 5.0


def numpy_reference(
    pretest: np.ndarray, codes: np.ndarray, tables: list[TwoByTwo], *, n_draws: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loop-free NumPy: point estimate and equal-tailed interval for every patient."""
    rng = np.random.default_rng(seed)
    a, b = JEFFREYS
    tp, fn, tn, fp = (np.array([getattr(t, k) for t in tables], dtype=float)[:, None] for k in ("tp", "fn", "tn", "fp"))
    k = len(tables)
    # posterior draws, shape (k, n_draws)
    sens = rng.beta(tp + a, fn + b, size=(k, n_draws))
    spec = rng.beta(tn + a, fp + b, size=(k, n_draws))
    # log LR by result (row 0 negative, 1 indeterminate, 2 positive), shape (k, 3, n_draws)
    log_lr = np.stack([np.log1p(-sens) - np.log(spec), np.zeros_like(sens), np.log(sens) - np.log1p(-spec)], axis=1)
    # every result combination of the two tests at once, shape (3, 3, n_draws) -> (9, n_draws)
    combos = (log_lr[0][:, None, :] + log_lr[1][None, :, :]).reshape(9, n_draws)
    tail = (1 - level) / 2
    q = np.quantile(combos, [tail, 1 - tail], axis=1)  # (2, 9)
    # point estimate: posterior means plugged into Bayes' theorem
    sens_mean = (tp + a) / (tp + fn + a + b)
    spec_mean = (tn + a) / (tn + fp + a + b)
    lr_mean = np.stack([(1 - sens_mean) / spec_mean, np.ones_like(sens_mean), sens_mean / (1 - spec_mean)], axis=1)
    point_combo = (np.log(lr_mean[0, :, 0])[:, None] + np.log(lr_mean[1, :, 0])[None, :]).reshape(9)
    index = (codes[:, 0] + 1) * 3 + (codes[:, 1] + 1)
    logit = np.log(pretest) - np.log1p(-pretest)
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return expit(logit + point_combo[index]), expit(logit + q[0][index]), expit(logit + q[1][index])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs of each")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = np.random.default_rng(1)
    n = args.patients
    pretest = rng.uniform(0.01, 0.95, n)
    codes = rng.choice(np.array([-1, 0, 1]), size=(n, 2), p=[0.45, 0.1, 0.45])
    accuracies = [AccuracyPosterior.from_table(MRI, source="mri"), AccuracyPosterior.from_table(US, source="us")]

    def best(fn, before=None):
        times, out = [], None
        for _ in range(args.repeat):
            if before is not None:
                before()
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return min(times), out

    t_imln, ours = best(lambda: combine_tests_batch(pretest, codes, accuracies, intervals=True,
                                                   n_draws=args.draws, seed=args.seed),
                        before=_bayes._clear_caches)
    t_ref, (point, lower, upper) = best(lambda: numpy_reference(pretest, codes, [MRI, US], n_draws=args.draws,
                                                                seed=args.seed, level=0.95))
    d_point = float(np.max(np.abs(ours.point - point)))
    d_bounds = float(max(np.max(np.abs(ours.lower - lower)), np.max(np.abs(ours.upper - upper))))
    # the scalar path, for the first patient of every result combination present
    names = {1: "positive", -1: "negative", 0: "indeterminate"}
    combos = (codes[:, 0] + 1) * 3 + (codes[:, 1] + 1)
    first = [int(np.flatnonzero(combos == c)[0]) for c in np.unique(combos)]
    scalar_diff = max(
        max(abs(ours.lower[i] - r.interval[0]), abs(ours.upper[i] - r.interval[1]))
        for i in first
        for r in [combine_tests(float(pretest[i]), [(names[int(c)], a) for c, a in zip(codes[i], accuracies)],
                                n_draws=args.draws, seed=args.seed)]
    )
    ok = t_imln < TARGET_SECONDS and d_point < 1e-9 and d_bounds < 0.02 and scalar_diff == 0

    print(f"imaging post-test benchmark: {n:,} patients x 2 tests, 95% intervals from {args.draws:,} draws, "
          f"best of {args.repeat}, one core")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"  imln combine_tests_batch   {t_imln:8.3f} s   (target < {TARGET_SECONDS:g} s)")
    print(f"  NumPy loop-free reference  {t_ref:8.3f} s")
    print(f"  ratio imln / reference     {t_imln / t_ref:8.2f}")
    print(f"  max |point difference|     {d_point:.2e}   (same formula: rounding only)")
    print(f"  max |bound difference|     {d_bounds:.2e}   (different draws: Monte Carlo error)")
    print(f"  imln batch vs scalar path  {scalar_diff:.2e}   ({len(first)} patients, one per result combination: "
          "must be 0)")
    print("  result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
