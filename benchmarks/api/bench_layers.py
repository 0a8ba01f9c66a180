"""CPU time per request of the layers around ``imln.assess`` in ``POST /api/v1/assessments``.

In-process, no network: CPU time (``time.process_time``, all threads of this process)
over many repetitions, so other jobs on a shared machine disturb it far less than
wall-clock time. Layers, per request:

* ``parse``: ``load_patient`` of the JSON body;
* ``save``: ``Store.save`` of the assessment (SQLite file, WAL), broken down into
  ``model_dump`` (pydantic → JSON-ready dict), ``encode_json`` (the output's JSON text,
  where the version has it), ``model_versions``, the two digests (input and output),
  and the rest (row insert and commit);
* ``response``: building the 201 response of the saved row (body serialisation);
* ``asgi_round_trip``: the whole request through the ASGI app (middleware, routing,
  auth, body read, parse, save in the thread pool, response) with ``assess`` replaced by
  a function returning a precomputed assessment, i.e. everything except ``assess``;
* ``framework``: ``asgi_round_trip`` minus parse, save and response;
* ``health_round_trip``: ``GET /api/v1/health`` for the framework's floor.

``assess`` itself is reported for scale. To compare with another version of the code,
run the script with ``PYTHONPATH=<other tree>/src`` (it imports whatever ``imln`` is
first on the path)::

    python benchmarks/api/bench_layers.py --repeat 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"


def per_call_ms(fn: Any, repeat: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat * 1000


def json_body(path: Path) -> bytes:
    import yaml

    data = yaml.safe_load(path.read_text())
    for f in data.get("findings") or []:
        if "date" in f:
            f["date"] = str(f["date"])
    return json.dumps(data).encode()


class AsgiCaller:
    """Calls an ASGI app the way uvicorn does (one request, body in one message)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
        hdrs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        hdrs.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": hdrs, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
            "state": {},
        }
        done = asyncio.Event()
        delivered = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await self.app(scope, receive, send)
        return status

    def per_call_ms(self, loop: asyncio.AbstractEventLoop, repeat: int, *args: Any, expect: int, **kwargs: Any) -> float:
        async def run(n: int) -> None:
            for _ in range(n):
                status = await self.call(*args, **kwargs)
                if status != expect:
                    raise RuntimeError(f"{args[:2]}: status {status}, expected {expect}")

        loop.run_until_complete(run(20))
        start = time.process_time()
        loop.run_until_complete(run(repeat))
        return (time.process_time() - start) / repeat * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patient", default=str(ROOT / "examples" / "medial_4plus_nodes.yaml"))
    ap.add_argument("--repeat", type=int, default=500, help="repetitions per layer")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    import imln
    import imln.api._app as app_module
    from imln.api import Settings, create_app
    from imln.report._adapter import model_versions
    from imln.storage import Store, digest
    from imln.storage._store import _stable

    body = json_body(Path(args.patient))
    patient = imln.load_patient(body, name="request body")
    assessment = imln.assess(patient)
    doc = assessment.model_dump(mode="json")
    r: dict[str, Any] = {
        "imln": str(Path(imln.__file__).parent),
        "patient": Path(args.patient).name,
        "output_bytes_compact": len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()),
        "repeat": args.repeat,
    }
    n = args.repeat
    with tempfile.TemporaryDirectory(prefix="imln-bench-layers-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        r["assess_ms"] = per_call_ms(lambda: imln.assess(patient), max(20, n // 20), warmup=3)
        r["parse_ms"] = per_call_ms(lambda: imln.load_patient(body, name="request body"), n)
        r["model_dump_ms"] = per_call_ms(lambda: assessment.model_dump(mode="json"), n)
        import inspect

        if "encoded" in inspect.signature(model_versions).parameters:  # as Store.save calls it
            from imln.storage._store import encode_json

            r["encode_json_ms"] = per_call_ms(lambda: encode_json(doc), n)
            text = encode_json(doc)
            r["model_versions_ms"] = per_call_ms(lambda: model_versions(doc, encoded=text), n)
        else:
            r["model_versions_ms"] = per_call_ms(lambda: model_versions(doc), n)
        try:  # the output digest as Store.save takes it (its method chosen per row since revision 0003)
            from imln.storage import output_digest
        except ImportError:  # older versions: the standard-library digest of the stable part
            def output_digest(doc: dict) -> Any:
                return digest(_stable(doc))
        r["digests_ms"] = per_call_ms(lambda: (digest(doc["input"]), output_digest(doc)), n)
        r["save_ms"] = per_call_ms(lambda: store.save(assessment), n)
        r["save_rest_ms"] = (r["save_ms"] - r["model_dump_ms"] - r["model_versions_ms"] - r["digests_ms"]
                             - r.get("encode_json_ms", 0.0))
        row = store.save(assessment)
        respond = getattr(app_module, "_created_response", None)
        if respond is None:  # the version before the helper existed
            from fastapi.responses import JSONResponse

            def respond(row: Any) -> Any:
                return JSONResponse(row.to_dict(), status_code=201,
                                    headers={"Location": f"/api/v1/assessments/{row.id}"})
        r["response_ms"] = per_call_ms(lambda: respond(row), n)

        app = create_app(Settings(api_token=TOKEN, open_compute=False, storage=True), store=store)
        app_module.assess = lambda _patient: assessment  # everything but assess
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            loop = asyncio.new_event_loop()
        caller = AsgiCaller(app)
        headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
        r["asgi_round_trip_ms"] = caller.per_call_ms(loop, n, "POST", "/api/v1/assessments", body, headers,
                                                     expect=201)
        r["framework_ms"] = r["asgi_round_trip_ms"] - r["parse_ms"] - r["save_ms"] - r["response_ms"]
        r["health_round_trip_ms"] = caller.per_call_ms(loop, n, "GET", "/api/v1/health", expect=200)
        loop.close()
        store.close()
    for k, v in r.items():
        print(f"{k:24s} {v:.3f}" if isinstance(v, float) else f"{k:24s} {v}")
    if args.out:
        Path(args.out).write_text(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()},
                                             indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
