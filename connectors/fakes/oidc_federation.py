"""A fake SPID / CIE OpenID Connect Federation on loopback: a trust anchor and three providers.

One HTTP server, one entity per path prefix (entity identifiers with a path are allowed by
the federation rules, ``<id>/.well-known/openid-federation``):

- ``/ta``: the trust anchor: its Entity Configuration, ``fetch`` (subordinate statements with
  metadata policies), ``list``, ``trust_mark_status``; it issues the trust marks;
- ``/spid``: a SPID identity provider; ``/cie``: the CIE id provider (user attributes in the
  ID token too, as CIE does);
- ``/rogue``: a provider that claims the anchor but that the anchor never registered.

Each provider validates what a real one validates: it resolves the relying party's trust chain
(the portal's Entity Configuration, the anchor's statement about it, its trust mark), checks
the signed request object, PKCE S256, the ``private_key_jwt`` client assertion (audience,
expiry, jti never seen before), single-use short-lived codes, and answers the user info signed
and then encrypted with the portal's encryption key. Instead of a password it shows a page
where a test identity is picked. ``faults`` make it misbehave for the tests.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwe
from joserfc.jwk import KeySet, RSAKey
from stdnum.it import codicefiscale
from werkzeug.wrappers import Request, Response

from connectors import oidc

TRUST_MARK_RP = "/openid_relying_party/public/"
TRUST_MARK_OP = "/openid_provider/public/"


def _tax_code(first_fifteen: str) -> str:
    return first_fifteen + codicefiscale.calc_check_digit(first_fifteen)


@dataclass(frozen=True)
class DemoIdentity:
    given_name: str
    family_name: str
    tax_code: str
    email: str
    description: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


# Invented people (check digits computed, not real subjects). The portal's demo gives the staff
# among them their roles by tax code.
MARCO_ROSSI = DemoIdentity(
    "Marco",
    "Rossi",
    "RSSMRC70C12F335M",
    "marco.rossi@esempio.it",
    "Legale rappresentante di Pasticceria Rossi S.r.l. (11850450013)",
)
GIULIA_FERRERO = DemoIdentity(
    "Giulia",
    "Ferrero",
    _tax_code("FRRGLI85M52L219"),
    "impresa@demo.it",
    "Amministratrice unica di Bottega e Caffè Aurora S.r.l. (11850430015)",
)
INTERMEDIARY = DemoIdentity(
    "Marco",
    "Bianchi",
    _tax_code("BNCMRC70A01L219"),
    "intermediario@demo.it",
    "Intermediario (Studio Bianchi), delegato da Bottega e Caffè Aurora",
)
NOBODY = DemoIdentity(
    "Chiara",
    "Neri",
    _tax_code("NREHRA88A41L219"),
    "chiara.neri@esempio.it",
    "Non rappresenta nessuna impresa",
)
CLERK = DemoIdentity(
    "Paola",
    "Operatrice",
    _tax_code("PRTPLA80A41L219"),
    "suap@demo.it",
    "Operatrice dello SUAP di Torino",
)
OFFICER = DemoIdentity(
    "Andrea",
    "Funzionario",
    _tax_code("FNZNDR75B12L219"),
    "asl@demo.it",
    "Funzionario dell'ASL Città di Torino",
)
ANALYST = DemoIdentity(
    "Sara",
    "Analista",
    _tax_code("NLSSRA90C50L219"),
    "analista@demo.it",
    "Analista del programma di semplificazione",
)
ADMIN = DemoIdentity(
    "Luca",
    "Amministratore",
    _tax_code("MMNLCU72D10L219"),
    "admin@demo.it",
    "Amministratore del portale",
)
DEMO_IDENTITIES = (
    MARCO_ROSSI,
    GIULIA_FERRERO,
    INTERMEDIARY,
    NOBODY,
    CLERK,
    OFFICER,
    ANALYST,
    ADMIN,
)


def _key(use: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": use}, auto_kid=True)


def _jwks(*keys: RSAKey) -> dict[str, Any]:
    return {"keys": [oidc.public_jwk(k) for k in keys]}


def _statement(token: str) -> Response:
    return Response(token, content_type=oidc.ENTITY_STATEMENT_MEDIA_TYPE)


def _json(data: Any, status: int = 200) -> Response:
    import json

    return Response(json.dumps(data), status=status, content_type="application/json")


def _error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


class TrustAnchor:
    def __init__(self, federation: FakeFederation, entity_id: str) -> None:
        self.federation = federation
        self.entity_id = entity_id
        self.key = _key("sig")
        # subject -> (federation jwks, entity type)
        self.subordinates: dict[str, tuple[dict[str, Any], str]] = {}

    @property
    def jwks(self) -> dict[str, Any]:
        return _jwks(self.key)

    def register(self, subject: str, jwks: dict[str, Any], entity_type: str) -> None:
        self.subordinates[subject] = (jwks, entity_type)

    def trust_mark(self, subject: str, entity_type: str) -> dict[str, str]:
        mark_id = self.entity_id + (
            TRUST_MARK_OP if entity_type == "openid_provider" else TRUST_MARK_RP
        )
        now = int(time.time())
        token = oidc.sign(
            {
                "iss": self.entity_id,
                "sub": subject,
                "id": mark_id,
                "iat": now,
                "exp": now + 365 * 86400,
                "organization_type": "public",
            },
            self.key,
            typ="trust-mark+jwt",
        )
        return {"id": mark_id, "trust_mark": token}

    def configuration(self) -> str:
        now = int(time.time())
        base = self.entity_id
        return oidc.sign(
            {
                "iss": base,
                "sub": base,
                "iat": now,
                "exp": now + 86400,
                "jwks": self.jwks,
                "metadata": {
                    "federation_entity": {
                        "organization_name": "Trust anchor di prova",
                        "homepage_uri": base,
                        "federation_fetch_endpoint": base + "/fetch",
                        "federation_list_endpoint": base + "/list",
                        "federation_resolve_endpoint": base + "/resolve",
                        "federation_trust_mark_status_endpoint": base + "/trust_mark_status",
                    }
                },
                "trust_mark_issuers": {
                    base + TRUST_MARK_RP: [base],
                    base + TRUST_MARK_OP: [base],
                },
                "constraints": {"max_path_length": 1},
            },
            self.key,
            typ=oidc.ENTITY_STATEMENT_TYPE,
        )

    POLICIES = {
        "openid_provider": {
            "openid_provider": {
                "code_challenge_methods_supported": {"subset_of": ["S256"], "essential": True},
                "token_endpoint_auth_methods_supported": {
                    "subset_of": ["private_key_jwt"],
                    "essential": True,
                },
                "subject_types_supported": {"subset_of": ["pairwise"]},
            }
        },
        "openid_relying_party": {
            "openid_relying_party": {
                "token_endpoint_auth_method": {"one_of": ["private_key_jwt"], "essential": True},
                "client_registration_types": {"subset_of": ["automatic"], "essential": True},
                "response_types": {"value": ["code"]},
                "redirect_uris": {"essential": True},
            }
        },
    }

    def handle(self, request: Request, path: str) -> Response:
        if path == "/.well-known/openid-federation":
            return _statement(self.configuration())
        if path == "/fetch":
            subject = request.args.get("sub", "")
            if subject not in self.subordinates:
                return _error("not_found", "unknown subordinate", 404)
            jwks, entity_type = self.subordinates[subject]
            now = int(time.time())
            return _statement(
                oidc.sign(
                    {
                        "iss": self.entity_id,
                        "sub": subject,
                        "iat": now,
                        "exp": now + 86400,
                        "jwks": jwks,
                        "metadata_policy": self.POLICIES[entity_type],
                        "trust_marks": [self.trust_mark(subject, entity_type)],
                    },
                    self.key,
                    typ=oidc.ENTITY_STATEMENT_TYPE,
                )
            )
        if path == "/list":
            wanted = request.args.get("entity_type")
            return _json(
                [s for s, (_j, t) in self.subordinates.items() if not wanted or t == wanted]
            )
        if path == "/trust_mark_status":
            subject = request.values.get("sub", "")
            return _json({"active": subject in self.subordinates})
        return _error("not_found", path, 404)


@dataclass
class _Transaction:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    acr: str
    code_challenge: str
    rp_jwks: KeySet
    rp_encryption_key: dict[str, Any]


@dataclass
class _Code:
    transaction: _Transaction
    identity: DemoIdentity
    expires_at: float
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


ACR_SUPPORTED = list(oidc.SPID_LEVELS)


class FakeProvider:
    """A SPID or CIE OpenID provider of the fake federation."""

    def __init__(self, federation: FakeFederation, entity_id: str, flavour: str, name: str) -> None:
        self.federation = federation
        self.entity_id = entity_id
        self.flavour = flavour
        self.name = name
        self.federation_key = _key("sig")
        self.signing_key = _key("sig")
        self.faults: set[str] = set()
        self.slow_seconds = 2.0
        self._lock = threading.Lock()
        self._transactions: dict[str, _Transaction] = {}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, tuple[DemoIdentity, _Transaction]] = {}
        self._jtis: set[str] = set()
        self.revoked: list[str] = []
        self.trust_marks: list[dict[str, str]] = []

    # -- metadata ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.entity_id + path

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.entity_id,
            "authorization_endpoint": self.url("/authorization"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "revocation_endpoint": self.url("/revocation"),
            "introspection_endpoint": self.url("/introspection"),
            "jwks": _jwks(self.signing_key),
            "op_name": self.name,
            "scopes_supported": ["openid", "offline_access"]
            + (["profile", "email"] if self.flavour == "cie" else []),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "acr_values_supported": ACR_SUPPORTED,
            "subject_types_supported": ["pairwise"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(oidc.SIGNING_ALGS),
            "id_token_signing_alg_values_supported": list(oidc.SIGNING_ALGS),
            "userinfo_signing_alg_values_supported": list(oidc.SIGNING_ALGS),
            "userinfo_encryption_alg_values_supported": list(oidc.KEY_ENCRYPTION_ALGS),
            "userinfo_encryption_enc_values_supported": list(oidc.CONTENT_ENCRYPTION_ALGS),
            "request_object_signing_alg_values_supported": list(oidc.SIGNING_ALGS),
            "request_parameter_supported": True,
            "claims_parameter_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "client_registration_types_supported": ["automatic"],
        }

    def configuration(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.entity_id,
            "sub": self.entity_id,
            "iat": now,
            "exp": now + 86400,
            "jwks": _jwks(self.federation_key),
            "authority_hints": [self.federation.anchor.entity_id],
            "trust_marks": self.trust_marks,
            "metadata": {
                "federation_entity": {
                    "organization_name": self.name,
                    "homepage_uri": self.entity_id,
                    "contacts": ["tech@idp.esempio.it"],
                },
                "openid_provider": self.metadata(),
            },
        }
        key = _key("sig") if "forged_configuration" in self.faults else self.federation_key
        return oidc.sign(claims, key, typ=oidc.ENTITY_STATEMENT_TYPE)

    # -- relying parties ---------------------------------------------------------------------

    def _relying_party(self, client_id: str) -> oidc.Provider:
        resolver = oidc.TrustChainResolver(
            {self.federation.anchor.entity_id: KeySet.import_key_set(self.federation.anchor.jwks)},
            transport=self.federation.transport,
        )
        return resolver.resolve(client_id, "openid_relying_party")

    # -- endpoints ---------------------------------------------------------------------------

    def handle(self, request: Request, path: str) -> Response:
        if path == "/.well-known/openid-federation":
            return _statement(self.configuration())
        if "down" in self.faults:
            return _error("temporarily_unavailable", "provider down", 503)
        if path == "/authorization" and request.method == "GET":
            return self.authorization(request)
        if path == "/authorization/pick" and request.method == "POST":
            return self.pick(request)
        if path == "/token" and request.method == "POST":
            if "slow" in self.faults:
                time.sleep(self.slow_seconds)
            return self.token(request)
        if path == "/userinfo" and request.method in ("GET", "POST"):
            return self.userinfo(request)
        if path == "/revocation" and request.method == "POST":
            return self.revocation(request)
        return _error("not_found", path, 404)

    def _redirect_error(
        self, redirect_uri: str, state: str, error: str, description: str
    ) -> Response:
        query = urlencode(
            {
                "error": error,
                "error_description": description,
                "state": state,
                "iss": self.entity_id,
            }
        )
        return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})

    def authorization(self, request: Request) -> Response:
        args = request.args
        client_id = args.get("client_id", "")
        if not client_id or not args.get("request"):
            return _error("invalid_request", "client_id and request are required")
        try:
            rp = self._relying_party(client_id)
        except oidc.OidcError as error:
            return _error("invalid_client", f"relying party not trusted: {error}")
        _header, unverified = oidc.unverified(args["request"])
        redirect_uri = unverified.get("redirect_uri", "")
        if redirect_uri not in rp.metadata.get("redirect_uris", []):
            return _error("invalid_request", "redirect_uri not registered")
        state = str(unverified.get("state", ""))
        try:
            claims = oidc.verify(args["request"], rp.jwks).claims
        except oidc.OidcError:
            return self._redirect_error(
                redirect_uri, state, "invalid_request_object", "bad signature"
            )
        now = time.time()
        problems = [
            claims.get("iss") != client_id and "iss",
            claims.get("client_id") != client_id and "client_id",
            claims.get("response_type") != "code" and "response_type",
            args.get("response_type") != "code" and "response_type",
            self.entity_id not in _as_list(claims.get("aud")) and "aud",
            (not isinstance(claims.get("exp"), int) or claims["exp"] < now) and "exp",
            claims.get("scope") != args.get("scope") and "scope",
            "openid" not in str(claims.get("scope", "")).split() and "scope",
            claims.get("code_challenge_method") != "S256" and "code_challenge_method",
            args.get("code_challenge_method") != "S256" and "code_challenge_method",
            claims.get("code_challenge") != args.get("code_challenge") and "code_challenge",
            not _random_enough(claims.get("nonce")) and "nonce",
            not _random_enough(claims.get("state")) and "state",
            claims.get("prompt") not in ("consent", "consent login") and "prompt",
            not set(str(claims.get("acr_values", "")).split()) <= set(ACR_SUPPORTED)
            and "acr_values",
        ]
        problems = [p for p in problems if p]
        if problems:
            return self._redirect_error(
                redirect_uri, state, "invalid_request", "invalid " + ", ".join(problems)
            )
        encryption = [k for k in rp.metadata["jwks"]["keys"] if k.get("use") == "enc"]
        if not encryption:
            return self._redirect_error(redirect_uri, state, "invalid_client", "no encryption key")
        txn_id = secrets.token_urlsafe(16)
        with self._lock:
            self._transactions[txn_id] = _Transaction(
                client_id=client_id,
                redirect_uri=redirect_uri,
                state=state,
                nonce=claims["nonce"],
                acr=str(claims.get("acr_values", "")).split()[0]
                if claims.get("acr_values")
                else oidc.SPID_LEVELS[1],
                code_challenge=claims["code_challenge"],
                rp_jwks=rp.jwks,
                rp_encryption_key=encryption[0],
            )
        return Response(self._picker(txn_id, rp), content_type="text/html; charset=utf-8")

    def _picker(self, txn_id: str, rp: oidc.Provider) -> str:
        rp_name = html.escape(str(rp.organization_name))
        items = "".join(
            f"""<li><button type="submit" name="identity" value="{i}">
              <strong>{html.escape(p.full_name)}</strong>
              <span class="cf">{p.tax_code}</span>
              <span class="d">{html.escape(p.description)}</span></button></li>"""
            for i, p in enumerate(DEMO_IDENTITIES)
        )
        colour = "#0066cc" if self.flavour == "spid" else "#1f3c88"
        return f"""<!doctype html><html lang="it"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(self.name)} – scegli un'identità di prova</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f5f6f7;color:#17324d}}
header{{background:{colour};color:#fff;padding:1rem 1.25rem}}
header h1{{font-size:1.25rem;margin:0}} main{{max-width:44rem;margin:0 auto;padding:1rem}}
.warn{{background:#fff3cd;border-left:4px solid #cc7a00;padding:.75rem;margin:1rem 0}}
ul{{list-style:none;padding:0}} li{{margin:.5rem 0}}
button{{width:100%;text-align:left;background:#fff;border:1px solid #c5c7c9;border-radius:6px;
padding:.75rem 1rem;font-size:1rem;cursor:pointer;display:grid;gap:.2rem}}
button:hover,button:focus{{border-color:{colour};outline:2px solid {colour}}}
.cf{{font-family:monospace;color:#5c6f82}} .d{{font-size:.9rem;color:#435a70}}
a.cancel{{display:inline-block;margin-top:1rem;color:{colour}}}
</style></head><body>
<header><h1>{html.escape(self.name)}</h1><div>Provider di identità di prova (federazione fittizia)</div></header>
<main>
<p><strong>{rp_name}</strong> chiede di identificarti e di ricevere nome, cognome, codice fiscale
ed e-mail.</p>
<div class="warn">Ambiente dimostrativo: invece delle credenziali scegli una delle identità di
prova qui sotto. Nessun dato reale.</div>
<form method="post" action="{self.url("/authorization/pick")}">
<input type="hidden" name="txn" value="{txn_id}">
<ul>{items}</ul>
<button type="submit" name="cancel" value="1" class="cancel">Annulla e torna al servizio</button>
</form></main></body></html>"""

    def pick(self, request: Request) -> Response:
        with self._lock:
            transaction = self._transactions.pop(request.form.get("txn", ""), None)
        if transaction is None:
            return _error("invalid_request", "unknown or used transaction")
        if request.form.get("cancel"):
            return self._redirect_error(
                transaction.redirect_uri,
                transaction.state,
                "access_denied",
                "cancelled by the user",
            )
        try:
            identity = DEMO_IDENTITIES[int(request.form.get("identity", ""))]
        except (ValueError, IndexError):
            return _error("invalid_request", "unknown identity")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(transaction, identity, time.time() + 60)
        query = urlencode({"code": code, "state": transaction.state, "iss": self.entity_id})
        return Response(status=302, headers={"Location": f"{transaction.redirect_uri}?{query}"})

    def _client_authenticated(
        self, request: Request, transaction: _Transaction, endpoint: str
    ) -> bool:
        form = request.form
        if form.get("client_assertion_type") != oidc.CLIENT_ASSERTION_TYPE:
            return False
        try:
            claims = oidc.verify(form.get("client_assertion", ""), transaction.rp_jwks).claims
        except oidc.OidcError:
            return False
        return (
            claims.get("iss") == transaction.client_id
            and claims.get("sub") == transaction.client_id
            and endpoint in _as_list(claims.get("aud"))
            and isinstance(claims.get("exp"), int)
            and claims["exp"] >= time.time()
            and bool(claims.get("jti"))
            and self._fresh_jti(str(claims["jti"]))
        )

    def _fresh_jti(self, jti: str) -> bool:
        with self._lock:
            if jti in self._jtis:
                return False
            self._jtis.add(jti)
            return True

    def _subject(self, client_id: str, identity: DemoIdentity) -> str:
        return hashlib.sha256(
            f"{self.entity_id}|{client_id}|{identity.tax_code}".encode()
        ).hexdigest()

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return _error("unsupported_grant_type", "only authorization_code")
        with self._lock:
            entry = self._codes.get(form.get("code", ""))
            replayed = entry is not None and entry.used
            if entry is not None:
                entry.used = True
        if entry is None or entry.expires_at < time.time():
            return _error("invalid_grant", "unknown or expired code")
        if replayed:
            # A code used twice: refuse, and revoke what the first use obtained (RFC 6749 4.1.2).
            self.revoked.extend(entry.access_tokens)
            return _error("invalid_grant", "code already used")
        transaction = entry.transaction
        if form.get("client_id") != transaction.client_id or not self._client_authenticated(
            request, transaction, self.url("/token")
        ):
            return _error("invalid_client", "client authentication failed", 401)
        if oidc.s256(form.get("code_verifier", "")) != transaction.code_challenge:
            return _error("invalid_grant", "PKCE verification failed")
        now = int(time.time())
        subject = self._subject(transaction.client_id, entry.identity)
        access_token = oidc.sign(
            {
                "iss": self.entity_id,
                "sub": subject,
                "aud": [self.url("/userinfo")],
                "client_id": transaction.client_id,
                "scope": "openid",
                "jti": str(uuid.uuid4()),
                "iat": now,
                "exp": now + 1800,
            },
            self.signing_key,
            typ="at+jwt",
        )
        entry.access_tokens.append(access_token)
        with self._lock:
            self._tokens[access_token] = (entry.identity, transaction)
        claims: dict[str, Any] = {
            "iss": self.entity_id,
            "sub": subject,
            "aud": transaction.client_id,
            "acr": transaction.acr,
            "at_hash": oidc.token_hash(access_token, "RS256"),
            "iat": now,
            "nbf": now,
            "exp": now + 180,
            "jti": str(uuid.uuid4()),
            "nonce": transaction.nonce,
        }
        if self.flavour == "cie":
            claims.update(self._attributes(entry.identity))
        self._id_token_faults(claims, now)
        id_token = oidc.sign(claims, self.signing_key)
        if "tampered_id_token" in self.faults:
            id_token = _tamper(id_token)
        return _json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 1800,
                "id_token": id_token,
            }
        )

    def _id_token_faults(self, claims: dict[str, Any], now: int) -> None:
        if "wrong_nonce" in self.faults:
            claims["nonce"] = secrets.token_hex(24)
        if "expired_id_token" in self.faults:
            claims.update(iat=now - 900, nbf=now - 900, exp=now - 600)
        if "wrong_audience" in self.faults:
            claims["aud"] = "https://altro-servizio.esempio.it"
        if "wrong_issuer" in self.faults:
            claims["iss"] = "https://idp-falso.esempio.it"

    def _attributes(self, identity: DemoIdentity) -> dict[str, Any]:
        return {
            "given_name": identity.given_name,
            "family_name": identity.family_name,
            "email": identity.email,
            oidc.FISCAL_NUMBER: f"TINIT-{identity.tax_code}",
        }

    def _bearer(self, request: Request) -> tuple[DemoIdentity, _Transaction] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        token = header[len("Bearer ") :]
        try:
            claims = oidc.verify(token, self.signing_key).claims
        except oidc.OidcError:
            return None
        if claims.get("exp", 0) < time.time() or token in self.revoked:
            return None
        return self._tokens.get(token)

    def userinfo(self, request: Request) -> Response:
        found = self._bearer(request)
        if found is None:
            return _error("invalid_token", "access token not valid", 401)
        identity, transaction = found
        now = int(time.time())
        claims = {
            "iss": self.entity_id,
            "aud": transaction.client_id,
            "sub": self._subject(transaction.client_id, identity),
            "iat": now,
            "nbf": now,
            "exp": now + 180,
            **self._attributes(identity),
        }
        if "expired_userinfo" in self.faults:
            claims.update(iat=now - 900, nbf=now - 900, exp=now - 600)
        key = _key("sig") if "forged_userinfo" in self.faults else self.signing_key
        inner = oidc.sign(claims, key)
        if "tampered_userinfo" in self.faults:
            inner = _tamper(inner)
        if "plain_userinfo" in self.faults:
            return Response(inner, content_type="application/jwt")
        recipient = RSAKey.import_key(transaction.rp_encryption_key)
        body = jwe.encrypt_compact(
            {
                "alg": "RSA-OAEP",
                "enc": "A256CBC-HS512",
                "kid": transaction.rp_encryption_key.get("kid"),
                "cty": "JWT",
            },
            inner,
            recipient,
            algorithms=["RSA-OAEP", "A256CBC-HS512"],
        )
        return Response(body, content_type="application/jose")

    def revocation(self, request: Request) -> Response:
        token = request.form.get("token", "")
        found = self._tokens.get(token)
        if found is None:
            return Response(status=200)  # RFC 7009: unknown tokens are not an error
        if not self._client_authenticated(request, found[1], self.url("/revocation")):
            return _error("invalid_client", "client authentication failed", 401)
        self.revoked.append(token)
        return Response(status=200)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _random_enough(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 32 and value.isalnum()


def _tamper(token: str) -> str:
    """Change one claim in the payload and keep the original signature."""
    import base64
    import json

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = claims.get("sub", "") + "x"
    claims.pop(oidc.FISCAL_NUMBER, None)
    claims[oidc.FISCAL_NUMBER] = "TINIT-" + NOBODY.tax_code
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class FakeFederation:
    """The trust anchor and the providers behind one loopback HTTP server."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from werkzeug.serving import make_server

        from connectors.fakes.server import _QuietHandler

        # Outgoing calls (to relying parties): tests mount the portal's WSGI app here.
        self.transport = transport
        self.server = make_server(host, port, self, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://{host}:{self.server.server_port}"
        self.anchor = TrustAnchor(self, self.base_url + "/ta")
        self.spid = FakeProvider(
            self, self.base_url + "/spid", "spid", "Demo SPID Identity Provider"
        )
        self.cie = FakeProvider(self, self.base_url + "/cie", "cie", "CIE id (prova)")
        self.rogue = FakeProvider(self, self.base_url + "/rogue", "spid", "IdP fuori federazione")
        for provider in (self.spid, self.cie):
            self.anchor.register(
                provider.entity_id, _jwks(provider.federation_key), "openid_provider"
            )
            provider.trust_marks = [self.anchor.trust_mark(provider.entity_id, "openid_provider")]
        # The rogue one shows a mark it signed itself: the anchor never registered it.
        self.rogue.trust_marks = [
            {
                "id": self.anchor.entity_id + TRUST_MARK_OP,
                "trust_mark": oidc.sign(
                    {
                        "iss": self.anchor.entity_id,
                        "sub": self.rogue.entity_id,
                        "id": self.anchor.entity_id + TRUST_MARK_OP,
                        "iat": int(time.time()),
                    },
                    self.rogue.federation_key,
                ),
            }
        ]
        self._entities = {
            "ta": self.anchor,
            "spid": self.spid,
            "cie": self.cie,
            "rogue": self.rogue,
        }
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="fake-oidc-federation", daemon=True
        )
        self._thread.start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        prefix, _, rest = request.path.lstrip("/").partition("/")
        entity = self._entities.get(prefix)
        response = entity.handle(request, "/" + rest) if entity else _error("not_found", "", 404)
        return response(environ, start_response)

    def register_relying_party(
        self, entity_id: str, federation_jwks: dict[str, Any]
    ) -> list[dict[str, str]]:
        """Onboard a relying party: the anchor vouches for its federation keys; returns the
        trust marks it must show in its Entity Configuration."""
        self.anchor.register(entity_id, federation_jwks, "openid_relying_party")
        return [self.anchor.trust_mark(entity_id, "openid_relying_party")]

    def portal_settings(self) -> dict[str, Any]:
        """What the portal's ``OIDC`` configuration needs to join this federation."""
        return {
            "trust_anchors": {self.anchor.entity_id: self.anchor.jwks},
            "spid_providers": [self.spid.entity_id],
            "cie_provider": self.cie.entity_id,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_fake_federation(
    host: str = "127.0.0.1", port: int = 0, transport: httpx.BaseTransport | None = None
) -> FakeFederation:
    return FakeFederation(host, port, transport)


class RoutingTransport(httpx.BaseTransport):
    """Sends requests for some origins to in-process transports (a WSGI app), the rest to the
    network: the tests let the providers fetch the portal's Entity Configuration this way."""

    def __init__(self, routes: dict[str, httpx.BaseTransport]) -> None:
        self.routes = {origin.rstrip("/"): transport for origin, transport in routes.items()}
        self.default = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        return self.routes.get(origin, self.default).handle_request(request)
