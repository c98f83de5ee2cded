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
from portale.cases.routing import DISPATCH_JOB, dispatch_order
from portale.cases.terms import calendar_for, rules_for
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.clock.summary import SUMMARY_FIELDS, Summary, TimedEvent, summarise
from portale.clock.terms import Clock, ClockEvent, compute_clock
from portale.db import utcnow
from portale.errors import ActionNotAllowed
from portale.outbox.services import enqueue
from portale.reports import rollups

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
    if target in SSU_NOTIFY_EVENT:
        queue_conclusion_notices(session, procedure, target, event)
    return event


# SSU ``notify`` events (et_to_bo.yaml) for the final states an authority is told about.
SSU_NOTIFY_EVENT = {
    lc.ENDED_BY_PROCEEDING_TIME_EXPIRED: "end_by_proceeding_time_expired",
    lc.ENDED_BY_INTEGRATION_TIMES_EXPIRED: "end_by_integration_times_expired",
    lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED: "end_by_submitter_cancel_requested",
    lc.ENDED_BY_SUSPENSION_REQUESTED: "end_by_suspension_requested",
    lc.ENDED_BY_POSITIVE_OUTCOME: "end_by_positive_outcome",
    lc.ENDED_BY_NEGATIVE_OUTCOME: "end_by_negative_outcome",
    # not final, but the sequence diagrams notify them too (SCIA-001, DomandaAutorizzazione-001)
    lc.ENDED_BY_CONFORMATION_REQUESTED: "end_by_conformation_requested",
    lc.CDSS_CONVENED: "cdss_convened",
}
# A state that can be reached more than once: each time is its own notice.
SSU_REPEATABLE_NOTICES = frozenset({lc.ENDED_BY_CONFORMATION_REQUESTED, lc.CDSS_CONVENED})
INTEGRATION_REQUEST_TIME_EXPIRED = "integration_request_time_expired"
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


def _cdss_notice(procedure: Procedure, payload: Mapping[str, Any]) -> dict[str, str]:
    """``cdss_channel`` and ``cdss_convocation`` of the conference notice (CdssNotifyMessage)."""
    office = procedure.office
    channel = payload.get("channel") or (f"PEC {office.pec}" if office.pec else office.name)
    return {"cdss_channel": channel, "cdss_convocation": payload["date"]}


def queue_conclusion_notices(
    session: Session, procedure: Procedure, state: str, cause: ProcedureEvent | None = None
) -> None:
    """Tell every involved authority what the flow implies (SSU ``notify`` or PEC): how the
    procedure ended, a conformation request, the services conference; through the outbox in
    the caller's transaction. ``cause`` is the event that reached ``state``."""
    name = SSU_NOTIFY_EVENT.get(state)
    if name is None:
        return
    notice: dict[str, Any] = {"event": name, "text": state_label(state)}
    authorities = involved_authorities(session, procedure)
    suffix = ""
    if state in SSU_REPEATABLE_NOTICES and cause is not None:
        session.flush()
        suffix = f":{cause.id}"
    if state == lc.CDSS_CONVENED and cause is not None:
        notice.update(_cdss_notice(procedure, cause.payload or {}))
        participants = set((cause.payload or {}).get("participants") or ())
        known = {a.code for a in authorities}
        authorities += list(
            session.scalars(
                select(Authority)
                .where(Authority.code.in_(sorted(participants - known)))
                .order_by(Authority.code)
            )
        )
    queue_notice(session, procedure, authorities, notice, key=f"{name}{suffix}")


def queue_notice(
    session: Session,
    procedure: Procedure,
    authorities: Iterable[Authority],
    notice: Mapping[str, Any],
    *,
    key: str,
) -> int:
    """One SSU ``notify`` (or PEC notice) per authority, ordered after what was sent before;
    how many were new (the key makes a second call queue nothing)."""
    before = len(session.info.get("outbox_new_jobs", []))
    for authority in authorities:
        enqueue(
            session,
            DISPATCH_JOB,
            {
                "procedure_id": procedure.id,
                "authority": authority.code,
                "message": "notify",
                "event": dict(notice),
            },
            idempotency_key=f"dispatch:{procedure.cui_uuid}:{authority.code}:notify:{key}",
            connector=authority.channel,
            procedure_id=procedure.id,
            ordering_key=dispatch_order(procedure, authority.code),
        )
    return len(session.info.get("outbox_new_jobs", [])) - before


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
    before = [] if row is None else rollups.procedure_rows(session, procedure.id)
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
    session.flush()
    # the report roll-ups move with the summary, in the same transaction
    rollups.record_change(session, before, rollups.procedure_rows(session, procedure.id))
    return summary
