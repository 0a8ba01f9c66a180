"""Property-based conformance of the REST API with its own OpenAPI document (schemathesis, bounded).

Every operation except PDF/HTML report rendering (bounded and tested in test_flood.py) is called with
generated valid and invalid requests, with and without the token: no response may be a server error
(5xx), and responses must match the documented status codes and content types where schemathesis
can check them. Bounded: a few examples per operation, no stateful links.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

warnings.filterwarnings("ignore", message=".*httpx2.*")

from imln.api import Settings, create_app  # noqa: E402
from imln.storage import Store  # noqa: E402

TOKEN = "schemathesis-token-0123456789"
_TMP = Path(tempfile.mkdtemp(prefix="imln-schemathesis-"))
_STORE = Store(f"sqlite:///{_TMP / 'api.sqlite3'}")
APP = create_app(Settings(api_token=TOKEN, open_compute=True, rate_limit_per_minute=100_000), store=_STORE)

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP).exclude(path_regex=r"report")


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_with_the_token(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    case.validate_response(response, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_without_the_token(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
