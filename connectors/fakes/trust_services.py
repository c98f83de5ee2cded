"""A test PKI for qualified signatures, built at run time: nothing is fetched, nothing shipped.

- a root "qualified" CA, whose signer certificates carry the Italian ``serialNumber``
  ``TINIT-<tax code>`` and the eIDAS QC statements (compliance, QSCD, e-signature type);
- an OCSP responder (RFC 6960) and a time-stamping authority (RFC 3161) speaking HTTP on
  loopback, answering from certomancer's responders; either can be taken down to test
  "not verifiable now";
- a trusted list (ETSI TS 119 612 XML) naming the CA as a qualified CA and the TSA as a
  qualified time-stamping service, which the portal reads exactly as it reads the Italian one.

The keys and certificates can be saved to a directory and loaded again (the demo keeps them
under ``var/`` so the sample documents it ships stay valid across restarts).
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.wrappers import Request, Response

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
TL_NS = "http://uri.etsi.org/02231/v2#"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
TSA_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def qc_statements_der(*, seal: bool = False) -> bytes:
    """The QC statements of a qualified certificate on a QSCD (asn1crypto via pyHanko's types)."""
    from pyhanko.sign.ades.qualified_asn1 import QcStatements

    return QcStatements(
        [
            {"statement_id": "qc_compliance"},
            {"statement_id": "qc_sscd"},
            {"statement_id": "qc_type", "statement_info": ["qct_eseal" if seal else "qct_esign"]},
        ]
    ).dump()


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_asn1_key(key: ec.EllipticCurvePrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass
class Identity:
    """A key and its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def asn1_cert(self) -> asn1_x509.Certificate:
        return to_asn1_cert(self.cert)

    @property
    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return to_asn1_key(self.key)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, **extra: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "IT")]
    if extra.get("organization"):
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, extra["organization"]))
    if extra.get("given_name"):
        attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, extra["given_name"]))
    if extra.get("surname"):
        attrs.append(x509.NameAttribute(NameOID.SURNAME, extra["surname"]))
    if extra.get("serial_number"):
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, extra["serial_number"]))
    if extra.get("organization_identifier"):
        attrs.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, extra["organization_identifier"])
        )
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


@dataclass
class TestPki:
    """The CA, its OCSP responder and TSA, and the certificates it issued."""

    root: Identity
    ocsp: Identity
    tsa: Identity
    ocsp_url: str
    tsa_url: str
    revoked: dict[int, datetime] = field(default_factory=dict)

    # --- building ----------------------------------------------------------------------

    @classmethod
    def create(cls, *, ocsp_url: str, tsa_url: str) -> TestPki:
        now = _now()
        root_key = _key()
        root_name = _name(
            "Portale Demo Qualified CA", organization="Prestatore di prova (NON VALIDO)"
        )
        root_cert = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
            )
            .sign(root_key, hashes.SHA256())
        )
        root = Identity(root_key, root_cert)
        pki = cls(root, root, root, ocsp_url, tsa_url)
        pki.ocsp = pki._issue(
            _name("Portale Demo OCSP Responder", organization="Prestatore di prova (NON VALIDO)"),
            eku=[ExtendedKeyUsageOID.OCSP_SIGNING],
            usage=_usage(digital_signature=True),
            extra=[(x509.OCSPNoCheck(), False)],
            aia=False,
        )
        pki.tsa = pki._issue(
            _name("Portale Demo TSA", organization="Prestatore di prova (NON VALIDO)"),
            eku=[ExtendedKeyUsageOID.TIME_STAMPING],
            eku_critical=True,
            usage=_usage(digital_signature=True),
        )
        return pki

    def _issue(
        self,
        subject: x509.Name,
        *,
        usage: x509.KeyUsage,
        eku: list[x509.ObjectIdentifier] | None = None,
        eku_critical: bool = False,
        extra: list[tuple[x509.ExtensionType, bool]] | None = None,
        aia: bool = True,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Identity:
        now = _now()
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.root.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=30))
            .not_valid_after(not_after or now + timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root.key.public_key()),
                critical=False,
            )
        )
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
        if aia:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.ocsp_url),
                        )
                    ]
                ),
                critical=False,
            )
        for ext, critical in extra or []:
            builder = builder.add_extension(ext, critical=critical)
        return Identity(key, builder.sign(self.root.key, hashes.SHA256()))

    def issue_signer(
        self,
        given_name: str,
        surname: str,
        tax_code: str | None,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Identity:
        """A qualified signature certificate for a person (``serialNumber`` ``TINIT-<code>``)."""
        return self._issue(
            _name(
                f"{given_name} {surname}".upper(),
                given_name=given_name.upper(),
                surname=surname.upper(),
                serial_number=f"TINIT-{tax_code}" if tax_code else "",
            ),
            usage=_usage(non_repudiation=True),
            extra=[(x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc_statements_der()), False)],
            not_before=not_before,
            not_after=not_after,
        )

    def issue_seal(self, organisation: str, identifier: str) -> Identity:
        """A qualified electronic seal certificate for an office (a legal person)."""
        return self._issue(
            _name(
                organisation,
                organization=organisation,
                organization_identifier=identifier,
            ),
            usage=_usage(non_repudiation=True, digital_signature=True),
            extra=[
                (
                    x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc_statements_der(seal=True)),
                    False,
                )
            ],
        )

    def revoke(self, identity: Identity, at: datetime | None = None) -> None:
        self.revoked[identity.cert.serial_number] = at or _now() - timedelta(minutes=1)

    # --- the trusted list ---------------------------------------------------------------

    def trusted_list_xml(self) -> str:
        """An ETSI TS 119 612 trusted list naming this CA (CA/QC) and TSA (TSA/QTST)."""
        start = (self.root.cert.not_valid_before_utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        services = "".join(
            _tl_service(kind, name, identity.cert, start)
            for kind, name, identity in (
                (CA_QC, "Portale Demo Qualified CA", self.root),
                (TSA_QTST, "Portale Demo TSA", self.tsa),
            )
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<TrustServiceStatusList xmlns="{TL_NS}" TSLTag="http://uri.etsi.org/19612/TSLTag">'
            "<SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier>"
            "<TSLSequenceNumber>1</TSLSequenceNumber>"
            "<SchemeTerritory>IT</SchemeTerritory></SchemeInformation>"
            "<TrustServiceProviderList><TrustServiceProvider>"
            '<TSPInformation><TSPName><Name xml:lang="it">Prestatore di prova (NON VALIDO)'
            "</Name></TSPName></TSPInformation>"
            f"<TSPServices>{services}</TSPServices>"
            "</TrustServiceProvider></TrustServiceProviderList>"
            "</TrustServiceStatusList>\n"
        )

    # --- persistence --------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, identity in (("root", self.root), ("ocsp", self.ocsp), ("tsa", self.tsa)):
            (directory / f"{name}.key.pem").write_bytes(identity.key_pem())
            (directory / f"{name}.cert.pem").write_bytes(identity.cert_pem())
        (directory / "urls.txt").write_text(f"{self.ocsp_url}\n{self.tsa_url}\n")

    @classmethod
    def load(cls, directory: Path) -> TestPki:
        def identity(name: str) -> Identity:
            key = serialization.load_pem_private_key(
                (directory / f"{name}.key.pem").read_bytes(), password=None
            )
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            cert = x509.load_pem_x509_certificate((directory / f"{name}.cert.pem").read_bytes())
            return Identity(key, cert)

        ocsp_url, tsa_url = (directory / "urls.txt").read_text().split()
        return cls(identity("root"), identity("ocsp"), identity("tsa"), ocsp_url, tsa_url)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _usage(*, non_repudiation: bool = False, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _tl_service(kind: str, name: str, cert: x509.Certificate, start: str) -> str:
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return (
        "<TSPService><ServiceInformation>"
        f"<ServiceTypeIdentifier>{kind}</ServiceTypeIdentifier>"
        f'<ServiceName><Name xml:lang="it">{escape(name)}</Name></ServiceName>'
        "<ServiceDigitalIdentity><DigitalId>"
        f"<X509Certificate>{der}</X509Certificate>"
        "</DigitalId></ServiceDigitalIdentity>"
        f"<ServiceStatus>{GRANTED}</ServiceStatus>"
        f"<StatusStartingTime>{start}</StatusStartingTime>"
        "</ServiceInformation></TSPService>"
    )


class _Revocations:
    """certomancer's revocation interface over the PKI's revoked serials."""

    def __init__(self, pki: TestPki) -> None:
        self.pki = pki

    def get_issuer_cert(self) -> asn1_x509.Certificate:
        return self.pki.root.asn1_cert

    def check_revocation_status(self, cid: asn1_ocsp.CertId, at_time: datetime) -> Any:
        serial = cid["serial_number"].native
        revoked_at = self.pki.revoked.get(serial)
        if revoked_at is not None and revoked_at <= at_time:
            return (
                asn1_ocsp.CertStatus(
                    name="revoked",
                    value={"revocation_time": revoked_at, "revocation_reason": "key_compromise"},
                ),
                [],
            )
        return asn1_ocsp.CertStatus(name="good", value=None), []


class TrustServices:
    """The WSGI app of the OCSP responder (``POST /ocsp``) and the TSA (``POST /tsa``)."""

    def __init__(self, pki: TestPki) -> None:
        self.pki = pki
        self.down: set[str] = set()  # "ocsp", "tsa": answer 503 as a broken responder would
        self.requests: dict[str, int] = {"ocsp": 0, "tsa": 0}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        from certomancer.services import SimpleOCSPResponder, TimeStamper, choose_signed_digest

        name = request.path.strip("/").split("/")[0]
        if name not in self.requests or request.method != "POST":
            return Response("not found", status=404)
        with self._lock:
            self.requests[name] += 1
        if name in self.down:
            return Response("service unavailable", status=503)
        body = request.get_data()
        if name == "ocsp":
            responder = SimpleOCSPResponder(
                responder_cert=self.pki.ocsp.asn1_cert,
                responder_key=self.pki.ocsp.asn1_key,
                signature_algo=choose_signed_digest("sha256", self.pki.ocsp.asn1_cert.public_key),
                at_time=_now(),
                revinfo_interface=_Revocations(self.pki),  # type: ignore[arg-type]
            )
            answer = responder.build_ocsp_response(asn1_ocsp.OCSPRequest.load(body))
            return Response(answer.dump(), content_type="application/ocsp-response")
        stamper = TimeStamper(
            tsa_cert=self.pki.tsa.asn1_cert,
            tsa_key=self.pki.tsa.asn1_key,
            certs_to_embed=[self.pki.root.asn1_cert],
        )
        answer = stamper.request_tsa_response(asn1_tsp.TimeStampReq.load(body))
        return Response(answer.dump(), content_type="application/timestamp-reply")


@dataclass
class RunningTrustServices:
    pki: TestPki
    app: TrustServices
    server: Any

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_trust_services(
    *, port: int = 0, pki_dir: Path | None = None, host: str = "127.0.0.1"
) -> RunningTrustServices:
    """Serve a test PKI's OCSP responder and TSA on loopback (a new PKI, or the one saved in
    ``pki_dir`` when it exists there for this port)."""
    from connectors.fakes.server import _serve

    placeholder = TestPki.create(ocsp_url="http://invalid/ocsp", tsa_url="http://invalid/tsa")
    app = TrustServices(placeholder)
    server = _serve("trust", host, port, app)
    base = f"http://{host}:{server.server_port}"
    pki: TestPki | None = None
    if pki_dir is not None and (pki_dir / "urls.txt").exists():
        saved = TestPki.load(pki_dir)
        if saved.ocsp_url == f"{base}/ocsp":
            pki = saved
    if pki is None:
        pki = TestPki.create(ocsp_url=f"{base}/ocsp", tsa_url=f"{base}/tsa")
        if pki_dir is not None:
            pki.save(pki_dir)
    app.pki = pki
    return RunningTrustServices(pki, app, server)
