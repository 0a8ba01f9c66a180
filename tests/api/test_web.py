"""The web form and result page, without a browser (the browser test is test_browser.py)."""

from __future__ import annotations

import re

import pytest

from imln.api._form import form_groups, form_to_patient
from imln.schema import patient_json_schema

from .conftest import TOKEN


def test_every_schema_field_has_a_form_input():
    schema = patient_json_schema()
    names = {f.name for g in form_groups() for f in g.fields}
    for key in schema["properties"]:
        assert any(n == key or n.startswith(key + ".") for n in names), key


def test_form_groups_in_clinical_order():
    ids = [g.id for g in form_groups()]
    assert ids[:3] == ["patient", "tumour", "axilla"]
    assert ids[-1] == "cardiac" or ids[-1] == "other"
    assert "imaging-us" in ids and "imaging-pet_ct" in ids
    pet = next(g for g in form_groups() if g.id == "imaging-pet_ct")
    us = next(g for g in form_groups() if g.id == "imaging-us")
    assert "findings.pet_ct.suv_max" in {f.name for f in pet.fields}
    assert "findings.us.suv_max" not in {f.name for f in us.fields}  # not applicable


def test_ranges_come_from_the_schema():
    age = next(f for g in form_groups() for f in g.fields if f.name == "age_years")
    assert (age.minimum, age.maximum, age.step, age.required) == (18, 100, "1", True)
    clock = next(f for g in form_groups() for f in g.fields if f.name == "tumor_location.clock_position")
    assert clock.step == "0.5"


def test_form_to_patient_drops_empty_and_groups_findings():
    data, index = form_to_patient({
        "age_years": "58", "laterality": "left", "setting": "diagnosis", "sex": "",
        "lvi": "false", "tumor_location.quadrant": "UOQ", "findings.mri.short_axis_mm": "7.5",
        "findings.us.result": "", "token": "x",
    })
    assert data == {"age_years": 58, "laterality": "left", "setting": "diagnosis", "lvi": False,
                    "tumor_location": {"quadrant": "UOQ"}, "findings": [{"modality": "mri", "short_axis_mm": 7.5}]}
    assert index == {0: "mri"}


def csrf(client) -> str:
    """Open the form as a browser does: the CSRF nonce cookie is set and a token signed over it is in the page."""
    page = client.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    nonce = client.cookies.get("imln_csrf")
    assert nonce and len(nonce) >= 32 and nonce not in token
    return token


@pytest.fixture
def storing_client(store):
    """Open compute with open web storage: the operator opted in to storing form assessments without the token."""
    from fastapi.testclient import TestClient

    from imln.api import Settings, create_app

    with TestClient(create_app(Settings(api_token=TOKEN, open_compute=True, open_web_storage=True), store=store)) as c:
        yield c


def test_form_page_is_self_contained(open_client):
    html = open_client.get("/").text
    assert 'name="age_years"' in html and 'min="18"' in html and 'max="100"' in html
    for url in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert url.startswith("/"), f"external resource {url}"
    for url in ("/static/app.js", "/static/app.css", "/static-report.css"):
        assert open_client.get(url).status_code == 200, url
    assert 'for="f-age_years"' in html and 'id="f-age_years"' in html  # labelled inputs


def test_submit_shows_result_and_stores(storing_client, store):
    open_client = storing_client
    r = open_client.post("/assess", data={"csrf": csrf(open_client), "age_years": "46", "laterality": "left",
                                          "setting": "diagnosis",
                                          "positive_axillary_nodes": "5", "examined_axillary_nodes": "12",
                                          "tumor_location.quadrant": "UIQ", "tumor_size_mm": "32"})
    assert r.status_code == 200
    assert store.count() == 1
    row = store.list().items[0]
    assert row.id in r.text
    from imln.report import headline_probability

    est = headline_probability(row.output)
    if est is not None:
        assert est.percent_text() in r.text


def test_errors_shown_next_to_fields(open_client, store):
    r = open_client.post("/assess", data={"csrf": csrf(open_client), "age_years": "58", "laterality": "left",
                                          "setting": "after_surgery",
                                          "findings.pet_ct.suv_max": "300"})
    assert r.status_code == 422
    assert store.count() == 0
    field = re.search(r'id="f-findings--pet_ct--suv_max-error"[^>]*>([^<]*)<', r.text)
    assert field and "0–100" in field.group(1)
    assert 'aria-invalid="true"' in r.text


def test_inline_validation_endpoint(open_client):
    r = open_client.post("/validate", data={"age_years": "58", "laterality": "left", "setting": "after_nac",
                                            "neoadjuvant_chemotherapy": "false"})
    body = r.json()
    assert body["valid"] is False
    assert "setting" in body["errors"] and "neoadjuvant_chemotherapy" in body["errors"]


def test_closed_compute_needs_token_in_form(client):
    page = client.get("/").text
    assert 'name="token"' in page
    data = {"csrf": csrf(client), "age_years": "58", "laterality": "left", "setting": "diagnosis"}
    assert client.post("/assess", data=data).status_code == 401
    assert client.post("/assess", data={**data, "token": TOKEN}).status_code == 200


def test_export_from_result_page(open_client):
    patient = '{"age_years": 58, "laterality": "left", "setting": "diagnosis"}'
    token = csrf(open_client)
    pdf = open_client.post("/export", data={"csrf": token, "patient": patient, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    fhir = open_client.post("/export", data={"csrf": token, "patient": patient, "format": "fhir"})
    assert fhir.json()["resourceType"] == "RiskAssessment"
    summary = open_client.post("/export", data={"csrf": token, "patient": patient, "format": "patient"})
    assert summary.status_code == 200 and "a summary for you" in summary.text


class TestCrossSiteRequests:
    """Double-submit CSRF check on the form's POSTs: a page of another site can make the browser send the
    cookie, but cannot read it to put the same value in the form."""

    DATA = {"age_years": "46", "laterality": "left", "setting": "diagnosis", "positive_axillary_nodes": "5",
            "examined_axillary_nodes": "12", "tumor_location.quadrant": "UIQ", "tumor_size_mm": "32"}

    def test_cookie_is_http_only_and_same_site_strict(self, open_client):
        header = open_client.get("/").headers["set-cookie"].lower()
        assert header.startswith("imln_csrf=") and "httponly" in header and "samesite=strict" in header

    @pytest.mark.parametrize("forged", [None, "", "x" * 43])
    def test_submit_without_the_matching_token_stores_nothing(self, storing_client, store, forged):
        open_client = storing_client
        csrf(open_client)  # the browser has the cookie, as a victim would
        data = dict(self.DATA) if forged is None else {**self.DATA, "csrf": forged}
        r = open_client.post("/assess", data=data)
        assert r.status_code == 403 and "not sent from this site" in r.text
        assert store.count() == 0
        assert 'value="46"' in r.text  # the values come back to check and resend
        again = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        assert open_client.post("/assess", data={**self.DATA, "csrf": again}).status_code == 200
        assert store.count() == 1

    def test_token_without_the_cookie_is_refused(self, storing_client, store):
        open_client = storing_client
        token = csrf(open_client)
        open_client.cookies.clear()
        assert open_client.post("/assess", data={**self.DATA, "csrf": token}).status_code == 403
        assert store.count() == 0

    def test_export_needs_the_token(self, open_client):
        csrf(open_client)
        r = open_client.post("/export", data={"patient": '{"age_years": 58, "laterality": "left", '
                                              '"setting": "diagnosis"}', "format": "fhir"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_the_form_takes_the_pathological_n_category_and_im_node_tissue():
    fields = {f.name: f for g in form_groups() for f in g.fields}
    assert fields["im_node_tissue.result"].label == "IM node pathology result"
    assert {v for v, _ in fields["im_node_tissue.result"].options} == {"positive", "negative", "non_diagnostic"}
    assert "pN3b" in {v for v, _ in fields["pathological_n_stage"].options}
    data, _ = form_to_patient({"age_years": "58", "laterality": "left", "setting": "after_surgery",
                               "pathological_n_stage": "pN1a", "positive_axillary_nodes": "2",
                               "im_node_tissue.method": "im_sentinel_biopsy", "im_node_tissue.result": "negative"})
    assert data["im_node_tissue"] == {"method": "im_sentinel_biopsy", "result": "negative"}
    assert data["pathological_n_stage"] == "pN1a"
