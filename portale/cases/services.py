"""The case core: every step of a filed procedure is an event; state, term and summary are
recomputed from the events in the same transaction. Filing (:mod:`portale.procedures`) and the
back office (:mod:`portale.backoffice`) both record through here.

:func:`perform` applies an action of the state machine (:mod:`portale.clock.lifecycle`) and
records its event; :func:`record` records an event that does not change the SSU state
(assignment, opinion asked or given, dispatch...). Both leave committing to the use case that
calls them; :func:`refresh` rewrites the procedure's cached state and last day and its
:class:`~portale.cases.models.ProcedureSummary` row.

A procedure reaching a final state is notified to every authority involved (outbox jobs in the
same transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority
from portale.cases.labels import state_label
from portale.cases.models import (
    OpinionRequest,
    Procedure,
    ProcedureEvent,
    ProcedureSummary,
)
from portale.cases.routing import DISPATCH_JOB
from portale.cases.terms import calendar_for, rules_for
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.clock.summary import SUMMARY_FIELDS, Summary, TimedEvent, summarise
from portale.clock.terms import Clock, ClockEvent, compute_clock
from portale.db import utcnow
from portale.errors import ActionNotAllowed
from portale.outbox.services import enqueue

# --- term rules, calendar, clock ------------------------------------------------------------


def events_of(session: Session, procedure_id: int) -> list[ProcedureEvent]:
    return list(
        session.scalars(
            select(ProcedureEvent)
            .where(ProcedureEvent.procedure_id == procedure_id)
            .order_by(ProcedureEvent.at, ProcedureEvent.id)
        )
    )


def clock_of(
    session: Session,
    procedure: Procedure,
    now: datetime | None = None,
    *,
    events: Iterable[ProcedureEvent] | None = None,
) -> Clock:
    """Term, days used, days suspended and last day of the procedure as of ``now``."""
    now = now or utcnow()
    if events is None:
        events = events_of(session, procedure.id)
    return compute_clock(
        [ClockEvent(e.kind, local_date(e.at), e.payload or {}) for e in events],
        rules_for(procedure),
        local_date(now),
        calendar_for(session, procedure),
    )


# --- recording events -----------------------------------------------------------------------


def record(
    session: Session,
    procedure: Procedure,
    kind: str,
    *,
    actor_id: int | None,
    payload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Record an event that does not change the SSU state, and refresh the caches."""
    now = now or utcnow()
    event = ProcedureEvent(
        procedure_id=procedure.id, kind=kind, actor_id=actor_id, at=now, payload=dict(payload or {})
    )
    session.add(event)
    refresh(session, procedure, now)
    return event


def perform(
    session: Session,
    procedure: Procedure,
    action: str,
    *,
    actor_id: int | None,
    payload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Apply ``action`` if the state machine of the procedure's regime allows it now.

    Raises :class:`ActionNotAllowed` (with a message for the clerk) otherwise; nothing is
    written then.
    """
    try:
        target = lc.apply(procedure.state, action, procedure.regime)
    except lc.TransitionNotAllowed:
        raise ActionNotAllowed(
            _l(
                "Azione non consentita: la pratica è nello stato «%(state)s».",
                state=state_label(procedure.state),
            )
        ) from None
    kind = lc.ACTION_EVENT.get(action, target)
    event = record(session, procedure, kind, actor_id=actor_id, payload=payload, now=now)
    procedure.state = target
    if target in lc.FINAL_STATES:
        queue_conclusion_notices(session, procedure, target)
    return event


# SSU ``notify`` events (et_to_bo.yaml) for the final states an authority is told about.
SSU_NOTIFY_EVENT = {
    lc.ENDED_BY_PROCEEDING_TIME_EXPIRED: "end_by_proceeding_time_expired",
    lc.ENDED_BY_INTEGRATION_TIMES_EXPIRED: "end_by_integration_times_expired",
    lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED: "end_by_submitter_cancel_requested",
    lc.ENDED_BY_SUSPENSION_REQUESTED: "end_by_suspension_requested",
    lc.ENDED_BY_POSITIVE_OUTCOME: "end_by_positive_outcome",
    lc.ENDED_BY_NEGATIVE_OUTCOME: "end_by_negative_outcome",
}
# Outcomes whose notice carries the act (the job adds it once the act exists).
SSU_OUTCOME_EVENTS = frozenset(
    {"end_by_suspension_requested", "end_by_positive_outcome", "end_by_negative_outcome"}
)


def involved_authorities(session: Session, procedure: Procedure) -> list[Authority]:
    """Authorities the procedure was sent to or consulted on."""
    from portale.outbox.models import OutboxJob

    codes = {
        (job.payload or {}).get("authority")
        for job in session.scalars(
            select(OutboxJob).where(
                OutboxJob.procedure_id == procedure.id, OutboxJob.handler == DISPATCH_JOB
            )
        )
    }
    consulted = select(OpinionRequest.authority_id).where(
        OpinionRequest.procedure_id == procedure.id
    )
    return list(
        session.scalars(
            select(Authority)
            .where((Authority.code.in_([c for c in codes if c])) | Authority.id.in_(consulted))
            .order_by(Authority.code)
        )
    )


def queue_conclusion_notices(session: Session, procedure: Procedure, state: str) -> None:
    """Tell every involved authority how the procedure ended (SSU ``notify`` or PEC), through
    the outbox in the caller's transaction."""
    event = SSU_NOTIFY_EVENT.get(state)
    if event is None:
        return
    for authority in involved_authorities(session, procedure):
        enqueue(
            session,
            DISPATCH_JOB,
            {
                "procedure_id": procedure.id,
                "authority": authority.code,
                "message": "notify",
                "event": {"event": event, "text": state_label(state)},
            },
            idempotency_key=f"dispatch:{procedure.cui_uuid}:{authority.code}:notify:{event}",
            connector=authority.channel,
            procedure_id=procedure.id,
        )


def refresh(session: Session, procedure: Procedure, now: datetime | None = None) -> Summary:
    """Recompute state, last day and the summary row of ``procedure`` from its events."""
    now = now or utcnow()
    session.flush()
    events = events_of(session, procedure.id)
    summary = summarise(
        [TimedEvent(e.kind, e.at, e.payload or {}) for e in events],
        rules_for(procedure),
        now,
        calendar_for(session, procedure),
    )
    procedure.state = summary.state
    if summary.last_day is not None or summary.decided_on is None:
        procedure.last_day = summary.last_day
    row = session.get(ProcedureSummary, procedure.id)
    if row is None:
        row = ProcedureSummary(procedure_id=procedure.id)
        session.add(row)
    row.type_code = procedure.type_code
    row.municipality = procedure.municipality
    row.office_id = procedure.office_id
    row.regime = procedure.regime
    for name in SUMMARY_FIELDS:
        setattr(row, name, getattr(summary, name))
    row.refreshed_at = now
    return summary


# --- opinions -------------------------------------------------------------------------------
