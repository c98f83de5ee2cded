"""Drafts: procedures being filled in.

A :class:`Draft` is what the user is typing: it accepts partial and invalid answers so that
nothing typed is ever lost. Submitting a draft files a :class:`~portale.cases.models.Procedure`
(CUI, protocol number, catalogue version, dossier snapshot) and writes its first events.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portale.cases.models import Attachment


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
