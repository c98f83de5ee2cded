"""Terms of a procedure computed from its events ("The clock, precisely" in DESIGN.md).

1. The day of receipt is not counted: with no suspension the last day is receipt + term.
2. A suspension (integration request; notice of reasons for refusal, art. 10-bis) adds its
   days to the last day. An integration suspension counts at most its limit (30 days by
   default, L. 241/1990 art. 2 c. 7) and only the allowed number of times; unanswered, the
   term runs again from that limit. A 10-bis notice suspends until 10 days after the
   observations arrive, or for the 10 days given for them if none arrive.
3. An interruption (request of conformation for a SCIA) restarts the control window from the
   company's answer: new last day = answer + control window.
4. The last day moves past Sundays and public holidays (see :mod:`portale.clock.calendar`).
5. Days used = days from the start of the running term to today (or to the decision) minus
   days suspended; days left = last day - today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from portale.clock import lifecycle as lc
from portale.clock.calendar import DEFAULT_CALENDAR, HolidayCalendar

SSU_LIMITS = (
    "max_gg_correction",
    "max_gg_admissibility",
    "max_gg_int_req",
    "max_gg_int_resp",
    "max_gg_concl_send",
    "max_gg_cdss_req",
)


@dataclass(frozen=True)
class TermRules:
    regime: str
    term_days: int | None  # SSU max_gg_proc; None: no term (COMUNICAZIONE)
    silent_assent: bool = False
    integration_max_suspension_days: int = 30
    integration_requests_allowed: int = 1
    refusal_notice_days: int = 10
    control_window_days: int = 60
    max_gg_correction: int | None = None
    max_gg_admissibility: int | None = None
    max_gg_int_req: int | None = None
    max_gg_int_resp: int | None = None
    max_gg_concl_send: int | None = None
    max_gg_cdss_req: int | None = None


@dataclass(frozen=True)
class ClockEvent:
    kind: str
    on: date
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suspension:
    kind: str  # "integration" or "refusal_notice"
    start: date
    end: date | None  # None while it runs
    counted_days: int
    capped: bool = False


@dataclass(frozen=True)
class Clock:
    receipt: date | None
    term_days: int | None
    last_day: date | None
    nominal_last_day: date | None
    days_used: int
    days_suspended: int
    days_left: int | None
    suspended_now: bool
    suspended_since: date | None
    suspension_kind: str | None
    interrupted: bool
    overdue: bool
    decided_on: date | None
    suspensions: tuple[Suspension, ...]


@dataclass
class _Walk:
    rules: TermRules
    stop: date
    base: date
    term: int | None
    suspensions: list[Suspension] = field(default_factory=list)
    integration_open: date | None = None
    integrations: int = 0
    notice_open: date | None = None
    observations_on: date | None = None
    interrupted_since: date | None = None

    def integration_requested(self, on: date) -> None:
        if (
            self.integration_open is None
            and self.integrations < self.rules.integration_requests_allowed
        ):
            self.integration_open = on
            self.integrations += 1

    def integration_answered(self, on: date) -> None:
        if self.integration_open is None:
            return
        self.suspensions.append(self._integration(self.integration_open, on))
        self.integration_open = None

    def _integration(self, start: date, end: date | None) -> Suspension:
        cap = self.rules.integration_max_suspension_days
        elapsed = ((end or self.stop) - start).days
        if elapsed >= cap:
            return Suspension("integration", start, start + timedelta(days=cap), cap, capped=True)
        return Suspension("integration", start, end, elapsed)

    def notice(self, on: date) -> None:
        self.notice_open, self.observations_on = on, None

    def observations(self, on: date) -> None:
        if self.notice_open is not None:
            self.observations_on = on

    def _close_notice(self) -> Suspension | None:
        start = self.notice_open
        if start is None:
            return None
        days = self.rules.refusal_notice_days
        if self.observations_on is not None:
            end = self.observations_on + timedelta(days=days)
        else:
            end = start + timedelta(days=days)
        if self.stop < end:
            return Suspension("refusal_notice", start, None, (self.stop - start).days)
        return Suspension("refusal_notice", start, end, (end - start).days)

    def interrupt(self, on: date) -> None:
        self.interrupted_since = on

    def resume_after_interruption(self, on: date) -> None:
        if self.interrupted_since is None:
            return
        # The control window starts again: earlier suspensions no longer move the last day.
        self.interrupted_since = None
        self.base, self.term = on, self.rules.control_window_days
        self.suspensions = [s for s in self.suspensions if s.start >= on]

    def finish(self) -> list[Suspension]:
        result = list(self.suspensions)
        if self.integration_open is not None:
            result.append(self._integration(self.integration_open, None))
        notice = self._close_notice()
        if notice is not None:
            result.append(notice)
        return result


def _receipt(events: list[ClockEvent]) -> date | None:
    for event in events:
        if event.kind == lc.PRESENTED:
            return event.on
    return None


def _decided(events: list[ClockEvent]) -> date | None:
    for event in events:
        if event.kind in lc.FINAL_STATES:
            return event.on
    return None


_HANDLERS = {
    lc.INTEGRATION_REQUESTED: _Walk.integration_requested,
    lc.INTEGRATED: _Walk.integration_answered,
    lc.REFUSAL_NOTICE_SENT: _Walk.notice,
    lc.REFUSAL_OBSERVATIONS_RECEIVED: _Walk.observations,
    lc.CONFORMATION_REQUESTED: _Walk.interrupt,
    lc.CONFORMATION_ANSWERED: _Walk.resume_after_interruption,
}


# The event kinds compute_clock reads; any other event (dispatches, opinions, assignments)
# leaves the term unchanged, so callers may load only these.
CLOCK_EVENT_KINDS = frozenset({lc.PRESENTED, *lc.FINAL_STATES, *_HANDLERS})


def compute_clock(
    events: Iterable[ClockEvent],
    rules: TermRules,
    today: date,
    calendar: HolidayCalendar = DEFAULT_CALENDAR,
) -> Clock:
    ordered = sorted(events, key=lambda e: e.on)
    receipt = _receipt(ordered)
    decided_on = _decided(ordered)
    if receipt is None:
        return Clock(
            None,
            rules.term_days,
            None,
            None,
            0,
            0,
            None,
            False,
            None,
            None,
            False,
            False,
            decided_on,
            (),
        )
    stop = min(decided_on or today, today) if decided_on else today
    term = rules.term_days
    if rules.regime == lc.REGIME_SCIA and term is None:
        term = rules.control_window_days
    walk = _Walk(rules=rules, stop=stop, base=receipt, term=term)
    for event in ordered:
        if event.on > stop:
            break
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(walk, event.on)
    suspensions = walk.finish()
    suspended = sum(s.counted_days for s in suspensions)
    running = next((s for s in suspensions if s.end is None), None)
    interrupted = walk.interrupted_since is not None
    days_used = max((stop - walk.base).days - suspended, 0)
    if walk.term is None or interrupted:
        return Clock(
            receipt,
            walk.term,
            None,
            None,
            days_used,
            suspended,
            None,
            running is not None,
            running.start if running else None,
            running.kind if running else None,
            interrupted,
            False,
            decided_on,
            tuple(suspensions),
        )
    nominal = walk.base + timedelta(days=walk.term + suspended)
    last_day = calendar.roll_forward(nominal)
    days_left = (last_day - today).days
    overdue = decided_on is None and running is None and today > last_day
    return Clock(
        receipt=receipt,
        term_days=walk.term,
        last_day=last_day,
        nominal_last_day=nominal,
        days_used=days_used,
        days_suspended=suspended,
        days_left=days_left,
        suspended_now=running is not None,
        suspended_since=running.start if running else None,
        suspension_kind=running.kind if running else None,
        interrupted=False,
        overdue=overdue,
        decided_on=decided_on,
        suspensions=tuple(suspensions),
    )


def times_for(rules: TermRules, receipt: date) -> dict[str, Any]:
    """The SSU ``times`` object (times-schema.yaml) of an instance received on ``receipt``."""
    term = rules.term_days if rules.term_days is not None else 0
    if rules.regime == lc.REGIME_SCIA and rules.term_days is None:
        term = rules.control_window_days
    times: dict[str, Any] = {"start": receipt.isoformat(), "max_gg_proc": term}
    for name in SSU_LIMITS:
        value = getattr(rules, name)
        if value is not None:
            times[name] = value
    return times
