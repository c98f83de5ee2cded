"""Dossier models: company, premises, activities, representatives, titles, history, mandates.

Provenance is not stored apart: the provenance of a field is its latest :class:`DossierChange`
(who or which system set it, and when), so the history and the provenance cannot disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

SOURCE_USER = "user"  # typed by a person in the dossier form
SOURCE_CONNECTOR = "connector"  # fetched from an external system (source_ref = connector id)
SOURCE_PROCEDURE = "procedure"  # declared in a procedure (source_ref = procedure id)
SOURCE_DECISION = "decision"  # written by an act of the administration (titles)

MANDATE_OWNER = "legal_representative"  # full rights, may grant mandates
MANDATE_DELEGATE = "delegate"  # an intermediary or employee acting for the company


class Company(Base):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(16), unique=True)
    vat_number: Mapped[str | None] = mapped_column(String(11), index=True)
    name: Mapped[str] = mapped_column(String(300))
    legal_form: Mapped[str | None] = mapped_column(String(100))
    rea_number: Mapped[str | None] = mapped_column(String(20))
    pec: Mapped[str | None] = mapped_column(String(254))
    office_street: Mapped[str | None] = mapped_column(String(300))
    office_postcode: Mapped[str | None] = mapped_column(String(5))
    office_municipality: Mapped[str | None] = mapped_column(
        ForeignKey("municipality.istat_code"), index=True
    )
    vat_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    vat_check_valid: Mapped[bool | None] = mapped_column(Boolean)
    vat_check_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: every save of the dossier (company row or any of its parts) bumps it.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    local_units: Mapped[list[LocalUnit]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="LocalUnit.id"
    )
    activities: Mapped[list[CompanyActivity]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="CompanyActivity.id"
    )
    representatives: Mapped[list[LegalRepresentative]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="LegalRepresentative.id"
    )
    titles: Mapped[list[Title]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="Title.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.name


class LocalUnit(Base):
    """Premises (*unità locale*) where the company works; procedures are filed for one of them."""

    __tablename__ = "local_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(5))
    municipality: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"), index=True)
    ateco_code: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    company: Mapped[Company] = relationship(back_populates="local_units")


class CompanyActivity(Base):
    __tablename__ = "company_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    ateco_code: Mapped[str] = mapped_column(String(10))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    company: Mapped[Company] = relationship(back_populates="activities")


class LegalRepresentative(Base):
    __tablename__ = "legal_representative"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    tax_code: Mapped[str] = mapped_column(String(16), index=True)
    role: Mapped[str] = mapped_column(String(100))
    company: Mapped[Company] = relationship(back_populates="representatives")


class Title(Base):
    """A title the company holds: licence, authorisation, registration, with its validity."""

    __tablename__ = "title"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(100))
    issuer: Mapped[str | None] = mapped_column(String(200))
    local_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_unit.id", ondelete="SET NULL")
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    procedure_id: Mapped[int | None] = mapped_column(Integer)
    company: Mapped[Company] = relationship(back_populates="titles")


class DossierChange(Base):
    """One field set or changed: who (or which system), when, old and new value.

    ``field_path`` is ``name`` for company fields and ``local_units/<id>/street`` for parts.
    """

    __tablename__ = "dossier_change"
    __table_args__ = (Index("ix_dossier_change_company_path", "company_id", "field_path", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    company_version: Mapped[int] = mapped_column(Integer)
    field_path: Mapped[str] = mapped_column(String(120))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor = relationship("User")


class Mandate(Base):
    """Permission for a person to act for a company (*delega / procura*).

    All access to a dossier goes through a mandate: the person who creates a dossier holds an
    owner mandate as its legal representative. A mandate granted by e-mail or tax code to
    someone without an account yet is claimed when they register.
    """

    __tablename__ = "mandate"
    __table_args__ = (Index("ix_mandate_grantee_company", "grantee_id", "company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    grantee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    grantee_email: Mapped[str | None] = mapped_column(String(254), index=True)
    grantee_tax_code: Mapped[str | None] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32), default=MANDATE_DELEGATE)
    scope: Mapped[str] = mapped_column(String(32), default="full")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)

    company: Mapped[Company] = relationship()
    grantee = relationship("User", foreign_keys=[grantee_id])
    granted_by = relationship("User", foreign_keys=[granted_by_id])
