"""The FastAPI application: REST API under ``/api/v1`` and the clinician web page at ``/``.

Every handler renders objects computed elsewhere (``imln.assess``, the evidence base,
the risk registry); nothing is computed here. Input problems are 422 responses in the
CLI's JSON layout (``{"error": "patient_input", "problems": [{field, value, allowed,
message, related}]}``); bodies larger than the limit are 413 before they are read.
"""


import dataclasses
import hmac
import logging
from contextlib import asynccontextmanager
from functools import cache
from pathlib import PurePath
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from imln import __version__
from imln._assessment import Assessment, assess
from imln.api._limits import AccessLog, BodySizeLimit, RateLimit
from imln.api._pdfpool import ClientGone, PdfBusy, PdfPool, PdfTimeout, PdfUnavailable
from imln.api._settings import Settings
from imln.evidence import Kind, Modality, Setting, audit_evidence, load_evidence, record_summary
from imln.schema import Patient, PatientInputError, load_patient, patient_json_schema

__all__ = ["ApiError", "create_app"]

log = logging.getLogger("imln.api")

API = "/api/v1"
#: Bodies larger than this (bytes) are parsed in a worker thread; a patient is a few kilobytes.
LARGE_BODY = 64 * 1024
#: Content types accepted for a patient body (JSON or YAML; recognised by content).
PATIENT_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class ApiError(Exception):
    """An error answered as JSON ``{"error": code, "message": ..., "problems": [...]}``."""

    def __init__(self, status: int, code: str, message: str, *, problems: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems or []
        self.headers = headers

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            body["problems"] = self.problems
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _problem(field: str, message: str, value: Any = None, allowed: str | None = None) -> dict[str, Any]:
    return {"field": field, "value": value, "allowed": allowed, "message": message, "related": []}


# --------------------------------------------------------------------------- OpenAPI helpers


@cache
def _patient_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The patient JSON Schema with ``$defs`` moved to OpenAPI components."""
    schema = patient_json_schema()
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (v.replace("#/$defs/", "#/components/schemas/PatientInput_") if k == "$ref" and isinstance(v, str)
                        else rewrite(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    return rewrite(schema), {f"PatientInput_{k}": rewrite(v) for k, v in defs.items()}


def _patient_body() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": "One patient (JSON, or YAML with a YAML content type). Units are in field names; "
                           "null or absent = unknown. See GET /api/v1/schema/patient.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PatientInput"}},
                "application/yaml": {"schema": {"$ref": "#/components/schemas/PatientInput"}},
            },
        },
        "responses": {
            "413": {"description": "Body larger than the limit."},
            "415": {"description": "Unsupported content type."},
            "422": {"description": "Invalid patient input: every problem with its field path and allowed range."},
        },
    }


# --------------------------------------------------------------------------- app


def create_app(settings: Settings | None = None, *, store: Any = None) -> FastAPI:
    """The application for ``settings`` (default: from the environment and config file).

    ``store`` overrides the assessment store (tests); otherwise one is opened on
    ``settings.database_url`` (migrated to the newest schema) at startup.
    """
    settings = settings or Settings()
    state: dict[str, Any] = {"store": store}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if state["store"] is None and settings.storage:
            from imln.storage import Store

            state["store"] = Store(settings.resolved_database_url())
            state["owned"] = True
        load_evidence()  # warm caches before the first request
        _audit()
        yield
        if state.get("owned"):
            state["store"].close()

    app = FastAPI(
        title="imln",
        version=__version__,
        summary="Decision support for internal mammary lymph node (IMLN) metastasis. Not a medical device.",
        description=(
            "Assess a patient (`POST /api/v1/compute`, or `POST /api/v1/assessments` to store it), read stored "
            "assessments and reproduce them, export reports and FHIR RiskAssessments, list models and evidence. "
            "Stored assessments need `Authorization: Bearer <token>` (IMLN_API_TOKEN); compute endpoints need it "
            "unless the service runs with open compute."
        ),
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # served below from the swagger-ui-bundle package: no CDN, works offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.imln = state
    app.state.rate_limit = RateLimit(settings.rate_limit_per_minute)
    app.state.pdf_pool = PdfPool(settings.pdf_workers, settings.pdf_queue, timeout=settings.pdf_timeout_seconds)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(AccessLog, logger=log)  # outermost: times and logs everything, 413s included

    # ------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(PatientInputError)
    async def _patient_error(_request: Request, exc: PatientInputError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body", "header")]
            ctx = e.get("ctx") or {}
            bounds = [f"≥{ctx['ge']}" if "ge" in ctx else None, f"≤{ctx['le']}" if "le" in ctx else None,
                      f">{ctx['gt']}" if "gt" in ctx else None, f"<{ctx['lt']}" if "lt" in ctx else None]
            allowed = " and ".join(b for b in bounds if b) or (ctx.get("expected") if isinstance(ctx.get("expected"), str) else None)
            value = e.get("input")
            problems.append(_problem(".".join(loc) or "<request>", e.get("msg", "invalid"),
                                     None if value is None else str(value)[:60], allowed))
        return JSONResponse({"error": "request", "message": "invalid request parameters", "problems": problems},
                            status_code=422)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client closed the connection before sending the whole body (e.g. a load
        # generator at its deadline): nothing was computed or stored, and nobody is
        # listening for an answer; the server drops it. Not an error of the service.
        path = getattr(request.scope.get("route"), "path", request.scope.get("path"))
        log.debug("%s %s: client disconnected before the body was read", request.method, path)
        return Response(status_code=499)

    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - sqlalchemy comes with the api extra
        SQLAlchemyError = None  # noqa: N806

    if SQLAlchemyError is not None:
        @app.exception_handler(SQLAlchemyError)
        async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
            # Disk full, read-only, locked, unreachable: the service is fine, its database is not. 503 with a
            # clear message (never a plain-text 500 and a reset connection); the details go to the log.
            from imln.storage import describe_storage_error

            code, message = describe_storage_error(exc)
            path = getattr(request.scope.get("route"), "path", request.scope.get("path"))
            log.error("%s %s: storage error (%s): %s", request.method, path, code, getattr(exc, "orig", exc))
            return JSONResponse({"error": code, "message": message}, status_code=503,
                                headers={"Retry-After": "30" if code in ("storage_full", "storage_read_only") else "5",
                                         "Connection": "close"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last resort: a JSON 500 that closes the connection (a keep-alive connection must not be left in an
        # unknown state); the traceback goes to the log only.
        path = getattr(request.scope.get("route"), "path", request.scope.get("path"))
        log.error("%s %s: unexpected %s", request.method, path, type(exc).__name__, exc_info=exc)
        return JSONResponse({"error": "internal", "message": "an unexpected error; it was logged"},
                            status_code=500, headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    # ------------------------------------------------------------------ dependencies

    def _bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def _check_token(given: str | None) -> None:
        expected = settings.token()
        if expected is None:
            raise ApiError(401, "unauthorized",
                           "stored assessments need an API token: set IMLN_API_TOKEN (or api_token in the config file)",
                           headers={"WWW-Authenticate": "Bearer"})
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "missing or wrong bearer token",
                           headers={"WWW-Authenticate": "Bearer"})

    # async: FastAPI runs plain-def dependencies in the thread pool, a thread hop per request
    async def require_token(request: Request) -> None:
        _check_token(_bearer(request))

    def _has_token(request: Request) -> bool:
        expected, given = settings.token(), _bearer(request)
        return expected is not None and given is not None and hmac.compare_digest(given.encode(), expected.encode())

    def rate_limited(request: Request) -> None:
        """429 when this client address sent more than its share of open requests (see Settings)."""
        wait = request.app.state.rate_limit.check(request.client.host if request.client else "?")
        if wait is not None:
            seconds = max(1, int(wait + 0.999))
            raise ApiError(429, "rate_limited",
                           f"more than {settings.rate_limit_per_minute} requests a minute from this address to the "
                           f"open endpoints; try again in {seconds} s (requests with the API token are not limited)",
                           headers={"Retry-After": str(seconds)})

    async def compute_access(request: Request) -> None:
        if not settings.open_compute:
            _check_token(_bearer(request))
        elif not _has_token(request):
            rate_limited(request)

    def get_store() -> Any:
        store = state["store"]
        if store is None:
            raise ApiError(503, "storage_off", "this service runs without storage")
        return store

    Token = Depends(require_token)
    Compute = Depends(compute_access)

    # ------------------------------------------------------------------ helpers

    async def read_patient(request: Request) -> Patient:
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if ctype and ctype not in PATIENT_TYPES:
            raise ApiError(415, "unsupported_media_type", f"content type {ctype!r} is not accepted",
                           problems=[_problem("<input>", "send the patient as JSON or YAML", ctype,
                                              ", ".join(PATIENT_TYPES))])
        body = await request.body()
        # A body declared as JSON must be JSON: a syntax error (a trailing comma) is not rescued by YAML.
        fmt = "json" if ctype == "application/json" else None
        if len(body) > LARGE_BODY:  # up to ~1 s of pure-Python YAML reading: off the event loop
            return await anyio.to_thread.run_sync(lambda: load_patient(body, name="request body", format=fmt))
        return load_patient(body, name="request body", format=fmt)

    def stored_or_404(assessment_id: str) -> Any:
        row = get_store().get(assessment_id)
        if row is None:
            raise ApiError(404, "not_found", f"no stored assessment {assessment_id!r}")
        return row

    # ------------------------------------------------------------------ assessments

    @app.post(f"{API}/compute", tags=["assessments"], response_model=Assessment, dependencies=[Compute],
              openapi_extra=_patient_body(), summary="Assess a patient without storing it")
    async def compute(request: Request) -> Response:
        patient = await read_patient(request)
        return JSONResponse(assess(patient).model_dump(mode="json"))

    @app.post(f"{API}/assessments", tags=["assessments"], status_code=201, dependencies=[Token],
              openapi_extra=_patient_body(), summary="Assess a patient and store the assessment")
    async def create_assessment(request: Request) -> Response:
        patient = await read_patient(request)
        store = get_store()
        assessment = assess(patient)  # CPU-bound: runs on the event loop, as every compute endpoint
        if store.dialect == "sqlite":
            # A local file write of well under a millisecond (WAL): handing it to a thread and back costs more
            # (GIL hand-offs, wake-ups; about 1 ms per request measured) than it would hold the loop.
            row = store.save(assessment)
        else:  # a database server answers over the network: do not hold the loop while it does
            row = await anyio.to_thread.run_sync(store.save, assessment)
        return _created_response(row)

    @app.get(f"{API}/assessments", tags=["assessments"], dependencies=[Token], summary="List stored assessments, newest first")
    async def list_assessments(
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size, description="Items per page.")] = 20,
        offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="Items to skip (a 64-bit integer: the database takes no more).")] = 0,
    ) -> dict[str, Any]:
        page = await anyio.to_thread.run_sync(lambda: get_store().list(limit=limit, offset=offset))
        return {
            "items": [r.summary() for r in page.items],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "next_offset": page.next_offset,
        }

    @app.get(f"{API}/assessments/{{assessment_id}}", tags=["assessments"], dependencies=[Token],
             summary="One stored assessment with its versions and digests")
    async def get_assessment(assessment_id: str) -> dict[str, Any]:
        row = await anyio.to_thread.run_sync(stored_or_404, assessment_id)
        return row.to_dict()

    @app.post(f"{API}/assessments/{{assessment_id}}/reproduce", tags=["assessments"], dependencies=[Token],
              summary="Re-run a stored assessment and compare it with what was stored")
    async def reproduce(assessment_id: str) -> dict[str, Any]:
        stored_or_404(assessment_id)
        result = await anyio.to_thread.run_sync(get_store().reproduce, assessment_id)
        return {**result.to_dict(), "history": get_store().reproductions(assessment_id)}

    @app.get(f"{API}/assessments/{{assessment_id}}/report", tags=["reports"], dependencies=[Token],
             summary="A stored assessment as an HTML or PDF report")
    async def stored_report(request: Request, assessment_id: str, format: Annotated[str, Query(pattern="^(html|pdf)$")] = "html") -> Response:
        row = stored_or_404(assessment_id)
        return await _report(row.output, format, stored_id=row.id, request=request)

    @app.get(f"{API}/assessments/{{assessment_id}}/patient-summary", tags=["reports"], dependencies=[Token],
             response_class=HTMLResponse, summary="A stored assessment as a one-page plain-language summary for the patient")
    async def stored_patient_summary(assessment_id: str) -> Response:
        from imln.report import render_patient_summary

        row = await anyio.to_thread.run_sync(stored_or_404, assessment_id)
        return HTMLResponse(render_patient_summary(row.output))

    @app.get(f"{API}/assessments/{{assessment_id}}/fhir", tags=["fhir"], dependencies=[Token],
             summary="A stored assessment as a FHIR R4B RiskAssessment")
    async def stored_fhir(assessment_id: str) -> Response:
        row = stored_or_404(assessment_id)
        return _fhir(row.output, resource_id=row.id, identifier_system=settings.fhir_identifier_system)

    @app.post(f"{API}/compute/report", tags=["reports"], dependencies=[Compute], openapi_extra=_patient_body(),
              summary="Assess a patient and return the report (HTML or PDF)")
    async def compute_report(request: Request, format: Annotated[str, Query(pattern="^(html|pdf)$")] = "pdf") -> Response:
        patient = await read_patient(request)
        return await _report(assess(patient).model_dump(mode="json"), format, request=request)

    @app.post(f"{API}/compute/fhir", tags=["fhir"], dependencies=[Compute], openapi_extra=_patient_body(),
              summary="Assess a patient and return a FHIR R4B RiskAssessment")
    async def compute_fhir(request: Request) -> Response:
        patient = await read_patient(request)
        return _fhir(assess(patient).model_dump(mode="json"), identifier_system=settings.fhir_identifier_system)

    @app.post(f"{API}/validate", tags=["patients"], openapi_extra=_patient_body(),
              summary="Validate a patient: every problem with its field and allowed range")
    async def validate(request: Request) -> Response:
        if not _has_token(request):
            rate_limited(request)  # parsing a 1 MiB YAML body costs seconds of CPU: open, so limited
        if not (await request.body()).strip():
            # No body is a malformed request (the body is required), not a patient with problems.
            raise ApiError(400, "empty_body", "send the patient to validate as the request body (JSON or YAML)",
                           problems=[_problem("<input>", "the request body is empty", None,
                                              "a JSON or YAML mapping of patient fields")])
        try:
            await read_patient(request)
        except PatientInputError as exc:
            return JSONResponse({"valid": False, **exc.to_dict()}, status_code=200)
        return JSONResponse({"valid": True, "problems": []})

    # ------------------------------------------------------------------ reference data

    @app.get(f"{API}/models", tags=["reference"], summary="Registered pre-test risk models")
    async def models() -> dict[str, Any]:
        return _models()

    @app.get(f"{API}/evidence", tags=["reference"], summary="Evidence records with their audit status")
    async def evidence(
        kind: Annotated[Kind | None, Query(description="Only records of this kind.")] = None,
        modality: Annotated[Modality | None, Query(description="Only records for this modality.")] = None,
    ) -> dict[str, Any]:
        ev, audit = load_evidence(), _audit()
        records = ev.filter(kind=kind, modality=modality)
        return {
            "evidence_version": ev.version,
            "evidence_digest": ev.digest,
            "count": len(records),
            "records": [
                record_summary(r, audit)
                for r in records
            ],
        }

    @app.get(f"{API}/evidence/pools/{{modality}}", tags=["reference"],
             summary="Pooled diagnostic accuracy of one modality (bivariate or univariate REML), or why none")
    async def evidence_pools(
        modality: Modality,
        setting: Annotated[Setting | None, Query(description="Only studies of this evidence setting.")] = None,
    ) -> dict[str, Any]:
        from imln.synthesis.evidence import accuracy_pools

        ev = load_evidence()
        report = accuracy_pools(modality.value, setting.value if setting is not None else None, evidence=ev,
                                audit=_audit())
        return {"evidence_version": ev.version, "evidence_digest": ev.digest, **report.as_dict()}

    @app.get(f"{API}/evidence/audit", tags=["reference"], summary="The evidence audit, one entry per record")
    async def evidence_audit() -> dict[str, Any]:
        return _audit().as_dict()

    @app.get(f"{API}/schema/patient", tags=["patients"], summary="JSON Schema of the patient input")
    async def schema() -> dict[str, Any]:
        return patient_json_schema()

    @app.get(f"{API}/health", tags=["service"], summary="Liveness, versions and storage backend")
    async def health() -> dict[str, Any]:
        store = state["store"]
        return {
            "status": "ok",
            "imln_version": __version__,
            "evidence_version": load_evidence().version,
            "storage": None if store is None else store.dialect,
            "open_compute": settings.open_compute,
        }

    # ------------------------------------------------------------------ OpenAPI

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                           routes=app.routes)
        patient, defs = _patient_openapi()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs)
        components["PatientInput"] = patient
        spec["components"].setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(f"{API}/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get(f"{API}/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API}/openapi.json", title="imln API",
            swagger_js_url=f"{API}/docs/static/swagger-ui-bundle.js",
            swagger_css_url=f"{API}/docs/static/swagger-ui.css",
            swagger_favicon_url=f"{API}/docs/static/favicon-32x32.png",
        )

    from imln.api._web import add_web_routes

    add_web_routes(app, settings, state, _check_token, rate_limited)
    return app


# --------------------------------------------------------------------------- shared


def _created_response(row: Any) -> Response:
    """201 with the stored row as JSON; the output's text from storing it is reused."""
    headers = {"Location": f"{API}/assessments/{row.id}"}
    if not hasattr(row, "to_json"):  # a store given to create_app that returns something else
        return JSONResponse(row.to_dict(), status_code=201, headers=headers)
    return Response(row.to_json(), status_code=201, media_type="application/json", headers=headers)


@cache
def _audit() -> Any:
    return audit_evidence(load_evidence())


def _models() -> dict[str, Any]:
    try:
        from imln import risk
    except ImportError:  # pragma: no cover
        risk = None  # type: ignore[assignment]
    list_models = getattr(risk, "list_models", None)
    if list_models is None:
        return {"models": [], "note": "this version has no pre-test risk model registry (imln.risk.list_models)"}
    out = []
    for entry in list_models():
        if dataclasses.is_dataclass(entry):
            item = dataclasses.asdict(entry)
        elif hasattr(entry, "model_dump"):
            item = entry.model_dump(mode="json")
        else:
            item = dict(entry)
        # file paths on the server are nobody's business: keep the file name only
        out.append({k: (PurePath(v).name if isinstance(v, PurePath) else v) for k, v in item.items()})
    return {"models": out, "note": None}


async def _report(doc: dict[str, Any], fmt: str, *, stored_id: str | None = None, request: Request) -> Response:
    from imln.report import render_html

    label = (doc.get("input") or {}).get("patient_id") or "assessment"
    if fmt == "pdf":
        pool: PdfPool = request.app.state.pdf_pool
        try:
            pdf = await pool.render(doc, stored_id=stored_id, is_disconnected=request.is_disconnected)
        except PdfBusy as busy:
            raise ApiError(503, "busy", f"the PDF renderer is busy ({busy.running} rendering, {busy.waiting} waiting); "
                           f"try again in about {busy.retry_after} s, or ask for the HTML report (format=html)",
                           headers={"Retry-After": str(busy.retry_after)}) from None
        except PdfUnavailable as exc:
            raise ApiError(501, "pdf_unavailable", str(exc)) from None
        except PdfTimeout as exc:
            raise ApiError(504, "pdf_timeout", str(exc)) from None
        except ClientGone:
            return Response(status_code=499)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="imln-{label}.pdf"'})
    return HTMLResponse(render_html(doc, stored_id=stored_id))


def _fhir(doc: dict[str, Any], resource_id: str | None = None, identifier_system: str | None = None) -> Response:
    try:
        from imln.fhir import risk_assessment_json
    except ImportError as exc:
        raise ApiError(501, "fhir_unavailable", f"FHIR export needs fhir.resources: pip install 'imln[fhir]' ({exc})") from None
    resource = risk_assessment_json(doc, resource_id=resource_id, identifier_system=identifier_system)
    return JSONResponse(resource, media_type="application/fhir+json")
