"""Procedures (*pratiche*): drafts being filled in, filed procedures, their events and attachments.

A :class:`Draft` is what the user is typing: it accepts partial and invalid answers so that
nothing typed is ever lost. Submitting a draft files a :class:`Procedure` (CUI, protocol number,
catalogue version, dossier snapshot) and writes its first :class:`ProcedureEvent`.

The state of a procedure is a function of its events. ``Procedure.state``, ``received_on`` and
``last_day`` are a denormalised cache of that function, updated in the same transaction as every
event, so that worklists and reports can filter on them without scanning the event log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.catalogue.models import ProcedureTypeVersion
from portale.db import Base, UTCDateTime, utcnow

# SSU states (instance-descriptor-schema.yaml) used by this area; the back office adds the rest.
STATE_STARTED = "started"
STATE_PRESENTED = "presented"

EVENT_STARTED = "started"
EVENT_PRESENTED = "presented"


class Draft(Base):
    """A procedure being filled in; answers may be incomplete or invalid until submission."""

    __tablename__ = "procedure_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    local_unit_id: Mapped[int] = mapped_column(ForeignKey("local_unit.id", ondelete="CASCADE"))
    type_code: Mapped[str] = mapped_column(String(64))
    type_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_type_version.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # field name -> value as typed (strings, or booleans for checkboxes)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # names of prefilled fields whose changed value the user wants written back to the dossier
    dossier_updates: Mapped[list[str]] = mapped_column(JSON, default=list)
    # set when the draft has been filed; the draft is then kept only to answer repeated submits
    procedure_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure.id", ondelete="SET NULL")
    )

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="draft", order_by="Attachment.id", foreign_keys="Attachment.draft_id"
    )
    company = relationship("Company")
    local_unit = relationship("LocalUnit")
    type_version = relationship("ProcedureTypeVersion")


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
        from portale.procedures.cui import Cui

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

    draft: Mapped[Draft | None] = relationship(
        back_populates="attachments", foreign_keys=[draft_id]
    )
    procedure: Mapped[Procedure | None] = relationship(
        back_populates="attachments", foreign_keys=[procedure_id]
    )


class SequenceCounter(Base):
    """Gapless yearly counters: protocol numbers per office, CUI progressives per context.

    The row is incremented with ``UPDATE ... RETURNING`` inside the submission transaction, so
    concurrent submissions queue on its row lock and a rolled-back submission gives its number back.
    """

    __tablename__ = "sequence_counter"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


__all__ = [
    "Attachment",
    "Draft",
    "Procedure",
    "ProcedureEvent",
    "ProcedureTypeVersion",
    "SequenceCounter",
]
