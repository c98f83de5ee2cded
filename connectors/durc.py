"""Contribution regularity (DURC) e-service behind PDND: the certificate in force, by tax code."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from connectors.base import ConnectorMalformedResponse, ContributionRegularity, DurcResult
from connectors.durc_mapping import RESPONSE_SCHEMA, to_result
from connectors.http import json_body, request
from connectors.pdnd import VoucherClient


class DurcConnector(ContributionRegularity):
    identifier = "durc"
    label = "DURC On Line (PDND)"
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
