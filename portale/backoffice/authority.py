"""The authority officer's side: the opinions their authority was asked for, and the answers.

An officer sees a procedure only through an :class:`OpinionRequest` addressed to their own
authority; everything else raises :class:`NotFound` (404). The signed document of an
opinion is checked by its content, as filing checks attachments
(:func:`portale.uploads.detect_kind`), and kept through the storage port.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portale.accounts.models import User
from portale.backoffice.consultations import give_opinion
from portale.cases.models import (
    OPINION_FAVOURABLE,
    OPINION_FAVOURABLE_WITH_CONDITIONS,
    OPINION_UNFAVOURABLE,
    Attachment,
    OpinionRequest,
    Procedure,
)
from portale.cases.services import record
from portale.clock import lifecycle as lc
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.storage import AbstractStorage, new_key
from portale.uploads import KIND_LABELS, detect_kind, safe_filename

AUTHORITY_INTEGRATION_REQUEST = "authority_integration_request"
OFFICER_OUTCOMES = (OPINION_FAVOURABLE, OPINION_FAVOURABLE_WITH_CONDITIONS, OPINION_UNFAVOURABLE)
DOCUMENT_KINDS = ("pdf", "p7m")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_LIST = 500


class OpinionInvalid(ValueError):
    """``errors`` maps a form field to an Italian message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def opinions_for(session: Session, officer: User) -> list[OpinionRequest]:
    """The opinions asked of the officer's authority: open ones first, by due day."""
    if officer.authority_id is None:
        return []
    return list(
        session.scalars(
            select(OpinionRequest)
            .where(OpinionRequest.authority_id == officer.authority_id)
            .options(
                joinedload(OpinionRequest.procedure).joinedload(Procedure.company),
                joinedload(OpinionRequest.procedure).joinedload(Procedure.office),
                joinedload(OpinionRequest.procedure).joinedload(Procedure.type_version),
                joinedload(OpinionRequest.authority),
            )
            .order_by(
                OpinionRequest.answered_at.is_not(None),
                OpinionRequest.due_on,
                OpinionRequest.id,
            )
            .limit(MAX_LIST)
        )
    )


def opinion_for(session: Session, officer: User, opinion_id: int) -> OpinionRequest:
    opinion = session.get(OpinionRequest, opinion_id)
    if opinion is None or officer.authority_id is None:
        raise NotFound(opinion_id)
    if opinion.authority_id != officer.authority_id:
        raise NotFound(opinion_id)
    return opinion


def attachment_for(
    session: Session, officer: User, opinion_id: int, attachment_id: int
) -> Attachment:
    opinion = opinion_for(session, officer, opinion_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.procedure_id != opinion.procedure_id:
        raise NotFound(attachment_id)
    return attachment


def _check_answer(outcome: str, text: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if outcome not in OFFICER_OUTCOMES:
        errors["outcome"] = str(_l("Scegli l'esito del parere."))
    elif outcome == OPINION_FAVOURABLE_WITH_CONDITIONS and not text:
        errors["text"] = str(_l("Indica le condizioni del parere favorevole."))
    elif outcome == OPINION_UNFAVOURABLE and not text:
        errors["text"] = str(_l("Indica la motivazione del parere sfavorevole."))
    return errors


def _read_document(filename: str, data: bytes | IO[bytes]) -> tuple[bytes, str, dict[str, str]]:
    content = data if isinstance(data, bytes) else data.read(MAX_DOCUMENT_BYTES + 1)
    name = safe_filename(filename)
    if not content:
        return content, "", {"document": str(_l("Il file «%(name)s» è vuoto.", name=name))}
    if len(content) > MAX_DOCUMENT_BYTES:
        return content, "", {"document": str(_l("Il file supera il limite di 10 MB."))}
    kind = detect_kind(content)
    if kind not in DOCUMENT_KINDS:
        accepted = ", ".join(str(KIND_LABELS[k]) for k in DOCUMENT_KINDS)
        message = _l(
            "Il contenuto del file «%(name)s» non è un formato ammesso (ammessi: %(accepted)s).",
            name=name,
            accepted=accepted,
        )
        return content, "", {"document": str(message)}
    return content, str(kind), {}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes | IO[bytes]


def answer_opinion(
    session: Session,
    storage: AbstractStorage,
    officer: User,
    opinion_id: int,
    *,
    outcome: str,
    text: str,
    document: Upload | None = None,
    now: datetime | None = None,
) -> OpinionRequest:
    """The officer gives the opinion, with an optional signed document (PDF or .p7m)."""
    opinion = opinion_for(session, officer, opinion_id)
    text = (text or "").strip()
    errors = _check_answer(outcome, text)
    content, stored = b"", None
    if document is not None and document.filename:
        content, _kind, doc_errors = _read_document(document.filename, document.data)
        errors.update(doc_errors)
    if errors:
        raise OpinionInvalid(errors)
    if document is not None and document.filename:
        key = new_key(f"opinions/{utcnow():%Y/%m}")
        storage.put(key, content)
        stored = {
            "key": key,
            "name": safe_filename(document.filename),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    try:
        return give_opinion(
            session,
            opinion.id,
            outcome=outcome,
            text=text or None,
            actor_id=officer.id,
            via="portal",
            document=stored,
            now=now,
        )
    except BaseException:
        session.rollback()
        if stored:
            storage.delete(stored["key"])
        raise


def ask_integration(
    session: Session,
    officer: User,
    opinion_id: int,
    *,
    text: str,
    documents: Sequence[str],
    now: datetime | None = None,
) -> None:
    """Record what the authority needs from the company; the clerk merges it into the one
    integration request (event ``authority_integration_request``). Commits."""
    opinion = opinion_for(session, officer, opinion_id)
    text = (text or "").strip()
    if not text:
        raise OpinionInvalid({"text": str(_l("Scrivi che cosa deve integrare l'impresa."))})
    if opinion.answered_at is not None:
        raise ActionNotAllowed(_l("Il parere è già stato espresso."))
    procedure = opinion.procedure
    if procedure.state in lc.FINAL_STATES:
        raise ActionNotAllowed(_l("La pratica è conclusa."))
    record(
        session,
        procedure,
        AUTHORITY_INTEGRATION_REQUEST,
        actor_id=officer.id,
        payload={
            "authority": opinion.authority.code,
            "text": text,
            "documents": [d.strip() for d in documents if d.strip()],
            "opinion_id": opinion.id,
        },
        now=now,
    )
    session.commit()
