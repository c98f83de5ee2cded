"""Indexes behind the clerk worklist (:mod:`portale.backoffice.worklist`).

Every worklist query filters one office and sorts by deadline, filing time or protocol, then
by id, and pages with a keyset (``WHERE (key, id) > (last key, last id) LIMIT n``). Each sort
has a composite index starting with ``office_id``, so a page reads ``n`` index entries
whatever the number of procedures. The default view (open procedures only) has partial indexes
over the open states: closed procedures, the vast majority after a few years, are not scanned.
"""

from __future__ import annotations

from sqlalchemy import Index

from portale.cases.models import Procedure
from portale.clock import lifecycle as lc

# States in which the office still has work to do (not final, already filed), in a fixed
# order: the partial indexes and the queries must spell the same predicate.
OPEN_STATES: tuple[str, ...] = tuple(
    s for s in lc.STATES if s not in lc.FINAL_STATES and s != lc.STARTED
)


def _open_predicate():  # type: ignore[no-untyped-def]
    return Procedure.__table__.c.state.in_(OPEN_STATES)


def _partial(name: str, *columns: object) -> Index:
    return Index(
        name,
        *columns,
        postgresql_where=_open_predicate(),
        sqlite_where=_open_predicate(),
    )


_t = Procedure.__table__.c
WORKLIST_INDEXES = (
    Index("ix_procedure_wl_deadline", _t.office_id, _t.last_day, _t.id),
    Index("ix_procedure_wl_state_deadline", _t.office_id, _t.state, _t.last_day, _t.id),
    Index("ix_procedure_wl_filed", _t.office_id, _t.submitted_at, _t.id),
    _partial("ix_procedure_wl_open_deadline", _t.office_id, _t.last_day, _t.id),
    _partial("ix_procedure_wl_open_filed", _t.office_id, _t.submitted_at, _t.id),
    _partial(
        "ix_procedure_wl_open_protocol",
        _t.office_id,
        _t.protocol_year,
        _t.protocol_number,
        _t.id,
    ),
)

__all__ = ["OPEN_STATES", "WORKLIST_INDEXES"]
