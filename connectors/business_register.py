"""Business register (Registro delle Imprese) e-service behind PDND: company by tax code."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from connectors.base import CompanyLookup, CompanyRecord, ConnectorMalformedResponse
from connectors.business_register_mapping import RESPONSE_SCHEMA, to_record
from connectors.http import json_body, request
from connectors.pdnd import VoucherClient


class BusinessRegisterConnector(CompanyLookup):
    identifier = "business_register"
    label = "Registro delle Imprese (PDND)"
    required_settings = ("base_url", "token_url", "client_id")

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.client = httpx.Client(timeout=self.timeout)
        self.vouchers = VoucherClient(self.settings, self.client, self.identifier)

    def check_config(self) -> list[str]:
        problems = super().check_config()
        if not (self.settings.get("private_key") or self.settings.get("private_key_path")):
            problems.append(
                f"{self.identifier}: missing setting 'private_key' or 'private_key_path'"
            )
        return problems

    def fetch_company(self, tax_code: str) -> CompanyRecord:
        url = f"{self.settings['base_url'].rstrip('/')}/imprese/{tax_code}"
        response = request(
            self.client,
            "GET",
            url,
            breaker_name=self.identifier,
            headers={"Authorization": f"Bearer {self.vouchers.voucher()}"},
        )
        body = json_body(response)
        try:
            jsonschema.validate(body, RESPONSE_SCHEMA)
        except jsonschema.ValidationError as error:
            raise ConnectorMalformedResponse(f"business register: {error.message}") from error
        return to_record(body, source=self.identifier)
