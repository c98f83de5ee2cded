"""Protocol numbers: sequential per office and year, with no gaps and no duplicates.

One :class:`~portale.procedures.models.SequenceCounter` row per (scope, year). The increment is a
single ``UPDATE ... RETURNING`` in the caller's transaction: on PostgreSQL the row lock makes
concurrent submissions for the same office wait for each other, and a submission that rolls back
also rolls back its increment, so the next one reuses the number (no gap). On SQLite the whole
database is locked by ``BEGIN IMMEDIATE``, which gives the same guarantee.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from portale.procedures.models import SequenceCounter


def _ensure_row(session: Session, scope: str, year: int) -> None:
    table = SequenceCounter.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(scope=scope, year=year, value=0).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(scope=scope, year=year, value=0).on_conflict_do_nothing()
    else:  # pragma: no cover - other databases are not supported
        raise NotImplementedError(dialect)
    session.execute(stmt)


def next_value(session: Session, scope: str, year: int) -> int:
    """Increment and return the counter ``scope`` for ``year``, inside the caller's transaction."""
    stmt = (
        update(SequenceCounter)
        .where(SequenceCounter.scope == scope, SequenceCounter.year == year)
        .values(value=SequenceCounter.value + 1)
        .returning(SequenceCounter.value)
        .execution_options(synchronize_session=False)
    )
    value = session.execute(stmt).scalar()
    if value is None:
        # First number of the year: create the row (a concurrent creator wins harmlessly: the
        # insert does nothing and waits for its transaction), then increment it under lock.
        _ensure_row(session, scope, year)
        value = session.execute(stmt).scalar_one()
    return int(value)


def office_scope(office_id: int) -> str:
    return f"protocol:office:{office_id}"


def next_protocol_number(session: Session, office_id: int, year: int) -> int:
    return next_value(session, office_scope(office_id), year)
