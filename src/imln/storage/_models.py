"""Tables of the assessment store (SQLAlchemy 2 declarative models).

The migrations in ``migrations/versions`` create these tables; the models here must
match the newest revision (``tests/storage`` checks that they do).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AssessmentRow", "Base", "ReproductionRow"]

#: JSON on SQLite (stored as text), JSONB on PostgreSQL.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class AssessmentRow(Base):
    """One stored assessment: its input and output as JSON, and what reproduces it."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    schema_version: Mapped[str] = mapped_column(String(16))
    imln_version: Mapped[str] = mapped_column(String(32))
    evidence_version: Mapped[str] = mapped_column(String(32))
    evidence_digest: Mapped[str] = mapped_column(String(64))
    model_versions: Mapped[dict[str, Any]] = mapped_column(JsonType)
    input_digest: Mapped[str] = mapped_column(String(64), index=True)
    output_digest: Mapped[str] = mapped_column(String(64))
    output_digest_method: Mapped[str] = mapped_column(String(32), server_default="sha256-json-sorted")
    input_json: Mapped[dict[str, Any]] = mapped_column(JsonType)
    output_json: Mapped[dict[str, Any]] = mapped_column(JsonType)


class ReproductionRow(Base):
    """One attempt to reproduce a stored assessment, and whether it matched."""

    __tablename__ = "reproductions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imln_version: Mapped[str] = mapped_column(String(32))
    evidence_version: Mapped[str] = mapped_column(String(32))
    matches: Mapped[bool] = mapped_column(Boolean)
    differences: Mapped[list[Any]] = mapped_column(JsonType)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
