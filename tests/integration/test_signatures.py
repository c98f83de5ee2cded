"""Signature verification of uploads against a test PKI built here (CA, OCSP, TSA on loopback)."""

from __future__ import annotations

import asyncio
import io

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from connectors.fakes.trust_services import start_trust_services
from portale.signatures import verify as v
from portale.signatures.verify import TrustConfig, verify_document

TAX_CODE = "RSSMRA80A01L219X"


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    services = start_trust_services()
    from pyhanko.sign.validation.qualified.eutl_parse import trust_list_to_registry_unsafe

    registry, errors = trust_list_to_registry_unsafe(services.pki.trusted_list_xml())
    assert errors == []
    yield services, TrustConfig(registry=registry, fetch_timeout=2, total_timeout=8)
    services.stop()


def _signer(services, identity):
    return signers.SimpleSigner(
        signing_cert=identity.asn1_cert,
        signing_key=identity.asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([services.pki.root.asn1_cert]),
    )


def cades(services, identity, content=b"%PDF-1.4 relazione tecnica\n%%EOF\n", tsa=True):
    from datetime import UTC, datetime

    stamper = timestamps.HTTPTimeStamper(services.pki.tsa_url) if tsa else None
    info = asyncio.run(
        _signer(services, identity).async_sign_general_data(
            content,
            "sha256",
            detached=False,
            timestamper=stamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
        )
    )
    return info.dump()


def pades(services, identity):
    from weasyprint import HTML

    pdf = HTML(string="<p>Procura speciale</p>").write_pdf()
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Firma1"),
        signer=_signer(services, identity),
        timestamper=timestamps.HTTPTimeStamper(services.pki.tsa_url),
    )
    return out.getvalue()


def test_valid_cades_names_the_signer_and_its_qualified_timestamp(trust):
    services, config = trust
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    result = verify_document(cades(services, mario), "p7m", config)
    assert result.status == v.VALID and result.format == v.CADES
    signer = result.first
    assert signer.signer_tax_code == TAX_CODE and signer.signer_name == "MARIO ROSSI"
    assert signer.intact and signer.trusted and signer.qualified
    assert signer.timestamped and signer.timestamp_qualified
    assert signer.signing_time is not None and signer.signing_time_source == "timestamp"
    assert result.content.startswith(b"%PDF-1.4 relazione")


def test_valid_pades_and_a_later_incremental_update_is_caught(trust):
    services, config = trust
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    signed = pades(services, mario)
    result = verify_document(signed, "pdf", config)
    assert result.status == v.VALID and result.format == v.PADES
    assert result.first.signer_tax_code == TAX_CODE
    # an incremental update after the signature: new content on the page
    from pyhanko.pdf_utils import generic

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Modificato"] = generic.pdf_string("dopo la firma")
    writer.update_root()
    changed = io.BytesIO()
    writer.write(changed)
    modified = verify_document(changed.getvalue(), "pdf", config)
    assert modified.status == v.INVALID and modified.problem == v.MODIFIED


def test_tampered_content_is_not_intact(trust):
    services, config = trust
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    data = cades(services, mario, content=b"importo: 100 euro", tsa=False)
    tampered = data.replace(b"importo: 100 euro", b"importo: 900 euro")
    result = verify_document(tampered, "p7m", config)
    assert result.status == v.INVALID and result.problem == v.TAMPERED


def test_corrupt_cms_is_reported_not_raised(trust):
    _services, config = trust
    p7m = bytes.fromhex("30110609" + "2a864886f70d010702" + "a004300202ff")
    result = verify_document(p7m, "p7m", config)
    assert result.status == v.INVALID and result.problem == v.CORRUPT


def test_unknown_digest_algorithm(trust):
    services, config = trust
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    info = cms.ContentInfo.load(cades(services, mario, tsa=False))
    signed = info["content"]
    signer_info = signed["signer_infos"][0]
    signer_info["digest_algorithm"] = {"algorithm": "1.2.3.4.5.6.7"}
    signed["signer_infos"] = cms.SignerInfos([signer_info])
    result = verify_document(info.dump(), "p7m", config)
    assert result.status == v.INVALID and result.problem == v.UNKNOWN_ALGORITHM


def test_certificate_without_tax_code(trust):
    services, config = trust
    anon = services.pki.issue_signer("Anna", "Bianchi", None)
    result = verify_document(cades(services, anon, tsa=False), "p7m", config)
    assert result.status == v.INVALID and result.problem == v.NO_TAX_CODE


def test_revoked_and_untrusted_certificates(trust):
    services, config = trust
    luca = services.pki.issue_signer("Luca", "Verdi", "VRDLCU80A01L219T")
    data = cades(services, luca, tsa=False)
    services.pki.revoke(luca)
    assert verify_document(data, "p7m", config).problem == v.REVOKED
    other = start_trust_services()  # a CA nobody listed
    try:
        stranger = other.pki.issue_signer("Ugo", "Neri", "NREUGO80A01L219Q")
        result = verify_document(cades(other, stranger, tsa=False), "p7m", config)
        assert result.status == v.UNTRUSTED and result.problem == v.NOT_TRUSTED
    finally:
        other.stop()


def test_ocsp_down_is_not_verifiable_now_then_valid(trust):
    services, config = trust
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    data = cades(services, mario, tsa=False)
    services.app.down.add("ocsp")
    try:
        result = verify_document(data, "p7m", config)
    finally:
        services.app.down.discard("ocsp")
    assert result.status == v.UNVERIFIABLE and result.problem == v.REVOCATION_UNAVAILABLE
    assert verify_document(data, "p7m", config).status == v.VALID


def test_plain_pdf_is_unsigned(trust):
    _services, config = trust
    assert (
        verify_document(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "pdf", config).status
        == v.UNSIGNED
    )


def test_upload_stores_the_check_and_the_p7m_content(trust, session, app, tmp_path):
    from portale.procedures import services as filing
    from portale.signatures.services import check_for
    from portale.storage import LocalStorage
    from tests.integration.test_procedures_support import make_world

    services, _config = trust
    listing = tmp_path / "tl.xml"
    listing.write_text(services.pki.trusted_list_xml())
    world = make_world(session)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    mario = services.pki.issue_signer("Mario", "Rossi", TAX_CODE)
    storage = LocalStorage(tmp_path / "files")
    with app.app_context():
        app.config["SIGNATURE_TRUSTED_LIST"] = str(listing)
        try:
            attachment = filing.add_attachment(
                session,
                storage,
                draft.id,
                actor=world.user,
                slot="planimetria",
                filename="planimetria.pdf.p7m",
                data=cades(services, mario),
            )
        finally:
            app.config["SIGNATURE_TRUSTED_LIST"] = ""
        check = check_for(session, attachment.storage_key)
    assert check.status == v.VALID and check.signer_tax_code == TAX_CODE
    assert check.format == v.CADES and check.timestamp_qualified
    assert storage.read(check.content_key).startswith(b"%PDF-1.4 relazione")
    assert storage.read(attachment.storage_key).startswith(b"0")  # the signed original kept
