"""The pagoPA adapter against the fake pagoPA, every message validated against the specs."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import (
    POSITION_CANCELLED,
    POSITION_PAID,
    POSITION_PUBLISHED,
    CheckoutNotice,
    CheckoutReturn,
    ConnectorMalformedResponse,
    ConnectorRejected,
    ConnectorUnavailable,
    Creditor,
    Debtor,
    PaymentTransfer,
    PositionRequest,
)
from connectors.pagopa import PagoPaConnector
from tests.pagopa_support import validate_exchanges

CREDITOR = Creditor(
    tax_code="00514490010",
    name="Comune di Torino",
    iban="IT60X0542811101000000123456",
    office_name="SUAP Torino",
)
DEBTOR = Debtor(tax_code="11850450013", name="Pasticceria Rossi S.r.l.", email="a@b.it")
RETURNS = CheckoutReturn(
    ok_url="http://portale.test/ok",
    cancel_url="http://portale.test/annullato",
    error_url="http://portale.test/errore",
    waiting_url="http://portale.test/attesa",
)
DOC_HASH = base64.b64encode(hashlib.sha256(b"istanza").digest()).decode()


@pytest.fixture
def pagopa(fakes):
    fake = fakes.pagopa
    fake.behaviour.mode, fake.behaviour.slow_seconds = "ok", 3.0
    fake.exchanges.clear()
    fake.api_keys = {"fake-pagopa-key"}
    yield fake
    # Whatever the test did, both sides kept to the OpenAPI documents.
    validate_exchanges(fake.exchanges)


@pytest.fixture
def adapter(fakes):
    return PagoPaConnector(fakes.connector_settings()["pagopa"])


def position(iupd: str, *, stamp: bool = False) -> PositionRequest:
    transfers = [PaymentTransfer(5000, "Diritti di istruttoria SUAP", "9/0101108TS/")]
    if stamp:
        transfers.append(
            PaymentTransfer(1600, "Imposta di bollo sulla domanda", "9/0301109AP/", DOC_HASH)
        )
    return PositionRequest(
        position_id=iupd,
        iuv=f"01{abs(hash(iupd)) % 10**15:015d}",
        description="SCIA esercizio di vicinato",
        due_at=datetime.now(UTC) + timedelta(days=30),
        debtor=DEBTOR,
        transfers=tuple(transfers),
    )


def test_open_position_publishes_one_position_even_when_asked_twice(pagopa, adapter):
    request = position("PUI-T-1", stamp=True)
    first = adapter.open_position(CREDITOR, request, idempotency_key="k1")
    again = adapter.open_position(CREDITOR, request, idempotency_key="k1")
    assert first.status == POSITION_PUBLISHED
    assert len(first.notice_number) == 18 and first.notice_number == "3" + request.iuv
    assert first.amount_cents == 6600
    assert again.notice_number == first.notice_number
    assert len([k for k in pagopa.positions if k[1] == "PUI-T-1"]) == 1
    transfers = pagopa.position_for(first.notice_number)["paymentOption"][0]["transfer"]
    assert transfers[0]["iban"] == CREDITOR.iban and "stamp" not in transfers[0]
    assert transfers[1]["stamp"] == {
        "hashDocument": DOC_HASH,
        "stampType": "01",
        "provincialResidence": "TO",
    }


def test_reading_a_position_gives_the_receipt_once_paid(pagopa, adapter):
    opened = adapter.open_position(CREDITOR, position("PUI-T-2", stamp=True), idempotency_key="k")
    unpaid = adapter.read_position(CREDITOR, opened.position_id, opened.iuv)
    assert unpaid.status == POSITION_PUBLISHED and unpaid.receipts == ()
    receipt_id = pagopa.pay(opened.notice_number, psp="Poste Italiane")
    paid = adapter.read_position(CREDITOR, opened.position_id, opened.iuv)
    assert paid.status == POSITION_PAID
    (receipt,) = paid.receipts
    assert receipt.receipt_id == receipt_id
    assert receipt.amount_cents == 6600 and receipt.psp_name == "Poste Italiane"
    assert receipt.notice_number == opened.notice_number and receipt.iuv == opened.iuv
    assert receipt.payer_tax_code == DEBTOR.tax_code
    assert len(receipt.stamp_ids) == 1 and len(receipt.stamp_ids[0]) == 14


def test_checkout_redirects_to_a_page_where_the_payer_pays(pagopa, adapter):
    opened = adapter.open_position(CREDITOR, position("PUI-T-3"), idempotency_key="k")
    session = adapter.start_checkout(
        CREDITOR,
        (CheckoutNotice(opened.notice_number, opened.amount_cents, "Diritti SUAP"),),
        RETURNS,
        email="a@b.it",
    )
    page = httpx.get(session.redirect_url)
    assert page.status_code == 200
    assert "Paga" in page.text and "Annulla" in page.text and "Errore" in page.text
    assert "50.00" in page.text
    cancelled = httpx.post(session.redirect_url, data={"esito": "annulla"})
    assert cancelled.headers["location"] == RETURNS.cancel_url
    assert adapter.read_position(CREDITOR, opened.position_id, opened.iuv).status == "published"
    paid = httpx.post(session.redirect_url, data={"esito": "paga"})
    assert paid.status_code == 303 and paid.headers["location"] == RETURNS.ok_url
    assert adapter.read_position(CREDITOR, opened.position_id, opened.iuv).status == POSITION_PAID


def test_cancel_invalidates_an_unpaid_position_and_reports_a_paid_one(pagopa, adapter):
    unpaid = adapter.open_position(CREDITOR, position("PUI-T-4"), idempotency_key="k")
    assert adapter.cancel_position(CREDITOR, unpaid.position_id).status == POSITION_CANCELLED
    paid = adapter.open_position(CREDITOR, position("PUI-T-5"), idempotency_key="k")
    pagopa.pay(paid.notice_number)
    state = adapter.cancel_position(CREDITOR, paid.position_id)
    assert state.status == POSITION_PAID and len(state.receipts) == 1


@pytest.mark.parametrize("mode", ["down", "error"])
def test_pagopa_failing_is_worth_retrying(pagopa, adapter, mode):
    pagopa.behaviour.mode = mode
    with pytest.raises(ConnectorUnavailable):
        adapter.open_position(CREDITOR, position(f"PUI-T-{mode}"), idempotency_key="k")
    pagopa.behaviour.mode = "ok"
    assert not pagopa.positions.get((CREDITOR.tax_code, f"PUI-T-{mode}"))


def test_pagopa_slow_times_out(pagopa, fakes):
    adapter = PagoPaConnector({**fakes.connector_settings()["pagopa"], "timeout": "0.3"})
    pagopa.behaviour.mode, pagopa.behaviour.slow_seconds = "slow", 1.0
    with pytest.raises(ConnectorUnavailable):
        adapter.read_position(CREDITOR, "PUI-none", "01000000000000000")


def test_malformed_answers_are_refused(pagopa, adapter):
    opened = adapter.open_position(CREDITOR, position("PUI-T-6"), idempotency_key="k")
    pagopa.pay(opened.notice_number)
    pagopa.behaviour.mode = "malformed"
    with pytest.raises(ConnectorMalformedResponse):
        adapter.read_position(CREDITOR, opened.position_id, opened.iuv)


def test_a_wrong_key_is_refused(pagopa, fakes):
    adapter = PagoPaConnector({**fakes.connector_settings()["pagopa"], "api_key": "wrong"})
    with pytest.raises(ConnectorRejected):
        adapter.open_position(CREDITOR, position("PUI-T-7"), idempotency_key="k")


def test_digital_stamp_through_e_bollo(pagopa, adapter):
    started = adapter.buy_stamp(
        CREDITOR, DEBTOR, amount_cents=1600, document_hash=DOC_HASH, returns=RETURNS
    )
    assert started["redirect_url"].startswith(pagopa.base_url)
    assert len(started["notice_number"]) == 18
    iubd = pagopa.pay_stamp(started["notice_number"])
    (document,) = adapter.stamp_receipts(CREDITOR, started["notice_number"])
    assert f"<IUBD>{iubd}</IUBD>".encode() in document
    assert DOC_HASH.encode() in document


def test_every_message_was_checked_against_the_specs(pagopa, adapter):
    opened = adapter.open_position(CREDITOR, position("PUI-T-8", stamp=True), idempotency_key="k")
    pagopa.pay(opened.notice_number)
    adapter.read_position(CREDITOR, opened.position_id, opened.iuv)
    assert validate_exchanges(pagopa.exchanges) == 3
