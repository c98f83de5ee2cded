"""Account use cases: registration, login, roles, API tokens, notifications."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import ROLES, ApiToken, Notification, User, UserRole
from portale.accounts.passwords import hash_password, needs_rehash, verify_password
from portale.db import utcnow


class AccountError(ValueError):
    """A use case refused: ``field`` names the form field the message belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def load_user_for_session(session: Session, user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = session.get(User, int(user_id))
    return user if user is not None and user.active else None


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str,
    tax_code: str | None = None,
    roles: tuple[str, ...] = ("entrepreneur",),
    commit: bool = True,
) -> User:
    from flask_babel import lazy_gettext as _l

    email = normalise_email(email)
    if get_user_by_email(session, email) is not None:
        raise AccountError(_l("Esiste già un account con questo indirizzo e-mail."), "email")
    tax_code = tax_code.strip().upper() if tax_code else None
    if tax_code and session.scalar(select(User.id).where(User.tax_code == tax_code)):
        raise AccountError(_l("Esiste già un account con questo codice fiscale."), "tax_code")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise AccountError(f"unknown roles: {sorted(unknown)}")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        tax_code=tax_code,
        roles=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    _claim_pending_mandates(session, user)
    if commit:
        session.commit()
    return user


def _claim_pending_mandates(session: Session, user: User) -> None:
    # A mandate granted to an e-mail or tax code before the person had an account is
    # theirs from the moment they register.
    from portale.dossier.access import claim_mandates_for

    claim_mandates_for(session, user)


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.commit()
    return user


def set_roles(session: Session, user: User, roles: set[str]) -> None:
    unknown = roles - set(ROLES)
    if unknown:
        raise AccountError(f"unknown roles: {sorted(unknown)}")
    current = {r.role: r for r in user.roles}
    for name in set(current) - roles:
        user.roles.remove(current[name])
    for name in roles - set(current):
        user.roles.append(UserRole(role=name))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once to the user, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_token(
    session: Session, user: User, name: str, valid_days: int | None = 365
) -> IssuedToken:
    secret = "pui_" + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=valid_days) if valid_days else None
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(secret),
        prefix=secret[:12],
        expires_at=expires,
    )
    session.add(token)
    session.commit()
    return IssuedToken(token=token, secret=secret)


def user_for_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    now = now or utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    token.last_used_at = now
    return token.user


def revoke_api_token(session: Session, user: User, token_id: int) -> bool:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return False
    token.revoked_at = utcnow()
    session.commit()
    return True


def notify(
    session: Session, user_id: int, subject: str, body: str, link: str | None = None
) -> None:
    """Record an in-portal notification (the caller's transaction commits it)."""
    session.add(Notification(user_id=user_id, subject=subject, body=body, link=link))


def unread_notifications(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )
