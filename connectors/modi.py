"""ModI integrity pattern INTEGRITY_REST_01: the ``Agid-JWT-Signature`` header.

The sender computes the digest of the body and signs a JWS (RS256) whose claims carry
``signed_headers`` (the digests and the content type) besides ``iss``, ``sub``, ``aud``,
``iat``/``nbf``/``exp`` and ``jti``. The receiver checks the signature, the time window, the
audience and that the body it got has the signed digest: a body changed on the way, a header
signed by another key or no header at all fail.

Which certificate signed it. INTEGRITY_REST_01 (the pattern the SSU specification names)
puts the X.509 certificate in the JOSE header's ``x5c`` (or ``x5u``/``x5t#S256``); the
receiver takes the key from it and checks it against its trust, here the key registered
for that peer (direct trust). PDND's variant (INTEGRITY_REST_02) names instead a ``kid``
registered on the platform: :func:`sign` writes ``x5c`` when it is given the certificate and
``kid`` otherwise, which the connectors choose with ``signature_key_reference``.

Which digest header. The ModI text of 2021 (Determinazione AgID 547/2021, the stored copy)
names ``Digest`` of RFC 3230; RFC 9530 (2024, by one of its authors) obsoletes it with
``Content-Digest``. :func:`sign` sends and signs both, so a peer on either reading finds
its header; :func:`verify` accepts either and checks every one that is present or signed.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

HEADER = "Agid-JWT-Signature"
DIGEST = "Digest"  # RFC 3230
CONTENT_DIGEST = "Content-Digest"  # RFC 9530
LIFETIME_SECONDS = 300
KEY_REFERENCES = ("x5c", "kid")


class SignatureError(Exception):
    """The message is not signed, or not by whom it claims, or not this body."""


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def digest(body: bytes) -> str:
    """The RFC 3230 ``Digest`` value."""
    return "SHA-256=" + _sha256(body)


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value (a structured-field dictionary)."""
    return f"sha-256=:{_sha256(body)}:"


def _content_digest_matches(value: str, body: bytes) -> bool:
    expected = _sha256(body)
    for member in value.split(","):
        name, _, encoded = member.strip().partition("=")
        if name.strip().lower() == "sha-256":
            return encoded.strip().strip(":") == expected
    return False  # no algorithm we compute: not a proof of this body


def certificate_chain(pem: str) -> list[str]:
    """``x5c``: the base64 DER of each certificate in ``pem``, the signer's first."""
    return [
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        for cert in x509.load_pem_x509_certificates(pem.encode())
    ]


def sign(
    body: bytes,
    *,
    private_key: str,
    kid: str,
    issuer: str,
    audience: str,
    content_type: str = "application/json",
    certificate: str | None = None,
) -> dict[str, str]:
    """Headers to add to a request (or response) carrying ``body``: with ``certificate``
    (PEM, the signer's first) the JWS names it in ``x5c``, otherwise by ``kid``."""
    now = int(time.time())
    body_digest, body_content_digest = digest(body), content_digest(body)
    claims = {
        "iss": issuer,
        "sub": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
        "signed_headers": [
            {"digest": body_digest},
            {"content-digest": body_content_digest},
            {"content-type": content_type},
        ],
    }
    header: dict[str, Any] = {"typ": "JWT"}
    if certificate:
        header["x5c"] = certificate_chain(certificate)
    else:
        header["kid"] = kid
    token = jwt.encode(claims, private_key, algorithm="RS256", headers=header)
    return {DIGEST: body_digest, CONTENT_DIGEST: body_content_digest, HEADER: token}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _public_numbers(key: Any) -> Any:
    return key.public_numbers()


def _verification_key(token: str, trusted_public_key: str) -> Any:
    """The key to check ``token`` with: the one in its ``x5c`` certificate, which must be
    the peer's registered key, or the registered key itself when it names a ``kid``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise SignatureError(f"{HEADER} invalid: {error}") from error
    trusted = serialization.load_pem_public_key(trusted_public_key.encode())
    chain = header.get("x5c")
    if not chain:
        return trusted
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
    except (ValueError, TypeError, IndexError) as error:
        raise SignatureError(f"{HEADER}: x5c is not a certificate") from error
    if _public_numbers(certificate.public_key()) != _public_numbers(trusted):
        raise SignatureError(f"{HEADER}: the x5c certificate is not the one trusted")
    return certificate.public_key()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    public_key: str,
    *,
    audience: str | None = None,
    issuer: str | None = None,
) -> dict[str, Any]:
    """The verified claims; :class:`SignatureError` when anything does not match."""
    token = _header(headers, HEADER)
    if not token:
        raise SignatureError(f"{HEADER} missing")
    key = _verification_key(token, public_key)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"verify_aud": audience is not None, "require": ["exp", "iat", "jti"]},
            leeway=30,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise SignatureError(f"{HEADER} invalid: {error}") from error
    signed = {
        name.lower(): value
        for item in claims.get("signed_headers") or []
        if isinstance(item, dict)
        for name, value in item.items()
    }
    _check_digests(body, headers, signed)
    content_type = _header(headers, "Content-Type")
    signed_type = signed.get("content-type")
    if (
        signed_type
        and content_type
        and body
        and signed_type.split(";")[0] != content_type.split(";")[0]
    ):
        raise SignatureError("the content type does not match the signed one")
    return claims


def _check_digests(body: bytes, headers: Mapping[str, str], signed: Mapping[str, str]) -> None:
    """At least one digest is signed; every digest signed or sent is this body's."""
    if "digest" not in signed and "content-digest" not in signed:
        raise SignatureError("no digest of the body is signed")
    legacy = {signed.get("digest"), _header(headers, DIGEST)} - {None}
    if any(value != digest(body) for value in legacy):
        raise SignatureError("the body does not match the signed digest")
    current = {signed.get("content-digest"), _header(headers, CONTENT_DIGEST)} - {None}
    if any(not _content_digest_matches(value, body) for value in current):
        raise SignatureError("the body does not match the signed content digest")
