"""Reliability checks of issue 19 on loopback: PDF flood and kill -9 durability.

Starts ``imln serve`` in a child process (SQLite in a temporary folder, a fixed token, open
compute) and runs, each bounded in count and time:

* flood: ``--flood`` concurrent ``POST /api/v1/compute/report?format=pdf`` without a token
  (real renders) while a probe times ``GET /api/v1/health`` every 20 ms; reports how many were
  rendered / refused (503 + Retry-After) / failed, the health p50/p99/max latency during
  the flood, and the server's resident memory (with its render processes) at idle, at the
  peak, and after the flood;
* durability: ``--writers`` clients store assessments (``POST /api/v1/assessments`` with the
  token) for ``--write-seconds``, the server is killed with SIGKILL mid-stream, restarted on
  the same database, and every acknowledged (201) id is read back and its digests checked.

Only 127.0.0.1 is contacted. Prints the figures and writes them as JSON (``--out``).
Example: ``python benchmarks/reliability/reliability.py --flood 20 --writers 8 --write-seconds 10``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "reliability-token"
PATIENT = (ROOT / "examples" / "early_lateral_n0.yaml").read_bytes()
YAML = {"content-type": "application/yaml"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of the server and all its descendants (workers, render processes), MiB."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return float("nan")
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return float("nan")
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 1024 / 1024


class Server:
    def __init__(self, db: Path, port: int, env: dict[str, str]) -> None:
        self.db, self.port, self.env = db, port, env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, "IMLN_API_TOKEN": TOKEN, "IMLN_DATABASE_URL": f"sqlite:///{self.db}",
               "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imln", "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("the server did not start within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


def flood(server: Server, n: int) -> dict[str, object]:
    assert server.proc is not None
    time.sleep(2)
    idle = rss_mib(server.proc.pid)
    latencies: list[float] = []
    peak = idle
    stop = threading.Event()

    def probe() -> None:
        nonlocal peak
        with httpx.Client(base_url=server.base, timeout=10) as c:
            while not stop.is_set():
                t = time.perf_counter()
                c.get("/api/v1/health")
                latencies.append((time.perf_counter() - t) * 1000)
                peak = max(peak, rss_mib(server.proc.pid))
                time.sleep(0.02)

    def pdf(_: int) -> tuple[int, str | None, float]:
        t = time.perf_counter()
        with httpx.Client(base_url=server.base, timeout=1800) as c:
            r = c.post("/api/v1/compute/report?format=pdf", content=PATIENT, headers=YAML)
        return r.status_code, r.headers.get("retry-after"), time.perf_counter() - t

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(pdf, range(n)))
    elapsed = time.perf_counter() - started
    stop.set()
    prober.join()
    time.sleep(2)
    after = rss_mib(server.proc.pid)
    codes = [c for c, _, _ in results]
    return {
        "pdf_requests": n,
        "rendered": codes.count(200),
        "refused_503": codes.count(503),
        "refused_with_retry_after": sum(1 for c, ra, _ in results if c == 503 and ra),
        "other_status": sorted({c for c in codes if c not in (200, 503)}),
        "flood_seconds": round(elapsed, 1),
        "health_requests": len(latencies),
        "health_p50_ms": round(quantile(latencies, 0.50), 1),
        "health_p99_ms": round(quantile(latencies, 0.99), 1),
        "health_max_ms": round(max(latencies, default=float("nan")), 1),
        "rss_idle_mib": round(idle, 1),
        "rss_peak_mib": round(peak, 1),
        "rss_after_mib": round(after, 1),
        "rss_after_over_idle": round(after / idle, 2) if idle else None,
    }


def durability(server: Server, writers: int, seconds: float) -> dict[str, object]:
    acknowledged: list[str] = []
    lock = threading.Lock()
    errors = 0
    deadline = time.monotonic() + seconds
    auth = {**YAML, "Authorization": f"Bearer {TOKEN}"}

    def write() -> None:
        nonlocal errors
        with httpx.Client(base_url=server.base, timeout=10) as c:
            while time.monotonic() < deadline:
                try:
                    r = c.post("/api/v1/assessments", content=PATIENT, headers=auth)
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    return  # the server is gone
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=write, daemon=True) for _ in range(writers)]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    server.kill()  # SIGKILL mid-stream
    for t in threads:
        t.join(30)
    server.start()
    lost = corrupt = 0
    with httpx.Client(base_url=server.base, timeout=30) as c:
        for aid in acknowledged:
            r = c.get(f"/api/v1/assessments/{aid}", headers={"Authorization": f"Bearer {TOKEN}"})
            if r.status_code == 404:
                lost += 1
            elif r.status_code != 200 or not r.json().get("intact", True):
                corrupt += 1
    return {"writers": writers, "acknowledged_writes": len(acknowledged), "lost": lost, "corrupt": corrupt,
            "client_errors_at_kill": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flood", type=int, default=20, help="concurrent PDF requests (0: skip)")
    ap.add_argument("--pdf-workers", type=int, default=1)
    ap.add_argument("--pdf-queue", type=int, default=2)
    ap.add_argument("--writers", type=int, default=8, help="concurrent writers in the kill -9 check (0: skip)")
    ap.add_argument("--write-seconds", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="imln-reliability-") as tmp:
        env = {"IMLN_OPEN_COMPUTE": "true", "IMLN_PDF_WORKERS": str(args.pdf_workers),
               "IMLN_PDF_QUEUE": str(args.pdf_queue), "IMLN_RATE_LIMIT_PER_MINUTE": "0",
               "XDG_DATA_HOME": tmp, "IMLN_CONFIG_FILE": str(Path(tmp) / "none.toml")}
        server = Server(Path(tmp) / "reliability.sqlite3", free_port(), env)
        server.start()
        try:
            if args.flood:
                results["flood"] = flood(server, args.flood)
                print(json.dumps({"flood": results["flood"]}, indent=2), flush=True)
            if args.writers:
                results["durability"] = durability(server, args.writers, args.write_seconds)
                print(json.dumps({"durability": results["durability"]}, indent=2), flush=True)
        finally:
            server.stop()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
