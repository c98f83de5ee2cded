"""Decisions on a filed procedure: the clerk's actions and the company's answers.

Every use case goes through :func:`~portale.cases.services.perform` (state changes) or
:func:`~portale.cases.services.record` (events that leave the state alone), notifies the
people concerned with :func:`~portale.cases.notify.notify_people`, and commits once. An
action not allowed now raises :class:`ActionNotAllowed` with an Italian message; nothing is
written then.

Legal rules enforced here (see "The clock, precisely" in DESIGN.md and
:mod:`portale.clock.terms`):

- a correction may be asked only within ``max_gg_correction`` days of receipt (when set);
- one integration request (unless the type allows more), merging the office's text with every
  pending ``authority_integration_request`` and the unfavourable / conformation opinions; the
  company has at most ``integration_max_suspension_days`` (30 by default) to answer, and that
  is all the suspension counts. If it never answers, the scheduled job (:mod:`.jobs`) closes the
  procedure as ``ended_by_integration_times_expired`` the day after its term: the SSU state for
  it, and the suspension counted stops at the limit, as DESIGN says;
- a rejection only after the notice of reasons for refusal (art. 10-bis L. 241/1990), once the
  observations have arrived or the 10 days for them have passed;
- a SCIA may be prohibited or sent back for conformation only inside its control window; the
  conformation term is at least 30 days (art. 19 c. 3 L. 241/1990); if the company does not
  conform in time the job prohibits the activity, as the same article says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import User
from portale.cases import services as core
from portale.cases import terms as case_terms
from portale.cases.act_models import (
    ACT_APPROVAL,
    ACT_PROHIBITION,
    ACT_REJECTION,
    Act,
)
from portale.cases.acts import add_title, issue_act
from portale.cases.models import (
    OPINION_CONFORMATION_REQUESTED,
    OPINION_UNFAVOURABLE,
    OpinionRequest,
    Procedure,
    ProcedureEvent,
)
from portale.cases.notify import notify_company
from portale.cases.requests import (
    REQUEST_REFUSAL_NOTICE,
    answered_after,
    last_event,
    pending_from,
    pending_request,
    state_allows,
)
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed
from portale.storage import AbstractStorage

AUTHORITY_INTEGRATION_REQUEST = "authority_integration_request"
DEFAULT_CORRECTION_DAYS = 10
MIN_CONFORMATION_DAYS = 30


# --- who may act ---------------------------------------------------------------------------


# --- small helpers -------------------------------------------------------------------------


def _text(value: str | None, message: Any) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionNotAllowed(message)
    return text


def _respond_by(now: datetime, days: int) -> str:
    return (local_date(now) + timedelta(days=days)).isoformat()


# --- what the company is asked -------------------------------------------------------------


# --- formal check: correction and inadmissibility -------------------------------------------


def request_correction(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    text: str,
    days: int | None = None,
    now: datetime | None = None,
) -> ProcedureEvent:
    now = now or utcnow()
    text = _text(text, _l("Scrivi che cosa l'impresa deve regolarizzare."))
    rules = case_terms.rules_for(procedure)
    if rules.max_gg_correction is not None and procedure.received_on is not None:
        limit = procedure.received_on + timedelta(days=rules.max_gg_correction)
        if local_date(now) > limit:
            raise ActionNotAllowed(
                _l(
                    "La regolarizzazione si può chiedere solo entro %(days)s giorni dal "
                    "ricevimento (fino al %(date)s).",
                    days=rules.max_gg_correction,
                    date=limit.strftime("%d/%m/%Y"),
                )
            )
    days = days or DEFAULT_CORRECTION_DAYS
    if days < 1 or days > 60:
        raise ActionNotAllowed(_l("Il termine per regolarizzare va da 1 a 60 giorni."))
    event = core.perform(
        session,
        procedure,
        "request_correction",
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    notify_company(
        procedure,
        session,
        _l("Richiesta di regolarizzazione"),
        _l(
            "Lo sportello chiede di regolarizzare la pratica entro il %(date)s:\n\n%(text)s",
            date=date.fromisoformat(event.payload["respond_by"]).strftime("%d/%m/%Y"),
            text=text,
        ),
    )
    session.commit()
    return event


def refuse(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    motivation: str,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Refuse an inadmissible instance (formal check), with its motivation."""
    motivation = _text(motivation, _l("Scrivi la motivazione dell'irricevibilità."))
    event = core.perform(
        session, procedure, "refuse", actor_id=actor.id, payload={"motivation": motivation}, now=now
    )
    notify_company(
        procedure,
        session,
        _l("Pratica irricevibile"),
        _l("La pratica è stata dichiarata irricevibile. Motivazione:\n\n%(text)s", text=motivation),
    )
    session.commit()
    return event


# --- integration ---------------------------------------------------------------------------


def pending_authority_requests(
    session: Session, procedure: Procedure, events: Sequence[ProcedureEvent] | None = None
) -> list[ProcedureEvent]:
    """``authority_integration_request`` events not yet merged into a request to the company."""
    events = list(events if events is not None else core.events_of(session, procedure.id))
    merged: set[int] = set()
    for event in events:
        if event.kind == lc.INTEGRATION_REQUESTED:
            merged.update((event.payload or {}).get("merged_event_ids") or ())
    return [e for e in events if e.kind == AUTHORITY_INTEGRATION_REQUEST and e.id not in merged]


def _opinions_asking_changes(session: Session, procedure: Procedure) -> list[OpinionRequest]:
    return list(
        session.scalars(
            select(OpinionRequest)
            .where(
                OpinionRequest.procedure_id == procedure.id,
                OpinionRequest.outcome.in_((OPINION_UNFAVOURABLE, OPINION_CONFORMATION_REQUESTED)),
            )
            .order_by(OpinionRequest.id)
        )
    )


@dataclass
class IntegrationDraft:
    """The prefilled integration request: the clerk edits it before sending."""

    text: str
    documents: list[str] = field(default_factory=list)
    merged_event_ids: list[int] = field(default_factory=list)
    days: int = 30


def integration_prefill(session: Session, procedure: Procedure) -> IntegrationDraft:
    rules = case_terms.rules_for(procedure)
    parts: list[str] = []
    documents: list[str] = []
    pending = pending_authority_requests(session, procedure)
    for event in pending:
        payload = event.payload or {}
        if payload.get("text"):
            parts.append(f"[{payload.get('authority', '')}] {payload['text']}")
        for doc in payload.get("documents") or ():
            if doc not in documents:
                documents.append(str(doc))
    for opinion in _opinions_asking_changes(session, procedure):
        if opinion.text:
            parts.append(
                str(
                    _l(
                        "[%(authority)s, parere] %(text)s",
                        authority=opinion.authority.name,
                        text=opinion.text,
                    )
                )
            )
    return IntegrationDraft(
        text="\n\n".join(parts),
        documents=documents,
        merged_event_ids=[e.id for e in pending],
        days=integration_days_limit(rules),
    )


def integration_days_limit(rules: Any) -> int:
    cap = rules.integration_max_suspension_days
    if rules.max_gg_int_resp:
        return min(cap, rules.max_gg_int_resp)
    return cap


def _check_integration_rules(
    procedure: Procedure, events: Sequence[ProcedureEvent], now: datetime
) -> Any:
    rules = case_terms.rules_for(procedure)
    done = sum(1 for e in events if e.kind == lc.INTEGRATION_REQUESTED)
    if done >= rules.integration_requests_allowed:
        if rules.integration_requests_allowed == 1:
            raise ActionNotAllowed(
                _l(
                    "L'integrazione è già stata chiesta una volta: la legge (art. 2 c. 7 "
                    "L. 241/1990) consente una sola richiesta per questa pratica. Chiedi "
                    "tutto in un'unica richiesta."
                )
            )
        raise ActionNotAllowed(
            _l(
                "Per questo tipo di pratica si possono chiedere al massimo %(n)s integrazioni.",
                n=rules.integration_requests_allowed,
            )
        )
    if rules.max_gg_int_req is not None and procedure.received_on is not None:
        limit = procedure.received_on + timedelta(days=rules.max_gg_int_req)
        if local_date(now) > limit:
            raise ActionNotAllowed(
                _l(
                    "L'integrazione si può chiedere solo entro %(days)s giorni dal ricevimento.",
                    days=rules.max_gg_int_req,
                )
            )
    return rules


def request_integration(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    text: str,
    documents: Iterable[str] = (),
    days: int | None = None,
    now: datetime | None = None,
) -> ProcedureEvent:
    """ONE request to the company, merging every pending authority request. Suspends the term."""
    now = now or utcnow()
    if not state_allows(procedure, "request_integration"):
        core.perform(session, procedure, "request_integration", actor_id=actor.id)  # raises
    text = _text(text, _l("Scrivi che cosa manca nella pratica."))
    documents = [d.strip() for d in documents if d and d.strip()]
    events = core.events_of(session, procedure.id)
    rules = _check_integration_rules(procedure, events, now)
    limit = integration_days_limit(rules)
    days = days or limit
    if days < 1 or days > limit:
        raise ActionNotAllowed(
            _l(
                "Il termine per integrare va da 1 a %(max)s giorni: la sospensione non può "
                "superare %(max)s giorni.",
                max=limit,
            )
        )
    merged = pending_authority_requests(session, procedure, events)
    authorities = sorted({str((e.payload or {}).get("authority", "")) for e in merged} - {""})
    event = core.perform(
        session,
        procedure,
        "request_integration",
        actor_id=actor.id,
        payload={
            "text": text,
            "documents": documents,
            "respond_by": _respond_by(now, days),
            "merged_event_ids": [e.id for e in merged],
            "authorities": authorities,
        },
        now=now,
    )
    respond_by = date.fromisoformat(event.payload["respond_by"]).strftime("%d/%m/%Y")
    listed = "".join(f"\n- {d}" for d in documents)
    notify_company(
        procedure,
        session,
        _l("Richiesta di integrazione"),
        _l(
            "Lo sportello chiede di integrare la pratica entro il %(date)s. Il termine del "
            "procedimento è sospeso fino alla tua risposta.\n\n%(text)s%(docs)s",
            date=respond_by,
            text=text,
            docs=listed,
        ),
    )
    session.commit()
    return event


# --- the company's answers -----------------------------------------------------------------


# --- decision ------------------------------------------------------------------------------


def send_refusal_notice(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    text: str,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Notice of the reasons for refusal (art. 10-bis): 10 days for observations, term suspended."""
    now = now or utcnow()
    if not state_allows(procedure, "reject"):
        raise ActionNotAllowed(
            _l("Il preavviso di diniego si invia solo su una pratica in istruttoria.")
        )
    if pending_request(session, procedure) is not None:
        raise ActionNotAllowed(_l("Un preavviso di diniego è già in corso."))
    text = _text(text, _l("Scrivi i motivi che ostano all'accoglimento."))
    days = case_terms.rules_for(procedure).refusal_notice_days
    event = core.record(
        session,
        procedure,
        lc.REFUSAL_NOTICE_SENT,
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    notify_company(
        procedure,
        session,
        _l("Preavviso di diniego (art. 10-bis L. 241/1990)"),
        _l(
            "Lo sportello comunica i motivi che ostano all'accoglimento della domanda. Hai "
            "%(days)s giorni per presentare osservazioni dal portale; il termine del "
            "procedimento è sospeso.\n\n%(text)s",
            days=days,
            text=text,
        ),
    )
    session.commit()
    return event


def _reject_ready(session: Session, procedure: Procedure, now: datetime) -> None:
    events = core.events_of(session, procedure.id)
    notice = last_event(events, lc.REFUSAL_NOTICE_SENT)
    if notice is None:
        raise ActionNotAllowed(
            _l("Prima del rigetto va inviato il preavviso di diniego (art. 10-bis L. 241/1990).")
        )
    pending = pending_from(notice, REQUEST_REFUSAL_NOTICE)
    if not answered_after(events, notice) and not pending.expired(local_date(now)):
        assert pending.respond_by is not None
        raise ActionNotAllowed(
            _l(
                "L'impresa può presentare osservazioni fino al %(date)s: il rigetto è possibile "
                "dopo le osservazioni o dopo quella data.",
                date=pending.respond_by.strftime("%d/%m/%Y"),
            )
        )


def approve(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    motivation: str = "",
    now: datetime | None = None,
) -> Act:
    """Approve: the act (licence) as a PDF, and the new title in the company's dossier."""
    now = now or utcnow()
    core.perform(
        session,
        procedure,
        "approve",
        actor_id=actor.id,
        payload={"motivation": (motivation or "").strip()},
        now=now,
    )
    return _conclude(
        session,
        storage,
        procedure,
        ACT_APPROVAL,
        actor=actor,
        motivation=motivation,
        now=now,
        subject=_l("Pratica accolta"),
        body=_l("La pratica è stata accolta: l'atto è disponibile nel portale."),
    )


def reject(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    motivation: str,
    now: datetime | None = None,
) -> Act:
    now = now or utcnow()
    if not state_allows(procedure, "reject"):
        core.perform(session, procedure, "reject", actor_id=actor.id)  # raises with the state
    motivation = _text(motivation, _l("Scrivi la motivazione del rigetto."))
    _reject_ready(session, procedure, now)
    core.perform(
        session, procedure, "reject", actor_id=actor.id, payload={"motivation": motivation}, now=now
    )
    return _conclude(
        session,
        storage,
        procedure,
        ACT_REJECTION,
        actor=actor,
        motivation=motivation,
        now=now,
        subject=_l("Pratica respinta"),
        body=_l("La pratica è stata respinta: il provvedimento è disponibile nel portale."),
    )


# --- SCIA ----------------------------------------------------------------------------------


def _inside_control_window(session: Session, procedure: Procedure, now: datetime) -> None:
    clock = core.clock_of(session, procedure, now)
    if clock.last_day is not None and local_date(now) > clock.last_day:
        raise ActionNotAllowed(
            _l(
                "La finestra di controllo della SCIA si è chiusa il %(date)s.",
                date=clock.last_day.strftime("%d/%m/%Y"),
            )
        )


def prohibit(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User | None,
    motivation: str,
    now: datetime | None = None,
    automatic: bool = False,
) -> Act:
    """Order the prohibition of the activity of a SCIA (within the control window)."""
    now = now or utcnow()
    if not state_allows(procedure, "prohibit"):
        raise ActionNotAllowed(
            _l("Il divieto di prosecuzione si può ordinare solo su una SCIA in controllo.")
        )
    motivation = _text(motivation, _l("Scrivi la motivazione del divieto."))
    if not automatic and procedure.state != lc.ENDED_BY_CONFORMATION_REQUESTED:
        _inside_control_window(session, procedure, now)
    actor_id = actor.id if actor else None
    core.record(
        session,
        procedure,
        lc.PROHIBITION_ORDERED,
        actor_id=actor_id,
        payload={"motivation": motivation, "automatic": automatic},
        now=now,
    )
    core.perform(
        session,
        procedure,
        "prohibit",
        actor_id=actor_id,
        payload={"motivation": motivation},
        now=now,
    )
    return _conclude(
        session,
        storage,
        procedure,
        ACT_PROHIBITION,
        actor=actor,
        motivation=motivation,
        now=now,
        subject=_l("Divieto di prosecuzione dell'attività"),
        body=_l("È stato ordinato il divieto di prosecuzione dell'attività segnalata."),
    )


def request_conformation(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    text: str,
    days: int | None = None,
    now: datetime | None = None,
) -> ProcedureEvent:
    """Ask a SCIA to conform within a term (at least 30 days); interrupts the control window."""
    now = now or utcnow()
    if not state_allows(procedure, "request_conformation"):
        raise ActionNotAllowed(
            _l("La conformazione si può chiedere solo su una SCIA in controllo.")
        )
    text = _text(text, _l("Scrivi le misure che l'impresa deve adottare."))
    days = days or MIN_CONFORMATION_DAYS
    if days < MIN_CONFORMATION_DAYS or days > 180:
        raise ActionNotAllowed(
            _l("Il termine per conformarsi va da 30 a 180 giorni (art. 19 c. 3 L. 241/1990).")
        )
    _inside_control_window(session, procedure, now)
    event = core.perform(
        session,
        procedure,
        "request_conformation",
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    notify_company(
        procedure,
        session,
        _l("Richiesta di conformazione"),
        _l(
            "Lo sportello chiede di conformare l'attività entro il %(date)s; in mancanza "
            "l'attività si intende vietata.\n\n%(text)s",
            date=date.fromisoformat(event.payload["respond_by"]).strftime("%d/%m/%Y"),
            text=text,
        ),
    )
    session.commit()
    return event


# --- acts ----------------------------------------------------------------------------------


def _conclude(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    kind: str,
    *,
    actor: User | None,
    motivation: str,
    now: datetime,
    subject: Any,
    body: Any,
) -> Act:
    stored: list[str] = []
    try:
        act = issue_act(
            session,
            storage,
            procedure,
            kind,
            actor=actor,
            motivation=motivation,
            now=now,
            stored=stored,
        )
        if kind == ACT_APPROVAL:
            add_title(session, procedure, act)
        notify_company(procedure, session, subject, body)
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return act


# --- what the clerk may do now -------------------------------------------------------------

CLERK_ACTIONS = (
    "request_correction",
    "refuse",
    "request_integration",
    "send_refusal_notice",
    "approve",
    "reject",
    "request_conformation",
    "prohibit",
)


def offered_actions(
    session: Session, procedure: Procedure, events: Sequence[ProcedureEvent] | None = None
) -> list[str]:
    """The clerk's actions that make sense in the current state (the rest is not shown)."""
    events = list(events if events is not None else core.events_of(session, procedure.id))
    allowed = set(lc.allowed_actions(procedure.state, procedure.regime))
    pending = pending_request(session, procedure, events)
    offered = []
    for action in CLERK_ACTIONS:
        if action == "send_refusal_notice":
            ok = "reject" in allowed and pending is None
        elif action == "reject":
            ok = "reject" in allowed and last_event(events, lc.REFUSAL_NOTICE_SENT) is not None
        elif action == "request_integration":
            rules = case_terms.rules_for(procedure)
            asked = sum(1 for e in events if e.kind == lc.INTEGRATION_REQUESTED)
            ok = action in allowed and asked < rules.integration_requests_allowed
        else:
            ok = action in allowed
        if ok:
            offered.append(action)
    return offered
