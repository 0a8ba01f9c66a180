"""Issue 19: hostile or careless requests get a 4xx JSON answer, never a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imln.api import Settings, create_app

from ..schema.test_robustness import DOCS, YAML_SCALAR_TEXT, _unlimited_int_digits

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
B = '"laterality": "left", "setting": "diagnosis"'


@pytest.fixture(scope="module")
def api():
    with TestClient(create_app(Settings(open_compute=True, storage=False, rate_limit_per_minute=0)),
                    raise_server_exceptions=False) as c:
        yield c


def _answered_4xx_or_ok(r) -> None:
    assert r.status_code < 500, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    if r.status_code >= 400:
        assert body.get("problems") or body.get("message"), body


@pytest.mark.parametrize("body, ctype, field", [
    (f'{{"age_years": {"9" * 5000}, {B}}}', "application/json", "age_years"),
    (f"age_years: {'9' * 5000}\nlaterality: left\nsetting: diagnosis\n", "application/yaml", "age_years"),
    (f'{{"age_years": 50, {B}, "findings": [{{"modality": "us", "result": "negative", "date": "2024-02-30"}}]}}',
     "application/json", "findings[0].date"),
    ("age_years: 50\nlaterality: left\nsetting: diagnosis\nfindings:\n  - {modality: us, result: negative, date: 2024-13-45}\n",
     "application/yaml", "findings[0].date"),
    ("age_years: 50\nlaterality: left\nsetting: diagnosis\nim_node_tissue: {method: fna, result: negative, date: 0001-01-01}\n",
     "application/yaml", "im_node_tissue.date"),
    (f'{{"age_years": "58", {B}}}', "application/json", "age_years"),
    (f'{{"age_years": 58, {B}, "cardiac": {{"coronary_heart_disease": 0}}}}', "application/json",
     "cardiac.coronary_heart_disease"),
    (f'{{"age_years": 58, {B},}}', "application/json", "<input>"),
])
def test_issue_19_bodies_are_422_naming_the_field(api, body: str, ctype: str, field: str) -> None:
    r = api.post("/api/v1/compute", content=body.encode(), headers={"content-type": ctype})
    assert r.status_code == 422, r.text[:300]
    assert field in [p["field"] for p in r.json()["problems"]]


def test_trailing_comma_is_a_yaml_flow_mapping_only_when_not_declared_json(api) -> None:
    body = f'{{"age_years": 58, {B},}}'.encode()
    assert api.post("/api/v1/compute", content=body, headers={"content-type": "application/yaml"}).status_code == 200
    r = api.post("/api/v1/compute", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "trailing comma" in r.json()["problems"][0]["message"]


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["application/json", "application/yaml", "text/plain"]))
def test_fuzz_bytes_never_500(api, data: bytes, ctype: str) -> None:
    _answered_4xx_or_ok(api.post("/api/v1/compute", content=data, headers={"content-type": ctype}))


@FUZZ
@given(DOCS)
def test_fuzz_json_trees_never_500(api, doc: object) -> None:
    with _unlimited_int_digits():
        body = json.dumps(doc).encode()
    _answered_4xx_or_ok(api.post("/api/v1/compute", content=body, headers={"content-type": "application/json"}))
    _answered_4xx_or_ok(api.post("/api/v1/validate", content=body, headers={"content-type": "application/json"}))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["age_years", "lvi", "date", "tumor_size_mm", "findings"]), YAML_SCALAR_TEXT),
                max_size=4))
def test_fuzz_yaml_scalars_never_500(api, pairs: list[tuple[str, str]]) -> None:
    body = "laterality: left\nsetting: diagnosis\n" + "".join(f"{k}: {v}\n" for k, v in dict(pairs).items())
    _answered_4xx_or_ok(api.post("/api/v1/compute", content=body.encode(), headers={"content-type": "application/yaml"}))


@FUZZ
@given(st.dictionaries(st.sampled_from(["age_years", "laterality", "setting", "lvi", "findings.us.date",
                                        "findings.us.short_axis_mm", "cardiac.coronary_heart_disease", "csrf"]),
                       YAML_SCALAR_TEXT, max_size=6))
def test_fuzz_web_validate_never_500(api, form: dict[str, str]) -> None:
    _answered_4xx_or_ok(api.post("/validate", data=form))


# --------------------------------------------------------------------------- no unauthenticated writes

import re  # noqa: E402
import time  # noqa: E402

from .conftest import TOKEN  # noqa: E402

FORM = {"age_years": "46", "laterality": "left", "setting": "diagnosis", "tumor_size_mm": "32"}


def _form_token(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


def _client(store, **settings):
    return TestClient(create_app(Settings(api_token=TOKEN, **settings), store=store))


class TestOpenFormDoesNotWrite:
    def test_open_form_without_token_shows_but_does_not_store(self, open_client, store):
        r = open_client.post("/assess", data={"csrf": _form_token(open_client), **FORM})
        assert r.status_code == 200 and "Not stored: storing needs the access token" in r.text
        assert store.count() == 0
        assert 'name="stored_id"' not in r.text

    def test_open_form_offers_the_token_to_store(self, open_client, store):
        assert "to store this assessment" in open_client.get("/").text
        r = open_client.post("/assess", data={"csrf": _form_token(open_client), "token": TOKEN, **FORM})
        assert r.status_code == 200 and store.count() == 1 and store.list().items[0].id in r.text

    def test_open_form_with_a_wrong_token_is_401_and_stores_nothing(self, open_client, store):
        r = open_client.post("/assess", data={"csrf": _form_token(open_client), "token": "guess", **FORM})
        assert r.status_code == 401 and store.count() == 0

    def test_operator_can_opt_in_to_open_storage(self, store):
        with _client(store, open_compute=True, open_web_storage=True) as c:
            assert c.post("/assess", data={"csrf": _form_token(c), **FORM}).status_code == 200
        assert store.count() == 1

    def test_store_web_assessments_off_never_stores(self, store):
        with _client(store, open_compute=True, store_web_assessments=False) as c:
            r = c.post("/assess", data={"csrf": _form_token(c), "token": TOKEN, **FORM})
            assert r.status_code == 200
        assert store.count() == 0


class TestSignedCsrf:
    @pytest.mark.parametrize("pair", ["same", "timestamped"])
    def test_self_made_cookie_and_field_pair_is_refused(self, store, pair):
        with _client(store, open_compute=True, open_web_storage=True) as c:
            nonce = "a" * 43
            c.cookies.set("imln_csrf", nonce)
            field = nonce if pair == "same" else f"{int(time.time())}.{'b' * 43}"
            r = c.post("/assess", data={"csrf": field, **FORM})
            assert r.status_code == 403
        assert store.count() == 0

    def test_token_signed_for_another_browser_is_refused(self, store):
        with _client(store, open_compute=True, open_web_storage=True) as attacker, \
                _client(store, open_compute=True, open_web_storage=True) as victim:
            token = _form_token(attacker)  # the attacker loads the form: a valid token for the attacker's nonce
            victim.get("/")  # the victim's browser has its own nonce cookie
            assert victim.post("/assess", data={"csrf": token, **FORM}).status_code == 403
        assert store.count() == 0

    def test_token_from_another_server_secret_is_refused(self, store):
        with _client(store, open_compute=True, open_web_storage=True, secret_key="one-secret") as a:
            token = _form_token(a)
            nonce = a.cookies.get("imln_csrf")
        with _client(store, open_compute=True, open_web_storage=True, secret_key="another-secret") as b:
            b.cookies.set("imln_csrf", nonce)
            assert b.post("/assess", data={"csrf": token, **FORM}).status_code == 403

    def test_expired_token_is_refused(self, store):
        with _client(store, open_compute=True, open_web_storage=True, csrf_max_age_seconds=60) as c:
            c.get("/")
            nonce = c.cookies.get("imln_csrf")
            old = c.app.state.form_signer.csrf_token(nonce, now=time.time() - 120)
            fresh = c.app.state.form_signer.csrf_token(nonce)
            r = c.post("/assess", data={"csrf": old, **FORM})
            assert r.status_code == 403 and "expired" in r.text
            assert c.post("/assess", data={"csrf": fresh, **FORM}).status_code == 200

    @pytest.mark.parametrize("headers, ok", [
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Referer": "https://evil.example/page"}, False),
        ({"Origin": "http://testserver"}, True),
        ({"Referer": "http://testserver/"}, True),
        ({}, True),  # not a browser: no CSRF possible, the signed token still needed
    ])
    def test_origin_must_be_this_site(self, store, headers, ok):
        with _client(store, open_compute=True, open_web_storage=True) as c:
            r = c.post("/assess", data={"csrf": _form_token(c), **FORM}, headers=headers)
            assert r.status_code == (200 if ok else 403)
        assert store.count() == (1 if ok else 0)

    def test_allowed_origins_setting(self, store):
        with _client(store, open_compute=True, open_web_storage=True,
                     allowed_origins=["https://imln.example.org"]) as c:
            headers = {"Origin": "https://imln.example.org"}
            assert c.post("/assess", data={"csrf": _form_token(c), **FORM}, headers=headers).status_code == 200

    def test_export_checks_origin_too(self, open_client):
        patient = '{"age_years": 58, "laterality": "left", "setting": "diagnosis"}'
        r = open_client.post("/export", data={"csrf": _form_token(open_client), "patient": patient, "format": "fhir"},
                             headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"


class TestExportStoredId:
    def test_export_does_not_echo_an_unsigned_stored_id(self, open_client):
        patient = '{"age_years":58,"laterality":"left","setting":"diagnosis"}'
        r = open_client.post("/export", data={"csrf": _form_token(open_client), "patient": patient, "format": "html",
                                              "stored_id": "FORGED-ID-123"})
        assert r.status_code == 200 and "FORGED-ID-123" not in r.text

    def test_export_names_the_stored_id_it_signed(self, open_client, store):
        page = open_client.post("/assess", data={"csrf": _form_token(open_client), "token": TOKEN, **FORM}).text
        fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
        import html

        fields = {k: html.unescape(v) for k, v in fields.items()}
        stored_id = store.list().items[0].id
        assert fields["stored_id"] == stored_id and fields["stored_sig"]
        r = open_client.post("/export", data={**fields, "format": "html"})
        assert r.status_code == 200 and stored_id in r.text
        # the same signature on another patient's input is not accepted
        other = fields["patient"].replace('"age_years":46', '"age_years":47')
        r = open_client.post("/export", data={**fields, "patient": other, "format": "html"})
        assert r.status_code == 200 and stored_id not in r.text


def test_generated_token_is_not_printed_in_full(monkeypatch, tmp_path):
    from imln.api._cli import _announce_token

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    token = "Zq" + "x" * 30
    text = _announce_token(token)
    assert token not in text and text.startswith("Zqxx…")
    path = tmp_path / "imln" / "session-token"
    assert str(path) in text
    assert path.read_text().strip() == token and (path.stat().st_mode & 0o777) == 0o600


# --------------------------------------------------------------------------- per-client rate limit


class TestRateLimit:
    def test_open_compute_is_limited_per_client_with_retry_after(self, store):
        body = f'{{"age_years": 58, {B}}}'.encode()
        with _client(store, open_compute=True, rate_limit_per_minute=3) as c:
            codes = [c.post("/api/v1/compute", content=body, headers={"content-type": "application/json"}).status_code
                     for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = c.post("/api/v1/compute/fhir", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 429 and r.json()["error"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
            assert c.post("/api/v1/validate", content=body, headers={"content-type": "application/json"}).status_code == 429
            assert c.get("/api/v1/health").status_code == 200  # cheap reference endpoints are not limited
            auth = {"content-type": "application/json", "Authorization": f"Bearer {TOKEN}"}
            assert c.post("/api/v1/compute", content=body, headers=auth).status_code == 200  # the token is not limited

    def test_open_web_form_is_limited(self, store):
        with _client(store, open_compute=True, rate_limit_per_minute=2) as c:
            codes = [c.post("/assess", data={"csrf": _form_token(c), **FORM}).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            r = c.post("/assess", data={"csrf": _form_token(c), **FORM})
            assert r.status_code == 429 and "requests a minute" in r.text and 'value="46"' in r.text

    def test_bucket_refills_and_forgets_old_clients(self):
        from imln.api._limits import RateLimit

        limit = RateLimit(60, max_clients=2)
        assert all(limit.check("a", now=0.0) is None for _ in range(60))
        assert limit.check("a", now=0.0) == pytest.approx(1.0)
        assert limit.check("a", now=1.0) is None  # one a second comes back
        limit.check("b", now=1.0)
        limit.check("c", now=1.0)
        assert "a" not in limit._buckets and len(limit._buckets) == 2
        assert RateLimit(0).check("x") is None  # 0 = off


# --------------------------------------------------------------------------- storage errors


@pytest.fixture
def read_only_store(tmp_path):
    from imln.storage import Store

    path = tmp_path / "ro.sqlite3"
    Store(f"sqlite:///{path}").close()  # created and migrated, then opened read-only
    ro = Store(f"sqlite:///file:{path}?mode=ro&uri=true", migrate_schema=False)
    yield ro
    ro.close()


def test_read_only_database_is_503_json(read_only_store):
    auth = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    with TestClient(create_app(Settings(api_token=TOKEN), store=read_only_store)) as c:
        r = c.post("/api/v1/assessments", content=f'{{"age_years": 58, {B}}}'.encode(), headers=auth)
        assert r.status_code == 503
        assert r.json() == {"error": "storage_read_only", "message": r.json()["message"]}
        assert "read-only" in r.json()["message"] and "nothing was stored" in r.json()["message"]
        assert r.headers["Retry-After"] and r.headers["connection"] == "close"
        assert "sqlite" not in r.text.lower() and "INSERT" not in r.text
        assert c.get("/api/v1/assessments", headers=auth).json()["total"] == 0  # reading still works
        assert c.get("/api/v1/health").status_code == 200


def test_read_only_database_in_the_web_form_shows_the_result_and_says_not_stored(read_only_store):
    with TestClient(create_app(Settings(api_token=TOKEN, open_compute=True), store=read_only_store)) as c:
        r = c.post("/assess", data={"csrf": _form_token(c), "token": TOKEN, **FORM})
        assert r.status_code == 200 and "Not stored: the database is read-only" in r.text
        assert 'name="stored_id"' not in r.text


@pytest.mark.parametrize("driver_message, code", [
    ("database or disk is full", "storage_full"),
    ("could not extend file \"base/1/2\": No space left on device", "storage_full"),
    ("attempt to write a readonly database", "storage_read_only"),
    ("database is locked", "storage_busy"),
    ("unable to open database file", "storage_unreachable"),
    ("something else", "storage_error"),
])
def test_storage_errors_are_described(driver_message, code):
    from sqlalchemy.exc import OperationalError

    from imln.storage import describe_storage_error

    got, message = describe_storage_error(OperationalError("INSERT INTO x", {}, Exception(driver_message)))
    assert got == code and "nothing was stored" in message and "INSERT" not in message


def test_disk_full_through_the_api_is_503(store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def full(_assessment):
        raise OperationalError("INSERT INTO assessments", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store, "save", full)
    auth = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    with TestClient(create_app(Settings(api_token=TOKEN), store=store)) as c:
        r = c.post("/api/v1/assessments", content=f'{{"age_years": 58, {B}}}'.encode(), headers=auth)
    assert r.status_code == 503 and r.json()["error"] == "storage_full" and "disk is full" in r.json()["message"]


def test_validate_without_a_body_is_400(api):
    r = api.post("/api/v1/validate", content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "empty_body"
    assert r.json()["problems"][0]["field"] == "<input>"


def test_imln_logger_gets_a_handler_when_nothing_configured_logging(monkeypatch):
    import logging

    from imln.api._serve import set_log_level

    root, imln_logger = logging.getLogger(), logging.getLogger("imln")
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(imln_logger, "handlers", [])
    level = imln_logger.level
    try:
        set_log_level("debug")
        assert imln_logger.handlers and imln_logger.isEnabledFor(logging.DEBUG)
    finally:
        imln_logger.setLevel(level)
