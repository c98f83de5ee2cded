"""Mapping between the payment connector's dataclasses and pagoPA's messages.

GPD (``gpd.json``): ``PaymentPositionModel`` out, ``PaymentPositionModel`` /
``PaymentPositionModelBaseResponse`` back. GPD receipts (``gpd_payments.json``): the receipt
(RT) as XML. Checkout (``checkout_v2.json``): ``CartRequestV2``. @e.bollo (``e_bollo_20.json``):
``GetMbdRequest`` and ``GetCartResponse``. Kept apart from the HTTP client so both can be
tested alone (see connectors/README.md).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from connectors.base import (
    POSITION_CANCELLED,
    POSITION_DRAFTED,
    POSITION_EXPIRED,
    POSITION_PAID,
    POSITION_PUBLISHED,
    CheckoutNotice,
    CheckoutReturn,
    ConnectorMalformedResponse,
    Creditor,
    Debtor,
    OpenedPosition,
    PaymentReceipt,
    PositionRequest,
    PositionState,
)

MAX_TRANSFERS = 5  # TransferModel.idTransfer is "1".."5"
MAX_TEXT = 140
STAMP_TYPE = "01"  # imposta di bollo, 16 euro (tabella dei tipi di marca)

GPD_STATUS = {
    "DRAFT": POSITION_DRAFTED,
    "PUBLISHED": POSITION_PUBLISHED,
    "VALID": POSITION_PUBLISHED,
    "PARTIALLY_PAID": POSITION_PAID,
    "PAID": POSITION_PAID,
    "REPORTED": POSITION_PAID,
    "INVALID": POSITION_CANCELLED,
    "EXPIRED": POSITION_EXPIRED,
}


def gpd_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(re.sub(r"Z$", "+00:00", text.strip()))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def notice_number(iuv: str) -> str:
    """The NAV for aux digit 3 (the creditor's own IUV with its segregation code)."""
    return f"3{iuv}"


def to_position(creditor: Creditor, request: PositionRequest) -> dict[str, Any]:
    if not 1 <= len(request.transfers) <= MAX_TRANSFERS:
        raise ValueError(f"a pagoPA position has 1 to {MAX_TRANSFERS} transfers")
    transfers = []
    for index, t in enumerate(request.transfers, start=1):
        transfer: dict[str, Any] = {
            "idTransfer": str(index),
            "amount": t.amount_cents,
            "organizationFiscalCode": creditor.tax_code,
            "remittanceInformation": t.description[:MAX_TEXT],
            "category": t.category,
        }
        if t.is_stamp:
            transfer["stamp"] = {
                "hashDocument": t.stamp_document_hash,
                "stampType": STAMP_TYPE,
                "provincialResidence": creditor.stamp_province,
            }
        else:
            transfer["iban"] = creditor.iban
        transfers.append(transfer)
    debtor: Debtor = request.debtor
    body: dict[str, Any] = {
        "iupd": request.position_id,
        "type": "G" if debtor.legal_person else "F",
        "fiscalCode": debtor.tax_code,
        "fullName": debtor.name[:MAX_TEXT],
        "companyName": creditor.name[:MAX_TEXT],
        "switchToExpired": True,
        "paymentOption": [
            {
                "iuv": request.iuv,
                "amount": request.amount_cents,
                "description": request.description[:MAX_TEXT],
                "isPartialPayment": False,
                "dueDate": gpd_datetime(request.due_at),
                "transfer": transfers,
            }
        ],
    }
    if creditor.office_name:
        body["officeName"] = creditor.office_name[:MAX_TEXT]
    if debtor.email:
        body["email"] = debtor.email
    return body


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or mapping.get(key) in (None, ""):
        raise ConnectorMalformedResponse(f"{where}: {key} missing")
    return mapping[key]


def status_of(body: dict[str, Any]) -> str:
    status = _require(body, "status", "GPD position")
    if status not in GPD_STATUS:
        raise ConnectorMalformedResponse(f"GPD position: unknown status {status!r}")
    return GPD_STATUS[status]


def to_opened(body: Any) -> OpenedPosition:
    options = _require(body, "paymentOption", "GPD position")
    if not isinstance(options, list) or not options:
        raise ConnectorMalformedResponse("GPD position: no payment option")
    option = options[0]
    iuv = str(_require(option, "iuv", "GPD payment option"))
    amount = _require(option, "amount", "GPD payment option")
    if not isinstance(amount, int) or amount < 1:
        raise ConnectorMalformedResponse("GPD payment option: amount is not a positive integer")
    try:
        due_at = parse_datetime(str(_require(option, "dueDate", "GPD payment option")))
    except ValueError as error:
        raise ConnectorMalformedResponse(f"GPD payment option: dueDate: {error}") from error
    nav = str(option.get("nav") or notice_number(iuv))
    if not re.fullmatch(r"\d{18}", nav):
        raise ConnectorMalformedResponse(f"GPD payment option: notice number {nav!r}")
    return OpenedPosition(
        position_id=str(_require(body, "iupd", "GPD position")),
        iuv=iuv,
        notice_number=nav,
        amount_cents=amount,
        due_at=due_at,
        status=status_of(body),
    )


def _text(node: Element | None, path: str) -> str | None:
    found = node.find(path) if node is not None else None
    return found.text.strip() if found is not None and found.text else None


def _cents(text: str | None, where: str) -> int:
    try:
        value = Decimal(text or "")
    except InvalidOperation as error:
        raise ConnectorMalformedResponse(f"receipt: {where} is not an amount") from error
    return int((value * 100).to_integral_value())


def _stamp_ids(root: Element) -> tuple[str, ...]:
    ids = []
    for attachment in root.iter("MBDAttachment"):
        try:
            inner = ElementTree.fromstring(base64.b64decode(attachment.text or ""))
        except (ValueError, ElementTree.ParseError) as error:
            raise ConnectorMalformedResponse("receipt: MBDAttachment unreadable") from error
        if iubd := _text(inner, ".//IUBD"):
            ids.append(iubd)
    return tuple(ids)


def to_receipt(xml: str | bytes) -> PaymentReceipt:
    """The receipt (RT, ``ctReceipt`` of pagoPA's paSendRT) as the GPD receipts API gives it."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise ConnectorMalformedResponse(f"receipt: not XML: {error}") from error
    receipt = root if root.tag == "receipt" else root.find(".//receipt")
    if receipt is None:
        raise ConnectorMalformedResponse("receipt: no <receipt> element")
    if _text(receipt, "outcome") != "OK":
        raise ConnectorMalformedResponse("receipt: outcome is not OK")
    required = {
        name: _text(receipt, name)
        for name in (
            "receiptId",
            "noticeNumber",
            "creditorReferenceId",
            "paymentAmount",
            "paymentDateTime",
        )
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ConnectorMalformedResponse(f"receipt: {', '.join(missing)} missing")
    try:
        paid_at = parse_datetime(required["paymentDateTime"] or "")
    except ValueError as error:
        raise ConnectorMalformedResponse(f"receipt: paymentDateTime: {error}") from error
    return PaymentReceipt(
        receipt_id=required["receiptId"] or "",
        iuv=required["creditorReferenceId"] or "",
        notice_number=required["noticeNumber"] or "",
        amount_cents=_cents(required["paymentAmount"], "paymentAmount"),
        paid_at=paid_at,
        psp_name=_text(receipt, "pspCompanyName") or _text(receipt, "idPSP") or "",
        payer_tax_code=_text(receipt, "debtor/uniqueIdentifier/entityUniqueIdentifierValue"),
        payer_name=_text(receipt, "debtor/fullName"),
        method=_text(receipt, "paymentMethod"),
        stamp_ids=_stamp_ids(receipt),
    )


def to_state(position: OpenedPosition, receipts: tuple[PaymentReceipt, ...]) -> PositionState:
    return PositionState(
        position_id=position.position_id, status=position.status, receipts=receipts
    )


def to_cart(
    creditor: Creditor,
    notices: tuple[CheckoutNotice, ...],
    returns: CheckoutReturn,
    *,
    email: str | None,
    cart_id: str | None,
) -> dict[str, Any]:
    if not 1 <= len(notices) <= 5:
        raise ValueError("a pagoPA cart holds 1 to 5 notices")
    body: dict[str, Any] = {
        "paymentNotices": [
            {
                "noticeNumber": n.notice_number,
                "fiscalCode": creditor.tax_code,
                "amount": n.amount_cents,
                "companyName": creditor.name[:MAX_TEXT],
                "description": n.description[:MAX_TEXT],
            }
            for n in notices
        ],
        "returnUrls": {
            "returnOkUrl": returns.ok_url,
            "returnCancelUrl": returns.cancel_url,
            "returnErrorUrl": returns.error_url,
            "returnWaitingUrl": returns.waiting_url,
        },
    }
    if email:
        body["emailNotice"] = email
    if cart_id:
        body["idCart"] = cart_id
    return body


def to_mbd_request(
    *,
    debtor: Debtor,
    amount_cents: int,
    document_hash: str,
    province: str,
    service_id: str,
    returns: CheckoutReturn,
) -> dict[str, Any]:
    """@e.bollo: one digital stamp for one document (its SHA-256, base64, 44 characters)."""
    first, _sep, last = debtor.name.partition(" ")
    return {
        "paymentNotices": [
            {
                "firstName": first or debtor.name,
                "lastName": last or debtor.name,
                "fiscalCode": debtor.tax_code,
                "email": debtor.email or "",
                "amount": amount_cents,
                "province": province,
                "documentHash": document_hash,
            }
        ],
        "idCIService": service_id,
        "returnUrls": {
            "successUrl": returns.ok_url,
            "cancelUrl": returns.cancel_url,
            "errorUrl": returns.error_url,
        },
    }
