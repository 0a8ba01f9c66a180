"""Stored assessments: every assessment with its input, output and versions, reproducible later.

>>> from imln.storage import Store
>>> store = Store("sqlite:///:memory:")          # doctest: +SKIP
>>> row = store.save(imln.assess(patient))        # doctest: +SKIP
>>> store.reproduce(row.id).matches               # doctest: +SKIP
True

SQLite (WAL mode) in the user's data folder by default; PostgreSQL with a
``postgresql+psycopg://`` URL. The bundled Alembic migrations run on open.
"""

from imln.storage._store import (
    DIGEST_METHODS,
    HEAD_REVISION,
    Page,
    Reproduction,
    Store,
    StoredAssessment,
    canonical_json,
    current_revision,
    default_database_url,
    describe_storage_error,
    digest,
    make_engine,
    migrate,
    output_digest,
)

__all__ = [
    "DIGEST_METHODS",
    "HEAD_REVISION",
    "Page",
    "Reproduction",
    "Store",
    "StoredAssessment",
    "canonical_json",
    "current_revision",
    "default_database_url",
    "describe_storage_error",
    "digest",
    "make_engine",
    "migrate",
    "output_digest",
]
