"""Per-procedure summary computed from the event log: the figures reports aggregate.

Reports must not scan ten million events on every view (PERFORMANCE.md), so each procedure
keeps one summary row, rewritten from its events whenever an event is recorded (and by the
data generator in bulk). This module is the pure function behind that row: events in, figures
out, no database.

Time is split by who holds the ball: the company (correction, integration, notice of reasons
for refusal, conformation, a payment asked of it), an authority (pending opinions, a services
conference), the wire (dispatches queued and not yet delivered) and the office (everything
else while open). When
several hold it at once, the company wins over authorities, authorities over the wire: the
clock is with whoever the procedure is waiting for first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from portale.clock import lifecycle as lc
from portale.clock.calendar import DEFAULT_CALENDAR, HolidayCalendar, local_date
from portale.clock.terms import ClockEvent, TermRules, compute_clock

SECONDS_PER_DAY = 86400.0

# Events that hand the ball to the company, and those that give it back.
_COMPANY_OPEN = {
    lc.CORRECTION_REQUESTED,
    lc.INTEGRATION_REQUESTED,
    lc.REFUSAL_NOTICE_SENT,
    lc.CONFORMATION_REQUESTED,
}
_COMPANY_CLOSE = {
    lc.CORRECTED,
    lc.INTEGRATED,
    lc.REFUSAL_OBSERVATIONS_RECEIVED,
    lc.CONFORMATION_ANSWERED,
}
_DISPATCH_CLOSE = {lc.DISPATCH_SENT, lc.DISPATCH_ACKNOWLEDGED, lc.DISPATCH_GIVEN_UP}


@dataclass(frozen=True)
class TimedEvent:
    kind: str
    at: datetime  # aware
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    state: str
    received_on: date | None
    decided_on: date | None
    last_day: date | None
    term_days: int | None
    days_gross: int | None  # decided_on - received_on, for closed procedures
    days_net: int  # days used: gross minus suspended (to today while open)
    days_suspended: int
    days_company: float
    days_office: float
    days_authority: float
    days_dispatch: float
    integration_requests: int
    opinions_requested: int
    within_term: bool | None  # decided by the last day; None while open or with no term
    overdue: bool
    silent_assent: bool


# The figures of a summary, in order: the columns of the summary table that refresh() and the
# data generator write from it.
SUMMARY_FIELDS = tuple(f.name for f in fields(Summary))


def _key(event: TimedEvent) -> str:
    return str(event.payload.get("authority") or event.payload.get("opinion_id") or "")


class _Holder:
    """Who holds the ball, tracked across concurrent waits."""

    def __init__(self) -> None:
        self.company = False
        self.opinions: dict[str, int] = {}
        self.conference = False
        self.dispatches: dict[str, int] = {}
        self.payments: set[str] = set()

    def apply(self, event: TimedEvent) -> None:
        kind = event.kind
        if kind in _COMPANY_OPEN:
            self.company = True
        elif kind in _COMPANY_CLOSE:
            self.company = False
        elif kind == lc.OPINION_REQUESTED:
            self.opinions[_key(event)] = self.opinions.get(_key(event), 0) + 1
        elif kind == lc.OPINION_GIVEN:
            self._decrement(self.opinions, _key(event))
        elif kind == lc.CDSS_CONVENED:
            self.conference = True
        elif kind == lc.CDSS_OUTCOME:
            self.conference = False
        elif kind == lc.DISPATCH_QUEUED:
            self.dispatches[_key(event)] = self.dispatches.get(_key(event), 0) + 1
        elif kind in _DISPATCH_CLOSE:
            self._decrement(self.dispatches, _key(event))
        elif kind == lc.PAYMENT_REQUESTED:
            self.payments.add(str(event.payload.get("position") or ""))
        elif kind in lc.PAYMENT_CLOSING:
            self.payments.discard(str(event.payload.get("position") or ""))

    @staticmethod
    def _decrement(pending: dict[str, int], key: str) -> None:
        if pending.get(key):
            pending[key] -= 1
        elif key == "" and pending:
            # An answer that does not say whose: close the oldest wait.
            first = next(iter(k for k, v in pending.items() if v))
            pending[first] -= 1

    @property
    def holder(self) -> str:
        if self.company or self.payments:
            return lc.BALL_COMPANY
        if self.conference or any(self.opinions.values()):
            return lc.BALL_AUTHORITY
        if any(self.dispatches.values()):
            return lc.BALL_DISPATCH
        return lc.BALL_OFFICE


def summarise(
    events: Iterable[TimedEvent],
    rules: TermRules,
    now: datetime,
    calendar: HolidayCalendar = DEFAULT_CALENDAR,
) -> Summary:
    """The summary of one procedure from its events, as of ``now`` (aware)."""
    ordered = sorted(events, key=lambda e: e.at)
    today = local_date(now)
    clock = compute_clock(
        [ClockEvent(e.kind, local_date(e.at), e.payload) for e in ordered], rules, today, calendar
    )
    state = lc.derive_state(e.kind for e in ordered)
    spent = {
        lc.BALL_COMPANY: 0.0,
        lc.BALL_OFFICE: 0.0,
        lc.BALL_AUTHORITY: 0.0,
        lc.BALL_DISPATCH: 0.0,
    }
    holder = _Holder()
    started: datetime | None = None
    ended: datetime | None = None
    for event in ordered:
        if started is None:
            if event.kind != lc.PRESENTED:
                continue
            started = cursor = event.at
        else:
            spent[holder.holder] += max((event.at - cursor).total_seconds(), 0.0)
            cursor = event.at
        if event.kind in lc.FINAL_STATES:
            ended = event.at
            break
        holder.apply(event)
    if started is not None and ended is None and now > cursor:
        spent[holder.holder] += (now - cursor).total_seconds()

    decided_on = clock.decided_on
    gross = (decided_on - clock.receipt).days if decided_on and clock.receipt else None
    within = None
    if decided_on is not None and clock.last_day is not None:
        within = decided_on <= clock.last_day
    return Summary(
        state=state,
        received_on=clock.receipt,
        decided_on=decided_on,
        last_day=clock.last_day,
        term_days=clock.term_days,
        days_gross=gross,
        days_net=clock.days_used,
        days_suspended=clock.days_suspended,
        days_company=round(spent[lc.BALL_COMPANY] / SECONDS_PER_DAY, 4),
        days_office=round(spent[lc.BALL_OFFICE] / SECONDS_PER_DAY, 4),
        days_authority=round(spent[lc.BALL_AUTHORITY] / SECONDS_PER_DAY, 4),
        days_dispatch=round(spent[lc.BALL_DISPATCH] / SECONDS_PER_DAY, 4),
        integration_requests=sum(1 for e in ordered if e.kind == lc.INTEGRATION_REQUESTED),
        opinions_requested=sum(1 for e in ordered if e.kind == lc.OPINION_REQUESTED),
        within_term=within,
        overdue=clock.overdue,
        silent_assent=state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED,
    )
