"""PDND voucher: a client assertion JWT signed with the portal's key is exchanged for a bearer
voucher (OAuth2 client credentials with a JWT bearer assertion), cached until it expires."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
import jwt

from connectors.base import ConfigurationError, ConnectorMalformedResponse
from connectors.http import json_body, request

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class VoucherClient:
    def __init__(self, settings: dict[str, Any], client: httpx.Client, breaker_name: str) -> None:
        self.client_id = settings.get("client_id", "")
        self.kid = settings.get("kid", "")
        self.token_url = settings.get("token_url", "")
        self.audience = settings.get("audience") or self.token_url
        self.purpose_id = settings.get("purpose_id")
        key = settings.get("private_key")
        if not key and settings.get("private_key_path"):
            with open(settings["private_key_path"], encoding="ascii") as handle:
                key = handle.read()
        self.private_key = key
        self.client = client
        self.breaker_name = breaker_name
        self._voucher: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def assertion(self) -> str:
        if not (self.private_key and self.client_id and self.token_url):
            raise ConfigurationError("PDND settings missing: client_id, token_url, private_key")
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 120,
        }
        if self.purpose_id:
            claims["purposeId"] = self.purpose_id
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"}
        )

    def voucher(self) -> str:
        with self._lock:
            if self._voucher and time.time() < self._expires_at - 30:
                return self._voucher
            response = request(
                self.client,
                "POST",
                self.token_url,
                breaker_name=self.breaker_name,
                data={
                    "client_id": self.client_id,
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": self.assertion(),
                },
            )
            body = json_body(response)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise ConnectorMalformedResponse("PDND token endpoint: no access_token")
            self._voucher = token
            self._expires_at = time.time() + float(body.get("expires_in", 600))
            return token


class PdndClientMixin:
    """For adapters of e-services behind PDND: an HTTP client, a voucher client, and the
    check that a key to sign the client assertion is configured. Put it before the capability
    interface in the bases, e.g. ``class DurcConnector(PdndClientMixin, ContributionRegularity)``.
    """

    identifier: str
    settings: dict[str, Any]
    timeout: float

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)  # type: ignore[call-arg]
        self.client = httpx.Client(timeout=self.timeout)
        self.vouchers = VoucherClient(self.settings, self.client, self.identifier)

    def check_config(self) -> list[str]:
        problems: list[str] = super().check_config()  # type: ignore[misc]
        if not (self.settings.get("private_key") or self.settings.get("private_key_path")):
            problems.append(
                f"{self.identifier}: missing setting 'private_key' or 'private_key_path'"
            )
        return problems
