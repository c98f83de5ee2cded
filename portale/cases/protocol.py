"""Protocol numbers: sequential per office and year, with no gaps and no duplicates.

One :class:`~portale.cases.counters.SequenceCounter` row per (scope, year). The increment is a
single ``UPDATE ... RETURNING`` in the caller's transaction: on PostgreSQL the row lock makes
concurrent submissions for the same office wait for each other, and a submission that rolls back
also rolls back its increment, so the next one reuses the number (no gap). On SQLite the whole
database is locked by ``BEGIN IMMEDIATE``, which gives the same guarantee.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portale.cases.counters import next_value


def office_scope(office_id: int) -> str:
    return f"protocol:office:{office_id}"


def next_protocol_number(session: Session, office_id: int, year: int) -> int:
    return next_value(session, office_scope(office_id), year)
