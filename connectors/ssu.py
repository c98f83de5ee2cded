"""SSU back office -> third-party authority (``et_to_bo.yaml``): ``send_instance`` and ``notify``.

Each call carries a PDND bearer voucher and the ModI ``Agid-JWT-Signature`` (INTEGRITY_REST_01)
over its body, and the outbox job's key in ``Idempotency-Key``. The message is validated
against the specification's schema before it leaves; the authority then fetches the documents
from the portal (``/instance/{cui_uuid}/document/{resource_id}``).
"""

from __future__ import annotations

import json
from typing import Any

from connectors import modi, ssu_schemas
from connectors.base import (
    AuthorityDispatch,
    ConfigurationError,
    ConnectorMalformedResponse,
    ConnectorRejected,
    DispatchReceipt,
)
from connectors.http import request
from connectors.pdnd import PdndClientMixin

DESCRIPTOR_VERSION = "1"


class InvalidMessage(ConnectorRejected):
    """The message the portal was about to send does not follow the specification."""


def send_instance_body(instance: dict[str, Any]) -> dict[str, Any]:
    """The ``SendInstanceRequest``: the CUI and the index of the documents to fetch."""
    descriptor = instance["descriptor"]
    code = descriptor["usecase_proceedings"][0]["code"]
    return {
        "cui": descriptor["cui"],
        "instance_descriptor_version": str(descriptor["version"]),
        "instance_index": [
            {
                "code": code,
                "ref": doc.get("slot") or doc["filename"],
                "resource_id": doc["resource_id"],
                "hash": doc["sha256"],
                "alg_hash": "S256",
            }
            for doc in instance.get("documents", [])
        ],
        "general_index": [
            {
                "name": item["name"],
                "mime_type": item["mime_type"],
                "resource_id": item["resource_id"],
                "hash": item["sha256"],
                "alg_hash": "S256",
            }
            for item in instance.get("general", [])
        ],
    }


def notify_body(cui: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    body = {
        "cui": cui,
        "instance_descriptor_version": str(event.get("version", DESCRIPTOR_VERSION)),
        "event": event["event"],
    }
    for key in ("resource_id", "hash", "alg_hash", "cdss_channel", "cdss_convocation"):
        if event.get(key):
            body[key] = event[key]
    return body


class SsuAuthorityConnector(PdndClientMixin, AuthorityDispatch):
    identifier = "ssu"
    label = "SSU (interfaccia back office - enti terzi)"
    required_settings = ("token_url", "client_id")

    def _post(
        self, endpoint: str | None, operation: str, body: dict[str, Any], key: str
    ) -> DispatchReceipt:
        if not endpoint:
            raise ConnectorRejected("the authority has no SSU endpoint")
        if not self.vouchers.private_key:
            raise ConfigurationError("ssu: no private key to sign with")
        url = f"{endpoint.rstrip('/')}/{operation}"
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.vouchers.voucher()}",
            "Idempotency-Key": key,
            **modi.sign(
                payload,
                private_key=self.vouchers.private_key,
                kid=self.vouchers.kid,
                issuer=self.vouchers.client_id,
                audience=endpoint.rstrip("/"),
            ),
        }
        response = request(
            self.client, "POST", url, breaker_name=self.identifier, content=payload, headers=headers
        )
        content_type = response.headers.get("Content-Type", "")
        if response.content and "json" not in content_type:
            # The SSU answers 200 with no body or JSON: anything else is not the authority.
            raise ConnectorMalformedResponse(f"{url}: unexpected {content_type or 'body'}")
        return DispatchReceipt(
            accepted=True,
            reference=response.headers.get("X-Request-Id") or key,
            details={"operation": operation, "status": response.status_code},
        )

    def send_instance(self, instance: dict[str, Any], *, idempotency_key: str) -> DispatchReceipt:
        problems = ssu_schemas.errors(instance["descriptor"], ssu_schemas.DESCRIPTOR)
        body = send_instance_body(instance)
        problems += ssu_schemas.errors(body, ssu_schemas.SEND_INSTANCE)
        if problems:
            raise InvalidMessage("send_instance not sent: " + "; ".join(problems[:5]))
        return self._post(
            instance["authority"].get("endpoint"), "send_instance", body, idempotency_key
        )

    def notify(
        self, cui: dict[str, Any], event: dict[str, Any], *, idempotency_key: str
    ) -> DispatchReceipt:
        body = notify_body(cui, event)
        problems = ssu_schemas.errors(body, ssu_schemas.NOTIFY)
        if problems:
            raise InvalidMessage("notify not sent: " + "; ".join(problems[:5]))
        return self._post(event.get("endpoint"), "notify", body, idempotency_key)
