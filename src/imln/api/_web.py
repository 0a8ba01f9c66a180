"""The clinician web page: the form (generated from the patient schema) and the result page.

Works without JavaScript (plain form POST, errors shown next to their fields); with
JavaScript, fields are checked as they are filled (``POST /validate``). Everything is
served from the package: no CDN, no external font.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from functools import cache
from html import escape as html_escape
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from imln import __version__
from imln._assessment import assess
from imln.api._form import form_groups, form_to_patient, problem_field_name
from imln.api._pools import pool_page
from imln.api._settings import Settings
from imln.report import render_assessment, report_css
from imln.schema import PatientInputError, load_patient

__all__ = ["FormSigner", "add_web_routes", "form_signer", "same_origin", "web_environment"]

log = logging.getLogger("imln.api")


@cache
def web_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("imln.api", "templates"), PackageLoader("imln.report", "templates")]),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["imln_version"] = __version__
    return env


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = web_environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)


def _form_errors(exc: PatientInputError, index: dict[int, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Problems keyed by form field name; problems about the whole input separately."""
    names = {f.name for g in form_groups() for f in g.fields}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for p in exc.problems:
        name = problem_field_name(p, index)
        text = p.message + (f" (allowed: {p.allowed})" if p.allowed else "")
        if name in names:
            by_field.setdefault(name, []).append(text)
            for rel in p.related:
                rel_name = problem_field_name({"field": rel}, index)
                if rel_name in names and rel_name != name:
                    by_field.setdefault(rel_name, []).append(f"see {name}: {p.message}")
        else:
            general.append(f"{p.field}: {text}")
    return by_field, general


#: Cookie holding the browser's random CSRF nonce; the form carries a token signed over it.
CSRF_COOKIE = "imln_csrf"


class FormSigner:
    """Signed CSRF tokens and stored-assessment links (HMAC-SHA256 with a server secret).

    The cookie holds a random nonce (HttpOnly, SameSite=Strict); the form's hidden ``csrf`` field holds
    ``<issued unix time>.<HMAC(secret, nonce, issued)>``. A token is valid only with the nonce it was
    signed for, before it expires, and only the server can make one: a page of another site can make
    the browser send the cookie but can neither read it nor sign a token for it, and a self-made
    cookie/field pair fails the signature.
    """

    def __init__(self, key: bytes, max_age: int) -> None:
        self.key, self.max_age = key, max_age

    def _mac(self, *parts: str) -> str:
        digest = hmac.new(self.key, "\x1f".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf_token(self, nonce: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        return f"{issued}.{self._mac('csrf', nonce, str(issued))}"

    def csrf_ok(self, nonce: str, token: str, now: float | None = None) -> bool:
        issued_text, _, mac = token.partition(".")
        if len(nonce) < 32 or not issued_text.isdigit() or len(issued_text) > 12 or not mac:
            return False
        issued, current = int(issued_text), time.time() if now is None else now
        if not (current - self.max_age <= issued <= current + 60):
            return False
        return hmac.compare_digest(mac.encode(), self._mac("csrf", nonce, issued_text).encode())

    def stored_sig(self, stored_id: str, patient_json: str) -> str:
        """Vouches that ``stored_id`` was stored by this service for exactly this patient input."""
        return self._mac("stored", stored_id, patient_json)

    def stored_ok(self, stored_id: str, patient_json: str, sig: str) -> bool:
        return bool(sig) and hmac.compare_digest(sig.encode(), self.stored_sig(stored_id, patient_json).encode())


def form_signer(settings: Settings) -> FormSigner:
    """The signer for ``settings``: ``secret_key``, else derived from ``api_token``, else random (this process)."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
    elif settings.token() is not None:
        key = hmac.new(settings.token().encode(), b"imln web form signing key v1", hashlib.sha256).digest()
    else:
        log.info("no secret_key or api_token: web forms are signed with a random key and expire on restart")
        key = secrets.token_bytes(32)
    return FormSigner(key, settings.csrf_max_age_seconds)


def _nonce(request: Request) -> str:
    """The browser's CSRF nonce (its cookie), or a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if 32 <= len(current) <= 128 else secrets.token_urlsafe(32)


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def same_origin(request: Request, settings: Settings) -> bool:
    """The POST comes from a page of this service: ``Origin`` (else ``Referer``) names this host.

    Browsers send ``Origin`` with every cross-site POST, so a missing ``Origin`` and ``Referer`` means a
    client that is not a browser (curl, a script), which a CSRF attack cannot use; it still needs a
    valid signed token. ``Origin: null`` (sandboxed frames, some redirects) is refused.
    """
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return True
        origin = _origin_of(referer)
        if origin is None:
            return False
    origin = origin.strip().rstrip("/").lower()
    if origin == "null":
        return False
    if origin in {o.strip().rstrip("/").lower() for o in settings.allowed_origins}:
        return True
    host = request.headers.get("host", "").strip().lower()
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc == host


def _with_csrf_cookie(response: HTMLResponse, nonce: str, max_age: int) -> HTMLResponse:
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/", max_age=max_age)
    return response


def add_web_routes(app: FastAPI, settings: Settings, state: dict[str, Any], check_token: Any,
                   rate_limited: Any = None) -> None:
    static = resources.files("imln.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    signer = form_signer(settings)
    app.state.form_signer = signer

    def form_context(request: Request) -> tuple[str, dict[str, Any]]:
        """A (new or kept) nonce for the cookie and the template context of the form's access part."""
        nonce = _nonce(request)
        can_store = state.get("store") is not None and settings.store_web_assessments
        return nonce, {
            "csrf": signer.csrf_token(nonce),
            "need_token": not settings.open_compute,
            # open compute without open storage: the token is optional and only decides whether to store
            "offer_token": settings.open_compute and can_store and not settings.open_web_storage,
        }

    def csrf_ok(request: Request, values: dict[str, str]) -> bool:
        return same_origin(request, settings) and signer.csrf_ok(
            request.cookies.get(CSRF_COOKIE, ""), values.get("csrf", ""))

    def expired(request: Request, values: dict[str, str]) -> HTMLResponse:
        nonce, access = form_context(request)
        return _with_csrf_cookie(_page(
            "form.html", 403, groups=form_groups(), values={k: v for k, v in values.items() if k not in ("csrf", "token")},
            errors={}, **access,
            general=["This form was not sent from this site's own page, or it has expired: check the values "
                     "and submit again."]), nonce, settings.csrf_max_age_seconds)

    def authenticated(form: dict[str, str]) -> bool:
        """The form carries the right API token."""
        if not form.get("token"):
            return False
        try:
            check_token(form.get("token"))
        except Exception:
            return False
        return True

    def token_ok(form: dict[str, str]) -> bool:
        return settings.open_compute or authenticated(form)

    async def _pool_page(modality: str, setting: str | None, unit: str | None) -> HTMLResponse:
        try:
            context = await anyio.to_thread.run_sync(pool_page, modality, setting, unit)
        except ValueError as exc:
            return HTMLResponse(f"<!DOCTYPE html><title>Not found</title><p>{html_escape(str(exc))}</p>",
                                status_code=404)
        return _page("evidence_pool.html", **context)

    @app.get("/evidence/pools/{modality}", response_class=HTMLResponse, include_in_schema=False)
    async def evidence_pools_page(modality: str) -> HTMLResponse:
        return await _pool_page(modality, None, None)

    @app.get("/evidence/pools/{modality}/{setting}/{unit}", response_class=HTMLResponse, include_in_schema=False)
    async def evidence_pool_page(modality: str, setting: str, unit: str) -> HTMLResponse:
        return await _pool_page(modality, setting, unit)

    @app.get("/static-report.css", include_in_schema=False)
    async def report_stylesheet() -> Response:
        return Response(report_css(), media_type="text/css")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def form_page(request: Request) -> HTMLResponse:
        nonce, access = form_context(request)
        return _with_csrf_cookie(_page("form.html", groups=form_groups(), values={}, errors={}, general=[], **access),
                                 nonce, settings.csrf_max_age_seconds)

    async def _read_form(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @app.post("/assess", response_class=HTMLResponse, include_in_schema=False)
    async def submit(request: Request) -> HTMLResponse:
        values = await _read_form(request)
        if not csrf_ok(request, values):
            return expired(request, values)
        if rate_limited is not None and not authenticated(values):
            try:
                rate_limited(request)
            except Exception as exc:  # ApiError 429
                _, access = form_context(request)
                return _page("form.html", 429, groups=form_groups(), values=values, errors={},
                             general=[getattr(exc, "message", str(exc))], **{**access, "csrf": values["csrf"]})
        _, access = form_context(request)
        access["csrf"] = values["csrf"]
        shown = values  # the token too, in its password field: the user corrects and resends
        if not token_ok(values) or (values.get("token") and not authenticated(values)):
            return _page("form.html", 401, groups=form_groups(), values=shown, errors={},
                         general=["The access token is missing or wrong."], **{**access, "need_token": not settings.open_compute})
        data, index = form_to_patient(values)
        try:
            patient = load_patient(data, name="form")
        except PatientInputError as exc:
            errors, general = _form_errors(exc, index)
            return _page("form.html", 422, groups=form_groups(), values=shown, errors=errors, general=general,
                         problem_count=len(exc.problems), **access)
        assessment = assess(patient)
        doc = assessment.model_dump(mode="json")
        patient_json = json.dumps({k: v for k, v in doc["input"].items() if k != "derived"}, separators=(",", ":"))
        stored_id = stored_sig = None
        store = state.get("store")
        # Writes need the token; the operator can open them up for an open form (open_web_storage).
        may_store = settings.store_web_assessments and (
            authenticated(values) or (settings.open_compute and settings.open_web_storage))
        storage_problem = None
        if store is not None and may_store:
            try:
                row = await anyio.to_thread.run_sync(store.save, assessment)
            except Exception as exc:
                if not type(exc).__module__.startswith("sqlalchemy"):
                    raise
                from imln.storage import describe_storage_error

                code, storage_problem = describe_storage_error(exc)
                log.error("web form: storage error (%s): %s", code, getattr(exc, "orig", exc))
            else:
                stored_id = row.id
                stored_sig = signer.stored_sig(row.id, patient_json)
        rendered = render_assessment(doc)
        return _page("result.html", rendered=rendered, stored_id=stored_id, stored_sig=stored_sig,
                     patient_json=patient_json, token=values.get("token", "") if not settings.open_compute else "",
                     need_token=not settings.open_compute, csrf=values["csrf"], storage_problem=storage_problem,
                     not_stored=store is not None and settings.store_web_assessments and stored_id is None)

    @app.post("/validate", include_in_schema=False)
    async def validate_form(request: Request) -> JSONResponse:
        values = await _read_form(request)
        data, index = form_to_patient(values)
        try:
            load_patient(data, name="form")
        except PatientInputError as exc:
            errors, general = _form_errors(exc, index)
            return JSONResponse({"valid": False, "errors": errors, "general": general})
        return JSONResponse({"valid": True, "errors": {}, "general": []})

    @app.post("/export", include_in_schema=False)
    async def export(request: Request) -> Response:
        """Report (PDF/HTML) or FHIR JSON of the patient on the result page (re-computed, not stored)."""
        from imln.api._app import _fhir, _report

        values = await _read_form(request)
        if not csrf_ok(request, values):
            return JSONResponse({"error": "forbidden", "message": "the export was not sent from this site's result "
                                 "page (CSRF check), or the page has expired: reload the page and export again"},
                                status_code=403)
        if not token_ok(values):
            return JSONResponse({"error": "unauthorized", "message": "missing or wrong token"}, status_code=401)
        if rate_limited is not None and not authenticated(values):
            rate_limited(request)  # ApiError 429 (JSON)
        try:
            patient = load_patient(values.get("patient", ""), name="form")
        except PatientInputError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        doc = assess(patient).model_dump(mode="json")
        fmt = values.get("format", "pdf")
        if fmt == "patient":  # the plain-language page for the patient, printed from the browser
            from imln.report import render_patient_summary

            return HTMLResponse(render_patient_summary(doc))
        if fmt == "fhir":
            response = _fhir(doc, identifier_system=settings.fhir_identifier_system)
            response.headers["Content-Disposition"] = 'attachment; filename="imln-risk-assessment.json"'
            return response
        # The report names a stored id only when this service signed it for exactly this input: otherwise
        # anyone could print "stored as <any id>" on a report of any patient.
        stored_id = values.get("stored_id") or None
        if stored_id is not None and not signer.stored_ok(stored_id, values.get("patient", ""), values.get("stored_sig", "")):
            stored_id = None
        return await _report(doc, "html" if fmt == "html" else "pdf", stored_id=stored_id, request=request)
