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

from connectors.fakes.pagopa import FakePagoPa
from connectors.fakes.services import (
    BusinessRegisterService,
    DurcService,
    PdndTokenService,
    ProtocolService,
    ViesService,
)
from connectors.fakes.smtp import MailboxHandler, start_smtp
from connectors.fakes.ssu_authority import FakeSsuAuthority

KID = "portale-demo-key"
AUTHORITY_KID = "asl-to-demo-key"
AUTHORITY_CLIENT_ID = "asl-to-ssu"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the tests' output stays readable
        pass


def _certificate(private_pem: str, common_name: str) -> str:
    """A self-signed certificate for ``private_pem``: what goes in ``x5c`` (INTEGRITY_REST_01)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


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
    certificate: str
    tokens: PdndTokenService
    register: BusinessRegisterService
    vies: ViesService
    durc: DurcService
    protocol: ProtocolService
    authority: FakeSsuAuthority
    public_key: str = ""
    voucher_public_key: str = ""
    authority_public_key: str = ""
    pec: MailboxHandler | None = None
    smtp: Any = None
    pagopa: FakePagoPa = field(default_factory=FakePagoPa)
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
            "durc": {
                "base_url": self.url("durc"),
                "token_url": token_url,
                "audience": token_url,
                "client_id": "portale-demo",
                "kid": KID,
                "private_key": self.private_key,
                "timeout": "2",
            },
            "protocol": {"base_url": self.url("protocol"), "token": "demo-protocol-token"},
            "ssu": {
                "token_url": token_url,
                "audience": token_url,
                "client_id": "portale-demo",
                "kid": KID,
                "private_key": self.private_key,
                "certificate": self.certificate,
                "timeout": "2",
            },
            "pec": {
                "host": self.host,
                "port": str(self.smtp.port),
                "sender": "suap@pec.portale.esempio.it",
                "timeout": "5",
            },
            "pagopa": {
                "base_url": self.url("pagopa"),
                "api_key": sorted(self.pagopa.api_keys)[0],
                "mbd_service_id": "fake-mbd-service",
                "timeout": "2",
            },
        }

    def ssu_inbound(self, audience: str | None = None) -> dict[str, Any]:
        """The portal's settings to verify authorities' callbacks (``SSU_INBOUND``)."""
        return {
            "voucher_public_key": self.voucher_public_key,
            "voucher_issuer": PdndTokenService.ISSUER,
            "audience": audience,
        }

    def authority_record(self) -> dict[str, Any]:
        """What the portal's ``Authority`` row needs to talk to the fake authority."""
        return {
            "channel": "ssu",
            "ssu_endpoint": self.url("authority"),
            "ssu_client_id": AUTHORITY_CLIENT_ID,
            "ssu_public_key": self.authority_public_key,
        }

    def environ(self) -> dict[str, str]:
        env = {}
        for identifier, settings in self.connector_settings().items():
            for key, value in settings.items():
                env[f"PORTALE_CONNECTOR_{identifier.upper()}_{key.upper()}"] = str(value)
        return env

    def stop_service(self, name: str) -> None:
        """Take one service off the network (connections are refused) until restarted."""
        server = self.servers[name]
        server.shutdown()
        server.server_close()

    def restart_service(self, name: str) -> None:
        """Bring a stopped service back on the same port."""
        old = self.servers[name]
        self.servers[name] = _serve(name, self.host, old.server_port, old.app)

    def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.stop()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def _serve(name: str, host: str, port: int, app: Any) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    server.allow_reuse_address = True
    threading.Thread(target=server.serve_forever, name=f"fake-{name}", daemon=True).start()
    return server


def start_fake_services(host: str = "127.0.0.1", base_port: int = 0) -> FakeServices:
    private, public = _keypair()
    voucher_private, voucher_public = _keypair()
    authority_private, authority_public = _keypair()
    tokens = PdndTokenService(
        {KID: public, AUTHORITY_KID: authority_public},
        audience="",
        voucher_private_key=voucher_private,
    )
    authority = FakeSsuAuthority(
        tokens,
        portal_public_key=public,
        private_key=authority_private,
        client_id=AUTHORITY_CLIENT_ID,
        kid=AUTHORITY_KID,
        certificate=_certificate(authority_private, AUTHORITY_CLIENT_ID),
    )
    fakes = FakeServices(
        host,
        private,
        _certificate(private, "portale-demo"),
        tokens,
        BusinessRegisterService(tokens),
        ViesService(),
        DurcService(tokens),
        ProtocolService(),
        authority,
        public_key=public,
        voucher_public_key=voucher_public,
        authority_public_key=authority_public,
    )
    apps = {
        "pdnd": tokens,
        "register": fakes.register,
        "vies": fakes.vies,
        "durc": fakes.durc,
        "protocol": fakes.protocol,
        "authority": authority,
    }
    for offset, (name, app) in enumerate(apps.items()):
        fakes.servers[name] = _serve(name, host, base_port + offset if base_port else 0, app)
    tokens.audience = fakes.url("pdnd") + "/token.oauth2"
    authority.base_url = fakes.url("authority")
    fakes.smtp, fakes.pec = start_smtp(host, base_port + len(apps) if base_port else 0)
    # After the SMTP server, so the ports of the older fakes stay where they were.
    fakes.servers["pagopa"] = _serve(
        "pagopa", host, base_port + len(apps) + 1 if base_port else 0, fakes.pagopa
    )
    fakes.pagopa.base_url = fakes.url("pagopa")
    return fakes
