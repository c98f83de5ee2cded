"""The per-procedure summary: who held the ball, and for how long, from the events alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portale.clock import lifecycle as lc
from portale.clock.summary import TimedEvent, summarise
from portale.clock.terms import TermRules

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTH = TermRules(regime=lc.REGIME_AUTHORISATION, term_days=60)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def test_time_is_split_between_office_company_authority_and_wire():
    events = [
        TimedEvent(lc.PRESENTED, at(0)),
        TimedEvent(lc.DISPATCH_QUEUED, at(0), {"authority": "ASL"}),
        TimedEvent(lc.DISPATCH_SENT, at(0.5), {"authority": "ASL"}),
        TimedEvent(lc.OPINION_REQUESTED, at(2), {"authority": "ASL"}),
        TimedEvent(lc.OPINION_REQUESTED, at(2), {"authority": "VVF"}),
        TimedEvent(lc.OPINION_GIVEN, at(5), {"authority": "ASL"}),
        # one opinion still pending: the ball stays with the authorities
        TimedEvent(lc.OPINION_GIVEN, at(12), {"authority": "VVF"}),
        TimedEvent(lc.INTEGRATION_REQUESTED, at(13)),
        TimedEvent(lc.INTEGRATED, at(23)),
        TimedEvent(lc.ENDED_BY_POSITIVE_OUTCOME, at(30)),
    ]
    s = summarise(events, AUTH, at(40))
    assert s.days_dispatch == 0.5
    assert s.days_authority == 10
    assert s.days_company == 10
    assert s.days_office == 1.5 + 1 + 7  # before opinions, after them, after integration
    assert s.state == lc.ENDED_BY_POSITIVE_OUTCOME
    assert s.days_gross == 30 and s.days_suspended == 10 and s.days_net == 20
    assert s.within_term is True and s.integration_requests == 1 and s.opinions_requested == 2


def test_open_procedure_accumulates_until_now_and_is_overdue_past_its_last_day():
    events = [TimedEvent(lc.PRESENTED, at(0))]
    s = summarise(events, TermRules(regime=lc.REGIME_AUTHORISATION, term_days=30), at(45))
    assert s.decided_on is None and s.days_gross is None and s.within_term is None
    assert s.days_office == 45 and s.overdue is True


def test_silent_assent_is_flagged():
    rules = TermRules(regime=lc.REGIME_SILENT_ASSENT, term_days=90, silent_assent=True)
    events = [
        TimedEvent(lc.PRESENTED, at(0)),
        TimedEvent(lc.ENDED_BY_PROCEEDING_TIME_EXPIRED, at(91)),
    ]
    s = summarise(events, rules, at(100))
    assert s.silent_assent is True and s.days_office == 91
