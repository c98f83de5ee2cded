"""Contribution regularity certificates (DURC) fetched for procedures that need one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portale.db import Base, UTCDateTime, utcnow


class DurcCertificate(Base):
    """A DURC as the contribution-regularity service returned it, for one procedure."""

    __tablename__ = "durc_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    regular: Mapped[bool] = mapped_column(Boolean)
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    protocol: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
