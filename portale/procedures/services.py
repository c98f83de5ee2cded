"""Use cases of online filing: start and save a draft, attach files, submit, list.

Plain functions on a SQLAlchemy session (no Flask); each use case commits once. Access goes
through mandates (:func:`portale.dossier.access.get_company_for`); anything the user may not see
raises :class:`~portale.errors.NotFound`, which the web and the API answer with 404.

Filing writes the case (:mod:`portale.cases`): its row, its first events, its routing and its
summary, through the case core's functions; the case core queues the outbox jobs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from portale import uploads
from portale.accounts.models import Office, User, office_municipality
from portale.cases.cui import issue_cui
from portale.cases.models import (
    EVENT_PRESENTED,
    EVENT_STARTED,
    STATE_PRESENTED,
    Attachment,
    Procedure,
    ProcedureEvent,
)
from portale.cases.protocol import next_protocol_number
from portale.cases.routing import queue_dispatches, route
from portale.cases.services import refresh
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.db import utcnow
from portale.dossier.access import NoAccess, accessible_companies, get_company_for
from portale.dossier.models import Company, LocalUnit
from portale.dossier.paths import read_path
from portale.dossier.services import apply_declared_values, serialise_company
from portale.errors import NotFound
from portale.outbox.services import enqueue
from portale.payments.services import cancel_for_draft
from portale.procedures.models import Draft
from portale.storage import AbstractStorage, new_key

log = logging.getLogger(__name__)
ROME = ZoneInfo("Europe/Rome")

GENERAL_ERROR = "__all__"
RECEIPT_JOB = "procedures.receipt"


class AttachmentRejected(ValueError):
    """The file does not fit its slot; ``message`` is Italian and names the slot."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class SubmissionInvalid(ValueError):
    """The draft cannot be filed; ``errors`` maps field names (or ``allegato:<slot>``,
    ``__all__``) to Italian messages. Nothing has been written."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


def rome_date(moment: datetime) -> date:
    return moment.astimezone(ROME).date()


# --- drafts --------------------------------------------------------------------------------


def start_draft(
    session: Session, *, actor: User, company_id: int, local_unit_id: int, type_code: str
) -> Draft:
    """A new draft for one premises of one company, prefilled from the dossier."""
    company = _company(session, actor, company_id)
    unit = session.get(LocalUnit, local_unit_id)
    if unit is None or unit.company_id != company.id or not unit.active:
        raise NotFound(local_unit_id)
    version = catalogue_services.current_version(session, type_code)
    if version is None:
        raise NotFound(type_code)
    spec = catalogue_services.spec_of(version)
    draft = Draft(
        company_id=company.id,
        local_unit_id=unit.id,
        type_code=type_code,
        type_version_id=version.id,
        created_by_id=actor.id,
        answers=dict(dossier_values(spec, company, unit)),
        dossier_updates=[],
    )
    session.add(draft)
    session.commit()
    return draft


def get_draft(session: Session, actor: User, draft_id: int, *, need: str = "edit") -> Draft:
    """The draft if ``actor`` may work on its company; :class:`NotFound` otherwise."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(draft_id)
    _company(session, actor, draft.company_id, need=need)
    return draft


def save_draft(
    session: Session,
    draft_id: int,
    *,
    actor: User,
    answers: Mapping[str, Any],
    dossier_updates: list[str] | None = None,
) -> Draft:
    """Store what the user typed, valid or not; unknown field names are ignored."""
    draft = _open_draft(session, actor, draft_id)
    spec = catalogue_services.spec_of(draft.type_version)
    known = {f.name for f in spec.fields}
    merged = dict(draft.answers or {})
    merged.update({k: _jsonable(v) for k, v in answers.items() if k in known})
    draft.answers = merged
    if dossier_updates is not None:
        bound = {f.name for f in spec.fields if f.dossier_path}
        draft.dossier_updates = sorted(set(dossier_updates) & bound)
    draft.updated_at = utcnow()
    session.commit()
    return draft


def delete_draft(session: Session, storage: AbstractStorage, draft_id: int, *, actor: User) -> None:
    draft = _open_draft(session, actor, draft_id)
    keys = [a.storage_key for a in draft.attachments if a.procedure_id is None]
    for attachment in list(draft.attachments):
        if attachment.procedure_id is None:
            session.delete(attachment)
    # An abandoned draft's payment notice must not stay payable.
    cancel_for_draft(session, draft.id)
    session.delete(draft)
    session.commit()
    for key in keys:
        storage.delete(key)


def list_drafts_for(session: Session, user: User) -> list[Draft]:
    company_ids = [c.id for c in accessible_companies(session, user)]
    if not company_ids:
        return []
    return list(
        session.scalars(
            select(Draft)
            .where(Draft.company_id.in_(company_ids), Draft.procedure_id.is_(None))
            .options(selectinload(Draft.company), selectinload(Draft.type_version))
            .order_by(Draft.updated_at.desc())
        )
    )


def _open_draft(session: Session, actor: User, draft_id: int) -> Draft:
    draft = get_draft(session, actor, draft_id)
    if draft.procedure_id is not None:
        raise DraftAlreadyFiled(draft.procedure_id)
    return draft


class DraftAlreadyFiled(RuntimeError):
    """The draft has become a procedure; callers show or redirect to ``procedure_id``."""

    def __init__(self, procedure_id: int) -> None:
        super().__init__(procedure_id)
        self.procedure_id = procedure_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


# --- attachments ---------------------------------------------------------------------------


def _read_limited(data: bytes | IO[bytes], limit: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    return data.read(limit + 1)  # one byte more tells an oversize file from a full one


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",").replace(",0", "")


def add_attachment(
    session: Session,
    storage: AbstractStorage,
    draft_id: int,
    *,
    actor: User,
    slot: str,
    filename: str,
    data: bytes | IO[bytes],
) -> Attachment:
    """Check a file by content and size for its slot, store it, and replace the slot's old file."""
    draft = _open_draft(session, actor, draft_id)
    spec = catalogue_services.spec_of(draft.type_version).attachment(slot)
    if spec is None:
        raise AttachmentRejected(_l("Questa pratica non prevede l'allegato «%(slot)s».", slot=slot))
    content = _read_limited(data, spec.max_bytes)
    display_name = uploads.safe_filename(filename)
    if not content:
        raise AttachmentRejected(
            _l("«%(label)s»: il file «%(name)s» è vuoto.", label=spec.label, name=display_name)
        )
    if len(content) > spec.max_bytes:
        raise AttachmentRejected(
            _l(
                "«%(label)s»: il file «%(name)s» supera il limite di %(limit)s MB.",
                label=spec.label,
                name=display_name,
                limit=_megabytes(spec.max_bytes),
            )
        )
    kind = uploads.detect_kind(content)
    accepted = ", ".join(str(uploads.KIND_LABELS.get(k, k)) for k in spec.accept)
    if kind is None or kind not in spec.accept:
        raise AttachmentRejected(
            _l(
                "«%(label)s»: il contenuto del file «%(name)s» non è un formato ammesso "
                "(ammessi: %(accepted)s).",
                label=spec.label,
                name=display_name,
                accepted=accepted,
            )
        )
    extension = PurePosixPath(display_name).suffix.lower().lstrip(".")
    claimed = uploads.EXTENSIONS.get(extension)
    if claimed is not None and claimed != kind:
        raise AttachmentRejected(
            _l(
                "«%(label)s»: il file «%(name)s» ha estensione .%(ext)s "
                "ma il contenuto è un %(kind)s. "
                "Carica il file corretto.",
                label=spec.label,
                name=display_name,
                ext=extension,
                kind=uploads.KIND_LABELS[kind],
            )
        )
    key = new_key(f"attachments/{utcnow():%Y/%m}")
    storage.put(key, content)
    _check_signature(session, storage, key, content, kind)
    replaced = [a for a in draft.attachments if a.slot == slot and a.procedure_id is None]
    for old in replaced:
        draft.attachments.remove(old)
        session.delete(old)
    attachment = Attachment(
        slot=slot,
        filename=display_name,
        kind=kind,
        mime_type=uploads.MIME_TYPES[kind],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_key=key,
        uploaded_by_id=actor.id,
    )
    draft.attachments.append(attachment)
    draft.updated_at = utcnow()
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(key)
        raise
    for old in replaced:
        storage.delete(old.storage_key)
    return attachment


def _check_signature(
    session: Session, storage: AbstractStorage, key: str, content: bytes, kind: str
) -> None:
    from flask import current_app, has_app_context

    from portale.signatures.services import check_upload

    config = current_app.config if has_app_context() else {}
    check_upload(session, storage, storage_key=key, data=content, kind=kind, config=config)


def remove_attachment(
    session: Session, storage: AbstractStorage, draft_id: int, attachment_id: int, *, actor: User
) -> None:
    draft = _open_draft(session, actor, draft_id)
    attachment = next((a for a in draft.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise NotFound(attachment_id)
    key = attachment.storage_key
    session.delete(attachment)
    session.commit()
    storage.delete(key)


# --- submission ----------------------------------------------------------------------------


def office_for_municipality(session: Session, istat_code: str) -> Office | None:
    """The active SUAP serving the municipality (the first by id if, wrongly, several do)."""
    return session.scalar(
        select(Office)
        .join(office_municipality, office_municipality.c.office_id == Office.id)
        .where(office_municipality.c.istat_code == istat_code, Office.active.is_(True))
        .order_by(Office.id)
        .limit(1)
    )


def validate_draft(session: Session, draft: Draft) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(clean answers, errors) for a draft, attachments and competent office included."""
    spec = catalogue_services.spec_of(draft.type_version)
    clean, errors = formbuilder.validate_answers(
        spec, draft.answers or {}, choices=catalogue_services.field_choices(session, spec)
    )
    present = {a.slot for a in draft.attachments if a.procedure_id is None}
    for slot in spec.attachments:
        if slot.required and slot.slot not in present:
            errors[f"allegato:{slot.slot}"] = [
                str(_l("Allega il documento richiesto: «%(label)s».", label=slot.label))
            ]
    if office_for_municipality(session, draft.local_unit.municipality) is None:
        errors[GENERAL_ERROR] = [
            str(
                _l(
                    "Nessuno sportello SUAP è configurato per il Comune della sede scelta: la "
                    "pratica non può essere presentata online. La bozza resta salvata."
                )
            )
        ]
    return clean, errors


def submit_procedure(
    session: Session,
    storage: AbstractStorage,
    draft_id: int,
    *,
    actor: User,
    idempotency_key: str,
    now: datetime | None = None,
) -> Procedure:
    """File the draft (see :func:`file_draft`); the procedure, new or filed before."""
    procedure, _created = file_draft(
        session, storage, draft_id, actor=actor, idempotency_key=idempotency_key, now=now
    )
    return procedure


def file_draft(
    session: Session,
    storage: AbstractStorage,
    draft_id: int,
    *,
    actor: User,
    idempotency_key: str,
    now: datetime | None = None,
) -> tuple[Procedure, bool]:
    """File the draft: CUI, protocol number, events, dossier write-back, receipt.

    Returns the procedure and whether this call filed it (``False`` when an earlier or a
    concurrent call with the same key, or an earlier submission of the draft, did). Idempotent: a repeated ``idempotency_key`` (double click, refresh, retry) returns the
    procedure filed the first time, and so does submitting a draft already filed. The receipt is
    rendered, stored and e-mailed by an outbox job (:data:`RECEIPT_JOB`) queued with the filing.
    """
    idempotency_key = (idempotency_key or "").strip()[:100]
    if not idempotency_key:
        raise SubmissionInvalid(
            {GENERAL_ERROR: [str(_l("Richiesta non valida: ricarica la pagina."))]}
        )
    existing = _procedure_by_key(session, actor, idempotency_key)
    if existing is not None:
        return existing, False
    draft = get_draft(session, actor, draft_id)
    if draft.procedure_id is not None:
        return procedure_for(session, actor, draft.procedure_id), False

    clean, errors = validate_draft(session, draft)
    if errors:
        raise SubmissionInvalid(errors)

    now = now or utcnow()
    received_on = rome_date(now)
    company = draft.company
    unit = draft.local_unit
    version = draft.type_version
    spec = catalogue_services.spec_of(version)
    office = office_for_municipality(session, unit.municipality)
    assert office is not None  # validate_draft checked it
    routing = route(
        session,
        type_code=draft.type_code,
        spec=version.spec or {},
        municipality=unit.municipality,
        default_office_id=office.id,
    )
    if routing.office_id != office.id:
        office = session.get(Office, routing.office_id) or office
    cui = issue_cui(session, received_on)
    number = next_protocol_number(session, office.id, received_on.year)
    regime = version.regime.upper()
    procedure = Procedure(
        company_id=company.id,
        local_unit_id=unit.id,
        municipality=unit.municipality,
        office_id=office.id,
        type_code=draft.type_code,
        type_version_id=version.id,
        regime=regime,
        submitter_id=actor.id,
        idempotency_key=idempotency_key,
        answers=clean,
        cui_context=cui.context,
        cui_date=cui.data,
        cui_year=cui.data.year,
        cui_progressive=cui.progressive,
        cui_uuid=cui.uuid,
        protocol_year=received_on.year,
        protocol_number=number,
        submitted_at=now,
        state=STATE_PRESENTED,
        received_on=received_on,
    )
    session.add(procedure)
    try:
        session.flush()
    except IntegrityError:
        # PostgreSQL: the same key being filed by another instance makes this INSERT wait for
        # it, then fail on the unique key. Give back the numbers taken and answer with its
        # procedure (found by the production check: two instances, the same Idempotency-Key).
        return _lost_race(session, actor, idempotency_key), False

    declared = _declared_dossier_values(spec, draft, clean, company, unit)
    if declared:
        apply_declared_values(
            session, company, unit, declared, actor=actor, procedure_id=procedure.id
        )
    procedure.dossier_snapshot = serialise_company(company)
    presented = ProcedureEvent(
        procedure=procedure,
        kind=EVENT_PRESENTED,
        actor_id=actor.id,
        at=now,
        payload={
            "received_on": received_on.isoformat(),
            "protocol": procedure.protocol_label,
            "cui": cui.as_ssu(),
        },
    )
    session.add_all(
        [
            ProcedureEvent(
                procedure=procedure,
                kind=EVENT_STARTED,
                actor_id=draft.created_by_id,
                at=min(draft.created_at or now, now),
                payload={"draft_id": draft.id},
            ),
            presented,
        ]
    )
    for attachment in draft.attachments:
        if attachment.procedure_id is None:
            attachment.procedure_id = procedure.id
    draft.procedure_id = procedure.id
    queue_dispatches(session, procedure, routing.authorities)
    # State, last day and the summary row, computed from the events just written; the receipt
    # states the last day as it stood at filing, so the ``presented`` event keeps it.
    refresh(session, procedure, now)
    last_day = procedure.last_day
    presented.payload = {
        **presented.payload,
        "last_day": last_day.isoformat() if last_day else None,
    }
    # Rendering the receipt and e-mailing it happen off the request, in the same transaction
    # as the filing: the job cannot be lost, and the download renders it if it is not there yet.
    enqueue(
        session,
        RECEIPT_JOB,
        {"procedure_id": procedure.id},
        idempotency_key=f"receipt:{procedure.id}",
        procedure_id=procedure.id,
    )
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same key won the race: answer with its procedure.
        return _lost_race(session, actor, idempotency_key), False
    return procedure, True


def _lost_race(session: Session, actor: User, key: str) -> Procedure:
    session.rollback()
    existing = _procedure_by_key(session, actor, key)
    if existing is None:
        raise SubmissionInvalid(
            {GENERAL_ERROR: [str(_l("La pratica è già in presentazione: riprova tra poco."))]}
        )
    return existing


def _procedure_by_key(session: Session, actor: User, key: str) -> Procedure | None:
    procedure = session.scalar(select(Procedure).where(Procedure.idempotency_key == key))
    if procedure is None:
        return None
    return procedure_for(session, actor, procedure.id)


def _declared_dossier_values(
    spec: formbuilder.FormSpec,
    draft: Draft,
    clean: Mapping[str, Any],
    company: Company,
    unit: LocalUnit,
) -> dict[str, Any]:
    """Dossier path -> value for the prefilled fields the user changed and asked to write back."""
    current = dossier_values(spec, company, unit)
    declared = {}
    for name in draft.dossier_updates or ():
        f = spec.field(name)
        if f is None or not f.dossier_path or name not in clean:
            continue
        if str(clean[name]) != str(current.get(name, "")):
            declared[f.dossier_path] = clean[name]
    return declared


# --- reading -------------------------------------------------------------------------------


def list_procedures_for(session: Session, user: User) -> list[Procedure]:
    """Procedures of every company the user holds a mandate for, newest first."""
    company_ids = [c.id for c in accessible_companies(session, user)]
    if not company_ids:
        return []
    return list(
        session.scalars(
            select(Procedure)
            .where(Procedure.company_id.in_(company_ids))
            .options(
                selectinload(Procedure.events),
                selectinload(Procedure.company),
                selectinload(Procedure.office),
                selectinload(Procedure.type_version),
            )
            .order_by(Procedure.submitted_at.desc(), Procedure.id.desc())
        )
    )


def procedure_for(session: Session, user: User, procedure_id: int) -> Procedure:
    """The procedure if ``user`` may read its company; :class:`NotFound` otherwise."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise NotFound(procedure_id)
    _company(session, user, procedure.company_id, need="read")
    return procedure


def _company(session: Session, user: User, company_id: int, *, need: str = "edit") -> Company:
    try:
        return get_company_for(session, user, company_id, need=need)
    except NoAccess as error:
        raise NotFound(company_id) from error


# --- the legal term ------------------------------------------------------------------------


# --- prefill from the dossier --------------------------------------------------------------


def dossier_values(
    spec: formbuilder.FormSpec, company: Company, unit: LocalUnit | None
) -> dict[str, Any]:
    """Field name -> dossier value, as text the form shows, for every field bound to the dossier."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        if not f.dossier_path:
            continue
        try:
            value = read_path(company, unit, f.dossier_path)
        except KeyError:
            log.warning("unknown dossier path %r in field %r", f.dossier_path, f.name)
            continue
        if value is None:
            continue
        if f.kind == "checkbox":
            values[f.name] = bool(value)
        else:
            values[f.name] = _jsonable(value) if not isinstance(value, str) else value
    return values
