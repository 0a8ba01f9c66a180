"""How each row's output digest was computed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Rows stored before this revision were digested over the standard library's canonical
JSON (``sha256-json-sorted``); they keep that digest and are checked with it. New rows
are digested over orjson's sorted-key JSON (``sha256-orjson-sorted``), several times
faster; the two texts differ in how some floats are spelled, so the method is recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("output_digest_method", sa.String(32), nullable=False,
                                   server_default="sha256-json-sorted"))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("output_digest_method")
