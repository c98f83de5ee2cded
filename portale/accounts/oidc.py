"""Login with SPID and CIE: the portal's use cases around the federation protocol.

``begin`` resolves the provider's trust chain and records the attempt (state, nonce, PKCE
verifier); ``complete`` takes the provider's answer, marks the attempt used before anything
else, runs every check of :mod:`connectors.oidc` and finds the account by verified tax code.
Every refusal is a :class:`LoginFailure` with the person's message and a security-log entry;
nothing else is written when a login fails.

An account is a person identified by tax code: the same account whether they come through
SPID or CIE. A first login with no account creates one, or links an existing e-mail account
once (its password proves it is theirs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from stdnum.it import codicefiscale

from connectors import oidc
from portale.accounts import security_log
from portale.accounts.identity_models import OidcAuthentication
from portale.accounts.models import ROLE_ENTREPRENEUR, ROLE_INTERMEDIARY, User, UserRole
from portale.accounts.passwords import verify_password
from portale.db import utcnow

ATTEMPT_LIFETIME = timedelta(minutes=10)
PENDING_LIFETIME = timedelta(minutes=15)
UNUSABLE_PASSWORD = "!spid-cie-only"  # never a valid Argon2 hash: no password login

MESSAGES = {
    "state": _l(
        "La richiesta di accesso non è valida, è scaduta o è già stata usata. "
        "Ricomincia l'accesso dalla pagina del portale."
    ),
    "rejected": _l(
        "Il gestore dell'identità non ha accettato il codice di autorizzazione "
        "(non valido o già usato). Ricomincia l'accesso."
    ),
    "nonce": _l(
        "La risposta del gestore dell'identità non corrisponde alla richiesta partita da "
        "questo browser (nonce diverso). Per sicurezza l'accesso è stato interrotto."
    ),
    "expired": _l(
        "Il token d'identità ricevuto è scaduto: l'accesso è stato interrotto. Ricomincia."
    ),
    "signature": _l(
        "Il token d'identità o i dati dell'utente non superano la verifica della firma: "
        "potrebbero essere stati alterati. L'accesso è stato interrotto."
    ),
    "encryption": _l(
        "I dati dell'utente non sono arrivati cifrati per questo portale: l'accesso è stato "
        "interrotto."
    ),
    "subject": _l(
        "I dati dell'utente non riguardano la persona autenticata: l'accesso è stato interrotto."
    ),
    "audience": _l(
        "Il token d'identità è destinato a un altro servizio, non a questo portale: "
        "l'accesso è stato interrotto."
    ),
    "issuer": _l(
        "Il token d'identità è stato emesso da un soggetto diverso dal gestore scelto: "
        "l'accesso è stato interrotto."
    ),
    "acr": _l(
        "Il livello di sicurezza dell'autenticazione è inferiore a quello richiesto "
        "(SPID livello 2 o superiore)."
    ),
    "untrusted": _l(
        "Questo gestore dell'identità non fa parte della federazione SPID/CIE riconosciuta "
        "dal portale, o la sua catena di fiducia non è valida. Scegline un altro."
    ),
    "unavailable": _l(
        "Il gestore dell'identità non risponde in questo momento. Riprova tra qualche minuto "
        "o scegli un altro gestore."
    ),
    "denied": _l("L'accesso è stato annullato o negato dal gestore dell'identità."),
    "no_tax_code": _l(
        "Il gestore dell'identità non ha comunicato un codice fiscale valido: senza di esso "
        "il portale non può riconoscerti."
    ),
    "invalid_response": _l(
        "Il gestore dell'identità ha dato una risposta non valida. Riprova più tardi."
    ),
    "disabled": _l("L'accesso con SPID e CIE non è attivo su questa installazione."),
}


class LoginFailure(Exception):
    """A login refused; ``kind`` picks the message, ``event_id`` the security-log entry."""

    def __init__(self, kind: str, event_id: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind if kind in MESSAGES else "invalid_response"
        self.event_id = event_id

    @property
    def message(self) -> Any:
        return MESSAGES[self.kind]


@dataclass(frozen=True)
class Federation:
    """The configured relying party and its resolver (one per app)."""

    rp: oidc.RelyingParty
    resolver: oidc.TrustChainResolver
    spid_providers: tuple[str, ...]
    cie_provider: str | None
    acr: str

    def offers(self, provider: str, flavour: str) -> bool:
        if flavour == "spid":
            return provider in self.spid_providers
        return flavour == "cie" and provider == self.cie_provider


def build_federation(config: dict[str, Any], transport: Any = None) -> Federation | None:
    """The relying party from the ``OIDC`` settings; None when no trust anchor is set."""
    if not config.get("trust_anchors"):
        return None
    missing = [k for k in ("federation_key", "signing_key", "encryption_key") if not config.get(k)]
    if missing:
        from portale.config import ConfigError

        raise ConfigError(
            "SPID/CIE need the relying party's keys: set "
            + ", ".join(f"PORTALE_OIDC_{k.upper()}" for k in missing)
        )
    anchors = oidc.trust_anchor_keys(config["trust_anchors"])
    rp = oidc.RelyingParty(
        entity_id=config["entity_id"],
        federation_key=oidc.load_key(config["federation_key"], "sig"),
        signing_key=oidc.load_key(config["signing_key"], "sig"),
        encryption_key=oidc.load_key(config["encryption_key"], "enc"),
        trust_anchors=anchors,
        authority_hints=list(config.get("authority_hints") or anchors),
        trust_marks=list(config.get("trust_marks") or []),
        organization_name=config.get("organization_name") or "Portale Unico delle Imprese",
        contacts=list(config.get("contacts") or []),
        timeout=float(config.get("timeout") or 5),
        transport=transport,
    )
    return Federation(
        rp=rp,
        resolver=oidc.TrustChainResolver(anchors, timeout=rp.timeout, transport=transport),
        spid_providers=tuple(config.get("spid_providers") or ()),
        cie_provider=config.get("cie_provider"),
        acr=config.get("acr") or oidc.SPID_LEVELS[1],
    )


def _fail(
    session: Session, kind: str, *, ip: str | None, commit: bool = True, **detail: Any
) -> LoginFailure:
    event = security_log.record(session, f"login_{kind}", ip=ip, **detail)
    if commit:
        session.commit()
    return LoginFailure(kind, event.id)


def begin(
    session: Session,
    federation: Federation,
    *,
    provider: str,
    flavour: str,
    next_url: str | None,
    ip: str | None = None,
    ui_locales: str = "it",
    acr: str | None = None,
) -> tuple[str, str]:
    """Resolve the provider and record the attempt; returns (redirect URL, state)."""
    if not federation.offers(provider, flavour):
        raise _fail(session, "untrusted", ip=ip, provider=provider, reason="not offered")
    try:
        resolved = federation.resolver.resolve(provider)
    except oidc.OidcError as error:
        raise _fail(session, error.kind, ip=ip, provider=provider, reason=error) from error
    acr = acr or federation.acr
    request = oidc.authorization_request(federation.rp, resolved, acr=acr, ui_locales=ui_locales)
    session.add(
        OidcAuthentication(
            state=request.state,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            provider=provider,
            flavour=flavour,
            acr=acr,
            next_url=next_url,
        )
    )
    session.commit()
    return request.url, request.state


@dataclass(frozen=True)
class Completed:
    attempt: OidcAuthentication
    user: User | None  # None: a first login, the person chooses to create or link an account


def _claim_state(
    session: Session, state: str, browser_states: list[str], ip: str | None
) -> OidcAuthentication:
    attempt = (
        session.scalar(select(OidcAuthentication).where(OidcAuthentication.state == state))
        if state
        else None
    )
    if attempt is None or state not in browser_states:
        raise _fail(session, "state", ip=ip, reason="unknown state or another browser's")
    # Used once: an UPDATE that only one request can win, committed before the provider is asked.
    won = session.execute(
        update(OidcAuthentication)
        .where(OidcAuthentication.id == attempt.id, OidcAuthentication.completed_at.is_(None))
        .values(completed_at=utcnow())
    ).rowcount
    session.commit()
    session.refresh(attempt)
    if not won:
        raise _fail(session, "state", ip=ip, provider=attempt.provider, reason="replayed state")
    if attempt.created_at < utcnow() - ATTEMPT_LIFETIME:
        raise _fail(session, "state", ip=ip, provider=attempt.provider, reason="expired state")
    return attempt


def _identity(claims: dict[str, Any], id_claims: dict[str, Any]) -> dict[str, Any]:
    merged = {**id_claims, **claims}
    tax_code = oidc.fiscal_number(merged)
    if not tax_code or len(tax_code) != 16 or not codicefiscale.is_valid(tax_code):
        raise ValueError("no valid fiscal_number")
    given, family = merged.get("given_name") or "", merged.get("family_name") or ""
    return {
        "tax_code": tax_code,
        "given_name": given,
        "family_name": family,
        "full_name": f"{given} {family}".strip() or tax_code,
        "email": (merged.get("email") or "").strip().lower() or None,
        "sub": merged.get("sub"),
    }


def complete(
    session: Session,
    federation: Federation,
    *,
    args: dict[str, str],
    browser_states: list[str],
    ip: str | None = None,
) -> Completed:
    """The provider's redirect back: every check, then the account (if there is one)."""
    attempt = _claim_state(session, args.get("state", ""), browser_states, ip)
    where = {"ip": ip, "provider": attempt.provider}
    if args.get("error"):
        kind = "denied" if args["error"] in ("access_denied", "consent_required") else "rejected"
        raise _fail(
            session, kind, **where, error=args["error"], reason=args.get("error_description")
        )
    try:
        provider = federation.resolver.resolve(attempt.provider)
        if args.get("iss") and args["iss"] != provider.issuer:
            raise oidc.InvalidToken("iss of the response is not the provider", "issuer")
        tokens = oidc.exchange_code(
            federation.rp, provider, args.get("code", ""), attempt.code_verifier
        )
        id_claims = oidc.verify_id_token(
            federation.rp,
            provider,
            tokens["id_token"],
            nonce=attempt.nonce,
            access_token=tokens["access_token"],
            acr=attempt.acr,
        )
        claims = oidc.fetch_userinfo(
            federation.rp, provider, tokens["access_token"], subject=id_claims["sub"]
        )
    except oidc.OidcError as error:
        raise _fail(session, error.kind, **where, reason=error) from error
    try:
        identity = _identity(claims, id_claims)
    except ValueError as error:
        raise _fail(session, "no_tax_code", **where, reason=error) from error
    attempt.identity = identity
    attempt.access_token = tokens["access_token"]
    user = verified_account(session, identity["tax_code"])
    if user is not None:
        attempt.user_id = user.id
        user.last_login_at = utcnow()
        security_log.record(
            session,
            "login_ok",
            user_id=user.id,
            tax_code=user.tax_code,
            **where,
            via=attempt.flavour,
        )
    session.commit()
    return Completed(attempt, user)


def verified_account(session: Session, tax_code: str) -> User | None:
    user = session.scalar(select(User).where(User.tax_code == tax_code))
    if user is None or user.tax_code_verified_at is None or not user.active:
        return None
    return user


def pending_attempt(session: Session, attempt_id: int | None) -> OidcAuthentication | None:
    """A first login waiting for the person to create or link an account."""
    attempt = session.get(OidcAuthentication, attempt_id) if attempt_id else None
    if (
        attempt is None
        or attempt.identity is None
        or attempt.user_id is not None
        or attempt.completed_at is None
        or attempt.completed_at < utcnow() - PENDING_LIFETIME
    ):
        return None
    return attempt


class LinkError(ValueError):
    def __init__(self, message: Any, field: str = "email") -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


def _prove(session: Session, user: User, attempt: OidcAuthentication) -> None:
    """The tax code of ``attempt`` is now ``user``'s, proven; other accounts' unproven claims
    to the same code end (the provider vouches for who holds it)."""
    tax_code = attempt.identity["tax_code"]
    others = session.scalars(select(User).where(User.tax_code == tax_code, User.id != user.id))
    for other in others:
        other.tax_code = None
        security_log.record(session, "tax_code_claim_cleared", user_id=other.id, tax_code=tax_code)
    session.flush()
    user.tax_code = tax_code
    user.tax_code_verified_at = utcnow()
    user.tax_code_verified_by = attempt.flavour
    user.last_login_at = utcnow()
    attempt.user_id = user.id
    session.flush()
    from portale.dossier.access import claim_mandates_for

    claim_mandates_for(session, user)


def create_account(
    session: Session, attempt: OidcAuthentication, *, intermediary: bool = False
) -> User:
    """A new account for the person the provider identified."""
    identity = attempt.identity
    if verified_account(session, identity["tax_code"]) is not None:
        raise LinkError(_l("Esiste già un account per il tuo codice fiscale."))
    email = identity.get("email") or f"{identity['tax_code'].lower()}@utenti-spid-cie.invalid"
    if session.scalar(select(User.id).where(User.email == email)):
        raise LinkError(
            _l(
                "L'e-mail comunicata dal gestore dell'identità appartiene già a un account del "
                "portale: collegalo qui sotto con la sua password."
            )
        )
    user = User(
        email=email,
        password_hash=UNUSABLE_PASSWORD,
        full_name=identity["full_name"],
        roles=[UserRole(role=ROLE_INTERMEDIARY if intermediary else ROLE_ENTREPRENEUR)],
    )
    session.add(user)
    session.flush()
    _prove(session, user, attempt)
    security_log.record(session, "account_created", user_id=user.id, tax_code=user.tax_code)
    session.commit()
    return user


def link_account(
    session: Session, attempt: OidcAuthentication, *, email: str, password: str, ip: str | None
) -> User:
    """Link an existing e-mail account to the verified tax code, once."""
    tax_code = attempt.identity["tax_code"]
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        security_log.record(session, "link_failed", tax_code=tax_code, ip=ip, email=email)
        session.commit()
        raise LinkError(_l("E-mail o password non corretti."), "password")
    if user.tax_code_verified_at is not None or (user.tax_code and user.tax_code != tax_code):
        security_log.record(session, "link_refused", user_id=user.id, tax_code=tax_code, ip=ip)
        session.commit()
        raise LinkError(
            _l(
                "Questo account è già collegato a un altro codice fiscale: non può essere "
                "collegato al tuo."
            )
        )
    _prove(session, user, attempt)
    security_log.record(session, "account_linked", user_id=user.id, tax_code=tax_code, ip=ip)
    session.commit()
    return user


def end_provider_session(session: Session, federation: Federation | None, attempt_id: int) -> bool:
    """Logout: revoke the access token at the provider (ending its session there too)."""
    attempt = session.get(OidcAuthentication, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return False
    revoked = False
    if federation is not None and attempt.access_token:
        try:
            provider = federation.resolver.resolve(attempt.provider)
            revoked = oidc.revoke_token(federation.rp, provider, attempt.access_token)
        except oidc.OidcError:
            revoked = False
    attempt.ended_at = utcnow()
    attempt.access_token = None
    security_log.record(
        session, "logout", user_id=attempt.user_id, provider=attempt.provider, revoked=revoked
    )
    session.commit()
    return revoked
