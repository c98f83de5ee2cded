"""The clerk consults authorities: opinions (each authority with its own term) and the
synchronous services conference (*conferenza di servizi*, CdSS).

Every function checks that the procedure belongs to the clerk's office
(:func:`portale.backoffice.worklist.procedure_of_office`) before anything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portale.accounts.models import ROLE_AUTHORITY_OFFICER, Authority, User, UserRole
from portale.cases.models import (
    DEFAULT_OPINION_TERM_DAYS,
    OPINION_OUTCOMES,
    OpinionRequest,
    Procedure,
    ProcedureEvent,
)
from portale.cases.notify import notify_people
from portale.cases.routing import DISPATCH_JOB, OPINION_REQUEST_MESSAGE, dispatch_order
from portale.cases.services import events_of, perform, record
from portale.cases.terms import calendar_for
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed
from portale.outbox.services import enqueue

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
    :func:`request_opinions`, one call per distinct term.
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


def request_opinions(
    session: Session,
    procedure: Procedure,
    authority_ids: Iterable[int],
    *,
    actor_id: int | None,
    question: str = "",
    term_days: int | None = None,
    now: datetime | None = None,
) -> list[OpinionRequest]:
    """Ask each authority for its opinion; each request goes out through its channel's
    connector as an outbox job written in this transaction. Commits."""
    if procedure.state in lc.FINAL_STATES:
        raise ActionNotAllowed(_l("La pratica è conclusa: non si possono chiedere pareri."))
    ids = list(dict.fromkeys(authority_ids))
    if not ids:
        raise ActionNotAllowed(_l("Scegli almeno un ente a cui chiedere il parere."))
    authorities = list(
        session.scalars(select(Authority).where(Authority.id.in_(ids), Authority.active.is_(True)))
    )
    if len(authorities) != len(ids):
        raise ActionNotAllowed(_l("Uno degli enti scelti non esiste o non è attivo."))
    now = now or utcnow()
    days = term_days or DEFAULT_OPINION_TERM_DAYS
    requests = []
    for authority in authorities:
        opinion = OpinionRequest(
            procedure_id=procedure.id,
            authority_id=authority.id,
            requested_by_id=actor_id,
            requested_at=now,
            term_days=days,
            due_on=calendar_for(session, procedure).roll_forward(
                local_date(now) + timedelta(days=days)
            ),
            question=question,
        )
        session.add(opinion)
        session.flush()
        record(
            session,
            procedure,
            lc.OPINION_REQUESTED,
            actor_id=actor_id,
            payload={
                "authority": authority.code,
                "opinion_id": opinion.id,
                "due_on": opinion.due_on.isoformat(),
            },
            now=now,
        )
        enqueue(
            session,
            DISPATCH_JOB,
            {
                "procedure_id": procedure.id,
                "authority": authority.code,
                "message": OPINION_REQUEST_MESSAGE,
                "opinion_id": opinion.id,
            },
            idempotency_key=f"dispatch:{procedure.cui_uuid}:{authority.code}:opinion:{opinion.id}",
            connector=authority.channel,
            procedure_id=procedure.id,
            ordering_key=dispatch_order(procedure, authority.code),
        )
        requests.append(opinion)
    session.commit()
    return requests


def give_opinion(
    session: Session,
    opinion_id: int,
    *,
    outcome: str,
    text: str | None,
    actor_id: int | None,
    via: str = "portal",
    document: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> OpinionRequest:
    """Record an authority's answer (from an officer in the portal, or an SSU callback).

    ``document`` may carry ``key``, ``name`` and ``sha256`` of a stored signed document.
    Answering twice is refused. Commits.
    """
    opinion = session.get(OpinionRequest, opinion_id)
    if opinion is None:
        raise LookupError(opinion_id)
    if opinion.answered_at is not None:
        raise ActionNotAllowed(_l("Il parere è già stato espresso."))
    if outcome not in OPINION_OUTCOMES:
        raise ActionNotAllowed(_l("Esito del parere non valido."))
    procedure = session.get(Procedure, opinion.procedure_id)
    assert procedure is not None
    if procedure.state in lc.FINAL_STATES:
        raise ActionNotAllowed(_l("La pratica è conclusa: il parere non può più essere dato."))
    now = now or utcnow()
    opinion.answered_at = now
    opinion.answered_by_id = actor_id
    opinion.outcome = outcome
    opinion.text = text
    opinion.answered_via = via
    if document:
        opinion.document_key = document.get("key")
        opinion.document_name = document.get("name")
        opinion.document_sha256 = document.get("sha256")
    record(
        session,
        procedure,
        lc.OPINION_GIVEN,
        actor_id=actor_id,
        payload={
            "authority": opinion.authority.code,
            "opinion_id": opinion.id,
            "outcome": outcome,
            "late": opinion.is_late(local_date(now)),
        },
        now=now,
    )
    session.commit()
    return opinion
