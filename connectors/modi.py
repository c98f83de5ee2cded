"""ModI integrity pattern INTEGRITY_REST_01: the ``Agid-JWT-Signature`` header.

The sender computes ``Digest: SHA-256=<base64 of the body's SHA-256>`` and signs a JWS (RS256)
whose claims carry ``signed_headers`` (the digest and the content type) besides the usual
``iss``, ``aud``, ``iat``/``nbf``/``exp`` and ``jti``. The receiver checks the signature with
the sender's public key, the time window, the audience and that the body it got has the signed
digest: a body changed on the way, a header signed by another key or no header at all fail.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt

HEADER = "Agid-JWT-Signature"
LIFETIME_SECONDS = 300


class SignatureError(Exception):
    """The message is not signed, or not by whom it claims, or not this body."""


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign(
    body: bytes,
    *,
    private_key: str,
    kid: str,
    issuer: str,
    audience: str,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers to add to a request (or response) carrying ``body``."""
    now = int(time.time())
    body_digest = digest(body)
    claims = {
        "iss": issuer,
        "sub": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
        "signed_headers": [{"digest": body_digest}, {"content-type": content_type}],
    }
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
    return {"Digest": body_digest, HEADER: token}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


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
    try:
        claims = jwt.decode(
            token,
            public_key,
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
    actual = digest(body)
    if signed.get("digest") != actual or _header(headers, "Digest") not in (None, actual):
        raise SignatureError("the body does not match the signed digest")
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
