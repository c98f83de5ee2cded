"""SPID and CIE through the OpenID Connect Federation: the relying party's side of the protocol.

What the national rules (``shared/specs/spid-cie-oidc``) ask of a relying party, with joserfc
doing every signature and encryption:

- the Entity Configuration the portal publishes at ``/.well-known/openid-federation``;
- the trust chain of a provider, resolved and verified up to a configured trust anchor whose
  federation keys are pinned in the configuration (the provider's own configuration must be
  signed by the keys its superior's statement gives, and carry a trust mark of that anchor);
- the signed request object (PKCE S256, nonce, state, acr_values, prompt);
- ``private_key_jwt`` at the token endpoint and at the revocation endpoint;
- the ID token's and the user info's checks (signature, iss, aud, exp, nonce, sub, acr);
  the user info comes back signed and then encrypted (JWS inside JWE).

No Flask here: the portal's services call these functions with plain values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwe, jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

SIGNING_ALGS = ("RS256", "RS512", "PS256", "PS512", "ES256", "ES512")
KEY_ENCRYPTION_ALGS = ("RSA-OAEP", "RSA-OAEP-256")
CONTENT_ENCRYPTION_ALGS = ("A128CBC-HS256", "A256CBC-HS512")
FISCAL_NUMBER = "https://attributes.eid.gov.it/fiscal_number"
ENTITY_STATEMENT_TYPE = "entity-statement+jwt"
ENTITY_STATEMENT_MEDIA_TYPE = "application/entity-statement+jwt"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SPID_LEVELS = (
    "https://www.spid.gov.it/SpidL1",
    "https://www.spid.gov.it/SpidL2",
    "https://www.spid.gov.it/SpidL3",
)
LEEWAY = 30  # seconds of clock skew accepted on iat / exp
ENTITY_CONFIGURATION_LIFETIME = 86400


class OidcError(Exception):
    """A login that cannot go on. ``kind`` says which of the documented cases it is."""

    kind = "invalid_response"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind


class UntrustedProvider(OidcError):
    """The provider's trust chain does not verify up to a configured trust anchor."""

    kind = "untrusted"


class ProviderUnavailable(OidcError):
    """The provider (or its trust anchor) is down, answers 5xx or times out."""

    kind = "unavailable"


class ProviderRejected(OidcError):
    """The provider refused the request (e.g. ``invalid_grant``: a wrong or replayed code)."""

    kind = "rejected"

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class InvalidToken(OidcError):
    """An ID token or user info that fails a check; ``kind`` names the check."""

    kind = "invalid_token"


# -- keys ------------------------------------------------------------------------------------


def generate_jwk(use: str, size: int = 2048) -> dict[str, Any]:
    """A new private RSA JWK (the demo's keys; production keys come from configuration)."""
    key = RSAKey.generate_key(size, parameters={"use": use}, auto_kid=True)
    return key.as_dict(private=True)


def load_key(value: str | dict[str, Any], use: str) -> RSAKey:
    """A private RSA key from a JWK (JSON text or dict) or a PEM; the kid is its thumbprint
    unless the JWK names one."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        key = RSAKey.import_key(value)
    else:
        key = RSAKey.import_key(value, parameters={"use": use})
        key.ensure_kid()
    if not key.is_private:
        raise ValueError("the relying party needs private keys")
    key.ensure_kid()
    return key


def public_jwk(key: RSAKey, use: str | None = None) -> dict[str, Any]:
    data = key.as_dict(private=False)
    data["kid"] = key.kid
    if use:
        data["use"] = use
    return data


def keyset(jwks: dict[str, Any] | None) -> KeySet:
    if not jwks or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise UntrustedProvider("missing jwks")
    try:
        return KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError) as error:
        raise UntrustedProvider(f"invalid jwks: {error}") from error


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    """PKCE code challenge (RFC 7636 section 4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def token_hash(token: str, alg: str) -> str:
    """``at_hash``: the left half of the token's hash with the ID token's hash size."""
    bits = alg[-3:]
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[bits]
    raw = digest(token.encode("ascii")).digest()
    return _b64url(raw[: len(raw) // 2])


def sign(claims: dict[str, Any], key: RSAKey, typ: str | None = None) -> str:
    header: dict[str, Any] = {"alg": "RS256", "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWS *before* its signature is checked (to find which keys)."""
    try:
        compact = jws.extract_compact(token.encode() if isinstance(token, str) else token)
        return dict(compact.headers()), json.loads(compact.payload)
    except (JoseError, ValueError, TypeError) as error:
        raise UntrustedProvider(f"not a JWS: {error}") from error


def verify(token: str, keys: KeySet | RSAKey, error: type[OidcError] = InvalidToken) -> Any:
    """Check a JWS's signature with ``keys``; return the joserfc token (header, claims)."""
    try:
        return jwt.decode(token, keys, algorithms=list(SIGNING_ALGS))
    except (JoseError, ValueError, TypeError) as failure:
        kind = "signature" if error is InvalidToken else None
        raise error(f"signature does not verify: {failure}", kind) from failure


# -- the relying party -----------------------------------------------------------------------


@dataclass
class RelyingParty:
    """The portal as a federation leaf: its identity, keys and trust anchors."""

    entity_id: str
    federation_key: RSAKey
    signing_key: RSAKey
    encryption_key: RSAKey
    trust_anchors: dict[str, KeySet]
    authority_hints: list[str]
    trust_marks: list[dict[str, str]] = field(default_factory=list)
    organization_name: str = "Portale Unico delle Imprese"
    contacts: list[str] = field(default_factory=list)
    homepage_uri: str = ""
    policy_uri: str = ""
    logo_uri: str = ""
    timeout: float = 5.0
    transport: httpx.BaseTransport | None = None

    @property
    def client_id(self) -> str:
        return self.entity_id

    @property
    def redirect_uri(self) -> str:
        return self.entity_id.rstrip("/") + "/oidc/callback"

    def http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, transport=self.transport)

    def metadata(self) -> dict[str, Any]:
        base = self.entity_id.rstrip("/")
        return {
            "federation_entity": {
                "organization_name": self.organization_name,
                "homepage_uri": self.homepage_uri or base + "/",
                "policy_uri": self.policy_uri or base + "/privacy",
                "logo_uri": self.logo_uri or base + "/static/img/logo.svg",
                "contacts": self.contacts,
                "federation_resolve_endpoint": base + "/resolve",
            },
            "openid_relying_party": {
                "client_id": self.client_id,
                "client_name": self.organization_name,
                "client_registration_types": ["automatic"],
                "redirect_uris": [self.redirect_uri],
                "response_types": ["code"],
                "grant_types": ["authorization_code", "refresh_token"],
                "jwks": {
                    "keys": [
                        public_jwk(self.signing_key, "sig"),
                        public_jwk(self.encryption_key, "enc"),
                    ]
                },
                "id_token_signed_response_alg": "RS256",
                "userinfo_signed_response_alg": "RS256",
                "userinfo_encrypted_response_alg": "RSA-OAEP",
                "userinfo_encrypted_response_enc": "A256CBC-HS512",
                "token_endpoint_auth_method": "private_key_jwt",
                "contacts": self.contacts,
            },
        }

    def entity_configuration(self, now: int | None = None) -> str:
        """The signed Entity Configuration (``application/entity-statement+jwt``)."""
        now = int(now or time.time())
        claims = {
            "iss": self.entity_id,
            "sub": self.entity_id,
            "iat": now,
            "exp": now + ENTITY_CONFIGURATION_LIFETIME,
            "jwks": {"keys": [public_jwk(self.federation_key)]},
            "authority_hints": self.authority_hints,
            "trust_marks": self.trust_marks,
            "metadata": self.metadata(),
        }
        return sign(claims, self.federation_key, typ=ENTITY_STATEMENT_TYPE)

    def client_assertion(self, audience: str, now: int | None = None) -> str:
        """``private_key_jwt``: iss = sub = client_id, aud = the endpoint, a fresh jti."""
        now = int(now or time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        return sign(claims, self.signing_key)


# -- trust chain ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """An OpenID provider whose trust chain verified: its final metadata and keys."""

    entity_id: str
    trust_anchor: str
    metadata: dict[str, Any]
    jwks: KeySet
    expires_at: int
    organization_name: str

    @property
    def issuer(self) -> str:
        return self.metadata.get("issuer") or self.entity_id

    def endpoint(self, name: str) -> str:
        value = self.metadata.get(name)
        if not value:
            raise UntrustedProvider(f"{self.entity_id} publishes no {name}")
        return value


def _get(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.get(url, **kwargs)
    except httpx.TimeoutException as error:
        raise ProviderUnavailable(f"{url}: timed out") from error
    except httpx.TransportError as error:
        raise ProviderUnavailable(f"{url}: {error}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
    return response


def _statement(client: httpx.Client, url: str, **kwargs: Any) -> str:
    response = _get(client, url, **kwargs)
    if response.status_code != 200:
        raise UntrustedProvider(f"{url}: HTTP {response.status_code}")
    return response.text.strip()


def well_known(entity_id: str) -> str:
    return entity_id.rstrip("/") + "/.well-known/openid-federation"


def _check_times(claims: dict[str, Any], now: int, what: str) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < now - LEEWAY:
        raise UntrustedProvider(f"{what} has expired")
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat > now + LEEWAY:
        raise UntrustedProvider(f"{what} is issued in the future")


def apply_metadata_policy(metadata: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    """OIDC Federation metadata policy operators: value, add, default, one_of, subset_of,
    superset_of, essential. A metadata that cannot satisfy the policy is not trusted."""
    result = dict(metadata)
    for claim, ops in (policy or {}).items():
        if "value" in ops:
            result[claim] = ops["value"]
        if "add" in ops:
            present = list(result.get(claim) or [])
            result[claim] = present + [v for v in ops["add"] if v not in present]
        if "default" in ops and claim not in result:
            result[claim] = ops["default"]
        if claim in result:
            value = result[claim]
            if "one_of" in ops and value not in ops["one_of"]:
                raise UntrustedProvider(f"metadata {claim}={value!r} is not allowed by the policy")
            if "subset_of" in ops:
                result[claim] = [v for v in value if v in ops["subset_of"]]
            if "superset_of" in ops and not set(ops["superset_of"]) <= set(result[claim]):
                raise UntrustedProvider(f"metadata {claim} lacks what the policy requires")
        elif ops.get("essential"):
            raise UntrustedProvider(f"metadata {claim} is essential and missing")
    return result


REQUIRED_METADATA = {
    "openid_provider": ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"),
    "openid_relying_party": ("client_id", "redirect_uris", "jwks"),
}


class TrustChainResolver:
    """Resolves providers' trust chains and keeps each result until the chain's earliest exp."""

    def __init__(
        self,
        trust_anchors: dict[str, KeySet],
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust_anchors = trust_anchors
        self.timeout = timeout
        self.transport = transport
        self.clock = clock
        self._cache: dict[tuple[str, str], Provider] = {}

    def resolve(self, entity_id: str, entity_type: str = "openid_provider") -> Provider:
        """Resolve and verify ``entity_id``'s chain as an ``entity_type`` leaf (cached)."""
        now = int(self.clock())
        cached = self._cache.get((entity_id, entity_type))
        if cached is not None and cached.expires_at > now:
            return cached
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            provider = self._resolve(client, entity_id, entity_type, now)
        self._cache[(entity_id, entity_type)] = provider
        return provider

    def forget(self) -> None:
        self._cache.clear()

    def _anchor(self, client: httpx.Client, anchor: str, now: int) -> dict[str, Any]:
        token = _statement(client, well_known(anchor))
        claims = verify(token, self.trust_anchors[anchor], UntrustedProvider).claims
        if claims.get("iss") != anchor or claims.get("sub") != anchor:
            raise UntrustedProvider("trust anchor configuration names another entity")
        _check_times(claims, now, "trust anchor configuration")
        return claims

    def _resolve(
        self, client: httpx.Client, entity_id: str, entity_type: str, now: int
    ) -> Provider:
        token = _statement(client, well_known(entity_id))
        _header, claims = unverified(token)
        if claims.get("iss") != entity_id or claims.get("sub") != entity_id:
            raise UntrustedProvider("entity configuration names another entity")
        verify(token, keyset(claims.get("jwks")), UntrustedProvider)  # self-signed
        _check_times(claims, now, "entity configuration")
        anchors = [h for h in claims.get("authority_hints") or [] if h in self.trust_anchors]
        if not anchors:
            raise UntrustedProvider(f"{entity_id} names no trusted anchor in authority_hints")
        anchor = anchors[0]
        anchor_claims = self._anchor(client, anchor, now)
        fetch = (
            (anchor_claims.get("metadata") or {})
            .get("federation_entity", {})
            .get("federation_fetch_endpoint")
        )
        if not fetch:
            raise UntrustedProvider("trust anchor publishes no fetch endpoint")
        statement = _statement(client, fetch, params={"sub": entity_id})
        subordinate = verify(statement, self.trust_anchors[anchor], UntrustedProvider).claims
        if subordinate.get("iss") != anchor or subordinate.get("sub") != entity_id:
            raise UntrustedProvider("subordinate statement is about another entity")
        _check_times(subordinate, now, "subordinate statement")
        # The leaf's configuration must verify with the keys its superior vouches for.
        verify(token, keyset(subordinate.get("jwks")), UntrustedProvider)
        self._check_trust_marks(claims, anchor, anchor_claims, entity_id, entity_type, now)
        metadata = (claims.get("metadata") or {}).get(entity_type)
        if not isinstance(metadata, dict):
            raise UntrustedProvider(f"{entity_id} is not an {entity_type}")
        policy = (subordinate.get("metadata_policy") or {}).get(entity_type) or {}
        metadata = apply_metadata_policy(metadata, policy)
        for name in REQUIRED_METADATA[entity_type]:
            if not metadata.get(name):
                raise UntrustedProvider(f"{entity_id} metadata lacks {name}")
        organization = (claims.get("metadata") or {}).get("federation_entity", {}).get(
            "organization_name"
        ) or metadata.get("op_name", entity_id)
        return Provider(
            entity_id=entity_id,
            trust_anchor=anchor,
            metadata=metadata,
            jwks=keyset(metadata.get("jwks")),
            expires_at=int(min(claims["exp"], subordinate["exp"], anchor_claims["exp"])),
            organization_name=organization,
        )

    def _check_trust_marks(
        self,
        claims: dict[str, Any],
        anchor: str,
        anchor_claims: dict[str, Any],
        entity_id: str,
        entity_type: str,
        now: int,
    ) -> None:
        issuers = anchor_claims.get("trust_mark_issuers") or {}
        for mark in claims.get("trust_marks") or []:
            mark_id, value = mark.get("id"), mark.get("trust_mark")
            if not mark_id or not value or f"/{entity_type}/" not in mark_id:
                continue
            if anchor not in issuers.get(mark_id, []):
                continue  # only marks the anchor issues itself are checked here
            try:
                content = verify(value, self.trust_anchors[anchor], UntrustedProvider).claims
            except UntrustedProvider:
                continue
            if (
                content.get("iss") == anchor
                and content.get("sub") == entity_id
                and content.get("id") == mark_id
                and (content.get("exp") is None or content["exp"] >= now - LEEWAY)
            ):
                return
        raise UntrustedProvider(f"{entity_id} shows no valid trust mark of {anchor}")


# -- authentication --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


USERINFO_CLAIMS = {
    "userinfo": {
        "given_name": None,
        "family_name": None,
        "email": None,
        FISCAL_NUMBER: {"essential": True},
    }
}


def authorization_request(
    rp: RelyingParty,
    provider: Provider,
    *,
    acr: str,
    ui_locales: str = "it",
    now: int | None = None,
) -> AuthorizationRequest:
    """The redirect to the provider: the signed request object and the PKCE challenge."""
    now = int(now or time.time())
    state, nonce = secrets.token_hex(24), secrets.token_hex(24)  # 48 alphanumeric characters
    verifier = secrets.token_urlsafe(48)
    challenge = s256(verifier)
    request_object = {
        "iss": rp.client_id,
        "sub": rp.client_id,
        "aud": [provider.issuer, provider.endpoint("authorization_endpoint")],
        "client_id": rp.client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": rp.redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "consent login",
        "acr_values": acr,
        "claims": USERINFO_CLAIMS,
        "ui_locales": ui_locales,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    params = {
        "client_id": rp.client_id,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "request": sign(request_object, rp.signing_key),
    }
    endpoint = provider.endpoint("authorization_endpoint")
    separator = "&" if "?" in endpoint else "?"
    return AuthorizationRequest(endpoint + separator + urlencode(params), state, nonce, verifier)


def _post(rp: RelyingParty, url: str, data: dict[str, str]) -> httpx.Response:
    try:
        with rp.http() as client:
            return client.post(url, data=data)
    except httpx.TimeoutException as error:
        raise ProviderUnavailable(f"{url}: timed out") from error
    except httpx.TransportError as error:
        raise ProviderUnavailable(f"{url}: {error}") from error


def exchange_code(
    rp: RelyingParty, provider: Provider, code: str, code_verifier: str
) -> dict[str, Any]:
    """Token request with ``private_key_jwt``; the provider's JSON answer."""
    endpoint = provider.endpoint("token_endpoint")
    response = _post(
        rp,
        endpoint,
        {
            "client_id": rp.client_id,
            "client_assertion": rp.client_assertion(endpoint),
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "code": code,
            "code_verifier": code_verifier,
            "grant_type": "authorization_code",
        },
    )
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(f"token endpoint: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        raise ProviderRejected(f"token endpoint refused: {error or response.status_code}", error)
    if not isinstance(body, dict) or not body.get("id_token") or not body.get("access_token"):
        raise OidcError("token response without id_token or access_token")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise OidcError("token_type is not Bearer")
    return body


def _check_common(
    claims: dict[str, Any], rp: RelyingParty, provider: Provider, now: int, what: str
) -> None:
    if claims.get("iss") != provider.issuer:
        raise InvalidToken(f"{what}: iss {claims.get('iss')!r} is not the provider", "issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if rp.client_id not in audiences:
        raise InvalidToken(f"{what}: aud {audience!r} is not this portal", "audience")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < now - LEEWAY:
        raise InvalidToken(f"{what} has expired", "expired")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > now + LEEWAY:
        raise InvalidToken(f"{what}: iat is missing or in the future", "expired")


def _level(acr: str | None) -> int:
    return SPID_LEVELS.index(acr) + 1 if acr in SPID_LEVELS else 0


def verify_id_token(
    rp: RelyingParty,
    provider: Provider,
    id_token: str,
    *,
    nonce: str,
    access_token: str,
    acr: str,
    now: int | None = None,
) -> dict[str, Any]:
    now = int(now or time.time())
    token = verify(id_token, provider.jwks)
    claims = dict(token.claims)
    _check_common(claims, rp, provider, now, "ID token")
    if not claims.get("sub"):
        raise InvalidToken("ID token without sub", "subject")
    if not nonce or claims.get("nonce") != nonce:
        raise InvalidToken("ID token nonce does not match the request", "nonce")
    expected_hash = claims.get("at_hash")
    if expected_hash is not None and expected_hash != token_hash(access_token, token.header["alg"]):
        raise InvalidToken("at_hash does not match the access token", "signature")
    if _level(claims.get("acr")) < _level(acr):
        raise InvalidToken(f"authenticated at {claims.get('acr')}, {acr} required", "acr")
    return claims


def fetch_userinfo(
    rp: RelyingParty,
    provider: Provider,
    access_token: str,
    *,
    subject: str,
    now: int | None = None,
) -> dict[str, Any]:
    """GET the user info; decrypt the JWE with the portal's key, verify the JWS inside."""
    now = int(now or time.time())
    endpoint = provider.endpoint("userinfo_endpoint")
    with rp.http() as client:
        response = _get(client, endpoint, headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code != 200:
        raise ProviderRejected(f"userinfo: HTTP {response.status_code}", "invalid_token")
    body = response.text.strip()
    if body.count(".") != 4:
        raise InvalidToken("user info is not encrypted (JWE expected)", "encryption")
    try:
        decrypted = jwe.decrypt_compact(
            body,
            rp.encryption_key,
            algorithms=[*KEY_ENCRYPTION_ALGS, *CONTENT_ENCRYPTION_ALGS],
        )
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidToken(f"user info does not decrypt: {error}", "encryption") from error
    inner = (decrypted.plaintext or b"").decode("ascii", "replace")
    claims = dict(verify(inner, provider.jwks).claims)
    _check_common(claims, rp, provider, now, "user info")
    if claims.get("sub") != subject:
        raise InvalidToken("user info sub differs from the ID token's", "subject")
    return claims


def revoke_token(rp: RelyingParty, provider: Provider, access_token: str) -> bool:
    """End the provider's session: revoke the access token (private_key_jwt). False on failure."""
    endpoint = provider.metadata.get("revocation_endpoint")
    if not endpoint:
        return False
    try:
        response = _post(
            rp,
            endpoint,
            {
                "token": access_token,
                "token_type_hint": "access_token",
                "client_id": rp.client_id,
                "client_assertion": rp.client_assertion(endpoint),
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
            },
        )
    except ProviderUnavailable:
        return False
    return response.status_code == 200


def fiscal_number(claims: dict[str, Any]) -> str | None:
    """The person's tax code from ``fiscal_number`` (``TINIT-<code>``), upper case."""
    value = claims.get(FISCAL_NUMBER) or claims.get("https://attributes.spid.gov.it/fiscal_number")
    if not isinstance(value, str):
        return None
    value = value.strip().upper()
    return value[len("TINIT-") :] if value.startswith("TINIT-") else value


def trust_anchor_keys(config: dict[str, Any]) -> dict[str, KeySet]:
    """``{anchor id: jwks}`` as configured, each a KeySet."""
    return {anchor: KeySet.import_key_set(jwks) for anchor, jwks in config.items()}


__all__: Iterable[str] = [
    "AuthorizationRequest",
    "InvalidToken",
    "OidcError",
    "Provider",
    "ProviderRejected",
    "ProviderUnavailable",
    "RelyingParty",
    "TrustChainResolver",
    "UntrustedProvider",
]
