"""The municipality's protocol system (protocollo informatico) through its REST JSON interface.

``POST /protocolli`` with an ``Idempotency-Key`` header registers an incoming document and
answers with its number and registration time; the same key answers with the same number, so
a job run twice after a crash registers once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import jsonschema

from connectors.base import ConnectorMalformedResponse, ProtocolReceipt, ProtocolRegistry
from connectors.http import json_body, request

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["numero", "anno", "dataRegistrazione"],
    "properties": {
        "numero": {"type": "string", "minLength": 1, "maxLength": 64},
        "anno": {"type": "integer", "minimum": 2000},
        "dataRegistrazione": {"type": "string", "minLength": 10},
    },
}
DIRECTIONS = {"incoming": "E", "outgoing": "U"}


def to_request(
    *, office_code: str, subject: str, direction: str, correspondent: str, documents: list
) -> dict[str, Any]:
    return {
        "codiceUfficio": office_code,
        "oggetto": subject[:500],
        "verso": DIRECTIONS.get(direction, direction),
        "mittenteDestinatario": correspondent,
        "documenti": [
            {"nome": d["filename"], "impronta": d["sha256"], "algoritmo": "SHA-256"}
            for d in documents
        ],
    }


def to_receipt(body: dict[str, Any]) -> ProtocolReceipt:
    when = datetime.fromisoformat(re.sub(r"Z$", "+00:00", body["dataRegistrazione"]))
    return ProtocolReceipt(number=body["numero"], year=body["anno"], registered_at=when)


class ProtocolConnector(ProtocolRegistry):
    identifier = "protocol"
    label = "Protocollo informatico del Comune (REST)"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.client = httpx.Client(timeout=self.timeout)

    def register(
        self,
        *,
        office_code: str,
        subject: str,
        direction: str,
        correspondent: str,
        documents: list[dict[str, Any]],
        idempotency_key: str,
    ) -> ProtocolReceipt:
        headers = {"Idempotency-Key": idempotency_key}
        if self.settings.get("token"):
            headers["Authorization"] = f"Bearer {self.settings['token']}"
        response = request(
            self.client,
            "POST",
            f"{self.settings['base_url'].rstrip('/')}/protocolli",
            breaker_name=self.identifier,
            headers=headers,
            json=to_request(
                office_code=office_code,
                subject=subject,
                direction=direction,
                correspondent=correspondent,
                documents=documents,
            ),
        )
        body = json_body(response)
        try:
            jsonschema.validate(body, RESPONSE_SCHEMA)
            return to_receipt(body)
        except (jsonschema.ValidationError, ValueError) as error:
            message = getattr(error, "message", str(error))
            raise ConnectorMalformedResponse(f"protocol: {message}") from error
