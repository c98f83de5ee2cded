"""A fake third-party authority (ente terzo) speaking the SSU interface.

It serves ``send_instance``, ``notify`` and ``retry`` (``et_to_bo.yaml``): each request must
carry a voucher of the (fake) PDND and an ``Agid-JWT-Signature`` by the portal's key over the
very body received; the body must follow the specification. It remembers what it received
and delivers each ``Idempotency-Key`` once. It can be told to call the portal back
(``request_integration``, ``request_cdss``, ``send_conclusions``, ``retry``) and to fetch an
instance document, signing as the authority.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from connectors import modi, ssu_schemas
from connectors.fakes.services import Behaviour, PdndTokenService, _json, _voucher_ok
from connectors.pdnd import VoucherClient

SCHEMAS = {"send_instance": ssu_schemas.SEND_INSTANCE, "notify": ssu_schemas.NOTIFY}


@dataclass
class Received:
    operation: str
    body: dict[str, Any]
    key: str
    claims: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # as received, for conformance checks
    raw: bytes = b""


class FakeSsuAuthority:
    def __init__(
        self,
        tokens: PdndTokenService,
        *,
        portal_public_key: str,
        private_key: str,
        client_id: str,
        kid: str,
        certificate: str | None = None,
    ) -> None:
        self.tokens = tokens
        self.certificate = certificate  # in x5c of every signature, when given
        self.portal_public_key = portal_public_key
        self.private_key = private_key
        self.client_id = client_id
        self.kid = kid
        self.base_url = ""  # set once the server listens: the audience the portal signs for
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.deliveries: dict[str, int] = {}

    # -- the authority's server -------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.behaviour.fail() or self.handle(request)
        return response(environ, start_response)

    def _error(self, status: int, code: str, message: str) -> Response:
        self.refused.append(f"{status} {code}: {message}")
        return _json({"code": code, "message": message}, status)

    def handle(self, request: Request) -> Response:
        operation = request.path.strip("/")
        if request.method != "POST" or operation not in (*SCHEMAS, "retry"):
            return self._error(404, "NOT_FOUND", request.path)
        if not _voucher_ok(self.tokens, request):
            return self._error(401, "UNAUTHORIZED", "voucher missing or unknown")
        body_bytes = request.get_data()
        try:
            claims = modi.verify(
                body_bytes, request.headers, self.portal_public_key, audience=self.base_url or None
            )
            body = json.loads(body_bytes)
        except modi.SignatureError as error:
            return self._error(401, "UNAUTHORIZED", str(error))
        except ValueError:
            return self._error(400, "BAD_REQUEST", "body is not JSON")
        problems = ssu_schemas.errors(body, SCHEMAS.get(operation, ssu_schemas.ERROR))
        if operation != "retry" and problems:
            return self._error(400, "BAD_REQUEST", "; ".join(problems[:3]))
        key = request.headers.get("Idempotency-Key", "") or claims.get("jti", "")
        self.received.append(
            Received(operation, body, key, claims, dict(request.headers), body_bytes)
        )
        self.deliveries[key] = self.deliveries.get(key, 0) or 1
        if self.behaviour.mode == "malformed":  # delivered, but the answer is a gateway's page
            return Response("<html>gateway</html>", status=200, mimetype="text/html")
        headers = {"X-Request-Id": f"et-{len(self.deliveries)}"}
        if self.behaviour.mode == "unsigned":  # delivered, but the answer proves nothing
            return Response(status=200, headers=headers)
        # The answer is signed for the portal (the voucher's client) like every SSU message.
        headers.update(self.sign_answer(b"", claims.get("iss") or "portale"))
        if self.behaviour.mode == "tampered":  # signed, then changed on the way
            return Response(b'{"x":1}', status=200, headers=headers, mimetype="application/json")
        return Response(status=200, headers=headers)

    def sign_answer(self, body: bytes, audience: str) -> dict[str, str]:
        return modi.sign(
            body,
            private_key=self.private_key,
            kid=self.kid,
            issuer=self.client_id,
            audience=audience,
            certificate=self.certificate,
        )

    def delivered(self, operation: str, cui_uuid: str | None = None) -> list[dict[str, Any]]:
        """Bodies delivered once per key, in arrival order (of one CUI if given)."""
        seen, out = set(), []
        for item in list(self.received):
            if cui_uuid and (item.body.get("cui") or {}).get("uuid") != cui_uuid:
                continue
            if item.operation == operation and item.key not in seen:
                seen.add(item.key)
                out.append(item.body)
        return out

    # -- the authority as a client of the portal --------------------------------------------

    def vouchers(self, token_url: str, client: httpx.Client | None = None) -> VoucherClient:
        return VoucherClient(
            {
                "client_id": self.client_id,
                "kid": self.kid,
                "token_url": token_url,
                "private_key": self.private_key,
            },
            client or httpx.Client(timeout=5),
            f"fake-authority-{self.client_id}",
        )

    def signed_headers(self, body: bytes, audience: str, voucher: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {voucher}",
            **modi.sign(
                body,
                private_key=self.private_key,
                kid=self.kid,
                issuer=self.client_id,
                audience=audience,
                certificate=self.certificate,
            ),
        }

    def call_back(
        self,
        portal_url: str,
        operation: str,
        body: dict[str, Any],
        *,
        voucher: str,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """POST ``body`` to the portal's ``operation``, signed as this authority."""
        payload = json.dumps(body).encode()
        http = client or httpx.Client(timeout=5)
        return http.post(
            f"{portal_url.rstrip('/')}/{operation}",
            content=payload,
            headers=self.signed_headers(payload, portal_url.rstrip("/"), voucher),
        )

    def fetch_document(
        self,
        portal_url: str,
        cui_uuid: str,
        resource_id: str,
        *,
        voucher: str,
        if_match: str | None,
        byte_range: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        headers = self.signed_headers(b"", portal_url.rstrip("/"), voucher)
        headers.pop("Content-Type")
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if byte_range:
            headers["Range"] = byte_range
        http = client or httpx.Client(timeout=5)
        return http.get(
            f"{portal_url.rstrip('/')}/instance/{cui_uuid}/document/{resource_id}", headers=headers
        )
