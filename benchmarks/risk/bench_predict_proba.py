"""1,000,000 patients through imln.risk.predict_proba, against statsmodels in the same run.

    python benchmarks/risk/bench_predict_proba.py [--rows 1000000] [--repeat 3]

Both sides start from the same pandas DataFrame of raw features (age, nodes, size,
site) and build their own design matrix. The peer is a statsmodels GLM results
object with the same terms (patsy formula) and our coefficients: ``predict`` for
the point estimate, ``get_prediction().summary_frame()`` for the 95% interval.
Runs on one core (BLAS threads pinned to 1). Prints best-of-N seconds and ratios.
"""

from __future__ import annotations

import argparse
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

from imln.risk import get_model, predict_proba  # noqa: E402

FORMULA = (
    "y ~ I(positive_axillary_nodes >= 1) + I((positive_axillary_nodes >= 4) & (positive_axillary_nodes <= 6))"
    " + I(positive_axillary_nodes >= 7) + I(tumor_site != 'lateral') + I(age_years <= 39)"
    " + I((age_years >= 40) & (age_years <= 50)) + I(tumor_size_mm >= 20)"
)


def cohort(rows: int, seed: int = 20261124) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age_years": rng.integers(25, 90, rows),
            "positive_axillary_nodes": rng.poisson(1.5, rows),
            "tumor_size_mm": rng.gamma(2.0, 10.0, rows).round(1) + 1,
            "tumor_site": rng.choice(np.array(["medial", "central", "lateral"], dtype=object), rows),
        }
    )


def peer_results(spec):
    """A statsmodels GLM results object carrying our coefficients and covariance."""
    small = cohort(2000, seed=1)
    small["y"] = np.random.default_rng(2).integers(0, 2, len(small))
    res = smf.glm(FORMULA, small, family=__import__("statsmodels.api").api.families.Binomial()).fit()
    params = np.array([spec.setting().intercept, *(t.log_odds for t in spec.terms)])
    inner = res._results  # the formula API wraps the plain results object
    inner.params = params
    inner.normalized_cov_params = np.asarray(spec.covariance.matrix)
    inner.scale = 1.0
    return res


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = get_model("imln-erm-synthesis")  # the formula below is that model's terms
    frame = cohort(args.rows)
    res = peer_results(spec)

    ours = predict_proba(frame, spec)
    theirs = res.get_prediction(frame).summary_frame(alpha=0.05)
    assert np.allclose(ours["probability"], theirs["mean"], rtol=1e-10)
    assert np.allclose(ours["lower"], theirs["mean_ci_lower"], rtol=1e-6)
    assert np.allclose(ours["upper"], theirs["mean_ci_upper"], rtol=1e-6)

    rows = [
        ("point estimate", lambda: predict_proba(frame, spec, interval=False), lambda: res.predict(frame)),
        ("point + 95% interval", lambda: predict_proba(frame, spec),
         lambda: res.get_prediction(frame).summary_frame(alpha=0.05)),
    ]
    print(f"{args.rows:,} patients, best of {args.repeat}, one core")
    print(f"{'':22s} {'imln s':>8s} {'statsmodels s':>14s} {'ratio':>7s} {'imln patients/s':>16s}")
    for label, ours_fn, peer_fn in rows:
        a, b = best(ours_fn, args.repeat), best(peer_fn, args.repeat)
        print(f"{label:22s} {a:8.3f} {b:14.3f} {b / a:6.1f}x {args.rows / a:16,.0f}")


if __name__ == "__main__":
    main()
