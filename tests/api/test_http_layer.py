"""The HTTP layer around the endpoints: disconnects, the access log, the body limit, the 201 body."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from typing import Any

import pytest

from imln.api import Settings, create_app
from imln.schema import MAX_INPUT_BYTES

from .conftest import AUTH, TOKEN, example

YAML = {"content-type": "application/yaml"}


async def asgi(app: Any, method: str, path: str, messages: list[dict[str, Any]],
               headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """One request the way an ASGI server delivers it; returns what the app sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}
    queue = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


class TestClientDisconnect:
    def test_disconnect_before_the_body_is_quiet_and_stores_nothing(self, store, caplog):
        app = create_app(Settings(api_token=TOKEN), store=store)
        body = example("medial_4plus_nodes.yaml")
        headers = [(b"content-type", b"application/yaml"), (b"authorization", f"Bearer {TOKEN}".encode()),
                   (b"content-length", str(len(body)).encode())]
        caplog.set_level(logging.DEBUG)
        sent = asyncio.run(asgi(app, "POST", "/api/v1/assessments",
                                [{"type": "http.request", "body": body[:100], "more_body": True}], headers))
        assert sent[0]["status"] == 499  # dropped by the server: the client is gone
        assert store.count() == 0
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert "client disconnected" in caplog.text

    def test_real_server_logs_no_traceback(self, store, caplog):
        """uvicorn, a client that sends half a body and hangs up (as wrk does at its deadline)."""
        import uvicorn

        app = create_app(Settings(api_token=TOKEN), store=store)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        caplog.set_level(logging.WARNING)
        thread.start()
        try:
            deadline = time.time() + 20
            while not server.started:
                assert time.time() < deadline, "uvicorn did not start"
                time.sleep(0.05)
            body = example("medial_4plus_nodes.yaml")
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", port)) as c:
                    c.sendall(b"POST /api/v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\n"
                              + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                              + body[: len(body) // 2])
                    time.sleep(0.2)
            time.sleep(0.5)
            assert store.count() == 0
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]


class TestAccessLog:
    def test_logs_the_route_template_and_status(self, client, caplog):
        caplog.set_level(logging.DEBUG, logger="imln.api")
        aid = client.post("/api/v1/assessments", content=example("early_lateral_n0.yaml"),
                          headers={**YAML, **AUTH}).json()["id"]
        client.get(f"/api/v1/assessments/{aid}", headers=AUTH)
        client.get("/api/v1/nowhere")
        lines = [r.getMessage() for r in caplog.records if r.name == "imln.api"]
        assert any(line.startswith("POST /api/v1/assessments 201 ") for line in lines), lines
        assert any(line.startswith("GET /api/v1/assessments/{assessment_id} 200 ") for line in lines), lines
        assert any(line.startswith("GET /api/v1/nowhere 404 ") for line in lines), lines
        assert not any(aid in line for line in lines)  # ids are not logged

    def test_too_large_is_logged_too(self, open_client, caplog):
        caplog.set_level(logging.DEBUG, logger="imln.api")
        r = open_client.post("/api/v1/compute", content=b" " * (MAX_INPUT_BYTES + 1),
                             headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert any(r.getMessage().startswith("POST /api/v1/compute 413 ") for r in caplog.records)


class TestBodyLimit:
    def test_chunked_body_is_counted_even_with_a_small_content_length(self, store):
        app = create_app(Settings(api_token=TOKEN, open_compute=True), store=store)
        chunk = b" " * 65536
        messages = [{"type": "http.request", "body": chunk, "more_body": True}
                    for _ in range(MAX_INPUT_BYTES // len(chunk) + 2)]
        headers = [(b"content-type", b"application/json"), (b"content-length", b"10"),
                   (b"transfer-encoding", b"chunked")]
        sent = asyncio.run(asgi(app, "POST", "/api/v1/compute", messages, headers))
        assert sent[0]["status"] == 413

    def test_bad_content_length_is_413(self, store):
        app = create_app(Settings(api_token=TOKEN, open_compute=True), store=store)
        sent = asyncio.run(asgi(app, "POST", "/api/v1/compute", [{"type": "http.request", "body": b"{}"}],
                                [(b"content-length", b"ten")]))
        assert sent[0]["status"] == 413


class TestCreatedBody:
    def test_201_body_is_the_stored_row(self, client):
        r = client.post("/api/v1/assessments", content=example("after_nac_mri_positive.yaml"),
                        headers={**YAML, **AUTH})
        assert r.status_code == 201 and r.headers["content-type"] == "application/json"
        body = r.json()
        got = client.get(f"/api/v1/assessments/{body['id']}", headers=AUTH).json()
        assert body == got
        assert list(body) == list(got)  # same fields in the same order
        assert int(r.headers["content-length"]) == len(r.content)
        assert json.loads(r.content) == body


@pytest.mark.parametrize(("env", "level"), [("warning", logging.WARNING), ("DEBUG", logging.DEBUG),
                                            ("trace", logging.DEBUG)])
def test_workers_take_the_log_level_imln_serve_gives_them(monkeypatch, env, level):
    """``imln serve --log-level`` reaches each worker's imln loggers through IMLN_LOG_LEVEL (the factory reads it)."""
    from imln.api._serve import make_app

    monkeypatch.setenv("IMLN_LOG_LEVEL", env)
    logger = logging.getLogger("imln")
    before = logger.level
    try:
        make_app()
        assert logger.level == level
    finally:
        logger.setLevel(before)


def test_a_bad_worker_log_level_names_the_variable(monkeypatch):
    from imln.api._serve import make_app

    monkeypatch.setenv("IMLN_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="IMLN_LOG_LEVEL must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG"):
        make_app()
