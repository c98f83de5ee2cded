"""Catalogue models: a procedure type and its versions; a filed procedure keeps its version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from portale.db import Base, UTCDateTime, utcnow

DRAFT = "draft"
PUBLISHED = "published"
RETIRED = "retired"


class ProcedureType(Base):
    __tablename__ = "procedure_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[ProcedureTypeVersion]] = relationship(
        back_populates="procedure_type", order_by="ProcedureTypeVersion.version"
    )


class ProcedureTypeVersion(Base):
    """One version of a procedure type: its whole normalised spec, plus columns to query on.

    ``status`` goes draft -> published -> retired; at most one version of a type is published,
    and that is the one new procedures are filed under. A filed procedure references its
    version's id and stays on it.
    """

    __tablename__ = "procedure_type_version"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("procedure_type.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    title_it = synonym("title")
    regime: Mapped[str] = mapped_column(String(32))
    term_days: Mapped[int | None] = mapped_column(Integer)
    silent_assent: Mapped[bool] = mapped_column(Boolean, default=False)
    control_window_days: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    search_text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    procedure_type: Mapped[ProcedureType] = relationship(back_populates="versions")

    def title_for(self, locale: str) -> str:
        return (self.title_en if locale == "en" and self.title_en else self.title) or self.code
