"""The company's answers to the office: to a correction, integration or conformation request,
observations on a notice of reasons for refusal, and withdrawal.

Each use case records its event through :mod:`portale.cases.services`, tells the clerks and
commits once; files sent with an answer are checked like every upload (:mod:`portale.uploads`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portale import uploads
from portale.accounts.models import User
from portale.cases import services as core
from portale.cases.models import Attachment, Procedure, ProcedureEvent
from portale.cases.notify import notify_clerks, notify_company
from portale.cases.requests import (
    INTEGRATION_ACCEPT,
    INTEGRATION_MAX_BYTES,
    REQUEST_CONFORMATION,
    REQUEST_CORRECTION,
    REQUEST_INTEGRATION,
    REQUEST_REFUSAL_NOTICE,
    pending_request,
    state_allows,
)
from portale.catalogue import formbuilder
from portale.catalogue.services import field_choices, spec_of
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed
from portale.storage import AbstractStorage, new_key


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
    spec = spec_of(procedure.type_version)
    slot_spec = spec.attachment(upload.slot)
    accept = slot_spec.accept if slot_spec else INTEGRATION_ACCEPT
    limit = slot_spec.max_bytes if slot_spec else INTEGRATION_MAX_BYTES
    label = slot_spec.label if slot_spec else str(_l("Documenti integrativi"))
    data = upload.data if isinstance(upload.data, bytes) else upload.data.read(limit + 1)
    name = uploads.safe_filename(upload.filename)
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
    kind = uploads.detect_kind(data)
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
        mime_type=uploads.MIME_TYPES[kind],
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
    spec = spec_of(procedure.type_version)
    clean, errors = formbuilder.validate_answers(
        spec, answers, choices=field_choices(session, spec)
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
        event = core.perform(
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
        notify_clerks(
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
        event = core.record(
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
        notify_clerks(
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
    if not state_allows(procedure, "withdraw"):
        raise ActionNotAllowed(_l("La pratica è già conclusa: non può essere ritirata."))
    event = core.perform(
        session,
        procedure,
        "withdraw",
        actor_id=actor.id,
        payload={"reason": (reason or "").strip()},
        now=now,
    )
    notify_company(
        procedure, session, _l("Pratica ritirata"), _l("La pratica è stata ritirata dall'impresa.")
    )
    notify_clerks(
        procedure, session, _l("Pratica ritirata"), _l("L'impresa ha ritirato la pratica.")
    )
    session.commit()
    return event
