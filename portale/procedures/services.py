"""Use cases of online filing: start and save a draft, attach files, submit, list.

Plain functions on a SQLAlchemy session (no Flask); each use case commits once. Access goes
through mandates (:func:`portale.dossier.access.get_company_for`); anything the user may not see
raises :class:`NotFound`, which the web and the API answer with 404.

Other areas (catalogue version, dossier paths and write-back, the legal clock) are reached
through the small functions at the end of this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from portale.accounts.models import Office, User, office_municipality
from portale.catalogue import services as catalogue_services
from portale.catalogue.models import ProcedureTypeVersion
from portale.clock.calendar import HolidayCalendar
from portale.db import utcnow
from portale.dossier.access import NoAccess, accessible_companies, get_company_for
from portale.dossier.models import Company, LocalUnit
from portale.dossier.paths import read_path
from portale.dossier.services import apply_declared_values, serialise_company
from portale.outbox.services import enqueue
from portale.payments.services import cancel_for_draft
from portale.procedures import formbuilder
from portale.procedures.cui import issue_cui
from portale.procedures.models import (
    EVENT_PRESENTED,
    EVENT_STARTED,
    STATE_PRESENTED,
    Attachment,
    Draft,
    Procedure,
    ProcedureEvent,
)
from portale.procedures.protocol import next_protocol_number
from portale.procedures.routing import queue_dispatches, route
from portale.reference.models import Municipality
from portale.storage import AbstractStorage, new_key

log = logging.getLogger(__name__)
ROME = ZoneInfo("Europe/Rome")

REGIME_SCIA = "SCIA"
REGIME_COMUNICAZIONE = "COMUNICAZIONE"
SCIA_CONTROL_DAYS = 60
GENERAL_ERROR = "__all__"
RECEIPT_JOB = "procedures.receipt"


class NotFound(LookupError):
    """No such draft or procedure for this user (shown as 404, never 403)."""


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
    version = current_version(session, type_code)
    if version is None:
        raise NotFound(type_code)
    spec = spec_of(version)
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
    spec = spec_of(draft.type_version)
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

KIND_LABELS = {
    "pdf": _l("PDF"),
    "p7m": _l("file firmato digitalmente (.p7m)"),
    "png": _l("immagine PNG"),
    "jpeg": _l("immagine JPEG"),
}
MIME_TYPES = {
    "pdf": "application/pdf",
    "p7m": "application/pkcs7-mime",
    "png": "image/png",
    "jpeg": "image/jpeg",
}
EXTENSIONS = {"pdf": "pdf", "p7m": "p7m", "png": "png", "jpg": "jpeg", "jpeg": "jpeg"}
SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2


def _der_length(data: bytes, pos: int) -> tuple[int, int] | None:
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:  # indefinite length (BER, used by some signing tools)
        return -1, pos + 1
    if count > 4 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def is_pkcs7_signed_data(data: bytes) -> bool:
    """A DER/BER ContentInfo whose contentType is the PKCS#7 SignedData OID."""
    if len(data) < 15 or data[0] != 0x30:
        return False
    header = _der_length(data, 1)
    if header is None:
        return False
    length, pos = header
    if length > 0 and pos + length > len(data):
        return False
    if data[pos : pos + 1] != b"\x06":
        return False
    oid = _der_length(data, pos + 1)
    if oid is None:
        return False
    oid_length, oid_pos = oid
    return data[oid_pos : oid_pos + oid_length] == SIGNED_DATA_OID


def _base64_body(data: bytes) -> bytes | None:
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        lines = [ln for ln in text.splitlines() if not ln.startswith(b"-----")]
        text = b"".join(lines)
    compact = re.sub(rb"\s+", b"", text)
    if not compact or not re.fullmatch(rb"[A-Za-z0-9+/=]+", compact[:4096]):
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def detect_kind(data: bytes) -> str | None:
    """What the bytes really are: ``pdf``, ``p7m``, ``png``, ``jpeg``, or ``None``."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if is_pkcs7_signed_data(data):
        return "p7m"
    decoded = _base64_body(data)
    if decoded is not None and is_pkcs7_signed_data(decoded):
        return "p7m"
    return None


def safe_filename(filename: str) -> str:
    """The last component of the name the user gave, for display only (never a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C"
    )
    name = name.strip().lstrip(".") or "allegato"
    return name[-200:]


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
    spec = spec_of(draft.type_version).attachment(slot)
    if spec is None:
        raise AttachmentRejected(_l("Questa pratica non prevede l'allegato «%(slot)s».", slot=slot))
    content = _read_limited(data, spec.max_bytes)
    display_name = safe_filename(filename)
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
    kind = detect_kind(content)
    accepted = ", ".join(str(KIND_LABELS.get(k, k)) for k in spec.accept)
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
    claimed = EXTENSIONS.get(extension)
    if claimed is not None and claimed != kind:
        raise AttachmentRejected(
            _l(
                "«%(label)s»: il file «%(name)s» ha estensione .%(ext)s "
                "ma il contenuto è un %(kind)s. "
                "Carica il file corretto.",
                label=spec.label,
                name=display_name,
                ext=extension,
                kind=KIND_LABELS[kind],
            )
        )
    key = new_key(f"attachments/{utcnow():%Y/%m}")
    storage.put(key, content)
    replaced = [a for a in draft.attachments if a.slot == slot and a.procedure_id is None]
    for old in replaced:
        draft.attachments.remove(old)
        session.delete(old)
    attachment = Attachment(
        slot=slot,
        filename=display_name,
        kind=kind,
        mime_type=MIME_TYPES[kind],
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
    spec = spec_of(draft.type_version)
    clean, errors = formbuilder.validate_answers(
        spec, draft.answers or {}, choices=field_choices(session, spec)
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
    spec = spec_of(version)
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
    regime = regime_of(version)
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
    term = legal_term(session, procedure, office=office)
    procedure.last_day = term.last_day
    session.add_all(
        [
            ProcedureEvent(
                procedure=procedure,
                kind=EVENT_STARTED,
                actor_id=draft.created_by_id,
                at=min(draft.created_at or now, now),
                payload={"draft_id": draft.id},
            ),
            ProcedureEvent(
                procedure=procedure,
                kind=EVENT_PRESENTED,
                actor_id=actor.id,
                at=now,
                payload={
                    "received_on": received_on.isoformat(),
                    "protocol": procedure.protocol_label,
                    "cui": cui.as_ssu(),
                    "last_day": term.last_day.isoformat() if term.last_day else None,
                },
            ),
        ]
    )
    for attachment in draft.attachments:
        if attachment.procedure_id is None:
            attachment.procedure_id = procedure.id
    draft.procedure_id = procedure.id
    queue_dispatches(session, procedure, routing.authorities)
    # The summary row the worklist and the reports read, computed from the events just written.
    from portale.backoffice.services import refresh

    refresh(session, procedure, now)
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


@dataclass(frozen=True)
class LegalTerm:
    """What the receipt and the list say about the administration's term."""

    regime: str
    received_on: date
    term_days: int | None
    last_day: date | None  # decision due by (or end of the SCIA control window)
    effective_on: date | None = None  # SCIA: effective at filing


def legal_term(
    session: Session, procedure: Procedure, *, office: Office | None = None
) -> LegalTerm:
    received_on = procedure.received_on or rome_date(procedure.submitted_at)
    regime = (procedure.regime or "").upper()
    if regime == REGIME_COMUNICAZIONE:
        return LegalTerm(regime, received_on, None, None)
    version = procedure.type_version
    days = term_days_of(version)
    if regime == REGIME_SCIA:
        days = control_days_of(version) or SCIA_CONTROL_DAYS
    if not days:
        return LegalTerm(regime, received_on, None, None)
    office = office or procedure.office
    municipality = session.get(Municipality, procedure.municipality)
    last_day = last_day_after(
        received_on,
        int(days),
        municipality=municipality,
        saturday_is_holiday=bool(office and office.saturday_is_holiday),
    )
    effective = received_on if regime == REGIME_SCIA else None
    return LegalTerm(regime, received_on, int(days), last_day, effective)


# --- the other areas: catalogue version, dossier paths and write-back, the clock -------------


def current_version(session: Session, type_code: str) -> ProcedureTypeVersion | None:
    return catalogue_services.current_version(session, type_code)


def spec_of(version: ProcedureTypeVersion) -> formbuilder.FormSpec:
    return formbuilder.parse_spec(version.spec or {})


def regime_of(version: ProcedureTypeVersion) -> str:
    return version.regime.upper()


def term_days_of(version: ProcedureTypeVersion) -> int | None:
    return version.term_days


def control_days_of(version: ProcedureTypeVersion) -> int | None:
    return version.control_window_days


def type_title_of(version: ProcedureTypeVersion) -> str:
    return version.title or version.code


def version_label_of(version: ProcedureTypeVersion) -> str:
    return str(version.version)


def field_choices(session: Session, spec: formbuilder.FormSpec) -> dict[str, list[tuple[str, str]]]:
    """Options that come from the database, loaded only when the form has such a field."""
    if not any(f.kind == "municipality" for f in spec.fields):
        return {}
    rows = session.execute(
        select(Municipality.istat_code, Municipality.name).order_by(Municipality.name)
    ).all()
    return {"municipality": [(code, name) for code, name in rows]}


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


def last_day_after(
    received_on: date,
    days: int,
    *,
    municipality: Municipality | None,
    saturday_is_holiday: bool = False,
) -> date:
    """``received_on + days`` moved past Sundays and holidays (national and patron day)."""
    patron = None
    if municipality is not None and municipality.patron_month and municipality.patron_day:
        patron = (municipality.patron_month, municipality.patron_day)
    calendar = HolidayCalendar(patron_day=patron, saturday_is_holiday=saturday_is_holiday)
    return calendar.roll_forward(received_on + timedelta(days=days))
