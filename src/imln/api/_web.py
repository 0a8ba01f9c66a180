"""The clinician web page: the form (generated from the patient schema) and the result page.

Works without JavaScript (plain form POST, errors shown next to their fields); with
JavaScript, fields are checked as they are filled (``POST /validate``). Everything is
served from the package: no CDN, no external font.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from functools import cache
from importlib import resources
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from imln import __version__
from imln._assessment import assess
from imln.api._form import form_groups, form_to_patient, problem_field_name
from imln.api._settings import Settings
from imln.report import render_assessment, report_css
from imln.schema import PatientInputError, load_patient

__all__ = ["add_web_routes", "web_environment"]

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


#: Cookie of the double-submit CSRF check: the form carries the same value in a hidden field.
CSRF_COOKIE = "imln_csrf"


def _csrf_token(request: Request) -> str:
    """The browser's CSRF token (its cookie), or a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) >= 32 else secrets.token_urlsafe(32)


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """Double-submit check: the form's hidden ``csrf`` equals the cookie. A page of another site can
    make the browser send the cookie but cannot read it, so it cannot put it in the form."""
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
    return len(cookie) >= 32 and hmac.compare_digest(cookie.encode(), field.encode())


def _with_csrf_cookie(response: HTMLResponse, token: str) -> HTMLResponse:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


def add_web_routes(app: FastAPI, settings: Settings, state: dict[str, Any], check_token: Any) -> None:
    static = resources.files("imln.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    def expired(request: Request, values: dict[str, str]) -> HTMLResponse:
        token = _csrf_token(request)
        return _with_csrf_cookie(_page(
            "form.html", 403, groups=form_groups(), values={k: v for k, v in values.items() if k != "csrf"},
            errors={}, need_token=not settings.open_compute, csrf=token,
            general=["This form was not sent from this site's own page, or it has expired: check the values "
                     "and submit again."]), token)

    def token_ok(form: dict[str, str]) -> bool:
        if settings.open_compute:
            return True
        try:
            check_token(form.get("token") or None)
        except Exception:
            return False
        return True

    @app.get("/static-report.css", include_in_schema=False)
    async def report_stylesheet() -> Response:
        return Response(report_css(), media_type="text/css")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def form_page(request: Request) -> HTMLResponse:
        token = _csrf_token(request)
        return _with_csrf_cookie(_page("form.html", groups=form_groups(), values={}, errors={}, general=[],
                                       need_token=not settings.open_compute, csrf=token), token)

    async def _read_form(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @app.post("/assess", response_class=HTMLResponse, include_in_schema=False)
    async def submit(request: Request) -> HTMLResponse:
        values = await _read_form(request)
        if not _csrf_ok(request, values):
            return expired(request, values)
        csrf = values["csrf"]
        if not token_ok(values):
            return _page("form.html", 401, groups=form_groups(), values=values, errors={},
                         general=["The access token is missing or wrong."], need_token=True, csrf=csrf)
        data, index = form_to_patient(values)
        try:
            patient = load_patient(data, name="form")
        except PatientInputError as exc:
            errors, general = _form_errors(exc, index)
            return _page("form.html", 422, groups=form_groups(), values=values, errors=errors, general=general,
                         need_token=not settings.open_compute, problem_count=len(exc.problems), csrf=csrf)
        assessment = assess(patient)
        doc = assessment.model_dump(mode="json")
        stored_id = None
        store = state.get("store")
        if store is not None and settings.store_web_assessments:
            row = await anyio.to_thread.run_sync(store.save, assessment)
            stored_id = row.id
        rendered = render_assessment(doc)
        patient_json = json.dumps({k: v for k, v in doc["input"].items() if k != "derived"}, separators=(",", ":"))
        return _page("result.html", rendered=rendered, stored_id=stored_id, patient_json=patient_json,
                     token=values.get("token", ""), need_token=not settings.open_compute, csrf=csrf)

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
        if not _csrf_ok(request, values):
            return JSONResponse({"error": "forbidden", "message": "the export was not sent from this site's result "
                                 "page (CSRF check): reload the page and export again"}, status_code=403)
        if not token_ok(values):
            return JSONResponse({"error": "unauthorized", "message": "missing or wrong token"}, status_code=401)
        try:
            patient = load_patient(values.get("patient", ""), name="form")
        except PatientInputError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        doc = assess(patient).model_dump(mode="json")
        fmt = values.get("format", "pdf")
        if fmt == "fhir":
            response = _fhir(doc)
            response.headers["Content-Disposition"] = 'attachment; filename="imln-risk-assessment.json"'
            return response
        return await _report(doc, "html" if fmt == "html" else "pdf", stored_id=values.get("stored_id") or None)
