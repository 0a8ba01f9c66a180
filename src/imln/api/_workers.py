"""Run N uvicorn workers, each with its own SO_REUSEPORT listening socket.

Why not ``uvicorn.run(..., workers=N)``: uvicorn binds one socket in the parent and shares it;
whichever worker's event loop wakes first accepts every pending connection. With keep-alive
clients (a load balancer, an integration engine, wrk with 8 connections) all connections often
end up in one worker and the other cores idle. Here each worker binds its own socket to the
same address with SO_REUSEPORT, and Linux spreads new connections over the sockets of the group
(by a hash of the connection's addresses and ports).

The parent only supervises: it checks that the port is free, starts the workers, restarts a
worker that dies, gives up if they keep dying at start, and stops them all on SIGINT/SIGTERM.

Limits: the spread is by hash, not by load (8 connections on 2 workers: all on one 1 time in 128);
connections queued on a worker's socket when it dies are reset (kernel setting
net.ipv4.tcp_migrate_req=1 hands them to another worker instead).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["reuseport_supported", "run_workers"]

logger = logging.getLogger("uvicorn.error")

MIN_UPTIME = 10.0  # a worker that dies younger than this (seconds) died "at start"
MAX_EARLY_DEATHS = 5  # that many in a row: the app cannot start, stop instead of looping
GRACE = 15.0  # seconds a worker gets to finish after SIGTERM before it is killed


def reuseport_supported() -> bool:
    """Linux only: BSD/macOS accept SO_REUSEPORT but do not balance TCP connections with it."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _bind(host: str, port: int, *, reuseport: bool) -> socket.socket:
    """A TCP socket bound like uvicorn's ``Config.bind_socket`` (plus SO_REUSEPORT if asked)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _worker(app: str, host: str, port: int, options: dict[str, Any]) -> None:
    """Child process: own socket in the port's SO_REUSEPORT group, then a plain uvicorn server."""
    config = uvicorn.Config(app, host=host, port=port, **options)  # also sets up logging in this process
    try:
        sock = _bind(host, port, reuseport=True)
    except OSError as exc:
        logger.error("worker cannot listen on %s:%d: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    # As the event loop's create_server(sock=...) does too. That also calls listen(), only once the
    # app has started: a (re)starting worker joins the group, and gets connections, when it is ready.
    sock.setblocking(False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group: shut down quietly
        pass


def run_workers(app: str, *, host: str, port: int, workers: int, factory: bool = True,
                log_level: str = "info", access_log: bool = True, **uvicorn_kwargs: Any) -> int:
    """Serve ``app`` (import string) with ``workers`` processes; return the exit code.

    Falls back to ``uvicorn.run`` (one shared socket) for one worker or without SO_REUSEPORT.
    """
    options = dict(factory=factory, log_level=log_level, access_log=access_log, **uvicorn_kwargs)
    if workers <= 1 or not reuseport_supported():
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return 0
    uvicorn.Config(app, host=host, port=port, **options)  # checks the options and sets up logging here
    # A bind WITHOUT SO_REUSEPORT fails if anything listens on the port, including another
    # SO_REUSEPORT group of this user, which our workers would otherwise silently join.
    try:
        with _bind(host, port, reuseport=False) as probe:
            port = probe.getsockname()[1]  # port 0: the kernel's choice, the same for every worker
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        return STARTUP_FAILURE
    return _Supervisor(app, host, port, workers, options).run()


class _Supervisor:
    """Keeps ``workers`` spawn processes running until SIGINT/SIGTERM or a crash loop."""

    def __init__(self, app: str, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.args = (app, host, port, options)
        self.workers = workers
        self.ctx = multiprocessing.get_context("spawn")
        self.procs: dict[int, tuple[Any, float]] = {}  # sentinel -> (process, start time)
        self.stop_signal: int | None = None

    def _start(self) -> None:
        proc = self.ctx.Process(target=_worker, args=self.args, name="imln-worker")
        proc.start()
        self.procs[proc.sentinel] = (proc, time.monotonic())

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stop_signal = signum

    def run(self) -> int:
        _, host, port, _ = self.args
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        shown = f"[{host}]" if ":" in host else host
        logger.info("Started parent process [%d]: %d workers, one SO_REUSEPORT socket each, on http://%s:%d "
                    "(Press CTRL+C to quit)", os.getpid(), self.workers, shown, port)
        early_deaths = 0
        try:
            for _ in range(self.workers):
                self._start()
            while self.stop_signal is None:
                for sentinel in wait(list(self.procs), timeout=0.5):
                    if self.stop_signal is not None:
                        break
                    proc, started = self.procs.pop(sentinel)
                    proc.join()
                    early_deaths = early_deaths + 1 if time.monotonic() - started < MIN_UPTIME else 0
                    logger.warning("worker [%d] exited unexpectedly (exit code %s)", proc.pid, proc.exitcode)
                    if proc.exitcode == STARTUP_FAILURE:  # uvicorn's code: app startup or bind failed
                        logger.error("worker [%d] failed to start; stopping", proc.pid)
                        return 1
                    if early_deaths >= MAX_EARLY_DEATHS:
                        logger.error("%d workers in a row exited within %.0f s of starting; stopping",
                                     early_deaths, MIN_UPTIME)
                        return 1
                    self._start()
            logger.info("Received %s, stopping workers", signal.Signals(self.stop_signal).name)
            return 0
        finally:
            self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _stop_all(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL for workers still there after GRACE."""
        procs = [p for p, _ in self.procs.values()]
        for p in procs:
            p.terminate()
        deadline = time.monotonic() + GRACE
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.exitcode is None:
                logger.warning("worker [%d] did not stop within %.0f s; killing it", p.pid, GRACE)
                p.kill()
                p.join()
        self.procs.clear()
