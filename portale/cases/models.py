"""The filed procedure (the case): its row, its events, its attachments, the opinions asked on
it and the summary computed from its events.

The state of a procedure is a function of its events. ``Procedure.state``, ``received_on`` and
``last_day`` are a denormalised cache of that function, updated in the same transaction as every
event (:func:`portale.cases.services.refresh`), so that worklists and reports can filter on them
without scanning the event log. ``ProcedureSummary`` is one row per filed procedure, rewritten
from its events whenever one is recorded (see :mod:`portale.clock.summary`); its filter columns
(type, municipality, office, dates) are copies of the procedure's, so a report reads one table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

# SSU states (instance-descriptor-schema.yaml) written at filing; the lifecycle has the rest.
STATE_STARTED = "started"
STATE_PRESENTED = "presented"

EVENT_STARTED = "started"
EVENT_PRESENTED = "presented"


class Procedure(Base):
    """A filed procedure: identified by its CUI and by its protocol number in its office."""

    __tablename__ = "procedure"
    __table_args__ = (
        UniqueConstraint("office_id", "protocol_year", "protocol_number"),
        UniqueConstraint("cui_context", "cui_year", "cui_progressive"),
        Index("ix_procedure_office_state", "office_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    local_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_unit.id", ondelete="SET NULL")
    )
    municipality: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    type_code: Mapped[str] = mapped_column(String(64), index=True)
    type_version_id: Mapped[int] = mapped_column(
        ForeignKey("procedure_type_version.id"), index=True
    )
    regime: Mapped[str] = mapped_column(String(32))
    submitter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the dossier as it was at submission (portale.dossier.services.serialise_company)
    dossier_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # CUI (SSU cui-schema): context, date, yearly progressive, UUID
    cui_context: Mapped[str] = mapped_column(String(32))
    cui_date: Mapped[date] = mapped_column(Date)
    cui_year: Mapped[int] = mapped_column(Integer)
    cui_progressive: Mapped[int] = mapped_column(Integer)
    cui_uuid: Mapped[str] = mapped_column(String(36), unique=True)

    protocol_year: Mapped[int] = mapped_column(Integer)
    protocol_number: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    receipt_key: Mapped[str | None] = mapped_column(String(200))

    # The clerk who has taken the procedure in charge (back office worklist).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)

    # Cache of the event log (see module docstring).
    state: Mapped[str] = mapped_column(String(48), default=STATE_PRESENTED, index=True)
    received_on: Mapped[date | None] = mapped_column(Date, index=True)
    last_day: Mapped[date | None] = mapped_column(Date, index=True)

    events: Mapped[list[ProcedureEvent]] = relationship(
        back_populates="procedure",
        order_by="(ProcedureEvent.at, ProcedureEvent.id)",
        cascade="all, delete-orphan",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="procedure", order_by="Attachment.id", foreign_keys="Attachment.procedure_id"
    )
    company = relationship("Company")
    local_unit = relationship("LocalUnit")
    office = relationship("Office")
    submitter = relationship("User", foreign_keys=[submitter_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    type_version = relationship("ProcedureTypeVersion")

    @property
    def protocol_label(self) -> str:
        """The protocol number as printed: ``<office code>/<year>/<number, 6 digits>``."""
        code = self.office.code if self.office is not None else str(self.office_id)
        return f"{code}/{self.protocol_year}/{self.protocol_number:06d}"

    @property
    def cui_label(self) -> str:
        from portale.cases.cui import Cui

        return str(Cui.of(self))


class ProcedureEvent(Base):
    """One step of a procedure's life: the clock and the reports are computed from these rows."""

    __tablename__ = "procedure_event"
    __table_args__ = (Index("ix_procedure_event_procedure_at", "procedure_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    procedure: Mapped[Procedure] = relationship(back_populates="events")
    actor = relationship("User")


class Attachment(Base):
    """An uploaded file, checked by content and size; its bytes live at ``storage_key``."""

    __tablename__ = "procedure_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure_draft.id", ondelete="SET NULL"), index=True
    )
    procedure_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for display only
    kind: Mapped[str] = mapped_column(String(16))  # detected from the content: pdf, p7m, png, jpeg
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # the draft it was uploaded to (portale.procedures.models.Draft), named, not imported:
    # the filing area sits above this one
    draft = relationship("Draft", back_populates="attachments", foreign_keys=[draft_id])
    procedure: Mapped[Procedure | None] = relationship(
        back_populates="attachments", foreign_keys=[procedure_id]
    )


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
