"""Figures never stale: the worklist's "overdue" and "due within 7 days" filters read the stored
last day, which the scheduled tick rewrites when time alone moves it (a running suspension, a
10-bis notice that ends with no event, an integration at its cap, a SCIA window ending). Each
case is checked day by day with time_machine against the clock computed from the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from portale.backoffice import decisions
from portale.backoffice import worklist as wl
from portale.backoffice.jobs import tick
from portale.cases import answers as case_answers
from portale.cases import services as core
from portale.clock import lifecycle as lc
from tests.backoffice_support import file_procedure

FILED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; term 30 days: last day 1 April


def at(days: int) -> datetime:
    return FILED + timedelta(days=days)


def due(session, clerk, which, now):
    page = wl.worklist_page(session, clerk, wl.WorklistQuery(due=which), now=now)
    return {r.procedure.id: r for r in page.rows}


def ticked(session, filed, now):
    with time_machine.travel(now, tick=False):
        result = tick(session, filed.storage, now)
        session.expire_all()
        return result


def truth(session, procedure, now):
    """What the clock computed from the events says as of ``now``."""
    clock = core.clock_of(session, procedure, now)
    today = now.date()
    late = clock.last_day is not None and clock.last_day < today
    soon = clock.last_day is not None and 0 <= (clock.last_day - today).days <= 7
    return clock, late, soon


def assert_filters_tell_the_truth(session, filed, now):
    procedure = filed.procedure
    clock, late, soon = truth(session, procedure, now)
    final = procedure.state in lc.FINAL_STATES
    overdue, week = (
        due(session, filed.clerk, "overdue", now),
        due(session, filed.clerk, "week", now),
    )
    assert (procedure.id in overdue) == (late and not final), (now, clock.last_day)
    assert (procedure.id in week) == (soon and not final), (now, clock.last_day)
    assert procedure.last_day == (None if final else clock.last_day) or final
    return overdue, week


def test_a_10_bis_notice_without_observations(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=30, now=FILED)
    p = filed.procedure
    with time_machine.travel(at(25), tick=False):
        decisions.send_refusal_notice(session, p, actor=filed.clerk, text="Motivi", now=at(25))
    stale = p.last_day
    # day 32: past the last day stored at the notice, but the term is suspended
    assert p.id in due(session, filed.clerk, "overdue", at(32))  # what the issue saw
    ticked(session, filed, at(32))
    overdue, week = assert_filters_tell_the_truth(session, filed, at(32))
    assert p.id not in overdue and p.last_day > stale
    assert week[p.id].suspended  # the badge says "sospesa", not a number of days
    # the 10 days pass with no observations: the suspension ends by itself, with no event
    for day in (34, 36, 38, 40, 42):
        assert ticked(session, filed, at(day))["clocks_refreshed"] <= 1
        assert_filters_tell_the_truth(session, filed, at(day))
    assert p.last_day == stale + timedelta(days=10)  # suspended for the 10 days
    assert p.id in due(session, filed.clerk, "overdue", at(42))
    again = ticked(session, filed, at(42))
    assert again["clocks_refreshed"] == 0  # idempotent


def test_a_10_bis_notice_with_observations(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=30, now=FILED)
    p = filed.procedure
    with time_machine.travel(at(25), tick=False):
        decisions.send_refusal_notice(session, p, actor=filed.clerk, text="Motivi", now=at(25))
    with time_machine.travel(at(28), tick=False):
        case_answers.send_observations(
            session, filed.storage, p, actor=filed.submitter, text="Osservazioni", now=at(28)
        )
    observed = p.last_day
    for day in (29, 31, 33, 35, 37, 39, 41, 43, 45):
        ticked(session, filed, at(day))
        assert_filters_tell_the_truth(session, filed, at(day))
    # suspended from the notice to ten days after the observations: 13 days
    assert p.last_day == FILED.date() + timedelta(days=30 + 13)
    assert p.last_day > observed


def test_an_unanswered_integration_reaching_its_cap(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=30, now=FILED)
    p = filed.procedure
    with time_machine.travel(at(20), tick=False):
        decisions.request_integration(
            session, p, actor=filed.clerk, text="Manca la planimetria", now=at(20)
        )
    for day in (25, 31, 35, 45, 49, 50, 51, 52):
        ticked(session, filed, at(day))
        assert_filters_tell_the_truth(session, filed, at(day))
        if day == 31:  # past the last day without the suspension: suspended, not late
            assert p.id not in due(session, filed.clerk, "overdue", at(day))
    # unanswered past its cap (30 days): the scheduled job closed it, nothing is late
    assert p.state == lc.ENDED_BY_INTEGRATION_TIMES_EXPIRED
    assert p.id not in due(session, filed.clerk, "overdue", at(60))


def test_a_scia_window_ending(session, tmp_path):
    filed = file_procedure(
        session, tmp_path, regime="SCIA", term_days=None, control_window_days=60, now=FILED
    )
    p = filed.procedure
    assert p.id in due(session, filed.clerk, "week", at(55))
    assert p.id in due(session, filed.clerk, "overdue", at(62))  # stale until the tick runs
    ticked(session, filed, at(62))
    assert p.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED or p.state in lc.FINAL_STATES
    assert p.id not in due(session, filed.clerk, "overdue", at(62))
    assert_filters_tell_the_truth(session, filed, at(62))
