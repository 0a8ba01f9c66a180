"""Cases per second for `imln.quantitative.run_batch`: serial vs local processes vs a local Dask cluster.

Every mode measures the same synthetic cases (NIfTI image + label map with 1–4 ellipsoidal
nodes) from scratch (``resume=False``) into its own output folder; the node tables of all
modes are checked to be identical. Run ``python benchmarks/quantitative/bench_batch.py -h``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _ellipsoid_labels(shape_kji, spacing, rng, n_nodes):
    nk, nj, ni = shape_kji
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    xyz = np.stack([i * spacing[0], j * spacing[1], k * spacing[2]], axis=-1)
    labels = np.zeros(shape_kji, dtype=np.uint8)
    extent = np.array([ni * spacing[0], nj * spacing[1], nk * spacing[2]])
    for n in range(n_nodes):
        axes = rng.uniform(4.0, 14.0, 3) / 2
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        centre = extent * np.array([rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), (n + 0.5) / n_nodes])
        local = (xyz - centre) @ q
        labels[((local / axes) ** 2).sum(-1) <= 1] = 1
    return labels


def make_cases(root: Path, n_cases: int, size: tuple[int, int, int], seed: int = 0) -> Path:
    """``root/case_XXX/{image,mask}.nii.gz``; returns ``root``."""
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    spacing = (0.7, 0.7, 1.5)
    ni, nj, nk = size
    for c in range(n_cases):
        folder = root / f"case_{c:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        labels = _ellipsoid_labels((nk, nj, ni), spacing, rng, n_nodes=1 + c % 4)
        image = rng.normal(200.0, 40.0, labels.shape) + 600.0 * labels
        for arr, name in ((image.astype(np.int16), "image.nii.gz"), (labels, "mask.nii.gz")):
            img = sitk.GetImageFromArray(arr)
            img.SetSpacing(spacing)
            sitk.WriteImage(img, str(folder / name), True)
    return root


def _burn(n: int = 4_000_000) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_ceiling(workers: int) -> float:
    """Speed-up of pure-Python work on ``workers`` processes right now: the ceiling for any mode here."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = 2 * workers
    s = time.perf_counter()
    for _ in range(jobs):
        _burn()
    serial = time.perf_counter() - s
    with ProcessPoolExecutor(workers) as ex:
        list(ex.map(_burn, [4_000_000] * workers))  # start the workers
        s = time.perf_counter()
        list(ex.map(_burn, [4_000_000] * jobs))
        parallel = time.perf_counter() - s
    return serial / parallel


def _warm_up() -> None:
    import SimpleITK  # noqa: F401

    import imln.quantitative._batch
    import imln.quantitative._case  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=48, help="number of cases (default 48)")
    ap.add_argument("--size", type=int, nargs=3, default=(192, 192, 64), metavar=("I", "J", "K"),
                    help="voxels per case (default 192 192 64)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local processes and Dask workers")
    ap.add_argument("--radiomics", action="store_true", help="also extract pyradiomics default features per node")
    ap.add_argument("--modes", nargs="+", default=["serial", "processes", "dask"],
                    choices=["serial", "processes", "dask"])
    ap.add_argument("--workdir", type=Path, default=None, help="keep data and outputs here (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode; the median is reported (default 3)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)

    from imln.quantitative import discover_cases, run_batch

    work = args.workdir or Path(tempfile.mkdtemp(prefix="imln-bench-"))
    data = work / "data"
    t0 = time.perf_counter()
    if not data.exists():
        make_cases(data, args.cases, tuple(args.size))
    make_s = time.perf_counter() - t0
    cases = discover_cases(data, modality="mri")[: args.cases]
    radiomics = "default" if args.radiomics else None
    rows = []
    tables = {}
    for mode in args.modes:
        out = work / f"out-{mode}"
        shutil.rmtree(out, ignore_errors=True)
        startup = 0.0
        cluster = None
        kwargs: dict = {"resume": False, "progress": False, "radiomics": radiomics}
        if mode == "serial":
            kwargs["workers"] = 1
        elif mode == "processes":
            kwargs["workers"] = args.workers
        else:
            from distributed import Client, LocalCluster

            s = time.perf_counter()
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            with Client(cluster) as client:  # workers import imln once, as forked processes inherit it
                client.run(_warm_up)
            startup = time.perf_counter() - s
            kwargs["scheduler"] = cluster.scheduler_address
        walls = []
        for _ in range(args.repeat):
            shutil.rmtree(out, ignore_errors=True)
            s = time.perf_counter()
            result = run_batch(cases, out, **kwargs)
            walls.append(time.perf_counter() - s)
            if result.failed:
                print(f"{mode}: {len(result.failed)} cases failed: {result.failed}", file=sys.stderr)
                return 1
        wall = float(np.median(walls))
        if cluster is not None:
            cluster.close()
        with (out / "nodes.csv").open(newline="") as fh:
            tables[mode] = sorted((r["case_id"], r["node_id"], r["short_axis_mm"], r["volume_mm3"])
                                  for r in csv.DictReader(fh))
        rows.append({"mode": mode, "workers": result.workers if mode != "dask" else args.workers,
                     "cases": result.computed, "seconds": wall, "cases_per_second": result.computed / wall,
                     "startup_seconds": startup, "runs_seconds": walls})
    ceiling = cpu_ceiling(args.workers)
    first = next(iter(tables.values()))
    assert all(t == first for t in tables.values()), "modes disagree on the node table"
    base = rows[0]["cases_per_second"]
    print(f"imln batch benchmark · {len(cases)} cases of {tuple(args.size)} voxels · "
          f"radiomics {'on' if args.radiomics else 'off'} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
          f" · data made in {make_s:.1f} s")
    print(f"median of {args.repeat} runs per mode; Dask start-up (cluster + imports) not included")
    print(f"{'mode':<10} {'workers':>7} {'seconds':>8} {'cases/s':>8} {'speed-up':>8} {'start-up s':>10}")
    for r in rows:
        print(f"{r['mode']:<10} {r['workers']:>7} {r['seconds']:>8.2f} {r['cases_per_second']:>8.2f} "
              f"{r['cases_per_second'] / base:>8.2f} {r['startup_seconds']:>10.2f}")
    print(f"node tables identical across modes: {len(first)} nodes")
    print(f"CPU ceiling now: pure-Python work runs {ceiling:.2f}x faster on {args.workers} processes than on one "
          "(below the worker count when the machine's cores are shared)")
    if args.json:
        args.json.write_text(json.dumps({"cases": len(cases), "size": list(args.size), "radiomics": args.radiomics,
                                         "cpus": os.cpu_count(), "cpu_ceiling": ceiling, "results": rows}, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
