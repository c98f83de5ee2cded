"""Acts the office issues on a procedure: decisions as PDFs with their own protocol number.

An :class:`Act` is an outgoing document (licence, rejection, prohibition of a SCIA activity,
certificate of silent assent). Its PDF lives in storage at ``storage_key``; ``sha256`` lets
anyone check the copy they hold. The protocol number comes from the office's register
(:mod:`portale.cases.protocol`), the same sequence as incoming filings.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

ACT_APPROVAL = "approval"
ACT_REJECTION = "rejection"
ACT_PROHIBITION = "prohibition"
ACT_SILENT_ASSENT = "silent_assent_certificate"
ACT_KINDS = (ACT_APPROVAL, ACT_REJECTION, ACT_PROHIBITION, ACT_SILENT_ASSENT)


class Act(Base):
    """One act issued on a procedure, as a stored PDF with a protocol number."""

    __tablename__ = "procedure_act"
    __table_args__ = (UniqueConstraint("procedure_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    protocol_year: Mapped[int] = mapped_column(Integer)
    protocol_number: Mapped[int] = mapped_column(Integer)
    protocol_label: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    motivation: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)

    procedure = relationship("Procedure")
    issued_by = relationship("User")

    @property
    def filename(self) -> str:
        return f"atto-{self.kind}-{self.protocol_label.replace('/', '-')}.pdf"


__all__ = ["Act", "ACT_KINDS"]
