"""Filing a procedure whose type asks for fees at filing: pay through pagoPA, then it is filed.

When the competent office collects through pagoPA (it has creditor settings and a payment
connector is enabled), confirming a draft with fees due at filing opens one debt position
(queued in the outbox) instead of filing at once; the draft waits "in attesa di pagamento".
Once the receipt is read back, the outbox files it (CUI, protocol number, receipt, routing)
with the key the person confirmed with, so the filing happens once, even if the person never
comes back. An office that does not collect online files as before, with the fees shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portale.cases.models import Procedure
from portale.catalogue import services as catalogue_services
from portale.catalogue.fees import DUE_FILING, FeeLine, compute_fees, payable
from portale.payments import services as payments
from portale.payments.jobs import gateway_for
from portale.payments.models import OPEN_STATUSES, PAID, PURPOSE_FILING, PaymentPosition
from portale.procedures import services
from portale.procedures.models import Draft
from portale.storage import AbstractStorage, storage_from_config


def filing_fees(draft: Draft, answers: dict[str, Any] | None = None) -> list[FeeLine]:
    """The fees due when filing this draft, for its answers and its premises' municipality."""
    return payable(
        compute_fees(
            draft.type_version.spec or {},
            draft.answers if answers is None else answers,
            draft.local_unit.municipality,
            due=DUE_FILING,
        )
    )


def collects_online(session: Session, office: Any, config: dict[str, Any]) -> bool:
    if office is None or payments.creditor_for(session, office, config) is None:
        return False
    try:
        gateway_for(config)
    except Exception:  # noqa: BLE001 - no connector configured: the office cannot collect
        return False
    return True


def waiting_position(session: Session, draft: Draft) -> PaymentPosition | None:
    """The draft's filing position while it waits for (or has just had) its payment."""
    position = payments.position_for_draft(session, draft.id)
    if position is not None and (position.status in OPEN_STATUSES or position.status == PAID):
        return position
    return None


def confirm(
    session: Session,
    storage: AbstractStorage,
    draft_id: int,
    *,
    actor: Any,
    idempotency_key: str,
    config: dict[str, Any],
) -> Procedure | PaymentPosition:
    """File the draft, or, when fees are due and the office collects online, open its
    position and let the payment file it. Idempotent like filing: a repeated confirmation
    answers with the same position (or procedure)."""
    draft = services.get_draft(session, actor, draft_id)
    if draft.procedure_id is None:
        position = waiting_position(session, draft)
        if position is not None:
            return position
        _clean, errors = services.validate_draft(session, draft)
        if errors:
            raise services.SubmissionInvalid(errors)
        office = services.office_for_municipality(session, draft.local_unit.municipality)
        lines = filing_fees(draft)
        if lines and collects_online(session, office, config):
            position = payments.open_position(
                session,
                key=f"draft:{draft.id}:{PURPOSE_FILING}",
                purpose=PURPOSE_FILING,
                office=office,
                company=draft.company,
                lines=lines,
                description=f"{catalogue_services.type_title_of(draft.type_version)}"[:140],
                debtor_email=draft.company.pec or actor.email,
                config=config,
                stamp_document=payments.instance_document(
                    draft.answers or {},
                    [(a.slot, a.sha256) for a in draft.attachments if a.procedure_id is None],
                ),
                draft_id=draft.id,
                requested_by_id=actor.id,
                filing_key=idempotency_key,
            )
            session.commit()
            return position
    return services.submit_procedure(
        session, storage, draft_id, actor=actor, idempotency_key=idempotency_key
    )


def complete_filing(session: Session, position: PaymentPosition, config: dict[str, Any]) -> None:
    """The payment arrived: file the draft as the person who confirmed it (idempotent)."""
    from portale.accounts.models import User

    if position.draft_id is None:
        return  # filed already (the history moved) or the draft is gone: nothing to file
    actor = session.get(User, position.requested_by_id)
    procedure, _created = services.file_draft(
        session,
        storage_from_config(config),
        position.draft_id,
        actor=actor,
        idempotency_key=position.filing_key or f"paid:{position.key}",
    )
    payments.move_history(session, position, procedure)
    session.commit()


def register() -> None:
    payments.on_paid(PURPOSE_FILING, complete_filing)
