"""``imln serve --workers 2`` as a real process tree: one SO_REUSEPORT socket per worker.

Which worker serves a connection is read from /proc: the server side of the connection is the
/proc/net/tcp entry whose local port is the service's and whose remote port is the client's;
its socket inode is among the open files (/proc/<pid>/fd) of exactly one worker.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import TOKEN

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc: Linux")

START_TIMEOUT = 60.0  # a worker imports numpy/scipy/pandas: a few seconds on a loaded CI machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid: int) -> set[int]:
    """Running child processes: the workers and multiprocessing's resource tracker."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) and st[1] == pid and st[0] not in ("Z", "X"):
            out.add(int(d.name))
    return out


def workers(pid: int) -> set[int]:
    def is_worker(c: int) -> bool:
        try:
            return b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            return False
    return {c for c in children(pid) if is_worker(c)}


def tcp_entries() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every IPv4 TCP socket (state 0A = LISTEN, 01 = ESTABLISHED)."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        rows.append((int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16), f[3], f[9]))
    return rows


def listeners(port: int) -> int:
    return sum(1 for local, _, state, _ in tcp_entries() if local == port and state == "0A")


def socket_inodes(pid: int) -> set[str]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                out.add(target[8:-1])
    except OSError:
        pass
    return out


def serving_worker(conn: http.client.HTTPConnection, port: int, pids: set[int]) -> int | None:
    """The worker holding the server side of ``conn`` (an open keep-alive connection)."""
    client_port = conn.sock.getsockname()[1]
    inodes = {inode for local, remote, state, inode in tcp_entries()
              if local == port and remote == client_port and state == "01"}
    owners = [pid for pid in pids if inodes & socket_inodes(pid)]
    return owners[0] if len(owners) == 1 else None


def health(port: int, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/api/v1/health")
        return conn.getresponse().status
    finally:
        conn.close()


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    def wait_ready(self, n_workers: int = 2) -> None:
        """Until every worker listens (one socket each) and the service answers."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited early:\n{self.log.read_text()}"
            if listeners(self.port) == n_workers:
                try:
                    if health(self.port) == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        pytest.fail(f"server not ready within {START_TIMEOUT:.0f} s:\n{self.log.read_text()}")


def serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "IMLN_API_TOKEN": TOKEN, "IMLN_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    log = (tmp_path / "serve.log").open("w")
    # own session: the cleanup can kill the whole process group whatever state the test left
    return subprocess.Popen([sys.executable, "-m", "imln", "serve", "--workers", "2", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator:
    started: list[subprocess.Popen] = []

    def start() -> Server:
        port = free_port()
        proc = serve(tmp_path, port)
        started.append(proc)
        server = Server(proc, port, tmp_path / "serve.log")
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for proc in started:
            stop_group(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running service for the read-only spread test and the kill test (which restores it)."""
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    proc = serve(tmp_path, port)
    try:
        s = Server(proc, port, tmp_path / "serve.log")
        s.wait_ready()
        yield s
    finally:
        stop_group(proc)


def test_keepalive_connections_spread_over_both_workers(server: Server) -> None:
    """16 keep-alive connections are served by both workers.

    Linux picks the socket of the SO_REUSEPORT group by a hash of each connection's addresses
    and ports, so each connection goes to either worker with probability 1/2: all 16 on the
    same worker has probability 2 * 2**-16 = 2**-15 (1 run in ~33 000).
    (This does not reliably tell the old shared socket apart: in this pattern uvicorn's
    ``--workers 2`` typically split 16 connections 1:15 or 2:14 here, rarely 0:16.)
    """
    pids = workers(server.proc.pid)
    assert len(pids) == 2
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(16)]
    try:
        for c in conns:  # all connected before any request: what a pool of persistent connections does
            c.connect()
        served_by = []
        for c in conns:
            for _ in range(2):  # two requests on the same connection: it is kept alive
                c.request("GET", "/api/v1/health")
                r = c.getresponse()
                r.read()
                assert r.status == 200
            served_by.append(serving_worker(c, server.port, pids))
    finally:
        for c in conns:
            c.close()
    assert None not in served_by, served_by
    assert set(served_by) == pids, f"connections per worker: {[served_by.count(p) for p in pids]}"


def test_killed_worker_is_replaced_and_service_keeps_answering(server: Server) -> None:
    before = workers(server.proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # Until the supervisor has reaped it: the main thread turns zombie first, the listening
    # socket is only closed when the worker's last thread is gone; connections the kernel
    # queues on it meanwhile are reset (unless sysctl net.ipv4.tcp_migrate_req=1).
    deadline = time.monotonic() + 10
    while _stat(victim) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _stat(victim) is None, "the supervisor did not reap the killed worker"
    # the surviving worker's socket takes every new connection meanwhile
    assert [health(server.port) for _ in range(10)] == [200] * 10
    deadline = time.monotonic() + 10
    while not (workers(server.proc.pid) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    now = workers(server.proc.pid)
    assert len(now - before) == 1, f"no replacement worker: before {before}, now {now}"
    assert now == (before - {victim}) | (now - before)
    server.wait_ready()  # the replacement listens again
    assert "exited unexpectedly (exit code -9)" in server.log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_parent_and_every_child(start_server, sig: signal.Signals) -> None:
    server = start_server()
    kids = children(server.proc.pid)
    assert len(workers(server.proc.pid)) == 2
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)  # an idle keep-alive client
    idle.request("GET", "/api/v1/health")
    idle.getresponse().read()
    try:
        os.kill(server.proc.pid, sig)  # the parent only, as a process manager would
        assert server.proc.wait(30) == 0, server.log.read_text()
    finally:
        idle.close()
    deadline = time.monotonic() + 10
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in kids if alive(k)], f"children left running after {sig.name}"
    assert listeners(server.port) == 0


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain-listener", "reuseport-listener"])
def test_port_in_use_is_a_clear_error(tmp_path: Path, reuseport: bool) -> None:
    """Also when the port is held by a SO_REUSEPORT listener, which the workers could silently join."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**os.environ, "IMLN_API_TOKEN": TOKEN, "IMLN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
        proc = subprocess.Popen([sys.executable, "-m", "imln", "serve", "--workers", "2", "--port", str(port)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            stop_group(proc)
    assert proc.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err, err
    assert "Traceback" not in err
