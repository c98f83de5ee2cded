"""What the company is asked now: correction, integration, conformation or the notice of
reasons for refusal (art. 10-bis), read from the events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from portale.cases.models import Procedure, ProcedureEvent
from portale.cases.services import events_of
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date

# The slot of the documents the company sends with an answer, when the type names none.


INTEGRATION_SLOT = "integrazione"


INTEGRATION_ACCEPT = ("pdf", "p7m")


INTEGRATION_MAX_BYTES = 10 * 1024 * 1024


def state_allows(procedure: Procedure, action: str) -> bool:
    return action in lc.allowed_actions(procedure.state, procedure.regime)


def last_event(events: Sequence[ProcedureEvent], kind: str) -> ProcedureEvent | None:
    return next((e for e in reversed(events) if e.kind == kind), None)


REQUEST_CORRECTION = "correction"


REQUEST_INTEGRATION = "integration"


REQUEST_CONFORMATION = "conformation"


REQUEST_REFUSAL_NOTICE = "refusal_notice"


_REQUEST_EVENT = {
    lc.CORRECTION_REQUESTED: REQUEST_CORRECTION,
    lc.INTEGRATION_REQUESTED: REQUEST_INTEGRATION,
    lc.ENDED_BY_CONFORMATION_REQUESTED: REQUEST_CONFORMATION,
}


_REQUEST_KIND_EVENT = {
    REQUEST_CORRECTION: lc.CORRECTION_REQUESTED,
    REQUEST_INTEGRATION: lc.INTEGRATION_REQUESTED,
    REQUEST_CONFORMATION: lc.CONFORMATION_REQUESTED,
}


@dataclass(frozen=True)
class PendingRequest:
    """What the company is asked now: correction, integration, conformation or 10-bis notice."""

    kind: str
    text: str
    documents: tuple[str, ...]
    respond_by: date | None
    asked_on: date
    event_id: int

    def expired(self, today: date) -> bool:
        return self.respond_by is not None and today > self.respond_by


def pending_from(event: ProcedureEvent, kind: str) -> PendingRequest:
    payload = event.payload or {}
    respond_by = payload.get("respond_by")
    return PendingRequest(
        kind=kind,
        text=str(payload.get("text") or ""),
        documents=tuple(payload.get("documents") or ()),
        respond_by=date.fromisoformat(respond_by) if respond_by else None,
        asked_on=local_date(event.at),
        event_id=event.id,
    )


def pending_request(
    session: Session, procedure: Procedure, events: Sequence[ProcedureEvent] | None = None
) -> PendingRequest | None:
    """The request the company has to answer now, if any."""
    events = list(events if events is not None else events_of(session, procedure.id))
    kind = _REQUEST_EVENT.get(procedure.state)
    if kind is not None:
        event = last_event(events, _REQUEST_KIND_EVENT[kind])
        return pending_from(event, kind) if event is not None else None
    if procedure.state in lc.OPEN_STATES:
        notice = last_event(events, lc.REFUSAL_NOTICE_SENT)
        if notice is not None and not answered_after(events, notice):
            return pending_from(notice, REQUEST_REFUSAL_NOTICE)
    return None


def answered_after(events: Sequence[ProcedureEvent], notice: ProcedureEvent) -> bool:
    seen = False
    for event in events:
        if event.id == notice.id:
            seen = True
        elif seen and event.kind == lc.REFUSAL_OBSERVATIONS_RECEIVED:
            return True
    return False
