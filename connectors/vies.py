"""EU VAT register (VIES) through its REST interface: ``POST /check-vat-number``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import ConnectorMalformedResponse, VatCheck, VatCheckResult
from connectors.http import json_body, request


class ViesConnector(VatCheck):
    identifier = "vies"
    label = "VIES (EU VAT register)"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.client = httpx.Client(timeout=self.timeout)

    def check_vat(self, country: str, number: str) -> VatCheckResult:
        url = f"{self.settings['base_url'].rstrip('/')}/check-vat-number"
        response = request(
            self.client,
            "POST",
            url,
            breaker_name=self.identifier,
            json={"countryCode": country, "vatNumber": number},
        )
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("valid"), bool):
            raise ConnectorMalformedResponse("VIES: the answer has no 'valid' flag")
        try:
            when = datetime.fromisoformat(str(body.get("requestDate", "")).replace("Z", "+00:00"))
        except ValueError:
            when = datetime.now(UTC)
        return VatCheckResult(
            country=body.get("countryCode", country),
            number=body.get("vatNumber", number),
            valid=body["valid"],
            name=body.get("name") or None,
            address=body.get("address") or None,
            request_date=when,
            consultation_number=body.get("requestIdentifier") or None,
        )
