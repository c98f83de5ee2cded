"""People and the organisations they work for: accounts, roles, offices, authorities, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow
from portale.reference.models import Municipality

ROLE_ENTREPRENEUR = "entrepreneur"
ROLE_INTERMEDIARY = "intermediary"
ROLE_CLERK = "clerk"
ROLE_AUTHORITY_OFFICER = "authority_officer"
ROLE_ANALYST = "analyst"
ROLE_ADMIN = "admin"
# trade associations and professional orders in the simplification programme
ROLE_STAKEHOLDER = "stakeholder"
ROLES = (
    ROLE_ENTREPRENEUR,
    ROLE_INTERMEDIARY,
    ROLE_CLERK,
    ROLE_AUTHORITY_OFFICER,
    ROLE_ANALYST,
    ROLE_ADMIN,
    ROLE_STAKEHOLDER,
)

office_municipality = Table(
    "office_municipality",
    Base.metadata,
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column("istat_code", ForeignKey("municipality.istat_code"), primary_key=True, index=True),
)


class Office(Base):
    """A SUAP: the municipal one-stop office that owns procedures of the municipalities it serves."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    pec: Mapped[str | None] = mapped_column(String(254))
    # Terms count Saturday as an ordinary day unless the office's configuration says otherwise.
    saturday_is_holiday: Mapped[bool] = mapped_column(Boolean, default=False)
    # Identifier of the protocol connector (e.g. "protocol") that registers its filings, if any.
    protocol_system: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    municipalities: Mapped[list[Municipality]] = relationship(
        secondary=office_municipality, order_by=Municipality.name
    )

    def __str__(self) -> str:
        return self.name


class Authority(Base):
    """A third-party administration (*ente terzo*) asked for opinions: ASL, fire brigade, ARPA..."""

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    pec: Mapped[str | None] = mapped_column(String(254))
    # How opinion requests reach it: "ssu" (national REST interface) or "pec" (certified mail).
    channel: Mapped[str] = mapped_column(String(16), default="pec")
    ssu_endpoint: Mapped[str | None] = mapped_column(String(400))
    # Who it is on the SSU interface: the PDND client id its vouchers carry, and the public key
    # (PEM) that verifies its Agid-JWT-Signature on callbacks.
    ssu_client_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    ssu_public_key: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class User(Base):
    """An account: one person, logging in by e-mail (SPID/CIE by tax code later)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    tax_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # When and how the tax code was proven (spid, cie, admin, demo); NULL: only typed by the user.
    tax_code_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tax_code_verified_by: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="it")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    office: Mapped[Office | None] = relationship()
    authority: Mapped[Authority | None] = relationship()

    # Flask-Login protocol, written out so the model does not import Flask.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)

    @property
    def verified_tax_code(self) -> str | None:
        """The tax code only if proven (SPID/CIE, or assigned by an administrator)."""
        return self.tax_code if self.tax_code_verified_at is not None else None

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names & set(roles))

    def __str__(self) -> str:
        return self.full_name


class ApiToken(Base):
    """A bearer token for API clients; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship()


class Notification(Base):
    """An in-portal notification; the same text is also e-mailed."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(4000))
    link: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


__all__ = [
    "ApiToken",
    "Authority",
    "Notification",
    "Office",
    "ROLES",
    "User",
    "UserRole",
    "office_municipality",
]
