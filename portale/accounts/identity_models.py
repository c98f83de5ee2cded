"""Identity through SPID / CIE: the login attempts in flight and the security log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portale.db import Base, UTCDateTime, utcnow


class OidcAuthentication(Base):
    """One login through a SPID or CIE provider, from the redirect to the logout.

    ``state`` is used once: the callback marks ``completed_at`` before anything else, so a
    replayed callback finds it used. The access token is kept only to revoke it at logout.
    """

    __tablename__ = "oidc_authentication"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(400))
    flavour: Mapped[str] = mapped_column(String(8))  # spid | cie
    acr: Mapped[str] = mapped_column(String(100))
    next_url: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The verified identity once the callback succeeded (tax code, names, e-mail).
    identity: Mapped[Any] = mapped_column(JSON, nullable=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    access_token: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SecurityEvent(Base):
    """The security log: failed or refused logins, links of accounts, proofs of powers."""

    __tablename__ = "security_event"
    __table_args__ = (Index("ix_security_event_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    tax_code: Mapped[str | None] = mapped_column(String(16), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[Any] = mapped_column(JSON, nullable=True)
