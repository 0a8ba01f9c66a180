"""REST API: success, every class of input error, auth, paging, reproduction, reference data."""

from __future__ import annotations

import json

import pytest
import yaml

import imln
from imln.schema import MAX_INPUT_BYTES

from .conftest import AUTH, EXAMPLES, TOKEN, example

YAML = {"content-type": "application/yaml"}
VALID = {"age_years": 58, "laterality": "left", "setting": "diagnosis"}


def problems(response) -> dict[str, dict]:
    body = response.json()
    return {p["field"]: p for p in body["problems"]}


class TestSuccess:
    @pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
    def test_compute_equals_library_assess(self, open_client, name):
        r = open_client.post("/api/v1/compute", content=example(name), headers=YAML)
        assert r.status_code == 200, r.text
        got = r.json()
        want = imln.assess(imln.load_patient(EXAMPLES / name)).model_dump(mode="json")
        got.pop("created_at"), want.pop("created_at")
        assert got == json.loads(json.dumps(want))

    def test_json_body(self, open_client):
        data = yaml.safe_load(example("early_lateral_n0.yaml"))
        data["findings"][0]["date"] = str(data["findings"][0]["date"])
        r = open_client.post("/api/v1/compute", json=data)
        assert r.status_code == 200
        assert r.json()["input"]["patient_id"] == "example-early-lateral-n0"

    def test_store_then_get(self, client):
        r = client.post("/api/v1/assessments", content=example("medial_4plus_nodes.yaml"), headers={**YAML, **AUTH})
        assert r.status_code == 201, r.text
        body = r.json()
        assert r.headers["location"] == f"/api/v1/assessments/{body['id']}"
        assert body["intact"] is True
        assert body["imln_version"] == imln.__version__
        got = client.get(f"/api/v1/assessments/{body['id']}", headers=AUTH)
        assert got.status_code == 200
        assert got.json()["assessment"] == body["assessment"]

    def test_unknown_id_is_404(self, client):
        r = client.get("/api/v1/assessments/nope", headers=AUTH)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


class TestValidationErrors:
    """Each class of bad input is a 422 naming the field and what is allowed."""

    def post(self, c, body, ctype="application/json"):
        return c.post("/api/v1/compute", content=body, headers={"content-type": ctype})

    def test_out_of_range_names_field_and_range(self, open_client):
        r = self.post(open_client, json.dumps({**VALID, "tumor_size_mm": 450}))
        assert r.status_code == 422
        p = problems(r)["tumor_size_mm"]
        assert p["allowed"] == ">0–200 mm" and p["value"] == "450"

    def test_wrong_type(self, open_client):
        r = self.post(open_client, json.dumps({**VALID, "age_years": "old"}))
        assert r.status_code == 422 and "age_years" in problems(r)

    def test_bool_is_not_a_number(self, open_client):
        r = self.post(open_client, json.dumps({**VALID, "grade": True}))
        assert r.status_code == 422 and "grade" in problems(r)

    def test_missing_required(self, open_client):
        r = self.post(open_client, json.dumps({"age_years": 50, "laterality": "left"}))
        assert r.status_code == 422 and "setting" in problems(r)

    def test_unknown_field(self, open_client):
        r = self.post(open_client, json.dumps({**VALID, "tumour_size": 12}))
        assert r.status_code == 422 and "tumour_size" in problems(r)

    def test_value_not_in_vocabulary(self, open_client):
        r = self.post(open_client, json.dumps({**VALID, "her2_status": "maybe"}))
        assert r.status_code == 422
        assert "positive" in problems(r)["her2_status"]["allowed"]

    def test_nested_path(self, open_client):
        body = {**VALID, "findings": [{"modality": "us", "suv_max": 3.0, "result": "negative"}]}
        r = self.post(open_client, json.dumps(body))
        assert r.status_code == 422
        p = problems(r)["findings[0].suv_max"]
        assert "pet_ct" in p["allowed"] and p["related"] == ["findings[0].modality"]

    def test_cross_field_conflict(self, open_client):
        body = {**VALID, "positive_axillary_nodes": 5, "examined_axillary_nodes": 2}
        p = problems(self.post(open_client, json.dumps(body)))["positive_axillary_nodes"]
        assert p["allowed"].startswith("0–2") and p["related"] == ["examined_axillary_nodes"]

    def test_malformed_json(self, open_client):
        r = self.post(open_client, '{"age_years": 50,')
        assert r.status_code == 422 and "invalid" in problems(r)["<input>"]["message"]

    def test_duplicate_key(self, open_client):
        r = self.post(open_client, '{"age_years": 50, "age_years": 51, "laterality": "left", "setting": "diagnosis"}')
        assert r.status_code == 422 and "age_years" in problems(r)

    def test_not_a_mapping(self, open_client):
        r = self.post(open_client, "[1, 2]")
        assert r.status_code == 422 and "mapping" in problems(r)["<input>"]["message"]

    def test_empty_body(self, open_client):
        r = self.post(open_client, "")
        assert r.status_code == 422 and "empty" in problems(r)["<input>"]["message"]

    def test_binary_body(self, open_client):
        r = self.post(open_client, b"\x00\x01\x02", "application/json")
        assert r.status_code == 422 and "binary" in problems(r)["<input>"]["message"]

    def test_yaml_alias_refused(self, open_client):
        r = self.post(open_client, "a: &x 1\nb: *x\n", "application/yaml")
        assert r.status_code == 422 and "alias" in problems(r)["<input>"]["message"]

    def test_too_large_is_413_with_limit(self, open_client):
        r = self.post(open_client, b" " * (MAX_INPUT_BYTES + 1))
        assert r.status_code == 413
        assert str(MAX_INPUT_BYTES) in problems(r)["<input>"]["allowed"]

    def test_too_large_without_content_length(self, open_client):
        def chunks():
            for _ in range(MAX_INPUT_BYTES // 65536 + 2):
                yield b" " * 65536

        r = open_client.post("/api/v1/compute", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413

    def test_unsupported_media_type(self, open_client):
        r = self.post(open_client, "age=50", "application/x-www-form-urlencoded")
        assert r.status_code == 415 and problems(r)["<input>"]["allowed"].startswith("application/json")

    def test_query_parameter_range(self, client):
        r = client.get("/api/v1/assessments?limit=100000", headers=AUTH)
        assert r.status_code == 422
        p = problems(r)["limit"]
        assert p["allowed"] == "≤100" and p["value"] == "100000"

    def test_validate_endpoint_lists_problems_without_error_status(self, open_client):
        r = open_client.post("/api/v1/validate", json={**VALID, "age_years": 5})
        assert r.status_code == 200
        assert r.json()["valid"] is False and r.json()["problems"][0]["field"] == "age_years"
        ok = open_client.post("/api/v1/validate", json=VALID)
        assert ok.json() == {"valid": True, "problems": []}


class TestAuth:
    def test_stored_assessments_need_the_token(self, open_client):
        for method, url in (("post", "/api/v1/assessments"), ("get", "/api/v1/assessments"),
                            ("get", "/api/v1/assessments/x"), ("post", "/api/v1/assessments/x/reproduce")):
            r = getattr(open_client, method)(url)
            assert r.status_code == 401, url
            assert r.headers["www-authenticate"] == "Bearer"

    def test_wrong_token(self, client):
        r = client.get("/api/v1/assessments", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert client.get("/api/v1/assessments", headers={"Authorization": TOKEN}).status_code == 401

    def test_compute_closed_unless_configured_open(self, client, open_client):
        body = json.dumps(VALID)
        assert client.post("/api/v1/compute", content=body).status_code == 401
        assert client.post("/api/v1/compute", content=body, headers=AUTH).status_code == 200
        assert open_client.post("/api/v1/compute", content=body).status_code == 200

    def test_no_token_configured_refuses_storage_with_a_hint(self, store):
        from fastapi.testclient import TestClient

        from imln.api import Settings, create_app

        with TestClient(create_app(Settings(api_token=None, open_compute=True), store=store)) as c:
            r = c.get("/api/v1/assessments", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 401 and "IMLN_API_TOKEN" in r.json()["message"]

    def test_token_from_environment_and_config_file(self, monkeypatch, tmp_path):
        from imln.api import Settings

        config = tmp_path / "config.toml"
        config.write_text('api_token = "from-file"\nopen_compute = true\n')
        monkeypatch.setenv("IMLN_CONFIG_FILE", str(config))
        monkeypatch.delenv("IMLN_API_TOKEN", raising=False)
        s = Settings()
        assert s.token() == "from-file" and s.open_compute
        monkeypatch.setenv("IMLN_API_TOKEN", "from-env")
        assert Settings().token() == "from-env"  # environment wins over the file


class TestPaging:
    def test_pages_cover_everything_once(self, client):
        ids = []
        for name in ("early_lateral_n0.yaml", "medial_4plus_nodes.yaml") * 3:
            r = client.post("/api/v1/assessments", content=example(name), headers={**YAML, **AUTH})
            ids.append(r.json()["id"])
        seen, offset = [], 0
        while offset is not None:
            page = client.get(f"/api/v1/assessments?limit=4&offset={offset}", headers=AUTH).json()
            assert page["total"] == 6 and page["limit"] == 4
            seen += [i["id"] for i in page["items"]]
            offset = page["next_offset"]
        assert sorted(seen) == sorted(ids) and len(seen) == 6
        assert seen[0] == ids[-1]
        assert "assessment" not in page["items"][0]  # summaries only

    def test_offset_past_the_end(self, client):
        page = client.get("/api/v1/assessments?offset=50", headers=AUTH).json()
        assert page["items"] == [] and page["next_offset"] is None


class TestReproduction:
    def test_round_trip_reproduces_the_same_output(self, client):
        r = client.post("/api/v1/assessments", content=example("after_nac_mri_positive.yaml"), headers={**YAML, **AUTH})
        aid = r.json()["id"]
        rep = client.post(f"/api/v1/assessments/{aid}/reproduce", headers=AUTH)
        assert rep.status_code == 200
        body = rep.json()
        assert body["matches"] is True and body["differences"] == []
        assert body["stored_versions"] == body["current_versions"]
        assert len(body["history"]) == 1

    def test_changed_code_is_detected(self, client, store):
        doc = imln.assess(imln.load_patient(EXAMPLES / "early_lateral_n0.yaml")).model_dump(mode="json")
        doc["evidence_on_file"] = []  # as if an older version had listed no evidence
        row = store.save(doc)
        body = client.post(f"/api/v1/assessments/{row.id}/reproduce", headers=AUTH).json()
        assert body["matches"] is False and "evidence_on_file" in body["differences"][0]


class TestExports:
    def test_stored_report_and_fhir(self, client):
        aid = client.post("/api/v1/assessments", content=example("medial_4plus_nodes.yaml"),
                          headers={**YAML, **AUTH}).json()["id"]
        html = client.get(f"/api/v1/assessments/{aid}/report?format=html", headers=AUTH)
        assert html.status_code == 200 and aid in html.text
        fhir = client.get(f"/api/v1/assessments/{aid}/fhir", headers=AUTH)
        assert fhir.status_code == 200 and fhir.headers["content-type"].startswith("application/fhir+json")
        assert fhir.json()["resourceType"] == "RiskAssessment" and fhir.json()["id"] == aid
        summary = client.get(f"/api/v1/assessments/{aid}/patient-summary", headers=AUTH)
        from imln.report import present

        frequency = present(client.get(f"/api/v1/assessments/{aid}", headers=AUTH).json()["assessment"]).headline.probability.frequency
        assert summary.status_code == 200 and f"women like you, {frequency.text} have" in summary.text
        assert client.get(f"/api/v1/assessments/{aid}/patient-summary").status_code == 401
        assert client.get("/api/v1/assessments/nope/patient-summary", headers=AUTH).status_code == 404

    def test_compute_report_pdf(self, open_client):
        r = open_client.post("/api/v1/compute/report?format=pdf", content=example("early_lateral_n0.yaml"), headers=YAML)
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")

    def test_report_format_checked(self, open_client):
        r = open_client.post("/api/v1/compute/report?format=docx", content=example("early_lateral_n0.yaml"), headers=YAML)
        assert r.status_code == 422 and problems(r)["format"]


class TestReferenceData:
    def test_models(self, open_client):
        body = open_client.get("/api/v1/models").json()
        assert isinstance(body["models"], list)
        try:
            from imln.risk import list_models
        except ImportError:
            assert body["models"] == [] and body["note"]
        else:
            assert [m["id"] for m in body["models"]] == [e.id for e in list_models()]
            assert all("/" not in str(m.get("path", "")) for m in body["models"])

    def test_evidence_and_filter(self, open_client):
        all_ = open_client.get("/api/v1/evidence").json()
        assert all_["count"] == len(imln.load_evidence())
        us = open_client.get("/api/v1/evidence?modality=us").json()
        assert 0 < us["count"] < all_["count"] and {r["modality"] for r in us["records"]} == {"us"}
        bad = open_client.get("/api/v1/evidence?modality=xray")
        assert bad.status_code == 422 and "modality" in problems(bad)

    def test_audit(self, open_client):
        audit = open_client.get("/api/v1/evidence/audit").json()
        assert audit["summary"]["records"] == len(imln.load_evidence())

    def test_swagger_ui_is_served_from_the_package_not_a_cdn(self, open_client):
        """The machine may be offline: every script, style and icon of /api/v1/docs comes from this server."""
        import re

        page = open_client.get("/api/v1/docs")
        assert page.status_code == 200 and "/api/v1/openapi.json" in page.text
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        assert assets and all(a.startswith("/api/v1/docs/static/") for a in assets), assets
        for asset in assets:
            got = open_client.get(asset)
            assert got.status_code == 200 and len(got.content) > 500, asset
        assert "swagger" not in json.dumps(open_client.get("/api/v1/openapi.json").json()["paths"])

    def test_openapi_documents_the_patient_body(self, open_client):
        spec = open_client.get("/api/v1/openapi.json").json()
        body = spec["paths"]["/api/v1/assessments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/PatientInput"}
        patient = spec["components"]["schemas"]["PatientInput"]
        assert patient["properties"]["tumor_size_mm"]["x-allowed"] == ">0–200 mm"
        refs = json.dumps(spec)
        assert "#/$defs/" not in refs
        import re
        for ref in set(re.findall(r'"#/components/schemas/([^"]+)"', refs)):
            assert ref in spec["components"]["schemas"], ref

def test_evidence_pools_endpoint_reports_each_record(client):
    res = client.get("/api/v1/evidence/pools/us")
    assert res.status_code == 200
    body = res.json()
    assert body["modality"] == "us" and body["evidence_version"]
    pooled = {s["record_id"] for p in body["pools"] for s in p["studies"]}
    excluded = {e["record"] for e in body["excluded"]}
    from imln.evidence import Kind, load_evidence

    us_records = {r.id for r in load_evidence().filter(kind=Kind.diagnostic_accuracy, modality="us")}
    assert pooled | excluded == us_records and not pooled & excluded  # every record accounted for, once
    bad = client.get("/api/v1/evidence/pools/xray")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "modality"
