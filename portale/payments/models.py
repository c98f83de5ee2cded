"""Debt positions and payments, as rows with their own lifecycle.

A :class:`PaymentPosition` is what the portal asks pagoPA to collect: one per (procedure or
draft, purpose), so a retry can never open a second one (``key`` is unique). It moves
``drafted`` (written, not yet on pagoPA) -> ``published`` (payable: it has a notice number) ->
``paid``, or ``expired`` / ``cancelled``. A :class:`Payment` is one receipt read back from
pagoPA; a receipt that arrives for a position already paid, cancelled or expired is kept as
``refund_due`` for the office. Amounts are euro cents, positive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

DRAFTED = "drafted"
PUBLISHED = "published"
PAID = "paid"
EXPIRED = "expired"
CANCELLED = "cancelled"
OPEN_STATUSES = (DRAFTED, PUBLISHED)
POSITION_STATUSES = (DRAFTED, PUBLISHED, PAID, EXPIRED, CANCELLED)

RECEIVED = "paid"
REFUND_DUE = "refund_due"

PURPOSE_FILING = "filing"  # fees due when filing: the filing completes on payment
PURPOSE_REQUEST = "request"  # asked by a clerk on a filed procedure
PURPOSE_ACT = "act"  # the stamp duty on the act, paid before its release


class PaymentCreditor(Base):
    """The office as pagoPA creditor: its tax code, IBAN and (if it has its own) API key."""

    __tablename__ = "payment_creditor"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"), unique=True)
    tax_code: Mapped[str] = mapped_column(String(11))
    name: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str] = mapped_column(String(35))
    api_key: Mapped[str | None] = mapped_column(String(200))
    stamp_province: Mapped[str] = mapped_column(String(2), default="TO")
    segregation_code: Mapped[str] = mapped_column(String(2), default="01")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    office = relationship("Office")


class PaymentPosition(Base):
    __tablename__ = "payment_position"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_payment_position_office_status", "office_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One position per (procedure or draft, purpose[, request]): what makes retries harmless.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure_draft.id", ondelete="SET NULL"), index=True
    )
    procedure_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The key the filing is made with once paid, so completing it twice files once.
    filing_key: Mapped[str | None] = mapped_column(String(100))
    act_id: Mapped[int | None] = mapped_column(Integer)

    creditor_tax_code: Mapped[str] = mapped_column(String(11))
    iupd: Mapped[str | None] = mapped_column(String(64), unique=True)
    iuv: Mapped[str | None] = mapped_column(String(17), unique=True)
    notice_number: Mapped[str | None] = mapped_column(String(18), index=True)
    description: Mapped[str] = mapped_column(String(140))
    amount_cents: Mapped[int] = mapped_column(Integer)
    # The fees it collects: [{code, kind, label, amount_cents, category, legal_basis, basis}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stamp_hash: Mapped[str | None] = mapped_column(String(44))
    debtor_tax_code: Mapped[str] = mapped_column(String(16))
    debtor_name: Mapped[str] = mapped_column(String(200))
    debtor_email: Mapped[str | None] = mapped_column(String(254))

    status: Mapped[str] = mapped_column(String(16), default=DRAFTED, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checks: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Changes made before the procedure exists (a filing waiting for payment), moved onto the
    # procedure's events when it is filed: [{kind, at, payload}]
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    payments: Mapped[list[Payment]] = relationship(
        back_populates="position", order_by="Payment.id", cascade="all, delete-orphan"
    )
    office = relationship("Office")
    company = relationship("Company")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Payment(Base):
    """One receipt of pagoPA for a position."""

    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(
        ForeignKey("payment_position.id", ondelete="CASCADE"), index=True
    )
    receipt_id: Mapped[str] = mapped_column(String(64), unique=True)
    iuv: Mapped[str] = mapped_column(String(17))
    notice_number: Mapped[str] = mapped_column(String(18))
    amount_cents: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    psp_name: Mapped[str] = mapped_column(String(140))
    payer_tax_code: Mapped[str | None] = mapped_column(String(16))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str | None] = mapped_column(String(32))
    stamp_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    position: Mapped[PaymentPosition] = relationship(back_populates="payments")
