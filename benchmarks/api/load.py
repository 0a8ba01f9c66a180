"""Load test and soak of ``POST /api/v1/assessments`` (storage on) on loopback.

Starts the service in a child process (uvicorn, SQLite in a temporary folder unless
``--database-url``), then drives it with an async httpx client at bounded concurrency:

* load: ``--requests`` requests (bounded), reporting throughput, p50/p90/p99 latency, errors;
* soak: ``--soak-seconds`` (bounded) at the same concurrency, sampling the server's RSS
  every ``--sample-seconds``; growth is reported from the first sample after warm-up.

Only 127.0.0.1 is ever contacted. Results are printed and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size of the process and its children (uvicorn workers), in KiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def patient_bodies(path: Path, count: int) -> list[bytes]:
    """``count`` distinct JSON patients: the example with age and tumour size varied (seeded)."""
    import random

    import yaml

    base = yaml.safe_load(path.read_text())
    for f in base.get("findings") or []:
        if "date" in f:
            f["date"] = str(f["date"])
    rng = random.Random(20261124)
    bodies = []
    for i in range(count):
        p = dict(base, patient_id=f"bench-{i}", age_years=rng.randint(25, 85))
        if p.get("tumor_size_mm") is not None:
            p["tumor_size_mm"] = round(rng.uniform(5, 60), 1)
        bodies.append(json.dumps(p).encode())
    return bodies


async def run_load(url: str, bodies: list[bytes], n: int | None, seconds: float | None, concurrency: int,
                   on_sample=None, sample_every: float = 5.0) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    start = time.perf_counter()
    deadline = start + seconds if seconds else None
    headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal sent
            while True:
                if n is not None and sent >= n:
                    return
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                body = bodies[sent % len(bodies)]
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/v1/assessments", content=body, headers=headers)
                    if r.status_code != 201:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                latencies.append(time.perf_counter() - t0)

        async def sampler() -> None:
            while True:
                on_sample(time.perf_counter() - start)
                await asyncio.sleep(sample_every)

        sampling = asyncio.create_task(sampler()) if on_sample else None
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if sampling:
            sampling.cancel()
            on_sample(time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p90_ms": round(percentile(ms, 0.90), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "errors": errors,
        "error_count": sum(errors.values()),
        "concurrency": concurrency,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patient", default=str(ROOT / "examples" / "medial_4plus_nodes.yaml"))
    ap.add_argument("--requests", type=int, default=3000, help="requests in the load phase (bounded)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--soak-seconds", type=float, default=60.0, help="0 to skip the soak")
    ap.add_argument("--sample-seconds", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    ap.add_argument("--distinct-patients", type=int, default=500, help="patients cycled through (JSON bodies)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()

    body = patient_bodies(Path(args.patient), args.distinct_patients)
    port = free_port()
    tmp = tempfile.TemporaryDirectory(prefix="imln-bench-")
    db = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    env = {**os.environ, "IMLN_DATABASE_URL": db, "IMLN_API_TOKEN": TOKEN, "IMLN_CONFIG_FILE": "/nonexistent"}
    cmd = [sys.executable, "-m", "uvicorn", "imln.api._serve:make_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                print("server did not start", file=sys.stderr)
                return 1
            time.sleep(0.2)
        results: dict = {"database": db.split("@")[-1].split("///")[0], "workers": args.workers,
                         "patient": Path(args.patient).name, "cpus": os.cpu_count()}
        asyncio.run(run_load(url, body, args.warmup, None, args.concurrency))
        results["load"] = asyncio.run(run_load(url, body, args.requests, None, args.concurrency))
        print(json.dumps({"load": results["load"]}, indent=2))
        if args.soak_seconds > 0:
            samples: list[tuple[float, int]] = []
            soak = asyncio.run(run_load(url, body, None, args.soak_seconds, args.concurrency,
                                        on_sample=lambda t: samples.append((round(t, 1), rss_kib(server.pid))),
                                        sample_every=args.sample_seconds))
            base = samples[1][1] if len(samples) > 2 else samples[0][1]
            soak["rss_kib"] = samples
            soak["rss_growth_kib_after_first_interval"] = samples[-1][1] - base
            soak["rss_growth_percent"] = round(100 * (samples[-1][1] - base) / base, 1)
            results["soak"] = soak
            print(json.dumps({"soak": soak}, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
