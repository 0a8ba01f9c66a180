"""Load test and soak of ``POST /api/v1/assessments`` (storage on) on loopback.

Starts the service in a child process (``imln serve --workers N``, or ``--server uvicorn``
for uvicorn's own multi-worker mode; SQLite in a temporary folder unless
``--database-url``), then drives it with wrk or an async httpx client at bounded concurrency:

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
import shutil
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


def worker_cpu_seconds(pid: int) -> dict[int, tuple[float, float]]:
    """CPU time (user, system; s) of each child of the server process: its workers."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[child] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return out


def host_reference_ms(repeat: int = 7) -> float:
    """CPU time (ms, median of ``repeat``) of a fixed workload: Python arithmetic, a NumPy sort, SHA-256.

    The shared development machine's speed drifts by tens of per cent within minutes;
    this number, taken just before and after the load, says how fast the host was, so
    runs made at different times can be compared (throughput × reference is roughly
    constant for the same code).
    """
    import hashlib

    import numpy as np

    data = np.random.default_rng(0).random(200_000)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        x = 0
        for i in range(300_000):
            x += i * i % 7
        np.sort(data)
        hashlib.sha256(b"x" * 5_000_000).digest()
        times.append((time.process_time() - start) * 1000)
    return round(statistics.median(times), 1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def patient_bodies(path: Path, count: int, vary: str = "age-size") -> list[bytes]:
    """``count`` distinct JSON patients from the example (seeded).

    ``vary="age-size"``: age and tumour size varied (3 pre-test patterns with the default model,
    imln-erm-joint, which has no size term; 6 with imln-erm-synthesis); ``"risk-factors"``: also the
    quadrant and the number of positive axillary nodes (all 24 patterns of imln-erm-joint, 48 of
    imln-erm-synthesis, and the recommendations they lead to).
    """
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
        if vary == "risk-factors":
            p["tumor_location"] = {"quadrant": rng.choice(["UIQ", "LIQ", "UOQ", "LOQ", "central"])}
            p["positive_axillary_nodes"] = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12])
            p["examined_axillary_nodes"] = max(p.get("examined_axillary_nodes") or 0, p["positive_axillary_nodes"])
        elif vary != "age-size":
            raise ValueError(f"vary must be 'age-size' or 'risk-factors'; got {vary!r}")
        bodies.append(json.dumps(p).encode())
    return bodies


WRK_SCRIPT = r"""
-- generated by benchmarks/api/load.py: POST the bodies in turn, count non-201 answers
local bodies = dofile(os.getenv("IMLN_WRK_BODIES"))
local n = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/assessments", headers, bodies[(n %% #bodies) + 1])
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) bad = 0 end
response = function(status, headers, body) if status ~= 201 then bad = bad + 1 end end
done = function(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local out = {}
  for _, q in ipairs({50, 90, 99}) do table.insert(out, string.format('"p%%d_ms": %%.3f', q, latency:percentile(q) / 1000)) end
  io.write(string.format('IMLN-WRK {"requests": %%d, "seconds": %%.3f, "non_201": %%d, "socket_errors": %%d, '
    .. '"max_ms": %%.3f, "mean_ms": %%.3f, %%s}\n',
    summary.requests, summary.duration / 1e6, bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency.max / 1000, latency.mean / 1000, table.concat(out, ", ")))
end
"""


def run_wrk(url: str, bodies: list[bytes], seconds: float, concurrency: int, workdir: Path) -> dict:
    """Drive the server with wrk (C, one thread) for ``seconds``: bounded by time, not count."""
    lua_bodies = workdir / "bodies.lua"
    lua_bodies.write_text("return {\n" + ",\n".join(
        "[==[" + b.decode() + "]==]" for b in bodies) + "\n}\n")
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT % {"token": TOKEN})
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(script), url]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env={**os.environ, "IMLN_WRK_BODIES": str(lua_bodies)}).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    line = next(x for x in out.splitlines() if x.startswith("IMLN-WRK "))
    r = json.loads(line.removeprefix("IMLN-WRK "))
    errors = {k: r[k] for k in ("non_201", "socket_errors") if r[k]}
    return {
        "requests": r["requests"],
        "seconds": round(r["seconds"], 2),
        "throughput_rps": round(r["requests"] / r["seconds"], 1),
        "p50_ms": round(r["p50_ms"], 2),
        "p90_ms": round(r["p90_ms"], 2),
        "p99_ms": round(r["p99_ms"], 2),
        "max_ms": round(r["max_ms"], 2),
        "mean_ms": round(r["mean_ms"], 2),
        "errors": errors,
        "error_count": sum(errors.values()),
        "concurrency": concurrency,
        "client": "wrk",
        # wrk's own CPU time (user + system) per request: the share of the two cores the client took
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(r["requests"], 1), 3),
    }


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
    ap.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto",
                    help="load generator: wrk (C; 'auto' uses it when installed) or the async httpx client")
    ap.add_argument("--requests", type=int, default=3000, help="httpx: requests in the load phase (bounded)")
    ap.add_argument("--load-seconds", type=float, default=30.0, help="wrk: length of the load phase (bounded)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--soak-seconds", type=float, default=60.0, help="0 to skip the soak")
    ap.add_argument("--sample-seconds", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--server", choices=("imln", "uvicorn"), default="imln",
                    help="imln: 'imln serve' (a socket per worker); uvicorn: 'uvicorn --workers' (one shared socket)")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    ap.add_argument("--distinct-patients", type=int, default=500, help="patients cycled through (JSON bodies)")
    ap.add_argument("--vary", choices=("age-size", "risk-factors"), default="age-size",
                    help="what differs between the patients: age and size (3 risk patterns of the default model), "
                         "or also quadrant and axillary nodes (all 24)")
    ap.add_argument("--result-cache-size", type=int, default=None,
                    help="IMLN_RESULT_CACHE_SIZE for the server (0: every request recomputes the decision section)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()

    body = patient_bodies(Path(args.patient), args.distinct_patients, args.vary)
    port = free_port()
    tmp = tempfile.TemporaryDirectory(prefix="imln-bench-")
    db = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    env = {**os.environ, "IMLN_DATABASE_URL": db, "IMLN_API_TOKEN": TOKEN, "IMLN_CONFIG_FILE": "/nonexistent"}
    if args.result_cache_size is not None:
        env["IMLN_RESULT_CACHE_SIZE"] = str(args.result_cache_size)
    if args.server == "imln":  # what users run: one SO_REUSEPORT socket per worker (imln.api._workers)
        cmd = [sys.executable, "-m", "imln", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(args.workers), "--log-level", "warning"]
    else:  # uvicorn's own multi-worker mode: one socket shared by the workers
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
        results: dict = {"database": db.split("@")[-1].split("///")[0], "server": args.server, "workers": args.workers,
                         "patient": Path(args.patient).name, "cpus": os.cpu_count(),
                         "vary": args.vary, "result_cache_size": env.get("IMLN_RESULT_CACHE_SIZE", "default")}
        asyncio.run(run_load(url, body, args.warmup, None, args.concurrency))
        client = args.client
        if client == "auto":
            client = "wrk" if shutil.which("wrk") else "httpx"
        results["host_reference_ms_before"] = host_reference_ms()
        if client == "wrk":
            before = worker_cpu_seconds(server.pid)
            results["load"] = run_wrk(url, body, args.load_seconds, args.concurrency, Path(tmp.name))
            after = worker_cpu_seconds(server.pid)
            n = results["load"]["requests"]
            used = {pid: [(a - b) * 1000 / max(n, 1) for a, b in zip(after[pid], before.get(pid, (0.0, 0.0)))]
                    for pid in after}
            results["load"]["worker_cpu_ms_per_request"] = {str(pid): round(sum(u), 3) for pid, u in used.items()}
            # in the kernel (system time): loopback TCP, the database file's writes
            results["load"]["worker_system_cpu_ms_per_request"] = {str(pid): round(u[1], 3) for pid, u in used.items()}
        else:
            results["load"] = asyncio.run(run_load(url, body, args.requests, None, args.concurrency))
            results["load"]["client"] = "httpx"
        results["host_reference_ms_after"] = host_reference_ms()
        print(json.dumps({"load": results["load"], "host_reference_ms": [results["host_reference_ms_before"],
                                                                         results["host_reference_ms_after"]]},
                         indent=2))
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
