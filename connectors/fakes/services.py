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
from datetime import date, timedelta
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
    """Checks the client assertion's signature with the client's public key; issues vouchers.

    Vouchers are JWTs signed with the platform's own key (``voucher_private_key``), carrying
    the client id, so an e-service provider can verify them with the platform's public key.
    """

    ISSUER = "https://fake-pdnd.example/"

    def __init__(
        self, public_keys: dict[str, str], audience: str, voucher_private_key: str | None = None
    ) -> None:
        self.public_keys = public_keys  # kid -> PEM
        self.audience = audience
        self.voucher_private_key = voucher_private_key
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
        client_id = request.form.get("client_id", "")
        if self.voucher_private_key:
            now = int(time.time())
            token = jwt.encode(
                {
                    "iss": self.ISSUER,
                    "sub": client_id,
                    "client_id": client_id,
                    "aud": "e-service",
                    "iat": now,
                    "exp": now + 600,
                    "jti": secrets.token_hex(8),
                },
                self.voucher_private_key,
                algorithm="RS256",
                headers={"kid": "fake-pdnd", "typ": "at+jwt"},
            )
        else:
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


def _voucher_ok(tokens: PdndTokenService, request: Request) -> bool:
    auth = request.headers.get("Authorization", "")
    return auth.startswith("Bearer ") and auth[7:] in tokens.issued


def _durc_for(tax_code: str, today: date) -> dict[str, Any] | None:
    """The demo certificates: most companies regular, one not, one whose DURC has expired."""
    if tax_code not in COMPANIES:
        return None
    issued, regular = today - timedelta(days=30), True
    if tax_code == "11850470011":  # Caffè Galli: contributions not paid
        regular = False
    if tax_code == "11850460012":  # Barberia Verdi: the last certificate is out of date
        issued = today - timedelta(days=150)
    return {
        "codiceFiscale": tax_code,
        "esito": "REGOLARE" if regular else "NON_REGOLARE",
        "dataEmissione": issued.isoformat(),
        "scadenzaValidita": (issued + timedelta(days=120)).isoformat(),
        "numeroProtocollo": f"INPS_{int(tax_code[:8]) % 10**8:08d}",
    }


class DurcService:
    """DURC On Line e-service behind PDND: ``GET /durc?codiceFiscale=...``."""

    def __init__(self, tokens: PdndTokenService) -> None:
        self.tokens = tokens
        self.behaviour = Behaviour()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if not _voucher_ok(self.tokens, request):
            return _json({"title": "voucher missing or unknown"}, 401)
        if request.path.rstrip("/") != "/durc":
            return _json({"title": "not found"}, 404)
        found = _durc_for(request.args.get("codiceFiscale", "").upper(), date.today())
        if found is None:
            return _json({"title": "nessun DURC per il codice fiscale"}, 404)
        if self.behaviour.mode == "malformed":
            return _json({**found, "esito": "FORSE", "dataEmissione": "ieri"})
        return _json(found)


class ProtocolService:
    """A municipal protocol system: ``POST /protocolli``, idempotent per ``Idempotency-Key``."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.by_key: dict[str, dict[str, Any]] = {}
        self.registrations: list[dict[str, Any]] = []
        self.received = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/protocolli" or request.method != "POST":
            return _json({"title": "not found"}, 404)
        body = request.get_json(silent=True)
        key = request.headers.get("Idempotency-Key", "")
        if not isinstance(body, dict) or not body.get("oggetto") or not key:
            return _json({"title": "oggetto e Idempotency-Key sono obbligatori"}, 422)
        if self.behaviour.mode == "malformed":
            return _json({"esito": "ok"}, 201)
        self.received += 1
        if key in self.by_key:  # the same request again: the same registration
            return _json(self.by_key[key], 200)
        now = time.gmtime()
        answer = {
            "numero": f"{len(self.registrations) + 1:07d}",
            "anno": now.tm_year,
            "dataRegistrazione": time.strftime("%Y-%m-%dT%H:%M:%SZ", now),
        }
        self.by_key[key] = answer
        self.registrations.append({**body, "key": key, **answer})
        return _json(answer, 201)
