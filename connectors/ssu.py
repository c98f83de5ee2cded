"""SSU back office -> third-party authority (``et_to_bo.yaml``): ``send_instance`` and ``notify``.

Each call carries a PDND bearer voucher and the ModI ``Agid-JWT-Signature`` (INTEGRITY_REST_01)
over its body, and the outbox job's key in ``Idempotency-Key``. The message is validated
against the specification's schema before it leaves; the authority then fetches the documents
from the portal (``/instance/{cui_uuid}/document/{resource_id}``).

The signature names the portal's certificate in ``x5c``, as INTEGRITY_REST_01 asks
(settings ``certificate`` or ``certificate_path``, PEM); ``signature_key_reference = kid``
names instead the key registered on PDND. The authority's answer must be signed by the key
registered for it (``Authority.ssu_public_key``) over the very answer received: an unsigned
or altered answer proves no delivery, so the job tries again (the same ``Idempotency-Key``
keeps the authority from acting twice).
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


class UnverifiedAnswer(ConnectorMalformedResponse):
    """The authority's answer is not signed by its registered key, or not this answer."""

    retryable = True


def _read_setting(settings: dict[str, Any], name: str) -> str | None:
    value = settings.get(name)
    if not value and settings.get(f"{name}_path"):
        with open(settings[f"{name}_path"], encoding="ascii") as handle:
            value = handle.read()
    return value or None


def signing_certificate(settings: dict[str, Any]) -> str | None:
    """The certificate to put in ``x5c``; ``None`` when the ``kid`` variant is configured.
    :class:`ConfigurationError` when ``x5c`` is asked (the default) and none is configured."""
    reference = settings.get("signature_key_reference") or "x5c"
    if reference not in modi.KEY_REFERENCES:
        raise ConfigurationError(
            f"ssu: signature_key_reference must be one of {modi.KEY_REFERENCES}"
        )
    if reference == "kid":
        return None
    certificate = _read_setting(settings, "certificate")
    if not certificate:
        raise ConfigurationError("ssu: no certificate for x5c (or set signature_key_reference=kid)")
    return certificate


def verify_answer(
    response: Any, public_key: str | None, *, issuer: str | None, audience: str
) -> None:
    if not public_key:
        raise ConfigurationError("ssu: the authority has no registered key to verify its answers")
    try:
        modi.verify(
            response.content, response.headers, public_key, audience=audience, issuer=issuer
        )
    except modi.SignatureError as error:
        raise UnverifiedAnswer(f"the authority's answer is refused: {error}") from error


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

    def check_config(self) -> list[str]:
        problems = super().check_config()
        try:
            signing_certificate(self.settings)
        except ConfigurationError as error:
            problems.append(str(error))
        return problems

    def _post(
        self, endpoint: str | None, operation: str, body: dict[str, Any], key: str, peer: dict
    ) -> DispatchReceipt:
        if not endpoint:
            raise ConnectorRejected("the authority has no SSU endpoint")
        if not self.vouchers.private_key:
            raise ConfigurationError("ssu: no private key to sign with")
        certificate = signing_certificate(self.settings)
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
                certificate=certificate,
            ),
        }
        response = request(
            self.client, "POST", url, breaker_name=self.identifier, content=payload, headers=headers
        )
        content_type = response.headers.get("Content-Type", "")
        if response.content and "json" not in content_type:
            # The SSU answers 200 with no body or JSON: anything else is not the authority.
            raise ConnectorMalformedResponse(f"{url}: unexpected {content_type or 'body'}")
        verify_answer(
            response,
            peer.get("public_key"),
            issuer=peer.get("client_id"),
            audience=self.vouchers.client_id,
        )
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
        authority = instance["authority"]
        return self._post(
            authority.get("endpoint"), "send_instance", body, idempotency_key, authority
        )

    def notify(
        self, cui: dict[str, Any], event: dict[str, Any], *, idempotency_key: str
    ) -> DispatchReceipt:
        body = notify_body(cui, event)
        problems = ssu_schemas.errors(body, ssu_schemas.NOTIFY)
        if problems:
            raise InvalidMessage("notify not sent: " + "; ".join(problems[:5]))
        return self._post(event.get("endpoint"), "notify", body, idempotency_key, event)
