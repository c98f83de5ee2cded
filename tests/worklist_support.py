"""More procedures for worklist tests, copied from one filed through the real use case.

``clone_procedures`` writes ``n`` procedures like ``filed.procedure`` (same company, type
version, office unless told otherwise) with their own protocol number, CUI, filing instant and
``presented`` event, then refreshes them so state, last day and summary come from events.
No tests here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portale.cases import services as core
from portale.cases.models import Procedure, ProcedureEvent

_COPIED = (
    "company_id",
    "local_unit_id",
    "municipality",
    "type_code",
    "type_version_id",
    "regime",
    "submitter_id",
    "answers",
    "dossier_snapshot",
    "cui_context",
    "cui_date",
    "cui_year",
    "protocol_year",
)


def clone_procedures(
    session: Session,
    template: Procedure,
    filed_at: Sequence[datetime],
    *,
    office_id: int | None = None,
) -> list[Procedure]:
    """One procedure per instant of ``filed_at``, filed then (in the office of ``template``
    unless ``office_id`` says otherwise)."""
    created = []
    base = 1000 + session.query(Procedure).count() * 1000
    for n, at in enumerate(filed_at):
        values: dict[str, Any] = {name: getattr(template, name) for name in _COPIED}
        procedure = Procedure(
            **values,
            office_id=office_id or template.office_id,
            idempotency_key=f"clone-{uuid.uuid4().hex}",
            cui_progressive=base + n,
            cui_uuid=str(uuid.uuid4()),
            protocol_number=base + n,
            submitted_at=at,
            received_on=at.date(),
            state="presented",
        )
        session.add(procedure)
        session.flush()
        session.add(ProcedureEvent(procedure_id=procedure.id, kind="presented", at=at, payload={}))
        core.refresh(session, procedure, at)
        created.append(procedure)
    session.commit()
    return created


def days_apart(start: datetime, count: int, step: int = 1) -> list[datetime]:
    return [start + timedelta(days=i * step) for i in range(count)]
