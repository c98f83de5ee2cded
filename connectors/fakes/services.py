"""WSGI apps faking the PDND token endpoint, the business register e-service and VIES.

Each app has a :class:`Behaviour` switchable at run time (``ok``, ``down`` -> 503, ``error``
-> 500, ``slow`` -> sleeps past the client's timeout, ``malformed`` -> a body that breaks the
protocol) and counts the requests it received.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from connectors.fakes.data import COMPANIES


@dataclass
class Behaviour:
    mode: str = "ok"
    slow_seconds: float = 3.0
    requests: int = 0
    log: list[str] = field(default_factory=list)

    def fail(self) -> Response | None:
        self.requests += 1
        if self.mode == "down":
            return Response("service unavailable", status=503)
        if self.mode == "error":
            return Response("internal error", status=500)
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        return None


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


class PdndTokenService:
    """Checks the client assertion's signature with the client's public key; issues vouchers."""

    def __init__(self, public_keys: dict[str, str], audience: str) -> None:
        self.public_keys = public_keys  # kid -> PEM
        self.audience = audience
        self.issued: set[str] = set()
        self.behaviour = Behaviour()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        assertion = request.form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion).get("kid", "")
            jwt.decode(
                assertion, self.public_keys[kid], algorithms=["RS256"], audience=self.audience
            )
        except (jwt.PyJWTError, KeyError):
            return _json({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        self.issued.add(token)
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": 600})


class BusinessRegisterService:
    def __init__(self, tokens: PdndTokenService) -> None:
        self.tokens = tokens
        self.behaviour = Behaviour()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens.issued:
            return _json({"title": "voucher missing or unknown"}, 401)
        parts = request.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "imprese":
            return _json({"title": "not found"}, 404)
        company = COMPANIES.get(parts[1].upper())
        if company is None:
            return _json({"title": "impresa non trovata"}, 404)
        if self.behaviour.mode == "malformed":
            return _json({"codiceFiscale": company["codiceFiscale"], "sedeLegale": "?"})
        return _json(company)


class ViesService:
    def __init__(self) -> None:
        self.behaviour = Behaviour()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/check-vat-number" or request.method != "POST":
            return _json({"errorWrappers": [{"error": "NOT_FOUND"}]}, 404)
        body = request.get_json(silent=True) or {}
        if self.behaviour.mode == "malformed":
            return Response("<html>maintenance</html>", mimetype="text/html")
        number = str(body.get("vatNumber", ""))
        company = COMPANIES.get(number)
        return _json(
            {
                "countryCode": body.get("countryCode", "IT"),
                "vatNumber": number,
                "requestDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "valid": company is not None,
                "requestIdentifier": "WAPIAAAA" + secrets.token_hex(4).upper(),
                "name": company["denominazione"].upper() if company else "---",
                "address": company["sedeLegale"]["indirizzo"].upper() if company else "---",
            }
        )
