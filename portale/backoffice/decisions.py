"""Decisions on a filed procedure: the clerk's actions and the company's answers.

Every use case goes through :func:`~portale.backoffice.services.perform` (state changes) or
:func:`~portale.backoffice.services.record` (events that leave the state alone), notifies the
people concerned with :func:`~portale.backoffice.notify.notify_people`, and commits once. An
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

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import User
from portale.backoffice import services as bo
from portale.backoffice.act_models import (
    ACT_APPROVAL,
    ACT_PROHIBITION,
    ACT_REJECTION,
    ACT_SILENT_ASSENT,
    Act,
)
from portale.backoffice.models import (
    OPINION_CONFORMATION_REQUESTED,
    OPINION_UNFAVOURABLE,
    OpinionRequest,
)
from portale.backoffice.notify import notify_people
from portale.backoffice.services import ActionNotAllowed
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.dossier.access import NoAccess, get_company_for
from portale.procedures import formbuilder
from portale.procedures import services as filing
from portale.procedures.models import Attachment, Procedure, ProcedureEvent
from portale.storage import AbstractStorage, new_key

AUTHORITY_INTEGRATION_REQUEST = "authority_integration_request"
ACT_ISSUED = "act_issued"
INTEGRATION_SLOT = "integrazione"
INTEGRATION_ACCEPT = ("pdf", "p7m")
INTEGRATION_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_CORRECTION_DAYS = 10
MIN_CONFORMATION_DAYS = 30


class NotFound(LookupError):
    """No such procedure for this user: answered 404."""


class AnswerInvalid(ValueError):
    """The company's answer cannot be accepted; ``errors`` maps field names to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Upload:
    """A file the company sends with an answer: the slot it fills, its name and bytes."""

    slot: str
    filename: str
    data: bytes | IO[bytes]


# --- who may act ---------------------------------------------------------------------------


def is_clerk_of(user: Any, procedure: Procedure) -> bool:
    # Separation of duties: the administrator role gives no access to procedures; only the
    # clerk role of the procedure's office does (see portale.admin.break_glass for reading).
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.has_role("clerk") and user.office_id == procedure.office_id)


def procedure_for_clerk(session: Session, user: Any, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or not is_clerk_of(user, procedure):
        raise NotFound(procedure_id)
    return procedure


def procedure_for_company(
    session: Session, user: Any, procedure_id: int, *, need: str = "edit"
) -> Procedure:
    """The procedure if ``user`` holds a mandate on its company (``edit`` to act on it)."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or not getattr(user, "is_authenticated", False):
        raise NotFound(procedure_id)
    try:
        get_company_for(session, user, procedure.company_id, need=need)
    except NoAccess:
        raise NotFound(procedure_id) from None
    return procedure


# --- small helpers -------------------------------------------------------------------------


def _text(value: str | None, message: Any) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionNotAllowed(message)
    return text


def _state_allows(procedure: Procedure, action: str) -> bool:
    return action in lc.allowed_actions(procedure.state, procedure.regime)


def _last(events: Sequence[ProcedureEvent], kind: str) -> ProcedureEvent | None:
    return next((e for e in reversed(events) if e.kind == kind), None)


def _people_of_company(procedure: Procedure) -> list[int]:
    return [procedure.submitter_id]


def _clerks_to_tell(procedure: Procedure) -> list[int]:
    return [procedure.assignee_id] if procedure.assignee_id else []


def _link(procedure: Procedure) -> str:
    return f"/pratiche/{procedure.id}"


def _notify_company(procedure: Procedure, session: Session, subject: Any, body: Any) -> None:
    notify_people(
        session,
        _people_of_company(procedure),
        subject=f"{subject} — {procedure.protocol_label}",
        body=str(body),
        link=_link(procedure),
        procedure_id=procedure.id,
    )


def _notify_clerks(procedure: Procedure, session: Session, subject: Any, body: Any) -> None:
    ids = _clerks_to_tell(procedure)
    if ids:
        notify_people(
            session,
            ids,
            subject=f"{subject} — {procedure.protocol_label}",
            body=str(body),
            link=f"/scrivania/pratiche/{procedure.id}",
            procedure_id=procedure.id,
        )


def _respond_by(now: datetime, days: int) -> str:
    return (local_date(now) + timedelta(days=days)).isoformat()


# --- what the company is asked -------------------------------------------------------------

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


def _pending_from(event: ProcedureEvent, kind: str) -> PendingRequest:
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
    events = list(events if events is not None else bo.events_of(session, procedure.id))
    kind = _REQUEST_EVENT.get(procedure.state)
    if kind is not None:
        event = _last(events, _REQUEST_KIND_EVENT[kind])
        return _pending_from(event, kind) if event is not None else None
    if procedure.state in lc.OPEN_STATES:
        notice = _last(events, lc.REFUSAL_NOTICE_SENT)
        if notice is not None and not _answered_after(events, notice):
            return _pending_from(notice, REQUEST_REFUSAL_NOTICE)
    return None


def _answered_after(events: Sequence[ProcedureEvent], notice: ProcedureEvent) -> bool:
    seen = False
    for event in events:
        if event.id == notice.id:
            seen = True
        elif seen and event.kind == lc.REFUSAL_OBSERVATIONS_RECEIVED:
            return True
    return False


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
    rules = bo.rules_for(procedure)
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
    event = bo.perform(
        session,
        procedure,
        "request_correction",
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    _notify_company(
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
    event = bo.perform(
        session, procedure, "refuse", actor_id=actor.id, payload={"motivation": motivation}, now=now
    )
    _notify_company(
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
    events = list(events if events is not None else bo.events_of(session, procedure.id))
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
    rules = bo.rules_for(procedure)
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
    rules = bo.rules_for(procedure)
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
    if not _state_allows(procedure, "request_integration"):
        bo.perform(session, procedure, "request_integration", actor_id=actor.id)  # raises
    text = _text(text, _l("Scrivi che cosa manca nella pratica."))
    documents = [d.strip() for d in documents if d and d.strip()]
    events = bo.events_of(session, procedure.id)
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
    event = bo.perform(
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
    _notify_company(
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

_ANSWER_ACTION = {
    REQUEST_CORRECTION: "correct",
    REQUEST_INTEGRATION: "integrate",
    REQUEST_CONFORMATION: "conform",
}


def _store_upload(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    upload: Upload,
    actor: User,
    stored: list[str],
) -> Attachment:
    spec = filing.spec_of(procedure.type_version)
    slot_spec = spec.attachment(upload.slot)
    accept = slot_spec.accept if slot_spec else INTEGRATION_ACCEPT
    limit = slot_spec.max_bytes if slot_spec else INTEGRATION_MAX_BYTES
    label = slot_spec.label if slot_spec else str(_l("Documenti integrativi"))
    data = upload.data if isinstance(upload.data, bytes) else upload.data.read(limit + 1)
    name = filing.safe_filename(upload.filename)
    if not data:
        raise AnswerInvalid({upload.slot: [str(_l("Il file «%(name)s» è vuoto.", name=name))]})
    if len(data) > limit:
        raise AnswerInvalid(
            {
                upload.slot: [
                    str(_l("«%(label)s»: il file supera il limite consentito.", label=label))
                ]
            }
        )
    kind = filing.detect_kind(data)
    if kind is None or kind not in accept:
        raise AnswerInvalid(
            {
                upload.slot: [
                    str(
                        _l(
                            "«%(label)s»: il contenuto del file «%(name)s» non è un formato "
                            "ammesso (ammessi: %(accepted)s).",
                            label=label,
                            name=name,
                            accepted=", ".join(accept).upper(),
                        )
                    )
                ]
            }
        )
    key = new_key(f"attachments/{utcnow():%Y/%m}")
    storage.put(key, data)
    stored.append(key)
    attachment = Attachment(
        procedure_id=procedure.id,
        slot=upload.slot,
        filename=name,
        kind=kind,
        mime_type=filing.MIME_TYPES[kind],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        uploaded_by_id=actor.id,
    )
    session.add(attachment)
    session.flush()
    return attachment


def _corrected_answers(
    session: Session, procedure: Procedure, answers: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(new clean answers, {field: [old, new]}) or AnswerInvalid."""
    if answers is None:
        return dict(procedure.answers or {}), {}
    spec = filing.spec_of(procedure.type_version)
    clean, errors = formbuilder.validate_answers(
        spec, answers, choices=filing.field_choices(session, spec)
    )
    if errors:
        raise AnswerInvalid(errors)
    old = procedure.answers or {}
    changed = {
        name: [old.get(name), clean.get(name)]
        for name in sorted(set(old) | set(clean))
        if old.get(name) != clean.get(name)
    }
    return clean, changed


def answer_request(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    note: str = "",
    answers: Mapping[str, Any] | None = None,
    uploads: Sequence[Upload] = (),
    now: datetime | None = None,
) -> ProcedureEvent:
    """The company answers a correction, integration or conformation request; the term resumes."""
    now = now or utcnow()
    pending = pending_request(session, procedure)
    if pending is None or pending.kind not in _ANSWER_ACTION:
        raise ActionNotAllowed(_l("Non ci sono richieste a cui rispondere per questa pratica."))
    if pending.expired(local_date(now)):
        raise ActionNotAllowed(
            _l(
                "Il termine per rispondere è scaduto il %(date)s.",
                date=pending.respond_by.strftime("%d/%m/%Y") if pending.respond_by else "",
            )
        )
    clean, changed = _corrected_answers(session, procedure, answers)
    if not changed and not uploads and not note.strip():
        raise AnswerInvalid(
            {"note": [str(_l("Allega almeno un documento, correggi un dato o scrivi una nota."))]}
        )
    stored: list[str] = []
    try:
        files = [_store_upload(session, storage, procedure, u, actor, stored) for u in uploads]
        procedure.answers = clean
        event = bo.perform(
            session,
            procedure,
            _ANSWER_ACTION[pending.kind],
            actor_id=actor.id,
            payload={
                "note": note.strip(),
                "changed": changed,
                "attachments": [
                    {"id": a.id, "name": a.filename, "sha256": a.sha256} for a in files
                ],
                "request_event_id": pending.event_id,
            },
            now=now,
        )
        _notify_clerks(
            procedure,
            session,
            _l("Risposta dell'impresa"),
            _l("L'impresa ha risposto alla richiesta: il termine riprende a decorrere."),
        )
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return event


def send_observations(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    text: str,
    uploads: Sequence[Upload] = (),
    now: datetime | None = None,
) -> ProcedureEvent:
    """The company's observations on a notice of reasons for refusal (art. 10-bis)."""
    now = now or utcnow()
    pending = pending_request(session, procedure)
    if pending is None or pending.kind != REQUEST_REFUSAL_NOTICE:
        raise ActionNotAllowed(_l("Non c'è un preavviso di diniego a cui rispondere."))
    if pending.expired(local_date(now)):
        raise ActionNotAllowed(
            _l(
                "I 10 giorni per le osservazioni sono scaduti il %(date)s.",
                date=pending.respond_by.strftime("%d/%m/%Y") if pending.respond_by else "",
            )
        )
    if not (text or "").strip():
        raise AnswerInvalid({"text": [str(_l("Scrivi le tue osservazioni."))]})
    stored: list[str] = []
    try:
        files = [_store_upload(session, storage, procedure, u, actor, stored) for u in uploads]
        event = bo.record(
            session,
            procedure,
            lc.REFUSAL_OBSERVATIONS_RECEIVED,
            actor_id=actor.id,
            payload={
                "text": text.strip(),
                "attachments": [
                    {"id": a.id, "name": a.filename, "sha256": a.sha256} for a in files
                ],
            },
            now=now,
        )
        _notify_clerks(
            procedure,
            session,
            _l("Osservazioni al preavviso di diniego"),
            _l("L'impresa ha inviato le osservazioni al preavviso di diniego."),
        )
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return event


def withdraw(
    session: Session,
    procedure: Procedure,
    *,
    actor: User,
    reason: str = "",
    now: datetime | None = None,
) -> ProcedureEvent:
    """The company withdraws a procedure not yet decided."""
    if not _state_allows(procedure, "withdraw"):
        raise ActionNotAllowed(_l("La pratica è già conclusa: non può essere ritirata."))
    event = bo.perform(
        session,
        procedure,
        "withdraw",
        actor_id=actor.id,
        payload={"reason": (reason or "").strip()},
        now=now,
    )
    _notify_company(
        procedure, session, _l("Pratica ritirata"), _l("La pratica è stata ritirata dall'impresa.")
    )
    _notify_clerks(
        procedure, session, _l("Pratica ritirata"), _l("L'impresa ha ritirato la pratica.")
    )
    session.commit()
    return event


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
    if not _state_allows(procedure, "reject"):
        raise ActionNotAllowed(
            _l("Il preavviso di diniego si invia solo su una pratica in istruttoria.")
        )
    if pending_request(session, procedure) is not None:
        raise ActionNotAllowed(_l("Un preavviso di diniego è già in corso."))
    text = _text(text, _l("Scrivi i motivi che ostano all'accoglimento."))
    days = bo.rules_for(procedure).refusal_notice_days
    event = bo.record(
        session,
        procedure,
        lc.REFUSAL_NOTICE_SENT,
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    _notify_company(
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
    events = bo.events_of(session, procedure.id)
    notice = _last(events, lc.REFUSAL_NOTICE_SENT)
    if notice is None:
        raise ActionNotAllowed(
            _l("Prima del rigetto va inviato il preavviso di diniego (art. 10-bis L. 241/1990).")
        )
    pending = _pending_from(notice, REQUEST_REFUSAL_NOTICE)
    if not _answered_after(events, notice) and not pending.expired(local_date(now)):
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
    bo.perform(
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
    if not _state_allows(procedure, "reject"):
        bo.perform(session, procedure, "reject", actor_id=actor.id)  # raises with the state
    motivation = _text(motivation, _l("Scrivi la motivazione del rigetto."))
    _reject_ready(session, procedure, now)
    bo.perform(
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
    clock = bo.clock_of(session, procedure, now)
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
    if not _state_allows(procedure, "prohibit"):
        raise ActionNotAllowed(
            _l("Il divieto di prosecuzione si può ordinare solo su una SCIA in controllo.")
        )
    motivation = _text(motivation, _l("Scrivi la motivazione del divieto."))
    if not automatic and procedure.state != lc.ENDED_BY_CONFORMATION_REQUESTED:
        _inside_control_window(session, procedure, now)
    actor_id = actor.id if actor else None
    bo.record(
        session,
        procedure,
        lc.PROHIBITION_ORDERED,
        actor_id=actor_id,
        payload={"motivation": motivation, "automatic": automatic},
        now=now,
    )
    bo.perform(
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
    if not _state_allows(procedure, "request_conformation"):
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
    event = bo.perform(
        session,
        procedure,
        "request_conformation",
        actor_id=actor.id,
        payload={"text": text, "respond_by": _respond_by(now, days)},
        now=now,
    )
    _notify_company(
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


def acts_of(session: Session, procedure_id: int) -> list[Act]:
    return list(
        session.scalars(select(Act).where(Act.procedure_id == procedure_id).order_by(Act.id))
    )


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
        _notify_company(procedure, session, subject, body)
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return act


def _valid_until(procedure: Procedure, issued_on: date) -> date | None:
    title = (procedure.type_version.spec or {}).get("licence") or {}
    if title.get("validity_days"):
        return issued_on + timedelta(days=int(title["validity_days"]))
    if title.get("validity_years"):
        years = int(title["validity_years"])
        try:
            return issued_on.replace(year=issued_on.year + years)
        except ValueError:  # 29 February
            return issued_on.replace(year=issued_on.year + years, day=28)
    return None


def issue_act(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    kind: str,
    *,
    actor: User | None,
    motivation: str,
    now: datetime,
    stored: list[str],
) -> Act:
    """Number, render and store the act; record ``act_issued``. Does not commit."""
    from portale.backoffice.acts import render_act_pdf
    from portale.procedures.protocol import next_protocol_number

    issued_on = local_date(now)
    number = next_protocol_number(session, procedure.office_id, issued_on.year)
    act = Act(
        procedure_id=procedure.id,
        kind=kind,
        protocol_year=issued_on.year,
        protocol_number=number,
        protocol_label=f"{procedure.office.code}/{issued_on.year}/{number:06d}",
        issued_at=now,
        issued_by_id=actor.id if actor else None,
        motivation=(motivation or "").strip(),
        valid_until=_valid_until(procedure, issued_on) if kind == ACT_APPROVAL else None,
    )
    pdf = render_act_pdf(session, procedure, act)
    key = f"acts/{procedure.id}/{kind}-{act.protocol_year}-{number:06d}.pdf"
    storage.put(key, pdf)
    stored.append(key)
    act.storage_key = key
    act.sha256 = hashlib.sha256(pdf).hexdigest()
    act.size = len(pdf)
    session.add(act)
    session.flush()
    bo.record(
        session,
        procedure,
        ACT_ISSUED,
        actor_id=act.issued_by_id,
        payload={"kind": kind, "protocol": act.protocol_label, "act_id": act.id},
        now=now,
    )
    return act


def add_title(session: Session, procedure: Procedure, act: Act) -> Any:
    """The licence goes into the dossier, with its validity and the procedure as provenance."""
    from portale.dossier.models import SOURCE_DECISION
    from portale.dossier.services import _add_part

    company = procedure.company
    title_spec = (procedure.type_version.spec or {}).get("licence") or {}
    kind = str(title_spec.get("kind") or filing.type_title_of(procedure.type_version))[:200]
    company.updated_at = utcnow()  # bumps the dossier version
    title = _add_part(
        session,
        company,
        "titles",
        {
            "kind": kind,
            "number": act.protocol_label,
            "issuer": procedure.office.name,
            "valid_from": local_date(act.issued_at),
            "valid_until": act.valid_until,
            "local_unit_id": procedure.local_unit_id,
        },
        actor=None,
        source=SOURCE_DECISION,
        source_ref=str(procedure.id),
    )
    title.procedure_id = procedure.id
    return title


def silent_assent_certificate(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    now: datetime | None = None,
) -> Act:
    """The certificate of silent assent, issued once on the company's request (a mandate that
    may act for the company, not a read-only one)."""
    try:
        get_company_for(session, actor, procedure.company_id, need="edit")
    except NoAccess:
        raise NotFound(procedure.id) from None
    if procedure.state != lc.ENDED_BY_PROCEEDING_TIME_EXPIRED:
        raise ActionNotAllowed(
            _l("Il certificato si rilascia solo per una pratica accolta per silenzio assenso.")
        )
    existing = session.scalar(
        select(Act).where(Act.procedure_id == procedure.id, Act.kind == ACT_SILENT_ASSENT)
    )
    if existing is not None:
        return existing
    now = now or utcnow()
    stored: list[str] = []
    try:
        act = issue_act(
            session,
            storage,
            procedure,
            ACT_SILENT_ASSENT,
            actor=None,
            motivation="",
            now=now,
            stored=stored,
        )
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return act


def act_for(session: Session, procedure: Procedure, act_id: int) -> Act:
    act = session.get(Act, act_id)
    if act is None or act.procedure_id != procedure.id:
        raise NotFound(act_id)
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
    events = list(events if events is not None else bo.events_of(session, procedure.id))
    allowed = set(lc.allowed_actions(procedure.state, procedure.regime))
    pending = pending_request(session, procedure, events)
    offered = []
    for action in CLERK_ACTIONS:
        if action == "send_refusal_notice":
            ok = "reject" in allowed and pending is None
        elif action == "reject":
            ok = "reject" in allowed and _last(events, lc.REFUSAL_NOTICE_SENT) is not None
        elif action == "request_integration":
            rules = bo.rules_for(procedure)
            asked = sum(1 for e in events if e.kind == lc.INTEGRATION_REQUESTED)
            ok = action in allowed and asked < rules.integration_requests_allowed
        else:
            ok = action in allowed
        if ok:
            offered.append(action)
    return offered
