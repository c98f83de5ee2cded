"""Business register (Registro delle Imprese) e-service behind PDND: company by tax code."""

from __future__ import annotations

import jsonschema

from connectors.base import CompanyLookup, CompanyRecord, ConnectorMalformedResponse
from connectors.business_register_mapping import RESPONSE_SCHEMA, to_record
from connectors.http import json_body, request
from connectors.pdnd import PdndClientMixin


class BusinessRegisterConnector(PdndClientMixin, CompanyLookup):
    identifier = "business_register"
    label = "Registro delle Imprese (PDND)"
    required_settings = ("base_url", "token_url", "client_id")

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
