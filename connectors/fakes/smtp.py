"""A fake PEC server: aiosmtpd on loopback keeping the messages it receives."""

from __future__ import annotations

import logging
import socket
from email import message_from_bytes
from email.message import Message
from email.policy import default

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO: the demo's console would scroll past its logins.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class MailboxHandler:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.mode = "ok"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.mode == "down":
            return "421 service not available"
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def unique_message_ids(self) -> set[str]:
        return {m["Message-ID"] for m in self.messages}


def _free_port(host: str) -> int:
    # aiosmtpd's controller cannot bind port 0 (it probes the port it was given).
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_smtp(host: str = "127.0.0.1", port: int = 0) -> tuple[Controller, MailboxHandler]:
    handler = MailboxHandler()
    controller = Controller(handler, hostname=host, port=port or _free_port(host))
    controller.start()
    return controller, handler
