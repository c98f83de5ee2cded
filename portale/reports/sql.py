"""Date arithmetic in SQL that reads the same on PostgreSQL and SQLite.

The report queries need a few things the two databases spell differently: whole days between
dates, fractional days between timestamps, the month of a date, and the calendar day in Rome
of a UTC timestamp. Each helper returns a SQL expression for the session's dialect; nothing
here loads rows.

SQLite stores timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (see
:class:`portale.db.UTCDateTime`) and has no time zones: the Rome day is computed with the EU
summer-time rule (from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday
of October, UTC+2; otherwise UTC+1), which is how Italy has applied it since 1996.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Integer, case, cast, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from portale.db import UTCDateTime


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def whole_days(session: Session, later: Any, earlier: date) -> ColumnElement[int]:
    """Days from the constant date ``earlier`` to the date column ``later``, as an integer."""
    if dialect_of(session) == "postgresql":
        return cast(later - literal(earlier, Date), Integer)
    return cast(func.julianday(later) - func.julianday(literal(earlier.isoformat())), Integer)


def days_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """Fractional days between two timestamps (``later - earlier``)."""
    if dialect_of(session) == "postgresql":
        return cast(func.date_part("epoch", later - earlier), Float) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def timestamp(value: Any) -> ColumnElement[Any]:
    """A bound aware timestamp, stored the way the database stores UTC timestamps."""
    return literal(value, UTCDateTime())


def month_of(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a date column."""
    if dialect_of(session) == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def rome_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The calendar day in Europe/Rome of a UTC timestamp column."""
    if dialect_of(session) == "postgresql":
        return cast(func.timezone("Europe/Rome", column), Date)
    year = func.strftime("%Y", column)
    summer_from = func.date(year + "-03-25", "weekday 0") + " 01:00:00"
    summer_to = func.date(year + "-10-25", "weekday 0") + " 01:00:00"
    shift = case(
        ((column >= summer_from) & (column < summer_to), literal("+2 hours")),
        else_=literal("+1 hours"),
    )
    return func.date(column, shift)
