"""Report exports that run as a job: who asked, for which filter, how far along, where the file is.

A long export (the PDF report) is a :class:`ReportExport` row and an outbox job; the page that
shows it polls the row's ``progress`` until ``status`` is done and the file is in storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portale.cases.models import ProcedureSummary
from portale.db import Base, UTCDateTime, utcnow

EXPORT_QUEUED = "queued"
EXPORT_RUNNING = "running"
EXPORT_DONE = "done"
EXPORT_FAILED = "failed"
# xes: the event log for process mining (portale.reports.eventlog), long at scale: a job.
EXPORT_FORMATS = ("pdf", "xlsx", "csv", "xes")


class ReportExport(Base):
    __tablename__ = "report_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(8))
    # the filter's query-string parameters, so the file shows what the screen showed
    params: Mapped[Any] = mapped_column(JSON)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=EXPORT_QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    storage_key: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def finished(self) -> bool:
        return self.status in (EXPORT_DONE, EXPORT_FAILED)


# The levels of the roll-up (portale.reports.rollups): these stand for "every one".
ALL_MUNICIPALITIES = ""
ALL_OFFICES = 0
MONTH_GRAIN = 0  # ``week`` of the monthly rows


class ProcedureRollup(Base):
    """Counts of procedures per value of a measure: see :mod:`portale.reports.rollups`."""

    __tablename__ = "procedure_rollup"

    # Key order: the level first (every read names it), then measure, month and week ranges.
    municipality: Mapped[str] = mapped_column(String(6), primary_key=True)
    office_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM of receipt
    # 0: the whole month; otherwise the day number of the last day of a week's piece in it
    week: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


# The rendered dashboard is kept until the latest summary rewrite moves (portale.reports.cache):
# one index lookup per page.
Index("ix_procedure_summary_refreshed", ProcedureSummary.refreshed_at)


__all__ = ["ReportExport", "ProcedureRollup", "EXPORT_FORMATS"]
