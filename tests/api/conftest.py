from __future__ import annotations

import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")
from fastapi.testclient import TestClient  # noqa: E402

from imln.api import Settings, create_app  # noqa: E402
from imln.storage import Store  # noqa: E402

EXAMPLES = Path(__file__).parents[2] / "examples"
TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    yield s
    s.close()


@pytest.fixture
def client(store):
    """Token required for everything but reference data."""
    with TestClient(create_app(Settings(api_token=TOKEN, open_compute=False), store=store)) as c:
        yield c


@pytest.fixture
def open_client(store):
    """Compute endpoints and the web form open; stored assessments still need the token."""
    with TestClient(create_app(Settings(api_token=TOKEN, open_compute=True), store=store)) as c:
        yield c


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()
