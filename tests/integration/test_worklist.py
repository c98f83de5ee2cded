"""The clerk's worklist: office scope, filters, keyset paging in every order, the badge's
clock, a constant number of queries per page, and taking in charge / assigning."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from portale.accounts.models import Notification
from portale.backoffice import worklist as wl
from portale.cases import services as core
from portale.clock import lifecycle as lc
from portale.errors import ActionNotAllowed, NotFound
from tests.backoffice_support import file_procedure
from tests.factories import OfficeFactory, UserFactory
from tests.worklist_support import clone_procedures, days_apart

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    clones = clone_procedures(session, filed.procedure, days_apart(FILED_AT, 6, step=3))
    return filed, [filed.procedure, *clones]


def _all_pages(session, user, query, now=NOW):
    seen, after, pages = [], "", 0
    while True:
        page = wl.worklist_page(
            session, user, wl.WorklistQuery(**{**query, "after": after}), now=now
        )
        seen += [r.procedure.id for r in page.rows]
        pages += 1
        if page.next_after is None:
            return seen, pages
        after = page.next_after


def _expected(procedures, sort, order):
    def key(p):
        if sort == "filed":
            return (p.submitted_at, p.id)
        if sort == "protocol":
            return (p.protocol_year, p.protocol_number, p.id)
        return (p.last_day is None, p.last_day or date.min, p.id)

    ordered = sorted(procedures, key=key, reverse=(order == "desc"))
    return [p.id for p in ordered]


@pytest.mark.parametrize("sort", wl.SORTS)
@pytest.mark.parametrize("order", wl.ORDERS)
def test_keyset_pages_walk_every_procedure_once_in_order(session, desk, sort, order):
    filed, procedures = desk
    # one procedure with no last day: it sorts after every date (first when descending)
    procedures[2].last_day = None
    session.commit()
    seen, pages = _all_pages(
        session, filed.clerk, {"sort": sort, "order": order, "limit": 2, "state": "all"}
    )
    assert seen == _expected(procedures, sort, order)
    assert pages == 4


def test_only_the_clerks_office_is_listed(session, desk):
    filed, procedures = desk
    other = OfficeFactory()
    clone_procedures(session, filed.procedure, [FILED_AT], office_id=other.id)
    stranger = UserFactory(roles=("clerk",), office_id=other.id)
    mine = wl.worklist_page(session, filed.clerk, wl.WorklistQuery(), now=NOW)
    theirs = wl.worklist_page(session, stranger, wl.WorklistQuery(), now=NOW)
    assert sorted(r.procedure.id for r in mine.rows) == sorted(p.id for p in procedures)
    assert len(theirs.rows) == 1 and theirs.rows[0].procedure.office_id == other.id


def test_badge_counts_days_left_net_of_suspensions(session, desk):
    filed, procedures = desk
    first = procedures[0]  # filed 2 March, last day 2 May
    core.perform(
        session,
        first,
        "request_integration",
        actor_id=filed.clerk.id,
        now=FILED_AT + timedelta(days=10),
    )
    core.perform(
        session, first, "integrate", actor_id=filed.submitter.id, now=FILED_AT + timedelta(days=20)
    )
    suspended = procedures[1]
    core.perform(
        session,
        suspended,
        "request_integration",
        actor_id=filed.clerk.id,
        now=NOW - timedelta(days=5),
    )
    session.commit()
    rows = {
        r.procedure.id: r
        for r in wl.worklist_page(session, filed.clerk, wl.WorklistQuery(), now=NOW).rows
    }
    # 2 March + 60 = 1 May (a holiday, moved to 2 May); 10 days suspended give 1 + 10 = 11 May,
    # an ordinary Monday: 21 days left on 20 April
    assert rows[first.id].last_day == date(2026, 5, 11)
    assert rows[first.id].days_left == 21 and not rows[first.id].suspended
    assert rows[suspended.id].suspended and rows[suspended.id].days_left is None
    untouched = procedures[2]
    assert rows[untouched.id].days_left == (untouched.last_day - NOW.date()).days


def test_overdue_and_due_this_week(session, desk):
    filed, procedures = desk
    late_day = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)  # first last day 2 May, others later
    suspended = procedures[1]
    core.perform(
        session,
        suspended,
        "request_integration",
        actor_id=filed.clerk.id,
        now=FILED_AT + timedelta(days=1),
    )
    session.commit()
    # the scheduled tick rewrites the last day the suspension moves (figures never stale)
    from portale.backoffice.jobs import tick

    tick(session, filed.storage, late_day)
    session.expire_all()
    overdue = wl.worklist_page(session, filed.clerk, wl.WorklistQuery(due="overdue"), now=late_day)
    expected_overdue = [
        p.id for p in procedures if p.last_day < late_day.date() and p.id != suspended.id
    ]
    assert sorted(r.procedure.id for r in overdue.rows) == sorted(expected_overdue)
    assert expected_overdue and all(r.overdue for r in overdue.rows)
    week = wl.worklist_page(session, filed.clerk, wl.WorklistQuery(due="week"), now=late_day)
    expected_week = [
        p.id
        for p in procedures
        if 0 <= (p.last_day - late_day.date()).days <= 7 and p.id != suspended.id
    ]
    assert expected_week and sorted(r.procedure.id for r in week.rows) == sorted(expected_week)


def test_filters_by_state_assignee_type_and_municipality(session, desk):
    filed, procedures = desk
    wl.assign(session, procedures[3].id, actor=filed.clerk)
    core.perform(session, procedures[4], "approve", actor_id=filed.clerk.id, now=NOW)
    session.commit()

    def ids(**query):
        page = wl.worklist_page(session, filed.clerk, wl.WorklistQuery(**query), now=NOW)
        return sorted(r.procedure.id for r in page.rows)

    assert ids(assignee="me") == [procedures[3].id]
    assert procedures[3].id not in ids(assignee="none")
    assert procedures[4].id not in ids()  # open only by default
    assert ids(state=lc.ENDED_BY_POSITIVE_OUTCOME) == [procedures[4].id]
    assert len(ids(state="all")) == len(procedures)
    assert ids(type_code="ALTRO") == []
    assert len(ids(type_code=filed.procedure.type_code, state="all")) == len(procedures)
    assert ids(municipality="001001") == []
    assert len(ids(municipality=filed.procedure.municipality, state="all")) == len(procedures)


def test_invalid_parameters_are_refused_with_a_message():
    with pytest.raises(wl.InvalidQuery) as error:
        wl.parse_query({"sort": "nome", "state": "boh", "limit": "0", "after": "x"})
    assert set(error.value.errors) == {"sort", "state", "limit", "after"}
    assert wl.parse_query({"sort": "protocol", "due": "week"}).sort == "protocol"


@contextmanager
def count_queries(session):
    statements: list[str] = []
    engine = session.get_bind()

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _queries_for_page(session, user):
    session.expire_all()
    with count_queries(session) as statements:
        page = wl.worklist_page(session, user, wl.WorklistQuery(limit=50), now=NOW)
        wl.worklist_choices(session, user)
        for row in page.rows:  # what the template reads
            _ = (row.procedure.company.name, row.procedure.type_version.title)
            _ = row.procedure.protocol_label
    return len(page.rows), len(statements)


def test_a_page_costs_the_same_number_of_queries_for_5_or_40_procedures(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    clone_procedures(session, filed.procedure, days_apart(FILED_AT, 4))
    few_rows, few = _queries_for_page(session, filed.clerk)
    clone_procedures(session, filed.procedure, days_apart(FILED_AT, 35))
    many_rows, many = _queries_for_page(session, filed.clerk)
    assert (few_rows, many_rows) == (5, 40)
    assert few == many, (few, many)


def test_take_in_charge_and_assign_to_a_colleague(session, desk):
    filed, procedures = desk
    target = procedures[0]
    colleague = UserFactory(roles=("clerk",), office_id=filed.office.id)
    wl.assign(session, target.id, actor=filed.clerk, now=NOW)
    assert target.assignee_id == filed.clerk.id
    wl.assign(session, target.id, actor=filed.clerk, assignee_id=colleague.id, link="/x", now=NOW)
    assert target.assignee_id == colleague.id
    events = [e for e in core.events_of(session, target.id) if e.kind == lc.ASSIGNED]
    assert [e.payload["assignee_id"] for e in events] == [filed.clerk.id, colleague.id]
    notes = session.scalars(select(Notification).where(Notification.user_id == colleague.id)).all()
    assert len(notes) == 1 and target.protocol_label in notes[0].subject


def test_assigning_outside_the_office_is_refused(session, desk):
    filed, procedures = desk
    other_office = OfficeFactory()
    outsider = UserFactory(roles=("clerk",), office_id=other_office.id)
    entrepreneur_same_office = UserFactory(roles=("entrepreneur",), office_id=filed.office.id)
    with pytest.raises(ActionNotAllowed):
        wl.assign(session, procedures[0].id, actor=filed.clerk, assignee_id=outsider.id)
    with pytest.raises(ActionNotAllowed):
        wl.assign(
            session, procedures[0].id, actor=filed.clerk, assignee_id=entrepreneur_same_office.id
        )
    with pytest.raises(NotFound):
        wl.assign(session, procedures[0].id, actor=outsider)
    assert procedures[0].assignee_id is None


def test_the_default_page_reads_an_office_index_in_order(session, desk, is_postgres):
    """The page is read in index order (office, last day, id): no sort of the whole office."""
    filed, _procedures = desk
    statement = wl.page_statement(filed.clerk, wl.WorklistQuery(), NOW.date())
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if is_postgres:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
        # the partial index of open procedures is the smallest that serves the query
        assert any("ix_procedure_wl_open_deadline" in line for line in plan), plan
    else:
        plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        # SQLite has no statistics here: either deadline index of the office will do
        assert any("USING INDEX ix_procedure_wl_" in line for line in plan), plan
        assert not any("TEMP B-TREE" in line for line in plan), plan
