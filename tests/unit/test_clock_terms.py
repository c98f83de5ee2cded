"""The clock to the day, following "The clock, precisely" in DESIGN.md."""

from __future__ import annotations

from datetime import date

from portale.clock import lifecycle as lc
from portale.clock.calendar import HolidayCalendar
from portale.clock.terms import ClockEvent as E
from portale.clock.terms import TermRules, compute_clock, times_for

TORINO = HolidayCalendar(patron_day=(6, 24))
AUTH = TermRules(regime=lc.REGIME_AUTHORISATION, term_days=30)


def clock(events, today, rules=AUTH, cal=TORINO):
    return compute_clock(events, rules, today, cal)


def test_no_suspension_last_day_is_receipt_plus_term():
    c = clock([E("presented", date(2026, 2, 2))], date(2026, 2, 10))
    assert c.last_day == date(2026, 3, 4)  # a Wednesday: nothing to roll
    assert c.days_used == 8 and c.days_left == 22 and c.days_suspended == 0
    assert not c.overdue


def test_integration_of_twelve_days_moves_last_day_by_twelve():
    events = [
        E("presented", date(2026, 2, 2)),
        E("integration_requested", date(2026, 2, 10)),
        E("integrated", date(2026, 2, 22)),
    ]
    c = clock(events, date(2026, 3, 1))
    assert c.days_suspended == 12
    assert c.last_day == date(2026, 3, 16)  # 4 March + 12
    assert c.days_used == 27 - 12


def test_running_integration_suspends_and_counts_so_far():
    events = [E("presented", date(2026, 2, 2)), E("integration_requested", date(2026, 2, 10))]
    c = clock(events, date(2026, 2, 15))
    assert c.suspended_now and c.suspension_kind == "integration"
    assert c.suspended_since == date(2026, 2, 10)
    assert c.days_suspended == 5 and c.days_used == 8
    assert not c.overdue


def test_integration_unanswered_counts_thirty_days_then_term_runs_again():
    events = [E("presented", date(2026, 2, 2)), E("integration_requested", date(2026, 2, 10))]
    c = clock(events, date(2026, 4, 20))
    assert not c.suspended_now
    assert c.days_suspended == 30
    assert c.suspensions[0].capped
    assert c.last_day == date(2026, 4, 3)  # 4 March + 30
    assert c.overdue


def test_only_one_integration_request_suspends():
    events = [
        E("presented", date(2026, 2, 2)),
        E("integration_requested", date(2026, 2, 10)),
        E("integrated", date(2026, 2, 15)),
        E("integration_requested", date(2026, 2, 20)),
        E("integrated", date(2026, 2, 28)),
    ]
    assert clock(events, date(2026, 3, 2)).days_suspended == 5


def test_type_may_allow_more_integration_requests_and_longer_limit():
    rules = TermRules(
        regime=lc.REGIME_AUTHORISATION,
        term_days=30,
        integration_requests_allowed=2,
        integration_max_suspension_days=45,
    )
    events = [
        E("presented", date(2026, 2, 2)),
        E("integration_requested", date(2026, 2, 10)),
        E("integrated", date(2026, 2, 15)),
        E("integration_requested", date(2026, 2, 20)),
        E("integrated", date(2026, 4, 1)),
    ]
    assert clock(events, date(2026, 4, 2), rules).days_suspended == 5 + 40


def test_refusal_notice_without_observations_suspends_ten_days():
    events = [E("presented", date(2026, 2, 2)), E("refusal_notice_sent", date(2026, 2, 20))]
    c = clock(events, date(2026, 3, 10))
    assert c.days_suspended == 10
    assert c.last_day == date(2026, 3, 14)


def test_refusal_notice_with_observations_suspends_until_ten_days_after_them():
    events = [
        E("presented", date(2026, 2, 2)),
        E("refusal_notice_sent", date(2026, 2, 20)),
        E("refusal_observations_received", date(2026, 2, 25)),
    ]
    running = clock(events, date(2026, 3, 1))
    assert running.suspended_now and running.suspension_kind == "refusal_notice"
    done = clock(events, date(2026, 3, 10))
    assert done.days_suspended == 15  # 20 Feb -> 7 March
    assert done.last_day == date(2026, 3, 19)


def test_scia_conformation_interrupts_and_restarts_window_from_answer():
    rules = TermRules(regime=lc.REGIME_SCIA, term_days=None, control_window_days=60)
    events = [E("presented", date(2026, 2, 2)), E("conformation_requested", date(2026, 2, 20))]
    waiting = clock(events, date(2026, 3, 1), rules)
    assert waiting.interrupted and waiting.last_day is None
    events.append(E("conformation_answered", date(2026, 3, 9)))
    c = clock(events, date(2026, 3, 10), rules)
    assert not c.interrupted
    assert c.last_day == date(2026, 5, 8)  # 9 March + 60
    assert c.days_used == 1


def test_last_day_on_sunday_moves_to_monday():
    c = clock([E("presented", date(2026, 2, 6))], date(2026, 2, 7))  # +30 = Sunday 8 March
    assert c.nominal_last_day == date(2026, 3, 8) and c.last_day == date(2026, 3, 9)


def test_saturday_is_ordinary_unless_configured():
    events = [E("presented", date(2026, 2, 5))]  # +30 = Saturday 7 March
    assert clock(events, date(2026, 2, 6)).last_day == date(2026, 3, 7)
    office = HolidayCalendar(patron_day=(6, 24), saturday_is_holiday=True)
    assert clock(events, date(2026, 2, 6), cal=office).last_day == date(2026, 3, 9)


def test_patron_saint_of_torino_moves_last_day():
    c = clock([E("presented", date(2026, 5, 25))], date(2026, 5, 26))  # +30 = 24 June
    assert c.last_day == date(2026, 6, 25)
    elsewhere = clock([E("presented", date(2026, 5, 25))], date(2026, 5, 26), cal=HolidayCalendar())
    assert elsewhere.last_day == date(2026, 6, 24)


def test_four_october_is_a_national_holiday_again_from_2026():
    c = clock([E("presented", date(2026, 9, 4))], date(2026, 9, 5))  # +30 = Sunday 4 Oct anyway
    assert c.last_day == date(2026, 10, 5)
    c27 = clock([E("presented", date(2027, 9, 4))], date(2027, 9, 5))  # +30 = Monday 4 Oct 2027
    assert c27.last_day == date(2027, 10, 5)


def test_christmas_and_saint_stephen_move_last_day_two_days():
    c = clock([E("presented", date(2026, 11, 25))], date(2026, 11, 26))  # +30 = 25 Dec (Fri)
    assert c.last_day == date(2026, 12, 28)  # 26 Sat is St Stephen, 27 is Sunday


def test_decision_stops_the_clock():
    events = [E("presented", date(2026, 2, 2)), E(lc.ENDED_BY_POSITIVE_OUTCOME, date(2026, 2, 12))]
    c = clock(events, date(2026, 6, 1))
    assert c.decided_on == date(2026, 2, 12) and c.days_used == 10 and not c.overdue


def test_notice_regime_has_no_term():
    rules = TermRules(regime=lc.REGIME_NOTICE, term_days=None)
    c = clock([E("presented", date(2026, 2, 2))], date(2026, 2, 3), rules)
    assert c.last_day is None and c.days_left is None and not c.overdue


def test_times_object_follows_ssu_schema_names():
    rules = TermRules(regime=lc.REGIME_SILENT_ASSENT, term_days=90, max_gg_int_req=30)
    assert times_for(rules, date(2026, 2, 2)) == {
        "start": "2026-02-02",
        "max_gg_proc": 90,
        "max_gg_int_req": 30,
    }
