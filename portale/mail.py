"""Outgoing e-mail: a message value and the backends that deliver it.

``file`` (the embedded default) writes .eml files under MAIL_OUTBOX_DIR so a newcomer can read
what the portal sent; ``memory`` keeps them in a list for tests; ``smtp`` talks to a server.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class MailMessage:
    to: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


SENT: list[EmailMessage] = []  # the ``memory`` backend's outbox, read by tests
_lock = threading.Lock()


def build(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(message.to)
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    email.set_content(message.body)
    for item in message.attachments:
        maintype, subtype = item.mime_type.split("/", 1)
        email.add_attachment(
            item.content, maintype=maintype, subtype=subtype, filename=item.filename
        )
    return email


def send(message: MailMessage, config: dict[str, Any]) -> EmailMessage:
    """Deliver ``message`` with the backend named by ``config["MAIL_BACKEND"]``."""
    email = build(message, config["MAIL_SENDER"])
    backend = config.get("MAIL_BACKEND", "file")
    if backend == "memory":
        with _lock:
            SENT.append(email)
    elif backend == "file":
        directory = Path(config["MAIL_OUTBOX_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
        (directory / f"{name}.eml").write_bytes(email.as_bytes())
    elif backend == "smtp":
        with smtplib.SMTP(config["MAIL_HOST"], config["MAIL_PORT"], timeout=15) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(email)
    else:
        raise ValueError(f"unknown mail backend {backend!r}")
    return email
