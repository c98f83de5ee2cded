"""PEC dispatch over SMTP to the fake server: the manifest parsed back, hashes checked."""

from __future__ import annotations

import hashlib

import pytest

from connectors.base import ConnectorRejected, ConnectorUnavailable
from connectors.pec import PecAuthorityConnector, parse_manifest

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INSTANCE = {
    "authority": {"code": "ASL_TO", "pec": "protocollo@pec.aslto.esempio.it"},
    "manifest": {
        "cui": "2b1f0c9e-6f58-4f55-8d43-5c8d8a3b7a10",
        "protocol": "SUAP_TORINO/2026/000042",
        "type_code": "SCIA_SOMMINISTRAZIONE",
        "regime": "SCIA",
        "title": "Apertura bar",
        "received_on": "2026-11-24",
        "company": {
            "tax_code": "11850450013",
            "name": "Pasticceria Rossi S.r.l.",
            "pec": "x@pec.it",
        },
        "answers": [{"name": "superficie", "label": "Superficie (m²)", "value": "45"}],
    },
    "documents": [
        {
            "filename": "planimetria.pdf",
            "slot": "planimetria",
            "mime_type": "application/pdf",
            "content": PDF,
        }
    ],
}


@pytest.fixture
def pec(fakes):
    fakes.pec.messages.clear()
    fakes.pec.mode = "ok"
    return PecAuthorityConnector(fakes.connector_settings()["pec"])


def test_message_carries_manifest_and_documents_with_their_hashes(pec, fakes):
    receipt = pec.send_instance(INSTANCE, idempotency_key="dispatch:cui:ASL_TO:send_instance")
    [message] = fakes.pec.messages
    assert message["To"] == "protocollo@pec.aslto.esempio.it"
    assert "SUAP_TORINO/2026/000042" in message["Subject"]
    parts = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    manifest = parse_manifest(
        parts["manifest.xml"].encode()
        if isinstance(parts["manifest.xml"], str)
        else parts["manifest.xml"]
    )
    assert manifest["company"]["name"] == "Pasticceria Rossi S.r.l."
    assert manifest["answers"] == {"superficie": "45"}
    [listed] = manifest["attachments"]
    assert (
        listed["sha256"]
        == hashlib.sha256(parts["planimetria.pdf"]).hexdigest()
        == hashlib.sha256(PDF).hexdigest()
    )
    assert receipt.accepted and receipt.reference == message["Message-ID"]


def test_same_job_sent_twice_is_the_same_message(pec, fakes):
    pec.send_instance(INSTANCE, idempotency_key="k-1")
    pec.send_instance(INSTANCE, idempotency_key="k-1")
    assert len(fakes.pec.messages) == 2 and len(fakes.pec.unique_message_ids()) == 1


def test_server_refusing_is_unavailable_and_missing_address_is_rejected(pec, fakes):
    fakes.pec.mode = "down"
    with pytest.raises(ConnectorUnavailable):
        pec.send_instance(INSTANCE, idempotency_key="k-2")
    with pytest.raises(ConnectorRejected):
        pec.send_instance(
            {**INSTANCE, "authority": {"code": "X", "pec": None}}, idempotency_key="k-3"
        )


def test_closed_port_is_unavailable(fakes):
    settings = {**fakes.connector_settings()["pec"], "port": "1", "timeout": "1"}
    with pytest.raises(ConnectorUnavailable):
        PecAuthorityConnector(settings).send_instance(INSTANCE, idempotency_key="k-4")
