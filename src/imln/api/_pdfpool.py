"""PDF rendering bounded in concurrency, queue, time and memory.

A PDF report costs tens of seconds of CPU and hundreds of MB; on an open endpoint a few
clients could otherwise pile up renders until the service stops answering (issue 19).
Here:

- at most ``workers`` renders run at once and at most ``queue`` more wait; the next request
  is refused at once with 503 and ``Retry-After`` (nothing is started for it);
- each render runs in its own short-lived process (spawned): killed when the client goes
  away or after ``timeout`` seconds, and its memory goes back to the system when it ends,
  so the service's own size does not grow with the renders it has made;
- the event loop only polls a pipe, so cheap endpoints (health, compute) keep answering.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

__all__ = ["PdfBusy", "PdfPool", "PdfTimeout", "PdfUnavailable", "ClientGone"]

log = logging.getLogger("imln.api")

#: The render function, ``module:function(doc, stored_id=...) -> bytes``.
DEFAULT_RENDER = "imln.report:render_pdf"


class PdfBusy(Exception):
    """Every render slot and queue place is taken."""

    def __init__(self, running: int, waiting: int, retry_after: int) -> None:
        super().__init__(f"{running} PDF renders running and {waiting} waiting")
        self.running, self.waiting, self.retry_after = running, waiting, retry_after


class PdfUnavailable(Exception):
    """The renderer cannot run here (e.g. WeasyPrint's system libraries are missing)."""


class PdfTimeout(Exception):
    """The render took longer than the limit and was stopped."""


class ClientGone(Exception):
    """The client disconnected; the render was stopped."""


def _resolve(ref: str) -> Callable[..., bytes]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _child(conn: Any, ref: str, doc: dict[str, Any], stored_id: str | None) -> None:
    """Render in the child process and send ("ok", bytes) or (kind, message) back."""
    try:
        result = ("ok", _resolve(ref)(doc, stored_id=stored_id))
    except RuntimeError as exc:  # render_pdf's "PDF needs WeasyPrint / its libraries"
        result = ("unavailable", str(exc))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which answers 500 JSON
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(result)
    finally:
        conn.close()


class PdfPool:
    """Admission control and one process per render; see the module docstring."""

    def __init__(self, workers: int = 1, queue: int = 2, *, timeout: float = 600.0, render: str = DEFAULT_RENDER,
                 poll_interval: float = 0.1) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be ≥1 and queue ≥0")
        self.workers, self.queue, self.timeout, self.render_ref = workers, queue, timeout, render
        self.poll_interval = poll_interval
        self.running = 0
        self.waiting = 0
        self._limiter: anyio.CapacityLimiter | None = None
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self.mean_seconds = 30.0  # running estimate of a render's time, for Retry-After

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created inside the event loop
            self._limiter = anyio.CapacityLimiter(self.workers)
        return self._limiter

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead divided over the workers."""
        ahead = self.running + self.waiting
        return max(1, min(3600, round(self.mean_seconds * max(1, ahead) / self.workers)))

    async def render(self, doc: dict[str, Any], *, stored_id: str | None = None,
                     is_disconnected: Callable[[], Awaitable[bool]] | None = None) -> bytes:
        if self.running + self.waiting >= self.workers + self.queue:
            raise PdfBusy(self.running, self.waiting, self.retry_after())
        self.waiting += 1
        try:
            await self.limiter.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            if is_disconnected is not None and await is_disconnected():
                raise ClientGone
            return await self._run(doc, stored_id, is_disconnected)
        finally:
            self.running -= 1
            self.limiter.release()

    async def _run(self, doc: dict[str, Any], stored_id: str | None,
                   is_disconnected: Callable[[], Awaitable[bool]] | None) -> bytes:
        receiver, sender = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, args=(sender, self.render_ref, doc, stored_id),
                                 name="imln-pdf", daemon=True)
        started = time.monotonic()
        await anyio.to_thread.run_sync(proc.start)  # spawning takes a moment: not on the loop
        sender.close()
        try:
            while True:
                if receiver.poll():
                    kind, payload = await anyio.to_thread.run_sync(receiver.recv)
                    break
                if not proc.is_alive():
                    if receiver.poll():
                        continue
                    raise RuntimeError(f"the PDF renderer process ended without a result (exit code {proc.exitcode})")
                if time.monotonic() - started > self.timeout:
                    raise PdfTimeout(f"the PDF took longer than {self.timeout:g} s and was stopped")
                if is_disconnected is not None and await is_disconnected():
                    log.debug("client disconnected: PDF render stopped")
                    raise ClientGone
                await anyio.sleep(self.poll_interval)
        finally:
            receiver.close()
            if proc.is_alive():
                proc.kill()
            await anyio.to_thread.run_sync(proc.join, 5)
        elapsed = time.monotonic() - started
        self.mean_seconds = 0.7 * self.mean_seconds + 0.3 * elapsed
        if kind == "ok":
            return payload
        if kind == "unavailable":
            raise PdfUnavailable(payload)
        raise RuntimeError(f"the PDF renderer failed: {payload}")
