"""Verification of digitally signed uploads: CAdES (``.p7m``) and PAdES (signed PDF).

Everything cryptographic is pyHanko's: it parses the CMS, checks the signature and the hash
of the signed content, builds the chain to a trust anchor of the trusted list, asks the OCSP
responder or CRL named in the certificate, and validates the signature timestamp. This module
only turns pyHanko's status into what the portal stores and says:

- signed or not, CAdES or PAdES;
- the signer's name and tax code (the certificate's ``serialNumber``, ``TINIT-<code>``, as
  the Italian rules for qualified certificates require);
- the signing time (the timestamp's when there is a valid one, else the one the signer claims);
- intact, trusted (chain to a qualified CA of the trusted list, valid and not revoked), and
  qualified (QC statements confirmed by the trusted list);
- whether a timestamp is present and comes from a qualified time-stamping service.

A certificate that is valid only thanks to a timestamp (it expired since) is checked at the
timestamp's time. A revocation service that cannot be reached gives "not verifiable now"
(:data:`UNVERIFIABLE`), never "invalid": the caller retries later.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

UNSIGNED = "unsigned"
VALID = "valid"
INVALID = "invalid"
UNTRUSTED = "untrusted"
UNVERIFIABLE = "unverifiable"
PENDING = "pending"
STATUSES = (UNSIGNED, VALID, INVALID, UNTRUSTED, UNVERIFIABLE, PENDING)
# worst first: the file's status is its worst signature's
_SEVERITY = {INVALID: 0, UNTRUSTED: 1, UNVERIFIABLE: 2, VALID: 3}

CADES = "cades"
PADES = "pades"

# problems, each with its sentence in portale.signatures.labels
CORRUPT = "corrupt"
MODIFIED = "modified_after_signing"
TAMPERED = "not_intact"
UNKNOWN_ALGORITHM = "unknown_algorithm"
NO_TAX_CODE = "no_tax_code"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_TRUSTED = "not_trusted"
NOT_QUALIFIED = "not_qualified"
REVOCATION_UNAVAILABLE = "revocation_unavailable"
NO_TRUST_LIST = "no_trust_list"

TAX_CODE_PREFIX = "TINIT-"


@dataclass(frozen=True)
class SignerResult:
    """One signature of the file."""

    status: str
    problem: str | None = None
    signer_name: str | None = None
    signer_tax_code: str | None = None
    signing_time: datetime | None = None
    signing_time_source: str | None = None  # "timestamp" or "claimed"
    intact: bool = False
    trusted: bool = False
    qualified: bool = False
    revoked: bool = False
    timestamped: bool = False
    timestamp_qualified: bool = False
    timestamp_time: datetime | None = None
    certificate_not_after: datetime | None = None
    issuer: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("signing_time", "timestamp_time", "certificate_not_after"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignerResult:
        values = dict(data)
        for key in ("signing_time", "timestamp_time", "certificate_not_after"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Verification:
    """The whole file: its format, its signatures, and what a ``.p7m`` envelops."""

    status: str
    format: str | None = None
    problem: str | None = None
    signers: tuple[SignerResult, ...] = ()
    content: bytes | None = field(default=None, repr=False)  # the signed content of a .p7m

    @property
    def first(self) -> SignerResult | None:
        return self.signers[0] if self.signers else None


@dataclass(frozen=True)
class TrustConfig:
    """What a verification trusts and how long it may wait for the revocation services."""

    registry: Any  # pyhanko TSPRegistry from the trusted list, or None when none is configured
    fetch_timeout: float = 4.0
    total_timeout: float = 12.0


class _Unreadable(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def verify_document(data: bytes, kind: str, trust: TrustConfig) -> Verification:
    """Verify the signatures of an uploaded file whose content is ``pdf`` or ``p7m``."""
    if kind not in ("pdf", "p7m"):
        return Verification(UNSIGNED)
    try:
        return asyncio.run(
            asyncio.wait_for(_verify(data, kind, trust), timeout=trust.total_timeout)
        )
    except TimeoutError:
        fmt = CADES if kind == "p7m" else PADES
        return Verification(UNVERIFIABLE, fmt, REVOCATION_UNAVAILABLE)
    except _Unreadable as error:
        return Verification(INVALID, CADES if kind == "p7m" else PADES, error.problem)


async def _verify(data: bytes, kind: str, trust: TrustConfig) -> Verification:
    if kind == "p7m":
        return await _verify_cades(data, trust)
    return await _verify_pades(data, trust)


# --- contexts -----------------------------------------------------------------------------


def _context_factory(trust: TrustConfig) -> tuple[Callable[..., Any], list[Any]]:
    """A factory of validation contexts sharing one HTTP fetcher, and the backends to close."""
    from pyhanko.sign.validation.qualified.tsp import TSPTrustManager
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    backends: list[Any] = []

    def make(moment: datetime | None = None) -> Any:
        backend = AIOHttpFetcherBackend(per_request_timeout=trust.fetch_timeout)
        backends.append(backend)
        kwargs: dict[str, Any] = {
            "allow_fetching": True,
            "revocation_mode": "hard-fail",
            "fetcher_backend": backend,
        }
        if trust.registry is not None:
            kwargs["trust_manager"] = TSPTrustManager(trust.registry)
        else:
            kwargs["trust_roots"] = []
        if moment is not None:
            kwargs["moment"] = moment
            kwargs["retroactive_revinfo"] = True
        return ValidationContext(**kwargs)

    return make, backends


async def _close(backends: list[Any]) -> None:
    for backend in backends:
        try:
            await backend.close()
        except Exception:  # closing a session must never change a verification's outcome
            log.debug("closing a fetcher session failed", exc_info=True)


# --- CAdES ------------------------------------------------------------------------------


def _load_cms(data: bytes) -> Any:
    from asn1crypto import cms

    der = data
    if not data.startswith(b"\x30"):
        # Base64 or PEM-armoured, as some signing tools write it: the upload check's decoder
        from portale.uploads import _base64_body

        der = _base64_body(data) or data
    try:
        info = cms.ContentInfo.load(der, strict=False)
        if info["content_type"].native != "signed_data":
            raise _Unreadable(CORRUPT)
        signed = info["content"]
        signed.native  # noqa: B018 - parse everything now: a corrupt CMS fails here, not later
    except _Unreadable:
        raise
    except Exception as error:
        raise _Unreadable(CORRUPT) from error
    if not signed["signer_infos"]:
        raise _Unreadable(CORRUPT)
    return signed


async def _verify_cades(data: bytes, trust: TrustConfig) -> Verification:
    signed = _load_cms(data)
    content = signed["encap_content_info"]["content"].native
    if content is None:
        # a detached signature comes without the document it signs
        raise _Unreadable(CORRUPT)
    make, backends = _context_factory(trust)
    try:
        results = []
        for index in range(len(signed["signer_infos"])):
            results.append(await _cades_signer(signed, index, content, make, trust))
    finally:
        await _close(backends)
    return _combine(CADES, results, content=content)


async def _cades_signer(
    signed: Any, index: int, content: bytes, make: Callable[..., Any], trust: TrustConfig
) -> SignerResult:
    from asn1crypto import cms

    one = signed
    if len(signed["signer_infos"]) > 1:
        # pyHanko validates a SignedData with one signer: give it each in turn.
        one = cms.SignedData.load(signed.dump())
        one["signer_infos"] = cms.SignerInfos([signed["signer_infos"][index]])

    async def run(context: Any) -> Any:
        return await _validate_attached(one, content, context)

    return await _assess(run, make, trust)


async def _validate_attached(signed: Any, content: bytes, context: Any) -> Any:
    from cryptography.hazmat.primitives import hashes
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.validation.generic_cms import (
        cms_basic_validation,
        collect_signer_attr_status,
        collect_timing_info,
        extract_signer_info,
    )
    from pyhanko.sign.validation.status import StandardCMSSignatureStatus

    signer_info = extract_signer_info(signed)

    def digest(algorithm: str) -> bytes:
        h = hashes.Hash(get_pyca_cryptography_hash(algorithm))
        h.update(content)
        return h.finalize()

    # pyHanko's async_validate_detached_cms refuses encapsulated content, so its steps are
    # called here in the same order for an enveloping (attached) CAdES signature.
    kwargs = await collect_timing_info(
        signer_info, ts_validation_context=context, raw_digest=digest
    )
    kwargs = await cms_basic_validation(
        signed,
        raw_digest=None,
        validation_context=context,
        status_kwargs=kwargs,
        key_usage_settings=StandardCMSSignatureStatus.default_usage_constraints(None),
    )
    kwargs.update(
        await collect_signer_attr_status(
            sd_attr_certificates=(),
            signer_cert=kwargs["signing_cert"],
            validation_context=None,
            sd_signed_attrs=signer_info["signed_attrs"],
        )
    )
    return StandardCMSSignatureStatus(**kwargs)


# --- PAdES ------------------------------------------------------------------------------


async def _verify_pades(data: bytes, trust: TrustConfig) -> Verification:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception:
        # not a PDF pyHanko can read: the upload check accepted it by its header, and an
        # unreadable PDF holds no signature the portal could verify
        return Verification(UNSIGNED)
    if not signatures:
        return Verification(UNSIGNED)
    make, backends = _context_factory(trust)
    try:
        results = []
        for embedded in signatures:

            async def run(context: Any, embedded: Any = embedded) -> Any:
                return await async_validate_pdf_signature(
                    embedded, signer_validation_context=context, ts_validation_context=context
                )

            results.append(await _assess(run, make, trust, pdf=True))
    finally:
        await _close(backends)
    return _combine(PADES, results)


# --- from pyHanko's status to the portal's --------------------------------------------


async def _assess(
    run: Callable[[Any], Any], make: Callable[..., Any], trust: TrustConfig, *, pdf: bool = False
) -> SignerResult:
    from pyhanko.sign.ades.report import AdESIndeterminate

    try:
        status = await run(make())
    except (NotImplementedError, KeyError) as error:
        log.info("signature with an algorithm pyHanko does not know: %s", error)
        return SignerResult(INVALID, UNKNOWN_ALGORITHM)
    except Exception as error:
        problem = _problem_of_exception(error)
        log.info("signature not verifiable: %s", error)
        return SignerResult(INVALID, problem)
    indic = status.trust_problem_indic
    timestamp = status.timestamp_validity
    if (
        indic in (AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.EXPIRED)
        and timestamp is not None
        and timestamp.intact
        and timestamp.valid
        and timestamp.trusted
    ):
        # expired since: valid if it was valid when the timestamp proves it was signed
        try:
            status = await run(make(moment=timestamp.timestamp))
        except Exception:
            log.info("validation at the timestamp's time failed", exc_info=True)
    return await _result_of(status, make, trust, pdf=pdf)


def _problem_of_exception(error: Exception) -> str:
    from pyhanko.sign.general import UnacceptableSignerError
    from pyhanko.sign.validation.errors import DisallowedAlgorithmError, SignatureValidationError

    if isinstance(error, DisallowedAlgorithmError | AttributeError):
        # AttributeError: the digest OID names no hash cryptography knows
        return UNKNOWN_ALGORITHM
    if isinstance(error, UnacceptableSignerError):
        return NOT_TRUSTED
    text = str(error).lower()
    if "algorithm" in text or "unsupported" in text or "oid" in text:
        return UNKNOWN_ALGORITHM
    if isinstance(error, SignatureValidationError):
        return TAMPERED
    return CORRUPT


async def _result_of(
    status: Any, make: Callable[..., Any], trust: TrustConfig, *, pdf: bool
) -> SignerResult:
    from pyhanko.sign.ades.report import AdESIndeterminate

    cert = status.signing_cert
    subject = cert.subject.native
    serial = str(subject.get("serial_number") or "")
    tax_code = (
        serial[len(TAX_CODE_PREFIX) :].upper()
        if serial.upper().startswith(TAX_CODE_PREFIX)
        else None
    )
    name = (
        subject.get("common_name")
        or " ".join(str(subject.get(k, "")) for k in ("given_name", "surname")).strip()
    )
    timestamp = status.timestamp_validity
    ts_ok = bool(timestamp and timestamp.intact and timestamp.valid and timestamp.trusted)
    ts_qualified = bool(ts_ok and _qualified_timestamp(timestamp, trust))
    signing_time = timestamp.timestamp if ts_ok else status.signer_reported_dt
    base = SignerResult(
        status=VALID,
        signer_name=str(name) if name else None,
        signer_tax_code=tax_code,
        signing_time=signing_time,
        signing_time_source=("timestamp" if ts_ok else "claimed") if signing_time else None,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        revoked=bool(status.revoked),
        timestamped=timestamp is not None,
        timestamp_qualified=ts_qualified,
        timestamp_time=timestamp.timestamp if timestamp is not None else None,
        certificate_not_after=cert.not_valid_after,
        issuer=cert.issuer.human_friendly,
    )
    if not (status.intact and status.valid):
        return replace(base, status=INVALID, problem=TAMPERED)
    if pdf and not _unmodified(status):
        return replace(base, status=INVALID, problem=MODIFIED)
    indic = status.trust_problem_indic
    if status.revoked:
        return replace(base, status=INVALID, problem=REVOKED)
    if indic in (AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.EXPIRED):
        return replace(base, status=INVALID, problem=EXPIRED)
    if indic is not None or status.validation_path is None:
        if trust.registry is None:
            return replace(base, status=UNTRUSTED, problem=NO_TRUST_LIST)
        if indic in (AdESIndeterminate.TRY_LATER,) or await _revocation_unavailable(
            cert, status, make
        ):
            return replace(base, status=UNVERIFIABLE, problem=REVOCATION_UNAVAILABLE)
        return replace(base, status=UNTRUSTED, problem=NOT_TRUSTED)
    qualified = _qualified_signer(status, trust)
    base = replace(base, qualified=qualified)
    if not qualified:
        return replace(base, status=UNTRUSTED, problem=NOT_QUALIFIED)
    if not tax_code:
        return replace(base, status=INVALID, problem=NO_TAX_CODE)
    return base


def _unmodified(status: Any) -> bool:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    if status.docmdp_ok is False:
        return False
    # later revisions may add signatures, timestamps and validation data, nothing else
    level = status.modification_level
    return level is not None and level <= ModificationLevel.FORM_FILLING


async def _revocation_unavailable(cert: Any, status: Any, make: Callable[..., Any]) -> bool:
    """Whether the chain is fine but no revocation information could be had (OCSP down)."""
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import InsufficientRevinfoError

    others = []
    path = status.validation_path
    if path is None:
        try:
            others = (
                list(status.signing_cert_others) if hasattr(status, "signing_cert_others") else []
            )
        except Exception:
            others = []
    validator = CertificateValidator(cert, intermediate_certs=others, validation_context=make())
    try:
        await validator.async_validate_usage(set())
    except InsufficientRevinfoError:
        return True
    except Exception:
        return False
    return False


def _qualified_signer(status: Any, trust: TrustConfig) -> bool:
    from pyhanko.sign.validation.qualified.assess import QualificationAssessor

    if trust.registry is None or status.validation_path is None:
        return False
    try:
        result = QualificationAssessor(trust.registry).check_entity_cert_qualified(
            status.validation_path
        )
    except Exception:
        log.info("qualification assessment failed", exc_info=True)
        return False
    return bool(result.status.qualified)


def _qualified_timestamp(timestamp: Any, trust: TrustConfig) -> bool:
    from pyhanko.sign.validation.qualified.tsp import QTSTServiceInformation

    if trust.registry is None or timestamp.validation_path is None:
        return False
    return any(
        isinstance(service, QTSTServiceInformation)
        for service in trust.registry.applicable_tsps_on_path(
            timestamp.validation_path, timestamp.timestamp
        )
    ) or any(
        isinstance(service, QTSTServiceInformation)
        for authority in [timestamp.validation_path.leaf]
        for service in _services_of_leaf(trust.registry, authority)
    )


def _services_of_leaf(registry: Any, cert: Any) -> list[Any]:
    from pyhanko_certvalidator.authority import AuthorityWithCert

    return list(registry.applicable_service_definitions(AuthorityWithCert(cert), None))


def _combine(
    fmt: str, results: list[SignerResult], *, content: bytes | None = None
) -> Verification:
    worst = min(results, key=lambda r: _SEVERITY.get(r.status, 0))
    return Verification(worst.status, fmt, worst.problem, tuple(results), content)
