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
    with TestClient(create_app(Settings(open_compute=True, storage=False)), raise_server_exceptions=False) as c:
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
