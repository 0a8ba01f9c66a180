"""Model versions per assessment (backfilled from the stored output) and reproduction log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Existing rows keep their input and output untouched; ``model_versions`` is filled from
each row's stored output, so assessments stored before this revision stay complete.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    from imln.report._adapter import model_versions

    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("model_versions", Json, nullable=True))
    assessments = sa.table(
        "assessments",
        sa.column("id", sa.String),
        sa.column("output_json", Json),
        sa.column("model_versions", Json),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(assessments.c.id, assessments.c.output_json)).all()
    for row_id, output in rows:
        conn.execute(
            assessments.update()
            .where(assessments.c.id == row_id)
            .values(model_versions=model_versions(output or {}))
        )
    with op.batch_alter_table("assessments") as batch:
        batch.alter_column("model_versions", existing_type=Json, nullable=False)

    op.create_table(
        "reproductions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "assessment_id",
            sa.String(36),
            sa.ForeignKey("assessments.id", ondelete="CASCADE", name="fk_reproductions_assessment"),
            nullable=False,
        ),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imln_version", sa.String(32), nullable=False),
        sa.Column("evidence_version", sa.String(32), nullable=False),
        sa.Column("matches", sa.Boolean, nullable=False),
        sa.Column("differences", Json, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_reproductions_assessment_id", "reproductions", ["assessment_id"])


def downgrade() -> None:
    op.drop_index("ix_reproductions_assessment_id", "reproductions")
    op.drop_table("reproductions")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("model_versions")
