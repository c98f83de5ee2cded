"""The clerk consults authorities: opinions (each authority with its own term) and the
synchronous services conference (*conferenza di servizi*, CdSS).

Every function checks that the procedure belongs to the clerk's office
(:func:`portale.backoffice.worklist.procedure_of_office`) before anything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portale.accounts.models import ROLE_AUTHORITY_OFFICER, Authority, User, UserRole
from portale.backoffice.models import OpinionRequest
from portale.backoffice.notify import notify_people
from portale.backoffice.services import (
    ActionNotAllowed,
    events_of,
    perform,
    record,
    request_opinions,
)
from portale.clock import lifecycle as lc
from portale.procedures.models import Procedure, ProcedureEvent

CDSS_REQUESTED = "cdss_requested"
AUTHORITY_INTEGRATION_REQUEST = "authority_integration_request"
CDSS_OUTCOMES = ("favourable", "favourable_with_conditions", "unfavourable")
MAX_TERM_DAYS = 365


@dataclass(frozen=True)
class OpinionAsk:
    authority_id: int
    term_days: int


def opinions_of(session: Session, procedure_id: int) -> list[OpinionRequest]:
    return list(
        session.scalars(
            select(OpinionRequest)
            .where(OpinionRequest.procedure_id == procedure_id)
            .options(joinedload(OpinionRequest.authority))
            .order_by(OpinionRequest.requested_at, OpinionRequest.id)
        )
    )


def active_authorities(session: Session) -> list[Authority]:
    return list(
        session.scalars(
            select(Authority).where(Authority.active.is_(True)).order_by(Authority.name)
        )
    )


def officers_of(session: Session, authority_ids: Sequence[int]) -> list[User]:
    if not authority_ids:
        return []
    return list(
        session.scalars(
            select(User).where(
                User.authority_id.in_(authority_ids),
                User.active.is_(True),
                User.id.in_(
                    select(UserRole.user_id).where(UserRole.role == ROLE_AUTHORITY_OFFICER)
                ),
            )
        )
    )


def ask_opinions(
    session: Session,
    procedure: Procedure,
    asks: Sequence[OpinionAsk],
    *,
    actor: User,
    question: str,
    link_for: Callable[[OpinionRequest], str] | None = None,
    now: datetime | None = None,
) -> list[OpinionRequest]:
    """Ask each authority for its opinion within its own term, and notify its officers.

    Everything is checked before anything is written; the requests are then recorded by
    :func:`~portale.backoffice.services.request_opinions`, one call per distinct term.
    """
    if not asks:
        raise ActionNotAllowed(_l("Scegli almeno un ente a cui chiedere il parere."))
    if any(not 1 <= a.term_days <= MAX_TERM_DAYS for a in asks):
        raise ActionNotAllowed(
            _l("Il termine per il parere va da 1 a %(max)s giorni.", max=MAX_TERM_DAYS)
        )
    if procedure.state in lc.FINAL_STATES:
        raise ActionNotAllowed(_l("La pratica è conclusa: non si possono chiedere pareri."))
    by_term: dict[int, list[int]] = defaultdict(list)
    for ask in asks:
        by_term[ask.term_days].append(ask.authority_id)
    known = {a.id for a in active_authorities(session)}
    if any(a.authority_id not in known for a in asks):
        raise ActionNotAllowed(_l("Uno degli enti scelti non esiste o non è attivo."))
    created: list[OpinionRequest] = []
    for term_days, ids in by_term.items():
        created += request_opinions(
            session,
            procedure,
            ids,
            actor_id=actor.id,
            question=question,
            term_days=term_days,
            now=now,
        )
    for opinion in created:
        officers = officers_of(session, [opinion.authority_id])
        notify_people(
            session,
            [u.id for u in officers],
            subject=str(
                _l("Richiesta di parere: pratica %(protocol)s", protocol=procedure.protocol_label)
            ),
            body=str(
                _l(
                    "Il SUAP %(office)s chiede il parere del vostro ente entro il %(due)s.\n%(question)s",
                    office=procedure.office.name,
                    due=opinion.due_on.strftime("%d/%m/%Y"),
                    question=question,
                )
            ),
            link=link_for(opinion) if link_for else None,
            procedure_id=procedure.id,
        )
    session.commit()
    return created


# --- services conference ---------------------------------------------------------------------


@dataclass(frozen=True)
class CdssStatus:
    requests: list[ProcedureEvent] = field(default_factory=list)  # cdss_requested by authorities
    convened: ProcedureEvent | None = None  # the last cdss_convened
    outcome: ProcedureEvent | None = None  # the outcome recorded after it
    can_convene: bool = False
    integration_requests: list[ProcedureEvent] = field(default_factory=list)


def cdss_status(session: Session, procedure: Procedure) -> CdssStatus:
    events = events_of(session, procedure.id)
    convened = next((e for e in reversed(events) if e.kind == lc.CDSS_CONVENED), None)
    outcome = None
    if convened is not None:
        outcome = next(
            (e for e in events if e.kind == lc.CDSS_OUTCOME and e.id > convened.id), None
        )
    return CdssStatus(
        requests=[e for e in events if e.kind == CDSS_REQUESTED],
        convened=convened,
        outcome=outcome,
        can_convene="convene_cdss" in lc.allowed_actions(procedure.state, procedure.regime),
        integration_requests=[e for e in events if e.kind == AUTHORITY_INTEGRATION_REQUEST],
    )


def convene_cdss(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    on: date,
    participants: Sequence[str],
    now: datetime | None = None,
) -> ProcedureEvent:
    """Convene the conference on day ``on`` with ``participants`` (authority codes). Commits."""
    codes = [c for c in dict.fromkeys(p.strip() for p in participants) if c]
    if not codes:
        raise ActionNotAllowed(_l("Indica almeno un ente partecipante."))
    chosen = list(
        session.scalars(
            select(Authority).where(Authority.code.in_(codes), Authority.active.is_(True))
        )
    )
    if set(codes) - {a.code for a in chosen}:
        raise ActionNotAllowed(_l("Uno degli enti scelti non esiste o non è attivo."))
    event = perform(
        session,
        procedure,
        "convene_cdss",
        actor_id=actor.id,
        payload={"date": on.isoformat(), "participants": codes},
        now=now,
    )
    authority_ids = [a.id for a in chosen]
    notify_people(
        session,
        [u.id for u in officers_of(session, authority_ids)],
        subject=str(
            _l("Conferenza di servizi: pratica %(protocol)s", protocol=procedure.protocol_label)
        ),
        body=str(
            _l(
                "Il SUAP %(office)s ha indetto la conferenza di servizi per il %(date)s.",
                office=procedure.office.name,
                date=on.strftime("%d/%m/%Y"),
            )
        ),
        procedure_id=procedure.id,
    )
    session.commit()
    return event


def record_cdss_outcome(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    outcome: str,
    text: str,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Record the conclusions of the conference (event ``cdss_outcome``). Commits."""
    status = cdss_status(session, procedure)
    if status.convened is None or procedure.state != lc.CDSS_CONVENED:
        raise ActionNotAllowed(_l("La conferenza di servizi non è stata indetta."))
    if status.outcome is not None:
        raise ActionNotAllowed(_l("L'esito della conferenza è già stato registrato."))
    if outcome not in CDSS_OUTCOMES:
        raise ActionNotAllowed(_l("Esito della conferenza non valido."))
    event = record(
        session,
        procedure,
        lc.CDSS_OUTCOME,
        actor_id=actor.id,
        payload={"outcome": outcome, "text": text.strip()},
        now=now,
    )
    session.commit()
    return event
