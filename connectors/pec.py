"""Certified e-mail (PEC) to authorities not yet on the SSU interface.

The message carries an XML manifest (company, procedure, answers, attachments with their
SHA-256) and the documents. Its Message-ID is derived from the outbox job's idempotency key,
so a message sent twice after a crash is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from typing import Any

from connectors.base import (
    AuthorityDispatch,
    ConnectorRejected,
    ConnectorUnavailable,
    DispatchReceipt,
)

MANIFEST_NS = "urn:portale-imprese:manifest:1"


def build_manifest(manifest: dict[str, Any], documents: list[dict[str, Any]]) -> bytes:
    root = ET.Element("manifest", xmlns=MANIFEST_NS, version="1")
    proc = ET.SubElement(
        root,
        "procedure",
        cui=manifest["cui"],
        protocol=manifest["protocol"],
        type=manifest["type_code"],
        regime=manifest["regime"],
    )
    ET.SubElement(proc, "title").text = manifest["title"]
    ET.SubElement(proc, "received_on").text = manifest["received_on"]
    company = ET.SubElement(root, "company", tax_code=manifest["company"]["tax_code"])
    ET.SubElement(company, "name").text = manifest["company"]["name"]
    ET.SubElement(company, "pec").text = manifest["company"].get("pec") or ""
    answers = ET.SubElement(root, "answers")
    for item in manifest["answers"]:
        ET.SubElement(answers, "answer", name=item["name"], label=item["label"]).text = str(
            item["value"]
        )
    attachments = ET.SubElement(root, "attachments")
    for doc in documents:
        ET.SubElement(
            attachments,
            "attachment",
            filename=doc["filename"],
            slot=doc.get("slot", ""),
            sha256=hashlib.sha256(doc["content"]).hexdigest(),
            size=str(len(doc["content"])),
        )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parse_manifest(xml_bytes: bytes) -> dict[str, Any]:
    ns = {"m": MANIFEST_NS}
    root = ET.fromstring(xml_bytes)
    proc = root.find("m:procedure", ns)
    company = root.find("m:company", ns)
    return {
        "cui": proc.get("cui"),
        "protocol": proc.get("protocol"),
        "type_code": proc.get("type"),
        "company": {
            "tax_code": company.get("tax_code"),
            "name": company.findtext("m:name", namespaces=ns),
        },
        "answers": {a.get("name"): a.text or "" for a in root.iterfind("m:answers/m:answer", ns)},
        "attachments": [dict(a.attrib) for a in root.iterfind("m:attachments/m:attachment", ns)],
    }


def _texts(manifest: dict[str, Any], request: dict[str, Any] | None) -> tuple[str, str]:
    """Subject and body: a plain transmission, or a request for the authority's opinion."""
    ref = f"{manifest['protocol']} - {manifest['title']} - CUI {manifest['cui']}"
    what = (
        f"la pratica {manifest['protocol']} ({manifest['title']}) "
        f"dell'impresa {manifest['company']['name']}"
    )
    footer = "Il file manifest.xml elenca i dati e l'impronta SHA-256 di ogni allegato."
    if request and request.get("kind") == "opinion_request":
        due = "/".join(reversed(request["due_on"].split("-")))  # 2026-12-24 -> 24/12/2026
        question = request.get("question") or "Si chiede il parere di competenza."
        return (
            f"SUAP - Richiesta di parere - Pratica {ref}",
            f"RICHIESTA DI PARERE\n\nSi chiede il parere di competenza su {what}.\n\n"
            f"Quesito: {question}\n"
            f"Termine per il parere: {due}\n\n{footer}",
        )
    return (
        f"SUAP - Pratica {ref}",
        f"Si trasmette {what} per il parere di competenza.\n{footer}",
    )


class PecAuthorityConnector(AuthorityDispatch):
    identifier = "pec"
    label = "PEC (posta elettronica certificata)"
    required_settings = ("host", "sender")

    def _message(self, to: str, subject: str, body: str, idempotency_key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings["sender"]
        message["To"] = to
        message["Subject"] = subject
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{self.settings['sender'].split('@')[-1]}>"
        message["X-Portale-Idempotency-Key"] = idempotency_key
        message.set_content(body)
        return message

    def _send(self, message: EmailMessage) -> None:
        host, port = self.settings["host"], int(self.settings.get("port", 25))
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
                if str(self.settings.get("use_tls", "")).lower() in {"1", "true", "yes"}:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.get("username"):
                    smtp.login(self.settings["username"], self.settings.get("password", ""))
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise ConnectorRejected(f"PEC recipient refused: {error}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise ConnectorUnavailable(f"PEC server {host}:{port}: {error}") from error

    def send_instance(self, instance: dict[str, Any], *, idempotency_key: str) -> DispatchReceipt:
        authority = instance["authority"]
        if not authority.get("pec"):
            raise ConnectorRejected(f"authority {authority.get('code')} has no PEC address")
        manifest = instance["manifest"]
        documents = instance.get("documents", [])
        subject, body = _texts(manifest, instance.get("request"))
        message = self._message(authority["pec"], subject, body, idempotency_key)
        message.add_attachment(
            build_manifest(manifest, documents),
            maintype="application",
            subtype="xml",
            filename="manifest.xml",
        )
        for doc in documents:
            maintype, subtype = doc.get("mime_type", "application/pdf").split("/", 1)
            message.add_attachment(
                doc["content"], maintype=maintype, subtype=subtype, filename=doc["filename"]
            )
        self._send(message)
        return DispatchReceipt(accepted=True, reference=message["Message-ID"])

    def notify(
        self, cui: dict[str, Any], event: dict[str, Any], *, idempotency_key: str
    ) -> DispatchReceipt:
        to = event.get("pec")
        if not to:
            raise ConnectorRejected("no PEC address for the notice")
        message = self._message(
            to,
            f"SUAP - Aggiornamento pratica CUI {cui.get('uuid')}",
            str(event.get("text", "")),
            idempotency_key,
        )
        self._send(message)
        return DispatchReceipt(accepted=True, reference=message["Message-ID"])
