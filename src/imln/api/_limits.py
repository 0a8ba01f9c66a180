"""Plain ASGI middleware: the request body size limit (checked before the body is read)
and the access log; the per-client rate limit of the open endpoints.

Plain ASGI rather than ``@app.middleware("http")``: that style runs every request
through extra tasks and memory streams, which costs more than the endpoints here.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["AccessLog", "BodySizeLimit", "RateLimit"]


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413: by Content-Length up front, else while streaming."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> bytes:
        mib = self.max_bytes / 1024 / 1024
        return json.dumps(
            {
                "error": "request_too_large",
                "problems": [
                    {
                        "field": "<input>",
                        "value": None,
                        "allowed": f"at most {self.max_bytes} bytes ({mib:g} MiB)",
                        "message": "the request body is larger than the limit",
                        "related": [],
                    }
                ],
            }
        ).encode()

    async def _reject(self, send: Any) -> None:
        body = self._message()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._reject(send)
                    return
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and not chunked:
            # The server delivers at most Content-Length bytes of body (HTTP framing),
            # and that is within the limit: nothing to count.
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)


class AccessLog:
    """Debug log line per HTTP request: method, route template, status, milliseconds.

    The route *template* (``/api/v1/assessments/{assessment_id}``) is logged, not the
    path: ids are not patient identifiers, but nothing else from the request is logged.
    Costs nothing unless ``logger`` is enabled for DEBUG.
    """

    def __init__(self, app: Any, logger: logging.Logger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.logger.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def status_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, status_send)
        path = getattr(scope.get("route"), "path", scope.get("path"))
        self.logger.debug("%s %s %s %.1fms", scope.get("method"), path, status, (time.perf_counter() - start) * 1000)


class RateLimit:
    """Token bucket per client address: ``per_minute`` requests at once, then ``per_minute`` a minute.

    For the open (token-less) compute endpoints and web-form posts; requests with the bearer token are
    not counted. Keyed by the connection's address: behind a reverse proxy every client shares the
    proxy's address, so limit there (or raise the limit). At most ``max_clients`` addresses are
    remembered (the least recently seen are forgotten), so memory stays bounded.
    """

    def __init__(self, per_minute: int, *, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # insertion order = least recently seen first

    def check(self, client: str, now: float | None = None) -> float | None:
        """``None`` when the request may go ahead (and count it), else the seconds until it may."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
        wait = None
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.pop(next(iter(self._buckets)))
        return wait
