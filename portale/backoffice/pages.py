"""What the clerk's procedure page shows, gathered in one place (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority
from portale.backoffice import decisions
from portale.backoffice import services as bo
from portale.backoffice.models import OpinionRequest
from portale.clock.calendar import local_date
from portale.dossier.services import COMPANY_LABELS, PART_LABELS, serialise_company
from portale.outbox.models import OutboxJob
from portale.procedures import formbuilder
from portale.procedures import services as filing
from portale.procedures.models import Procedure
from portale.procedures.routing import DISPATCH_JOB


@dataclass(frozen=True)
class DossierRow:
    label: str
    then: str
    now: str

    @property
    def changed(self) -> bool:
        return self.then != self.now


def _show(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        rows = []
        for item in value:
            if isinstance(item, dict):
                rows.append(
                    ", ".join(str(v) for k, v in item.items() if k != "id" and v not in (None, ""))
                )
            else:
                rows.append(str(item))
        return "; ".join(rows)
    return str(value)


def dossier_rows(procedure: Procedure) -> list[DossierRow]:
    then = procedure.dossier_snapshot or {}
    now = serialise_company(procedure.company)
    rows = [
        DossierRow(str(label), _show(then.get(k)), _show(now.get(k)))
        for k, label in COMPANY_LABELS.items()
    ]
    for part, label in PART_LABELS.items():
        rows.append(DossierRow(str(label), _show(then.get(part)), _show(now.get(part))))
    return rows


def answers_of(session: Session, procedure: Procedure) -> list[tuple[str, str]]:
    spec = filing.spec_of(procedure.type_version)
    choices = filing.field_choices(session, spec)
    return [
        (f.label, formbuilder.display_value(f, procedure.answers[f.name], choices))
        for f in spec.fields
        if f.name in (procedure.answers or {})
    ]


def slot_labels(procedure: Procedure) -> dict[str, str]:
    from flask_babel import lazy_gettext as _l

    spec = filing.spec_of(procedure.type_version)
    labels = {a.slot: a.label for a in spec.attachments}
    labels.setdefault(decisions.INTEGRATION_SLOT, str(_l("Documenti integrativi")))
    return labels


def page(session: Session, procedure: Procedure, now: datetime) -> dict[str, Any]:
    events = bo.events_of(session, procedure.id)
    return {
        "procedure": procedure,
        "events": events,
        "clock": bo.clock_of(session, procedure, now, events=events),
        "answers": answers_of(session, procedure),
        "slot_labels": slot_labels(procedure),
        "dossier": dossier_rows(procedure),
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
        "acts": decisions.acts_of(session, procedure.id),
        "pending": decisions.pending_request(session, procedure, events),
        "offered": decisions.offered_actions(session, procedure, events),
        "prefill": decisions.integration_prefill(session, procedure),
        "authority_requests": decisions.pending_authority_requests(session, procedure, events),
        "today": local_date(now),
        "type_title": filing.type_title_of(procedure.type_version),
    }


def company_page(session: Session, procedure: Procedure, now: datetime) -> dict[str, Any]:
    """What the company sees of the back office on its procedure page."""
    from portale.clock import lifecycle as lc

    events = bo.events_of(session, procedure.id)
    return {
        "clock": bo.clock_of(session, procedure, now, events=events),
        "pending": decisions.pending_request(session, procedure, events),
        "acts": decisions.acts_of(session, procedure.id),
        "can_withdraw": "withdraw" in lc.allowed_actions(procedure.state, procedure.regime),
        "silent_assent": procedure.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED,
        "today": local_date(now),
        "events": events,
    }
