"""The clerk's worklist: the procedures of their office, filtered, sorted and paged.

Paging is by keyset (the sort key and the id of the last row shown), never by offset, and
every sort has a composite index starting with ``office_id``
(:mod:`portale.backoffice.worklist_models`): a page costs the same on the first day and with
hundreds of thousands of procedures. A page runs a fixed number of queries whatever its
size: the rows (with company, office, type version, municipality and assignee joined), their
events in one ``IN`` query (the badge's clock, net of suspensions, is computed from them),
and the office's colleagues, municipalities and types for the filters.

Use cases that write: :func:`assign` (take in charge, or hand to a colleague of the same
office; event ``assigned``). It commits once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, aliased, defer, joinedload, selectinload

from portale.accounts.models import ROLE_CLERK, User, UserRole
from portale.backoffice.worklist_models import OPEN_STATES
from portale.cases.models import Procedure, ProcedureEvent
from portale.cases.notify import notify_people
from portale.cases.services import clock_of, record
from portale.catalogue.models import ProcedureType
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.clock.terms import CLOCK_EVENT_KINDS
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.reference.models import Municipality

SORTS = ("deadline", "filed", "protocol")
ORDERS = ("asc", "desc")
ASSIGNEES = ("any", "me", "none")
DUES = ("", "overdue", "week")
STATE_OPEN = "open"
STATE_ALL = "all"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_NULL = "-"  # cursor value of a procedure with no last day (sorted after every date)


class InvalidQuery(ValueError):
    """``errors`` maps a parameter to an Italian message."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = {k: str(v) for k, v in errors.items()}


@dataclass(frozen=True)
class WorklistQuery:
    sort: str = "deadline"
    order: str = "asc"
    state: str = STATE_OPEN  # "open", "all" or one SSU state
    type_code: str = ""
    municipality: str = ""
    assignee: str = "any"
    due: str = ""  # "", "overdue" (past the last day), "week" (last day within 7 days)
    after: str = ""  # keyset cursor: the key of the last row of the previous page
    limit: int = DEFAULT_LIMIT

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments of this query (defaults left out), with ``changes``."""
        query = replace(self, **changes)
        defaults = WorklistQuery()
        return {
            name: getattr(query, name)
            for name in self.__dataclass_fields__
            if getattr(query, name) != getattr(defaults, name)
        }


def parse_query(args: Mapping[str, Any]) -> WorklistQuery:
    """A :class:`WorklistQuery` from query-string arguments; :class:`InvalidQuery` if wrong."""
    errors: dict[str, Any] = {}

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = str(args.get(name) or default).strip()
        if value not in allowed:
            errors[name] = _l("Valore non ammesso: «%(value)s».", value=value[:40])
            return default
        return value

    state = str(args.get("state") or STATE_OPEN).strip()
    if state not in (STATE_OPEN, STATE_ALL, *lc.STATES):
        errors["state"] = _l("Stato sconosciuto: «%(value)s».", value=state[:40])
        state = STATE_OPEN
    try:
        limit = int(args.get("limit") or DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except (TypeError, ValueError):
        errors["limit"] = _l("Indica un numero da 1 a %(max)s.", max=MAX_LIMIT)
        limit = DEFAULT_LIMIT
    query = WorklistQuery(
        sort=choice("sort", SORTS, "deadline"),
        order=choice("order", ORDERS, "asc"),
        state=state,
        type_code=str(args.get("type_code") or "").strip()[:64],
        municipality=str(args.get("municipality") or "").strip()[:6],
        assignee=choice("assignee", ASSIGNEES, "any"),
        due=choice("due", DUES, ""),
        after=str(args.get("after") or "").strip()[:80],
        limit=limit,
    )
    if query.after:
        try:
            _decode_cursor(query.sort, query.after)
        except ValueError:
            errors["after"] = _l("Segnalibro di pagina non valido: riparti dalla prima pagina.")
    if errors:
        raise InvalidQuery(errors)
    return query


# --- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistRow:
    procedure: Procedure
    municipality_name: str
    assignee_name: str | None
    last_day: date | None
    days_left: int | None  # net of suspensions; None with no term or while suspended
    suspended: bool  # the clock is stopped (integration, notice of refusal, conformation)
    overdue: bool
    closed: bool = False


@dataclass(frozen=True)
class WorklistPage:
    query: WorklistQuery
    rows: list[WorklistRow]
    next_after: str | None  # cursor of the next page, None on the last one
    today: date


def _sort_columns(sort: str) -> list[Any]:
    c = Procedure.__table__.c
    if sort == "filed":
        return [c.submitted_at, c.id]
    if sort == "protocol":
        return [c.protocol_year, c.protocol_number, c.id]
    return [c.last_day, c.id]


def _cursor_of(sort: str, procedure: Procedure) -> str:
    if sort == "filed":
        return f"{procedure.submitted_at.isoformat()}~{procedure.id}"
    if sort == "protocol":
        return f"{procedure.protocol_year}.{procedure.protocol_number}~{procedure.id}"
    day = procedure.last_day.isoformat() if procedure.last_day else _NULL
    return f"{day}~{procedure.id}"


def _decode_cursor(sort: str, cursor: str) -> list[Any]:
    value, sep, ident = cursor.rpartition("~")
    if not sep:
        raise ValueError(cursor)
    key: list[Any]
    if sort == "filed":
        key = [datetime.fromisoformat(value)]
        if key[0].tzinfo is None:
            raise ValueError(cursor)
    elif sort == "protocol":
        year, _dot, number = value.partition(".")
        key = [int(year), int(number)]
    else:
        key = [None if value == _NULL else date.fromisoformat(value)]
    return [*key, int(ident)]


def _keyset(sort: str, order: str, cursor: str) -> ColumnElement[bool]:
    columns = _sort_columns(sort)
    values = _decode_cursor(sort, cursor)
    desc = order == "desc"
    if sort != "deadline":
        left = tuple_(*columns)
        right = tuple_(*(literal(v, c.type) for c, v in zip(columns, values, strict=True)))
        return left < right if desc else left > right
    # Deadline: procedures with no last day come after every date (ascending), first when
    # descending, so that both orders are one scan of the same index.
    last_day, ident = columns
    day, last_id = values
    if day is None:
        if desc:
            return or_(and_(last_day.is_(None), ident < last_id), last_day.is_not(None))
        return and_(last_day.is_(None), ident > last_id)
    pair = tuple_(last_day, ident)
    bound = tuple_(literal(day, last_day.type), literal(last_id, ident.type))
    if desc:
        return pair < bound
    return or_(pair > bound, last_day.is_(None))


def is_open() -> ColumnElement[bool]:
    """``state IN (open states)`` with the states as SQL literals (constants, never input):
    the planners match it to the partial indexes only when the query spells the same
    constants (a bound parameter does not imply the index's predicate)."""
    return Procedure.__table__.c.state.in_([literal_column(f"'{s}'") for s in OPEN_STATES])


def _conditions(query: WorklistQuery, user: User, today: date) -> list[ColumnElement[bool]]:
    c = Procedure.__table__.c
    office = bindparam("office_id", int(user.office_id or 0), literal_execute=True)
    conditions: list[ColumnElement[bool]] = [c.office_id == office]
    if query.state == STATE_OPEN or query.due:
        conditions.append(is_open())
    if query.state not in (STATE_OPEN, STATE_ALL):
        conditions.append(c.state == query.state)
    if query.type_code:
        conditions.append(c.type_code == query.type_code)
    if query.municipality:
        conditions.append(c.municipality == query.municipality)
    if query.assignee == "me":
        conditions.append(c.assignee_id == user.id)
    elif query.assignee == "none":
        conditions.append(c.assignee_id.is_(None))
    # The stored last day moves with a running suspension (the scheduled tick rewrites it,
    # portale.backoffice.jobs): a suspended procedure is late or due soon only if it truly is,
    # and an integration left unanswered past its cap counts again.
    if query.due == "overdue":
        conditions.append(c.last_day < today)
    elif query.due == "week":
        conditions += [c.last_day >= today, c.last_day <= today + timedelta(days=7)]
    return conditions


def _order_by(sort: str, order: str) -> list[Any]:
    columns = _sort_columns(sort)
    if order == "desc":
        ordered = [col.desc() for col in columns]
        if sort == "deadline":
            ordered[0] = columns[0].desc().nulls_first()
        return ordered
    ordered = [col.asc() for col in columns]
    if sort == "deadline":
        ordered[0] = columns[0].asc().nulls_last()
    return ordered


def page_statement(user: User, query: WorklistQuery, today: date) -> Select[Any]:
    """The query of one page: rows with the assignee's name, one row more than the page to
    tell whether another page follows.

    The office and the page size are inlined as SQL literals (integers, never text): with bound
    parameters PostgreSQL may plan for an unknown office and an unknown ``LIMIT`` and sort the
    whole office instead of reading the first rows of the index.
    """
    assignee = aliased(User)
    conditions = _conditions(query, user, today)
    if query.after:
        conditions.append(_keyset(query.sort, query.order, query.after))
    return (
        select(Procedure, assignee.full_name)
        .outerjoin(assignee, assignee.id == Procedure.assignee_id)
        .where(*conditions)
        .options(
            # The answers and the dossier at filing are JSON the list never shows; the type's
            # spec is JSON too, read once per version (selectin) instead of once per row.
            defer(Procedure.answers),
            defer(Procedure.dossier_snapshot),
            joinedload(Procedure.company),
            joinedload(Procedure.office),
            selectinload(Procedure.type_version),
        )
        .order_by(*_order_by(query.sort, query.order))
        .limit(bindparam("page_limit", int(query.limit) + 1, literal_execute=True))
    )


def worklist_page(
    session: Session, user: User, query: WorklistQuery, *, now: datetime | None = None
) -> WorklistPage:
    """One page of the worklist of ``user``'s office."""
    now = now or utcnow()
    today = local_date(now)
    if user.office_id is None:
        return WorklistPage(query, [], None, today)
    statement = page_statement(user, query, today)
    found = session.execute(statement).unique().all()
    more = len(found) > query.limit
    found = found[: query.limit]
    events = _events_of(session, [p.id for p, _a in found])
    municipalities = _municipalities(session, {p.municipality for p, _a in found})
    rows = [
        _row(
            session,
            procedure,
            municipalities[procedure.municipality],
            name,
            events[procedure.id],
            now,
        )
        for procedure, name in found
    ]
    next_after = _cursor_of(query.sort, found[-1][0]) if more and found else None
    return WorklistPage(query, rows, next_after, today)


def _municipalities(session: Session, codes: set[str]) -> dict[str, Municipality]:
    # Loaded into the identity map, where calendar_for finds them (patron day) with no query.
    if not codes:
        return {}
    rows = session.scalars(select(Municipality).where(Municipality.istat_code.in_(codes)))
    return {m.istat_code: m for m in rows}


def _events_of(session: Session, ids: list[int]) -> dict[int, list[Any]]:
    """The events the clock reads, per procedure, as plain rows (kind, at): dispatch and
    opinion events, most of a log, never move a term and are not loaded."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    if not ids:
        return grouped
    for event in session.execute(
        select(
            ProcedureEvent.procedure_id,
            ProcedureEvent.kind,
            ProcedureEvent.at,
            literal_column("NULL").label("payload"),  # the clock reads kinds and dates only
        )
        .where(
            ProcedureEvent.procedure_id.in_(ids),
            ProcedureEvent.kind.in_(sorted(CLOCK_EVENT_KINDS)),
        )
        .order_by(ProcedureEvent.procedure_id, ProcedureEvent.at, ProcedureEvent.id)
    ):
        grouped[event.procedure_id].append(event)
    return grouped


def _row(
    session: Session,
    procedure: Procedure,
    municipality: Municipality,
    assignee_name: str | None,
    events: list[Any],
    now: datetime,
) -> WorklistRow:
    # calendar_for reads the municipality with session.get: already in the identity map.
    clock = clock_of(session, procedure, now, events=events)
    final = procedure.state in lc.FINAL_STATES
    suspended = not final and (clock.suspended_now or clock.interrupted)
    days_left = None if (final or suspended) else clock.days_left
    return WorklistRow(
        procedure=procedure,
        municipality_name=municipality.name,
        assignee_name=assignee_name,
        last_day=None if clock.interrupted else clock.last_day,
        days_left=days_left,
        suspended=suspended,
        overdue=not final and clock.overdue,
        closed=final,
    )


# --- what the filters offer ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistChoices:
    types: list[tuple[str, str]]
    municipalities: list[tuple[str, str]]
    colleagues: list[tuple[int, str]]


def colleagues_of(session: Session, user: User) -> list[User]:
    """Active clerks of ``user``'s office (``user`` included), by name."""
    if user.office_id is None:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                User.office_id == user.office_id,
                User.active.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == ROLE_CLERK)),
            )
            .order_by(User.full_name, User.id)
        )
    )


def worklist_choices(session: Session, user: User) -> WorklistChoices:
    """Procedure types, the office's municipalities and colleagues, for the filter form."""
    types = session.execute(
        select(ProcedureType.code, ProcedureType.title).order_by(ProcedureType.title)
    ).all()
    municipalities = []
    if user.office is not None:
        municipalities = [(m.istat_code, m.name) for m in user.office.municipalities]
    return WorklistChoices(
        types=[(code, title) for code, title in types],
        municipalities=municipalities,
        colleagues=[(u.id, u.full_name) for u in colleagues_of(session, user)],
    )


# --- taking in charge ---------------------------------------------------------------------------


def procedure_of_office(session: Session, user: User, procedure_id: int) -> Procedure:
    """The procedure if it belongs to ``user``'s office; :class:`NotFound` otherwise."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or user.office_id is None or procedure.office_id != user.office_id:
        raise NotFound(procedure_id)
    return procedure


def assign(
    session: Session,
    procedure_id: int,
    *,
    actor: User,
    assignee_id: int | None = None,
    link: str | None = None,
    now: datetime | None = None,
) -> Procedure:
    """Give the procedure to ``assignee_id`` (the actor when None): a clerk of the same office.

    Records the event ``assigned`` and, when handed to a colleague, notifies them. Commits.
    """
    procedure = procedure_of_office(session, actor, procedure_id)
    target_id = assignee_id or actor.id
    colleague = next((u for u in colleagues_of(session, actor) if u.id == target_id), None)
    if colleague is None:
        raise ActionNotAllowed(_l("Puoi assegnare la pratica solo a un collega del tuo ufficio."))
    if procedure.state in lc.FINAL_STATES:
        raise ActionNotAllowed(_l("La pratica è conclusa: non si può più assegnare."))
    if procedure.assignee_id == colleague.id:
        raise ActionNotAllowed(
            _l("La pratica è già in carico a %(name)s.", name=colleague.full_name)
        )
    procedure.assignee_id = colleague.id
    record(
        session,
        procedure,
        lc.ASSIGNED,
        actor_id=actor.id,
        payload={"assignee_id": colleague.id, "assignee": colleague.full_name},
        now=now,
    )
    if colleague.id != actor.id:
        notify_people(
            session,
            [colleague.id],
            subject=str(
                _l("Pratica %(protocol)s assegnata a te", protocol=procedure.protocol_label)
            ),
            body=str(
                _l(
                    "%(name)s ti ha assegnato la pratica %(protocol)s.",
                    name=actor.full_name,
                    protocol=procedure.protocol_label,
                )
            ),
            link=link,
            procedure_id=procedure.id,
        )
    session.commit()
    return procedure
