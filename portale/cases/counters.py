"""Gapless yearly counters (protocol numbers per office, CUI progressives per context).

The row is incremented with ``UPDATE ... RETURNING`` inside the caller's transaction, so
concurrent callers queue on its row lock and a rolled-back transaction gives its number back.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from portale.db import Base


class SequenceCounter(Base):
    """Gapless yearly counters: protocol numbers per office, CUI progressives per context.

    The row is incremented with ``UPDATE ... RETURNING`` inside the submission transaction, so
    concurrent submissions queue on its row lock and a rolled-back submission gives its number back.
    """

    __tablename__ = "sequence_counter"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


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
