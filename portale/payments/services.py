"""Payment use cases: open a debt position for fees, apply what pagoPA says, cancel.

Every call to pagoPA goes through the outbox (:mod:`portale.payments.jobs`), queued in the
transaction that decided it, with a key per (procedure or draft, purpose): a retry never opens
a second position. What pagoPA answers is applied here: the position becomes published (it has
a notice number), paid (its receipt is stored), expired or cancelled; a receipt that arrives
for a position already paid, cancelled or expired is kept as ``refund_due``. Each change is an
event on the procedure, or, while a filing waits for its payment and has no procedure yet, in
the position's history, moved onto the procedure when it is filed.

What happens once a position is paid depends on its purpose (a filing completes, an act is
released): the areas above register it with :func:`on_paid`, so this area imports neither.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import (
    POSITION_CANCELLED,
    POSITION_EXPIRED,
    POSITION_PAID,
    POSITION_PUBLISHED,
    Creditor,
    Debtor,
    OpenedPosition,
    PaymentReceipt,
    PaymentTransfer,
    PositionRequest,
    PositionState,
)
from portale.catalogue.fees import FeeLine
from portale.clock import lifecycle as lc
from portale.db import utcnow
from portale.outbox.services import enqueue
from portale.payments.case import Procedure, ProcedureEvent, record_event
from portale.payments.models import (
    CANCELLED,
    DRAFTED,
    EXPIRED,
    OPEN_STATUSES,
    PAID,
    PUBLISHED,
    RECEIVED,
    REFUND_DUE,
    Payment,
    PaymentCreditor,
    PaymentPosition,
)

CONNECTOR = "pagopa"
OPEN_JOB = "payments.open"
POLL_JOB = "payments.poll"
CANCEL_JOB = "payments.cancel"
COMPLETE_JOB = "payments.complete"

# When the portal reads a published position again, by how many reads it has made: soon at
# first (the person may be paying now), then hourly until the due date (plus a day).
POLL_DELAYS = (15, 60, 300, 900, 1800)
POLL_HOURLY = 3600
EXPIRY_GRACE = timedelta(days=1)


class PaymentsNotConfigured(LookupError):
    """The office has no pagoPA creditor settings: it cannot collect fees online."""


@dataclass(frozen=True)
class Completion:
    """What happens when a position of a purpose is paid (run by an outbox job)."""

    run: Callable[[Session, PaymentPosition, dict[str, Any]], None]


_completions: dict[str, Completion] = {}


def on_paid(purpose: str, run: Callable[[Session, PaymentPosition, dict[str, Any]], None]) -> None:
    """Register what completes a paid position of ``purpose`` (idempotent; may commit)."""
    _completions[purpose] = Completion(run)


# --- the office as creditor -------------------------------------------------------------------


def creditor_for(
    session: Session, office: Any, config: Mapping[str, Any] | None = None
) -> Creditor | None:
    """The office's pagoPA creditor: its admin-page row, else ``PAGOPA_CREDITORS[code]``."""
    row = session.scalar(select(PaymentCreditor).where(PaymentCreditor.office_id == office.id))
    if row is not None:
        return Creditor(
            tax_code=row.tax_code,
            name=row.name,
            iban=row.iban,
            office_name=office.name,
            api_key=row.api_key or None,
            stamp_province=row.stamp_province or "TO",
        )
    found = ((config or {}).get("PAGOPA_CREDITORS") or {}).get(office.code)
    if not found:
        return None
    return Creditor(
        tax_code=str(found["tax_code"]),
        name=str(found.get("name") or office.name),
        iban=str(found["iban"]),
        office_name=office.name,
        api_key=found.get("api_key"),
        stamp_province=str(found.get("stamp_province") or "TO"),
    )


def segregation_code(session: Session, office_id: int) -> str:
    row = session.scalar(select(PaymentCreditor).where(PaymentCreditor.office_id == office_id))
    return (row.segregation_code if row else None) or "01"


def save_creditor(
    session: Session,
    office_id: int,
    *,
    tax_code: str,
    name: str,
    iban: str,
    api_key: str | None,
    stamp_province: str,
    segregation: str,
) -> PaymentCreditor:
    row = session.scalar(select(PaymentCreditor).where(PaymentCreditor.office_id == office_id))
    if row is None:
        row = PaymentCreditor(office_id=office_id)
        session.add(row)
    row.tax_code, row.name, row.iban = tax_code, name, iban.replace(" ", "").upper()
    if api_key:  # an empty field keeps the key already stored
        row.api_key = api_key
    row.stamp_province, row.segregation_code = stamp_province.upper(), segregation
    session.commit()
    return row


# --- identifiers ------------------------------------------------------------------------------


def iuv_for(segregation: str, number: int) -> str:
    """A 17-digit IUV for aux digit 3: segregation code, 13 digits, check digits (mod 93)."""
    base = f"{number:013d}"
    check = int(f"3{segregation}{base}") % 93
    return f"{segregation}{base}{check:02d}"


def document_hash(content: bytes) -> str:
    """The stamp duty's document hash: SHA-256, base64 (44 characters)."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def instance_document(answers: Mapping[str, Any], attachments: list[tuple[str, str]]) -> bytes:
    """The instance as one canonical document: its answers and each attachment's SHA-256."""
    return json.dumps(
        {"answers": answers, "attachments": sorted(attachments)}, sort_keys=True, default=str
    ).encode()


# --- opening -----------------------------------------------------------------------------------


def lines_as_json(lines: list[FeeLine]) -> list[dict[str, Any]]:
    return [
        {
            "code": line.code,
            "kind": line.kind,
            "label": line.label,
            "label_en": line.label_en,
            "amount_cents": line.amount_cents,
            "category": line.category,
            "legal_basis": line.legal_basis,
            "basis": list(line.basis),
        }
        for line in lines
        if line.amount_cents > 0
    ]


def open_position(
    session: Session,
    *,
    key: str,
    purpose: str,
    office: Any,
    company: Any,
    lines: list[FeeLine],
    description: str,
    debtor_email: str | None,
    config: Mapping[str, Any],
    stamp_document: bytes | None = None,
    draft_id: int | None = None,
    procedure: Procedure | None = None,
    requested_by_id: int | None = None,
    filing_key: str | None = None,
    act_id: int | None = None,
    now: datetime | None = None,
) -> PaymentPosition:
    """Write the position and queue its opening on pagoPA, in the caller's transaction.

    The same ``key`` returns the position written the first time. Raises
    :class:`PaymentsNotConfigured` when the office is not a pagoPA creditor.
    """
    existing = session.scalar(select(PaymentPosition).where(PaymentPosition.key == key))
    if existing is not None:
        return existing
    creditor = creditor_for(session, office, config)
    if creditor is None:
        raise PaymentsNotConfigured(office.code)
    items = lines_as_json(lines)
    if not items:
        raise ValueError("nothing to pay")
    now = now or utcnow()
    days = int(config.get("PAGOPA_DUE_DAYS", 30))
    has_stamp = any(line["kind"] == "stamp_duty" for line in items)
    position = PaymentPosition(
        key=key,
        purpose=purpose,
        office_id=office.id,
        company_id=company.id,
        draft_id=draft_id,
        procedure_id=procedure.id if procedure is not None else None,
        requested_by_id=requested_by_id,
        filing_key=filing_key,
        act_id=act_id,
        creditor_tax_code=creditor.tax_code,
        description=description[:140],
        amount_cents=sum(line["amount_cents"] for line in items),
        lines=items,
        stamp_hash=document_hash(stamp_document) if has_stamp and stamp_document else None,
        debtor_tax_code=company.tax_code,
        debtor_name=company.name,
        debtor_email=debtor_email,
        status=DRAFTED,
        due_at=now + timedelta(days=days),
        created_at=now,
        history=[],
    )
    session.add(position)
    session.flush()
    position.iuv = iuv_for(segregation_code(session, office.id), position.id)
    position.iupd = f"PUI-{office.code}-{position.id:09d}"[:64]
    note(session, position, lc.PAYMENT_REQUESTED, now, actor_id=requested_by_id)
    enqueue(
        session,
        OPEN_JOB,
        {"position_id": position.id},
        idempotency_key=f"{OPEN_JOB}:{key}",
        connector=CONNECTOR,
        procedure_id=position.procedure_id,
        max_attempts=20,
    )
    return position


def note(
    session: Session,
    position: PaymentPosition,
    kind: str,
    at: datetime,
    *,
    actor_id: int | None = None,
    **extra: Any,
) -> None:
    """An event of the position: on its procedure, or in its history until there is one."""
    payload = {
        "position": position.id,
        "purpose": position.purpose,
        "amount_cents": position.amount_cents,
        **({"notice_number": position.notice_number} if position.notice_number else {}),
        **extra,
    }
    procedure = session.get(Procedure, position.procedure_id) if position.procedure_id else None
    if procedure is not None:
        record_event(session, procedure, kind, payload=payload, at=at, actor_id=actor_id)
    else:
        position.history = [
            *(position.history or []),
            {"kind": kind, "at": at.isoformat(), "actor_id": actor_id, "payload": payload},
        ]


def move_history(session: Session, position: PaymentPosition, procedure: Procedure) -> None:
    """A filing paid before it existed: its payment events join the procedure's events."""
    for item in position.history or []:
        session.add(
            ProcedureEvent(
                procedure_id=procedure.id,
                kind=item["kind"],
                actor_id=item.get("actor_id"),
                at=datetime.fromisoformat(item["at"]),
                payload=item["payload"],
            )
        )
    position.history = []
    position.procedure_id = procedure.id


# --- what pagoPA says ---------------------------------------------------------------------


def request_for(position: PaymentPosition) -> PositionRequest:
    transfers = tuple(
        PaymentTransfer(
            amount_cents=line["amount_cents"],
            description=line["label"],
            category=line["category"],
            stamp_document_hash=position.stamp_hash if line["kind"] == "stamp_duty" else None,
        )
        for line in position.lines
    )
    return PositionRequest(
        position_id=position.iupd or "",
        iuv=position.iuv or "",
        description=position.description,
        due_at=position.due_at,
        debtor=Debtor(
            tax_code=position.debtor_tax_code,
            name=position.debtor_name,
            email=position.debtor_email,
            legal_person=len(position.debtor_tax_code) == 11,
        ),
        transfers=transfers,
    )


def apply_opened(
    session: Session, position: PaymentPosition, opened: OpenedPosition, now: datetime
) -> None:
    if position.status != DRAFTED:
        return
    position.notice_number = opened.notice_number
    position.status = PUBLISHED
    position.published_at = now
    position.last_error = None
    note(session, position, lc.PAYMENT_PUBLISHED, now)
    schedule_check(session, position, now)
    if position.closed_at is not None:
        # Cancelled (a draft abandoned) while pagoPA was still opening it: cancel it there too.
        request_cancel(session, position, now)


def schedule_check(
    session: Session, position: PaymentPosition, now: datetime, *, soon: bool = False
) -> None:
    """Queue the next read of the position (a new job per read, so each has its own key)."""
    position.checks = (position.checks or 0) + 1
    n = position.checks
    delay = 0 if soon else (POLL_DELAYS[n - 1] if n <= len(POLL_DELAYS) else POLL_HOURLY)
    enqueue(
        session,
        POLL_JOB,
        {"position_id": position.id},
        idempotency_key=f"{POLL_JOB}:{position.key}:{n}",
        connector=CONNECTOR,
        procedure_id=position.procedure_id,
        run_at=now + timedelta(seconds=delay),
    )


def apply_state(
    session: Session, position: PaymentPosition, state: PositionState, now: datetime
) -> None:
    """Apply a read of the position: receipts first (they are money), then the status."""
    for receipt in state.receipts:
        record_receipt(session, position, receipt, now)
    if state.status == POSITION_PAID and not state.receipts and position.status in OPEN_STATUSES:
        schedule_check(session, position, now)  # paid, receipt not there yet: read again
        return
    if position.status in OPEN_STATUSES and state.status in (POSITION_EXPIRED, POSITION_CANCELLED):
        expired = state.status == POSITION_EXPIRED
        position.status = EXPIRED if expired else CANCELLED
        position.closed_at = now
        note(session, position, lc.PAYMENT_EXPIRED if expired else lc.PAYMENT_CANCELLED, now)
        return
    payable = position.status == PUBLISHED and state.status == POSITION_PUBLISHED
    if payable and now < position.due_at + EXPIRY_GRACE:
        schedule_check(session, position, now)


def record_receipt(
    session: Session, position: PaymentPosition, receipt: PaymentReceipt, now: datetime
) -> Payment | None:
    """Store a receipt once; a second payment, or one for a closed position, is a refund due."""
    if session.scalar(select(Payment.id).where(Payment.receipt_id == receipt.receipt_id)):
        return None
    undue = position.status != PUBLISHED and position.status != DRAFTED
    if position.closed_at is not None and position.status in OPEN_STATUSES:
        undue = True  # cancelled by the portal (draft abandoned) but paid meanwhile
    payment = Payment(
        position=position,
        receipt_id=receipt.receipt_id,
        iuv=receipt.iuv,
        notice_number=receipt.notice_number,
        amount_cents=receipt.amount_cents,
        paid_at=receipt.paid_at,
        psp_name=receipt.psp_name[:140],
        payer_tax_code=receipt.payer_tax_code,
        payer_name=receipt.payer_name,
        method=receipt.method,
        stamp_ids=list(receipt.stamp_ids),
        status=REFUND_DUE if undue else RECEIVED,
        recorded_at=now,
    )
    session.add(payment)
    if undue:
        if position.status in OPEN_STATUSES:  # money came for what the portal had cancelled
            position.status, position.paid_at = PAID, receipt.paid_at
        note(session, position, lc.PAYMENT_REFUND_DUE, now, receipt_id=receipt.receipt_id)
        return payment
    position.status = PAID
    position.paid_at = receipt.paid_at
    note(
        session,
        position,
        lc.PAYMENT_RECEIVED,
        now,
        receipt_id=receipt.receipt_id,
        psp=receipt.psp_name,
        stamp_ids=list(receipt.stamp_ids),
    )
    if position.purpose in _completions:
        enqueue(
            session,
            COMPLETE_JOB,
            {"position_id": position.id},
            idempotency_key=f"{COMPLETE_JOB}:{position.key}",
            procedure_id=position.procedure_id,
            max_attempts=20,
        )
    # One more read later: a twin payment of the same notice shows up as a refund due.
    enqueue(
        session,
        POLL_JOB,
        {"position_id": position.id, "after_payment": True},
        idempotency_key=f"{POLL_JOB}:{position.key}:after-payment",
        connector=CONNECTOR,
        procedure_id=position.procedure_id,
        run_at=now + timedelta(days=1),
    )
    return payment


def complete(session: Session, position: PaymentPosition, config: dict[str, Any]) -> None:
    completion = _completions.get(position.purpose)
    if completion is not None:
        completion.run(session, position, config)


# --- cancelling --------------------------------------------------------------------------


def request_cancel(session: Session, position: PaymentPosition, now: datetime) -> None:
    """Stop collecting an open position (in the caller's transaction).

    A position not yet on pagoPA is cancelled at once (its opening job sees that); a
    published one is invalidated through the outbox.
    """
    if position.status not in OPEN_STATUSES:
        return
    position.closed_at = position.closed_at or now
    if position.status == DRAFTED:
        position.status = CANCELLED
        note(session, position, lc.PAYMENT_CANCELLED, now)
        return
    enqueue(
        session,
        CANCEL_JOB,
        {"position_id": position.id},
        idempotency_key=f"{CANCEL_JOB}:{position.key}",
        connector=CONNECTOR,
        procedure_id=position.procedure_id,
    )


def cancel_for_draft(session: Session, draft_id: int, now: datetime | None = None) -> None:
    for position in session.scalars(
        select(PaymentPosition).where(
            PaymentPosition.draft_id == draft_id, PaymentPosition.status.in_(OPEN_STATUSES)
        )
    ):
        request_cancel(session, position, now or utcnow())


# --- reading ----------------------------------------------------------------------------------


def position_for_draft(session: Session, draft_id: int) -> PaymentPosition | None:
    """The filing position of a draft waiting for payment (the latest one)."""
    return session.scalar(
        select(PaymentPosition)
        .where(PaymentPosition.draft_id == draft_id)
        .order_by(PaymentPosition.id.desc())
        .limit(1)
    )


def positions_of_procedure(session: Session, procedure_id: int) -> list[PaymentPosition]:
    return list(
        session.scalars(
            select(PaymentPosition)
            .where(PaymentPosition.procedure_id == procedure_id)
            .order_by(PaymentPosition.id)
        )
    )


def open_positions_of_company(session: Session, company_ids: list[int]) -> list[PaymentPosition]:
    if not company_ids:
        return []
    return list(
        session.scalars(
            select(PaymentPosition)
            .where(
                PaymentPosition.company_id.in_(company_ids),
                PaymentPosition.status.in_(OPEN_STATUSES),
            )
            .order_by(PaymentPosition.id.desc())
        )
    )
