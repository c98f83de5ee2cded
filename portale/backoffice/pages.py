"""What the clerk's procedure page shows, gathered in one place (no Flask)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority
from portale.backoffice import decisions
from portale.cases import acts
from portale.cases import requests as case_requests
from portale.cases import services as core
from portale.cases.models import OpinionRequest, Procedure
from portale.cases.pages import answers_of, dossier_rows, slot_labels
from portale.cases.routing import DISPATCH_JOB
from portale.catalogue import services as catalogue_services
from portale.clock.calendar import local_date
from portale.outbox.models import OutboxJob


def page(session: Session, procedure: Procedure, now: datetime) -> dict[str, Any]:
    events = core.events_of(session, procedure.id)
    return {
        "procedure": procedure,
        "events": events,
        "clock": core.clock_of(session, procedure, now, events=events),
        "answers": answers_of(session, procedure),
        "slot_labels": slot_labels(procedure),
        "dossier": dossier_rows(session, procedure),
        "dispatches": list(
            session.scalars(
                select(OutboxJob)
                .where(OutboxJob.procedure_id == procedure.id, OutboxJob.handler == DISPATCH_JOB)
                .order_by(OutboxJob.id)
            )
        ),
        "opinions": list(
            session.scalars(
                select(OpinionRequest)
                .where(OpinionRequest.procedure_id == procedure.id)
                .order_by(OpinionRequest.id)
            )
        ),
        "authorities": list(
            session.scalars(
                select(Authority).where(Authority.active.is_(True)).order_by(Authority.name)
            )
        ),
        "acts": acts.acts_of(session, procedure.id),
        "pending": case_requests.pending_request(session, procedure, events),
        "offered": decisions.offered_actions(session, procedure, events),
        "prefill": decisions.integration_prefill(session, procedure),
        "authority_requests": decisions.pending_authority_requests(session, procedure, events),
        "today": local_date(now),
        "type_title": catalogue_services.type_title_of(procedure.type_version),
    }
