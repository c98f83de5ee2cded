"""Start the fake services on loopback ports in background threads.

``python -m connectors.fakes`` runs them in the foreground and prints the
``PORTALE_CONNECTOR_*`` settings that point the portal at them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connectors.fakes.services import BusinessRegisterService, PdndTokenService, ViesService
from connectors.fakes.smtp import MailboxHandler, start_smtp

KID = "portale-demo-key"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the tests' output stays readable
        pass


def _keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class FakeServices:
    host: str
    private_key: str
    tokens: PdndTokenService
    register: BusinessRegisterService
    vies: ViesService
    pec: MailboxHandler | None = None
    smtp: Any = None
    servers: dict[str, BaseWSGIServer] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.servers[name].server_port}"

    def connector_settings(self) -> dict[str, dict[str, Any]]:
        token_url = self.url("pdnd") + "/token.oauth2"
        return {
            "business_register": {
                "base_url": self.url("register"),
                "token_url": token_url,
                "audience": token_url,
                "client_id": "portale-demo",
                "kid": KID,
                "private_key": self.private_key,
                "timeout": "2",
            },
            "vies": {"base_url": self.url("vies"), "timeout": "2"},
            "pec": {
                "host": self.host,
                "port": str(self.smtp.port),
                "sender": "suap@pec.portale.esempio.it",
                "timeout": "5",
            },
        }

    def environ(self) -> dict[str, str]:
        env = {}
        for identifier, settings in self.connector_settings().items():
            for key, value in settings.items():
                env[f"PORTALE_CONNECTOR_{identifier.upper()}_{key.upper()}"] = str(value)
        return env

    def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.stop()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def start_fake_services(host: str = "127.0.0.1", base_port: int = 0) -> FakeServices:
    private, public = _keypair()
    tokens = PdndTokenService({KID: public}, audience="")
    fakes = FakeServices(host, private, tokens, BusinessRegisterService(tokens), ViesService())
    apps = {"pdnd": tokens, "register": fakes.register, "vies": fakes.vies}
    for offset, (name, app) in enumerate(apps.items()):
        port = base_port + offset if base_port else 0
        server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        fakes.servers[name] = server
        threading.Thread(target=server.serve_forever, name=f"fake-{name}", daemon=True).start()
    tokens.audience = fakes.url("pdnd") + "/token.oauth2"
    fakes.smtp, fakes.pec = start_smtp(host, base_port + len(apps) if base_port else 0)
    return fakes
