"""Plain ASGI middleware: the request body size limit (checked before the body is read)
and the access log.

Plain ASGI rather than ``@app.middleware("http")``: that style runs every request
through extra tasks and memory streams, which costs more than the endpoints here.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["AccessLog", "BodySizeLimit"]


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
