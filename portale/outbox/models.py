"""Outbox job rows: written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portale.db import Base, UTCDateTime, utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
RETRYING = "retrying"  # failed, will be tried again at next_attempt_at
GIVEN_UP = "given_up"
CANCELLED = "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, RETRYING, GIVEN_UP, CANCELLED)


class OutboxJob(Base):
    __tablename__ = "outbox_job"
    __table_args__ = (
        Index("ix_outbox_job_due", "status", "next_attempt_at"),
        Index("ix_outbox_job_ordering", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handler: Mapped[str] = mapped_column(String(100))
    payload: Mapped[Any] = mapped_column(JSON)
    # Passed on to the remote system, so a job run twice is delivered once.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    connector: Mapped[str | None] = mapped_column(String(64), index=True)
    procedure_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure.id", ondelete="SET NULL"), index=True
    )
    # Jobs with the same key run in the order they were queued (one at a time); jobs with
    # different keys, or none, never wait for each other. E.g. one CUI to one recipient.
    ordering_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
