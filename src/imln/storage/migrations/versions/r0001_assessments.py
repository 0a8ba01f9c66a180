"""Stored assessments: input, output and the versions that reproduce them.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("imln_version", sa.String(32), nullable=False),
        sa.Column("evidence_version", sa.String(32), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=False),
        sa.Column("input_digest", sa.String(64), nullable=False),
        sa.Column("output_digest", sa.String(64), nullable=False),
        sa.Column("input_json", Json, nullable=False),
        sa.Column("output_json", Json, nullable=False),
    )
    op.create_index("ix_assessments_stored_at", "assessments", ["stored_at"])
    op.create_index("ix_assessments_input_digest", "assessments", ["input_digest"])


def downgrade() -> None:
    op.drop_index("ix_assessments_input_digest", "assessments")
    op.drop_index("ix_assessments_stored_at", "assessments")
    op.drop_table("assessments")
