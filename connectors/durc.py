"""Contribution regularity (DURC) e-service behind PDND: the certificate in force, by tax code."""

from __future__ import annotations

import jsonschema

from connectors.base import ConnectorMalformedResponse, ContributionRegularity, DurcResult
from connectors.durc_mapping import RESPONSE_SCHEMA, to_result
from connectors.http import json_body, request
from connectors.pdnd import PdndClientMixin


class DurcConnector(PdndClientMixin, ContributionRegularity):
    identifier = "durc"
    label = "DURC On Line (PDND)"
    required_settings = ("base_url", "token_url", "client_id")

    def check(self, tax_code: str) -> DurcResult:
        url = f"{self.settings['base_url'].rstrip('/')}/durc"
        response = request(
            self.client,
            "GET",
            url,
            breaker_name=self.identifier,
            params={"codiceFiscale": tax_code},
            headers={"Authorization": f"Bearer {self.vouchers.voucher()}"},
        )
        body = json_body(response)
        try:
            jsonschema.validate(body, RESPONSE_SCHEMA)
            return to_result(body)
        except (jsonschema.ValidationError, ValueError) as error:
            message = getattr(error, "message", str(error))
            raise ConnectorMalformedResponse(f"DURC: {message}") from error
