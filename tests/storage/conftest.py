"""Storage backends under test: a SQLite file always, PostgreSQL from IMLN_TEST_POSTGRES_URL.

Without the URL the PostgreSQL cases skip on a developer machine but FAIL under CI
(``CI`` set): CI must run them (``scripts/ci/start_postgres.sh`` provides the server).
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "IMLN_TEST_POSTGRES_URL"


def postgres_url_or_fail() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set under CI: start PostgreSQL with scripts/ci/start_postgres.sh")
        pytest.skip(f"{POSTGRES_ENV} not set (eval \"$(bash scripts/ci/start_postgres.sh)\")")
    return url


@pytest.fixture
def postgres_url() -> str:
    """A fresh, empty database on the test server (dropped afterwards)."""
    base = postgres_url_or_fail()
    name = f"imln_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
