"""DURC certificates of a procedure: stored when fetched, shown to the clerk with validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import DurcResult
from portale.cases.models import Procedure
from portale.db import utcnow
from portale.dossier.access import today_rome
from portale.external.models import DurcCertificate

DURC_CHECKED = "durc_checked"


def store_durc(
    session: Session,
    procedure: Procedure,
    result: DurcResult,
    *,
    source: str,
    now: datetime | None = None,
) -> DurcCertificate:
    """Keep the certificate and record ``durc_checked``; the same certificate twice is kept once.

    Does not commit (the job commits)."""
    from portale.cases.services import record

    existing = session.scalar(
        select(DurcCertificate).where(
            DurcCertificate.procedure_id == procedure.id,
            DurcCertificate.protocol == result.protocol,
        )
    )
    if existing is not None:
        return existing
    now = now or utcnow()
    certificate = DurcCertificate(
        company_id=procedure.company_id,
        procedure_id=procedure.id,
        regular=result.regular,
        issued_on=result.issued_on,
        valid_until=result.valid_until,
        protocol=result.protocol,
        source=source,
        fetched_at=now,
    )
    session.add(certificate)
    record(
        session,
        procedure,
        DURC_CHECKED,
        actor_id=None,
        payload={
            "regular": result.regular,
            "issued_on": result.issued_on.isoformat(),
            "valid_until": result.valid_until.isoformat(),
            "protocol": result.protocol,
        },
        now=now,
    )
    return certificate


@dataclass(frozen=True)
class DurcView:
    regular: bool
    issued_on: date
    valid_until: date
    protocol: str
    fetched_at: datetime
    expired: bool


def latest_durc(session: Session, procedure_id: int, today: date | None = None) -> DurcView | None:
    certificate = session.scalar(
        select(DurcCertificate)
        .where(DurcCertificate.procedure_id == procedure_id)
        .order_by(DurcCertificate.fetched_at.desc(), DurcCertificate.id.desc())
        .limit(1)
    )
    if certificate is None:
        return None
    today = today or today_rome()
    return DurcView(
        regular=certificate.regular,
        issued_on=certificate.issued_on,
        valid_until=certificate.valid_until,
        protocol=certificate.protocol,
        fetched_at=certificate.fetched_at,
        expired=certificate.valid_until < today,
    )


def durc_for(procedure_id: int) -> DurcView | None:
    """Template global: the procedure's latest DURC (``None`` when none was fetched)."""
    from portale.extensions import db

    return latest_durc(db.session, procedure_id)
