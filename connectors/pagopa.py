"""pagoPA directly: GPD (debt positions and their receipts), Checkout, and @e.bollo.

Every call carries ``Ocp-Apim-Subscription-Key`` (the creditor's own key when it has one,
otherwise the portal's as technology partner). Endpoints are those of
``shared/specs/pagopa``; ``base_url`` is pagoPA's API host (or the fake's), and each API sits
under its usual path, overridable one by one (``gpd_url``, ``receipts_url``, ``checkout_url``,
``mbd_url``).

Idempotency: the position id (IUPD) is chosen by the portal, one per (procedure, fee); GPD
answers 409 to a second create with the same IUPD, and the adapter then reads the position
already open, so a job run twice never opens two.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from connectors.base import (
    POSITION_DRAFTED,
    CheckoutNotice,
    CheckoutReturn,
    CheckoutSession,
    ConnectorMalformedResponse,
    ConnectorRejected,
    Creditor,
    Debtor,
    NotFound,
    OpenedPosition,
    PaymentGateway,
    PositionRequest,
    PositionState,
)
from connectors.http import json_body, request
from connectors.pagopa_mapping import (
    to_cart,
    to_mbd_request,
    to_opened,
    to_position,
    to_receipt,
    to_state,
)

GPD_PATH = "/gpd/debt-positions-service/v1"
RECEIPTS_PATH = "/gpd/payments-receipts-service/v1"
CHECKOUT_PATH = "/checkout/ec/v2"
MBD_PATH = "/pagopa-mbd-service/v1"


class PagoPaConnector(PaymentGateway):
    identifier = "pagopa"
    label = "pagoPA (GPD, Checkout, @e.bollo)"
    required_settings = ("base_url", "api_key")

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    # -- endpoints and headers ---------------------------------------------------------------

    def _url(self, key: str, default_path: str) -> str:
        explicit = self.settings.get(key)
        if explicit:
            return str(explicit).rstrip("/")
        return str(self.settings.get("base_url", "")).rstrip("/") + default_path

    def _headers(self, creditor: Creditor, key_setting: str = "api_key") -> dict[str, str]:
        key = creditor.api_key or self.settings.get(key_setting) or self.settings.get("api_key")
        return {"Ocp-Apim-Subscription-Key": str(key or ""), "X-Request-Id": uuid.uuid4().hex}

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return request(self.client, method, url, breaker_name=self.identifier, **kwargs)

    def _positions(self, creditor: Creditor) -> str:
        return f"{self._url('gpd_url', GPD_PATH)}/organizations/{creditor.tax_code}/debtpositions"

    # -- the four verbs --------------------------------------------------------------------

    def open_position(
        self, creditor: Creditor, request: PositionRequest, *, idempotency_key: str
    ) -> OpenedPosition:
        headers = {**self._headers(creditor), "X-Request-Id": idempotency_key[:100]}
        try:
            response = self._call(
                "POST",
                self._positions(creditor),
                params={"toPublish": "true"},
                headers=headers,
                json=to_position(creditor, request),
            )
        except ConnectorRejected as error:
            if error.status != 409:
                raise
            # Created by an earlier attempt whose answer was lost: use that one.
            opened = self._get_position(creditor, request.position_id)
            if opened.status == POSITION_DRAFTED:
                opened = self._publish(creditor, request.position_id)
            return opened
        return to_opened(json_body(response))

    def _get_position(self, creditor: Creditor, position_id: str) -> OpenedPosition:
        response = self._call(
            "GET", f"{self._positions(creditor)}/{position_id}", headers=self._headers(creditor)
        )
        return to_opened(json_body(response))

    def _publish(self, creditor: Creditor, position_id: str) -> OpenedPosition:
        response = self._call(
            "POST",
            f"{self._positions(creditor)}/{position_id}/publish",
            headers=self._headers(creditor),
        )
        return to_opened(json_body(response))

    def start_checkout(
        self,
        creditor: Creditor,
        notices: tuple[CheckoutNotice, ...],
        returns: CheckoutReturn,
        *,
        email: str | None = None,
        cart_id: str | None = None,
    ) -> CheckoutSession:
        response = self._call(
            "POST",
            f"{self._url('checkout_url', CHECKOUT_PATH)}/carts",
            headers=self._headers(creditor, "checkout_key"),
            json=to_cart(creditor, notices, returns, email=email, cart_id=cart_id),
        )
        location = response.headers.get("location")
        if response.status_code != 302 or not location:
            raise ConnectorMalformedResponse("checkout: expected a redirect to the checkout")
        return CheckoutSession(redirect_url=location)

    def read_position(self, creditor: Creditor, position_id: str, iuv: str) -> PositionState:
        position = self._get_position(creditor, position_id)
        receipts = ()
        if position.status == "paid":
            try:
                response = self._call(
                    "GET",
                    f"{self._url('receipts_url', RECEIPTS_PATH)}/payments/"
                    f"{creditor.tax_code}/receipts/{iuv}",
                    headers=self._headers(creditor, "receipts_key"),
                )
            except NotFound:
                # Paid, but the receipt is not there yet: the caller reads again later.
                return to_state(position, ())
            receipts = (to_receipt(response.content),)
        return to_state(position, receipts)

    def cancel_position(self, creditor: Creditor, position_id: str) -> PositionState:
        try:
            response = self._call(
                "POST",
                f"{self._positions(creditor)}/{position_id}/invalidate",
                headers=self._headers(creditor),
            )
        except ConnectorRejected as error:
            if error.status != 409:
                raise
            # Paid (or already invalid) meanwhile: say what it is now.
            position = self._get_position(creditor, position_id)
            return self.read_position(creditor, position_id, position.iuv)
        opened = to_opened(json_body(response))
        return to_state(opened, ())

    # -- @e.bollo: the digital stamp duty for one document ----------------------------------

    def buy_stamp(
        self,
        creditor: Creditor,
        debtor: Debtor,
        *,
        amount_cents: int,
        document_hash: str,
        returns: CheckoutReturn,
    ) -> dict[str, str]:
        """Start buying a digital stamp (MBD) for a document: the checkout redirect and the
        notice number, through @e.bollo's ``POST /organizations/{fiscalCodeEC}/mbd``."""
        response = self._call(
            "POST",
            f"{self._url('mbd_url', MBD_PATH)}/organizations/{creditor.tax_code}/mbd",
            headers=self._headers(creditor, "mbd_key"),
            json=to_mbd_request(
                debtor=debtor,
                amount_cents=amount_cents,
                document_hash=document_hash,
                province=creditor.stamp_province,
                service_id=str(self.settings.get("mbd_service_id", "")),
                returns=returns,
            ),
        )
        body = json_body(response)
        if not isinstance(body, dict) or not body.get("checkoutRedirectUrl"):
            raise ConnectorMalformedResponse("@e.bollo: checkoutRedirectUrl missing")
        return {
            "redirect_url": str(body["checkoutRedirectUrl"]),
            "notice_number": str(body.get("mbdNav") or ""),
            "notice_url": str(body.get("navDownloadLink") or ""),
        }

    def stamp_receipts(self, creditor: Creditor, notice_number: str) -> list[bytes]:
        """The MBD receipts (XML documents with the stamp's IUBD) of a paid stamp notice."""
        import base64
        import binascii

        response = self._call(
            "GET",
            f"{self._url('mbd_url', MBD_PATH)}/organizations/{creditor.tax_code}/receipt/"
            f"{notice_number}",
            headers=self._headers(creditor, "mbd_key"),
        )
        body = json_body(response)
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, list):
            raise ConnectorMalformedResponse("@e.bollo: receipt content missing")
        try:
            return [base64.b64decode(item, validate=True) for item in content]
        except (binascii.Error, TypeError) as error:
            raise ConnectorMalformedResponse("@e.bollo: receipt content not base64") from error
