"""Back-office models: opinion requests to authorities and the per-procedure summary.

``ProcedureSummary`` is one row per filed procedure, rewritten from its events whenever one is
recorded (see :mod:`portale.clock.summary`); worklists and reports filter and aggregate it
instead of scanning the event log. Its filter columns (type, municipality, office, dates) are
copies of the procedure's, so a report reads one table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

# Opinion outcomes. The SSU ``send_conclusions`` types map onto them: positive_outcome ->
# favourable (or favourable with conditions), conformation_requested, suspension_requested.
OPINION_FAVOURABLE = "favourable"
OPINION_FAVOURABLE_WITH_CONDITIONS = "favourable_with_conditions"
OPINION_UNFAVOURABLE = "unfavourable"
OPINION_CONFORMATION_REQUESTED = "conformation_requested"
OPINION_SUSPENSION_REQUESTED = "suspension_requested"
OPINION_OUTCOMES = (
    OPINION_FAVOURABLE,
    OPINION_FAVOURABLE_WITH_CONDITIONS,
    OPINION_UNFAVOURABLE,
    OPINION_CONFORMATION_REQUESTED,
    OPINION_SUSPENSION_REQUESTED,
)
DEFAULT_OPINION_TERM_DAYS = 30


class OpinionRequest(Base):
    """The office asks one authority for its opinion on one procedure, within its own term."""

    __tablename__ = "opinion_request"
    __table_args__ = (Index("ix_opinion_request_authority_open", "authority_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    term_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_OPINION_TERM_DAYS)
    due_on: Mapped[date] = mapped_column(Date)
    question: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    outcome: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)  # motivation, conditions, what must change
    # the signed document of the opinion, if any
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_name: Mapped[str | None] = mapped_column(String(255))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    # where the answer came from: "portal" (an officer typed it) or "ssu" (send_conclusions)
    answered_via: Mapped[str | None] = mapped_column(String(16))

    procedure = relationship("Procedure")
    authority = relationship("Authority")

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    def is_late(self, today: date) -> bool:
        """Answered after its due day, or still open past it."""
        if self.answered_at is not None:
            from portale.clock.calendar import local_date

            return local_date(self.answered_at) > self.due_on
        return today > self.due_on


class ProcedureSummary(Base):
    """Figures of one procedure computed from its events (:func:`portale.clock.summary.summarise`)."""

    __tablename__ = "procedure_summary"
    __table_args__ = (
        Index("ix_procedure_summary_received", "received_on"),
        Index("ix_procedure_summary_type_received", "type_code", "received_on"),
        Index("ix_procedure_summary_office_received", "office_id", "received_on"),
        Index("ix_procedure_summary_municipality_received", "municipality", "received_on"),
        Index("ix_procedure_summary_decided", "decided_on"),
    )

    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True
    )
    type_code: Mapped[str] = mapped_column(String(64))
    municipality: Mapped[str] = mapped_column(String(6))
    office_id: Mapped[int] = mapped_column(Integer)
    regime: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(48))
    received_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    term_days: Mapped[int | None] = mapped_column(Integer)
    days_gross: Mapped[int | None] = mapped_column(Integer)
    days_net: Mapped[int] = mapped_column(Integer, default=0)
    days_suspended: Mapped[int] = mapped_column(Integer, default=0)
    days_company: Mapped[float] = mapped_column(Float, default=0.0)
    days_office: Mapped[float] = mapped_column(Float, default=0.0)
    days_authority: Mapped[float] = mapped_column(Float, default=0.0)
    days_dispatch: Mapped[float] = mapped_column(Float, default=0.0)
    integration_requests: Mapped[int] = mapped_column(Integer, default=0)
    opinions_requested: Mapped[int] = mapped_column(Integer, default=0)
    within_term: Mapped[bool | None] = mapped_column(Boolean)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    silent_assent: Mapped[bool] = mapped_column(Boolean, default=False)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = ["OpinionRequest", "ProcedureSummary", "OPINION_OUTCOMES"]
