"""Fees paid through pagoPA when filing, against the fake pagoPA, through the outbox.

Every request the portal sends and every answer the fake gives is validated against
``shared/specs/pagopa`` at the end of each test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from connectors.base import Creditor
from connectors.pagopa import PagoPaConnector
from portale.cases.models import Procedure
from portale.db import utcnow
from portale.outbox.models import QUEUED, RETRYING, OutboxJob
from portale.payments import services as payments
from portale.payments.models import (
    CANCELLED,
    DRAFTED,
    EXPIRED,
    PAID,
    PUBLISHED,
    REFUND_DUE,
    Payment,
    PaymentPosition,
)
from portale.procedures import payment_filing
from portale.procedures import services as filing
from portale.procedures.models import Draft
from portale.storage import LocalStorage
from tests.integration.connectors.support import drain
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world
from tests.pagopa_support import validate_exchanges

FEES = [
    {
        "code": "diritti",
        "kind": "secretarial",
        "due": "filing",
        "label": "Diritti di segreteria SUAP",
        "label_en": "SUAP fee",
        "amount_cents": 5000,
    },
    {
        "code": "bollo",
        "kind": "stamp_duty",
        "due": "filing",
        "label": "Imposta di bollo sulla domanda",
        "label_en": "Stamp duty",
        "amount_cents": 1600,
    },
    {
        "code": "bollo_atto",
        "kind": "stamp_duty",
        "due": "act",
        "label": "Imposta di bollo sull'atto",
        "label_en": "Stamp duty on the act",
        "amount_cents": 1600,
    },
]
IBAN = "IT60X0542811101000000123456"


@pytest.fixture
def pagopa(fakes, wired):
    fake = fakes.pagopa
    fake.reset()
    yield fake
    validate_exchanges(fake.exchanges)


def make_due(session):
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.status.in_((QUEUED, RETRYING)))
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()


def run_outbox(app, session, rounds=3):
    for _ in range(rounds):
        make_due(session)
        drain(app)
    session.expire_all()


@pytest.fixture
def draft_with_fees(session, tmp_path, app):
    world = make_world(session)
    world.version.spec = {**world.version.spec, "fees": FEES}
    payments.save_creditor(
        session,
        world.office.id,
        tax_code="00514490010",
        name="Comune di Prova",
        iban=IBAN,
        api_key=None,
        stamp_province="TO",
        segregation="01",
    )
    storage = LocalStorage(tmp_path)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    filing.save_draft(session, draft.id, actor=world.user, answers=VALID_ANSWERS)
    filing.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    return world, draft, storage


def confirm(app, session, world, draft, storage, key="k1"):
    return payment_filing.confirm(
        session, storage, draft.id, actor=world.user, idempotency_key=key, config=dict(app.config)
    )


def test_confirming_opens_one_position_and_the_payment_files_the_procedure(
    app, session, pagopa, draft_with_fees
):
    world, draft, storage = draft_with_fees
    position = confirm(app, session, world, draft, storage)
    assert isinstance(position, PaymentPosition) and position.status == DRAFTED
    assert position.amount_cents == 6600  # the act's stamp duty is not due at filing
    assert (
        session.scalar(select(Procedure.id).where(Procedure.company_id == world.company.id)) is None
    )
    assert confirm(app, session, world, draft, storage, key="k2").id == position.id

    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert position.status == PUBLISHED and len(position.notice_number) == 18
    sent = pagopa.position_for(position.notice_number)
    (option,) = sent["paymentOption"]
    assert [t.get("iban") for t in option["transfer"]] == [IBAN, None]
    assert option["transfer"][1]["stamp"]["hashDocument"] == position.stamp_hash
    assert len(position.stamp_hash) == 44

    # Paid at any channel; the person never comes back: the outbox reads the receipt.
    receipt_id = pagopa.pay(position.notice_number)
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert position.status == PAID
    (payment,) = position.payments
    assert payment.receipt_id == receipt_id and payment.amount_cents == 6600
    assert payment.stamp_ids and payment.status == "paid"
    procedure = session.get(Procedure, position.procedure_id)
    assert procedure is not None and procedure.cui_uuid and procedure.protocol_number
    assert session.get(Draft, draft.id).procedure_id == procedure.id
    kinds = [e.kind for e in procedure.events]
    assert (
        kinds.index("payment_requested")
        < kinds.index("payment_received")
        < kinds.index("presented")
    )
    assert position.history == []
    assert pagopa.creates == 1


def test_pagopa_down_when_confirming_keeps_the_filing_waiting_and_opens_once(
    app, session, pagopa, draft_with_fees
):
    world, draft, storage = draft_with_fees
    pagopa.behaviour.mode = "down"
    position = confirm(app, session, world, draft, storage)
    run_outbox(app, session)
    assert session.get(PaymentPosition, position.id).status == DRAFTED
    jobs = session.scalars(select(OutboxJob).where(OutboxJob.handler == payments.OPEN_JOB)).all()
    assert [j.status for j in jobs] == [RETRYING]
    # pagoPA comes back, and the first attempt had in fact been created there (its answer lost).
    pagopa.behaviour.mode = "ok"
    from connectors.http import reset_breakers
    from portale.outbox import services as outbox

    reset_breakers()
    outbox.reset_breakers()
    position = session.get(PaymentPosition, position.id)
    creditor = payments.creditor_for(session, position.office, dict(app.config))
    PagoPaConnector(app.config["CONNECTORS"]["pagopa"]).open_position(
        creditor, payments.request_for(position), idempotency_key="lost"
    )
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert position.status == PUBLISHED
    assert pagopa.creates == 1
    assert len([k for k in pagopa.positions if k[1] == position.iupd]) == 1


def test_a_second_payment_of_the_same_notice_is_a_refund_due(app, session, pagopa, draft_with_fees):
    world, draft, storage = draft_with_fees
    position = confirm(app, session, world, draft, storage)
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    pagopa.pay(position.notice_number)
    run_outbox(app, session, rounds=1)  # read, filed; the confirming read is a day later
    assert session.get(PaymentPosition, position.id).status == PAID
    twin = pagopa.pay(position.notice_number, again=True)
    run_outbox(app, session)  # the read made a day after the payment
    payments_of = session.scalars(select(Payment).where(Payment.position_id == position.id)).all()
    assert [(p.status) for p in payments_of] == ["paid", REFUND_DUE]
    assert payments_of[1].receipt_id == twin
    procedure = session.get(Procedure, session.get(PaymentPosition, position.id).procedure_id)
    assert [e.kind for e in procedure.events].count("presented") == 1
    assert "payment_refund_due" in [e.kind for e in procedure.events]


def test_an_abandoned_draft_has_its_position_cancelled(app, session, pagopa, draft_with_fees):
    world, draft, storage = draft_with_fees
    position = confirm(app, session, world, draft, storage)
    run_outbox(app, session)
    nav = session.get(PaymentPosition, position.id).notice_number
    filing.delete_draft(session, storage, draft.id, actor=world.user)
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert position.status == CANCELLED
    assert pagopa.position_for(nav)["status"] == "INVALID"
    assert [h["kind"] for h in position.history][-1] == "payment_cancelled"


def test_paid_while_being_cancelled_is_a_refund_due(app, session, pagopa, draft_with_fees):
    world, draft, storage = draft_with_fees
    position = confirm(app, session, world, draft, storage)
    run_outbox(app, session)
    nav = session.get(PaymentPosition, position.id).notice_number
    filing.delete_draft(session, storage, draft.id, actor=world.user)
    pagopa.pay(nav)  # paid at the tobacconist before the cancellation reached pagoPA
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert [p.status for p in position.payments] == [REFUND_DUE]
    assert position.procedure_id is None


def test_an_unpaid_position_expires(app, session, pagopa, draft_with_fees):
    world, draft, storage = draft_with_fees
    position = confirm(app, session, world, draft, storage)
    run_outbox(app, session)
    pagopa.expire(session.get(PaymentPosition, position.id).notice_number)
    run_outbox(app, session)
    position = session.get(PaymentPosition, position.id)
    assert position.status == EXPIRED and position.payments == []
    assert position.procedure_id is None


def test_an_office_that_does_not_collect_online_files_at_once(
    app, session, pagopa, draft_with_fees
):
    world, draft, storage = draft_with_fees
    from portale.payments.models import PaymentCreditor

    session.execute(PaymentCreditor.__table__.delete())
    session.commit()
    filed = confirm(app, session, world, draft, storage)
    assert isinstance(filed, Procedure) and filed.protocol_number
    assert session.scalar(select(PaymentPosition.id)) is None


def test_creditor_from_environment_when_no_admin_row(app, session, draft_with_fees):
    world, _draft, _storage = draft_with_fees
    from portale.payments.models import PaymentCreditor

    session.execute(PaymentCreditor.__table__.delete())
    config = {"PAGOPA_CREDITORS": {world.office.code: {"tax_code": "00514490010", "iban": IBAN}}}
    assert payments.creditor_for(session, world.office, config) == Creditor(
        tax_code="00514490010", name=world.office.name, iban=IBAN, office_name=world.office.name
    )
