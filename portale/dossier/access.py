"""Who may see and act on which company: everything goes through an active mandate.

Callers that find no access raise 404, never 403, so a guessed URL reveals nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from portale.accounts.models import User
from portale.dossier.models import MANDATE_OWNER, Company, Mandate


class NoAccess(LookupError):
    """The user holds no active mandate for the company (shown to them as 'not found')."""


def today_rome() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Rome")).date()


def active_mandate_clause(user_id: int, on: date) -> ColumnElement[bool]:
    return and_(
        Mandate.grantee_id == user_id,
        Mandate.revoked_at.is_(None),
        or_(Mandate.expires_on.is_(None), Mandate.expires_on >= on),
    )


def active_mandate(
    session: Session, user: User, company_id: int, on: date | None = None
) -> Mandate | None:
    on = on or today_rome()
    return session.scalar(
        select(Mandate)
        .where(Mandate.company_id == company_id, active_mandate_clause(user.id, on))
        .order_by((Mandate.kind == MANDATE_OWNER).desc())
        .limit(1)
    )


def get_company_for(
    session: Session, user: User, company_id: int, *, need: str = "read", on: date | None = None
) -> Company:
    """The company if ``user`` may ``need`` ("read", "edit", "grant") it, else NoAccess."""
    mandate = active_mandate(session, user, company_id, on)
    if mandate is None:
        raise NoAccess(company_id)
    if need == "edit" and mandate.scope == "read":
        raise NoAccess(company_id)
    if need == "grant" and mandate.kind != MANDATE_OWNER:
        raise NoAccess(company_id)
    company = session.get(Company, company_id)
    if company is None:
        raise NoAccess(company_id)
    return company


def accessible_companies(session: Session, user: User, on: date | None = None) -> list[Company]:
    on = on or today_rome()
    ids = select(Mandate.company_id).where(active_mandate_clause(user.id, on))
    return list(session.scalars(select(Company).where(Company.id.in_(ids)).order_by(Company.name)))


def claim_mandates_for(session: Session, user: User) -> int:
    """Attach to ``user`` the mandates granted to their e-mail or tax code before signing up."""
    conditions = [Mandate.grantee_email == user.email]
    if user.tax_code:
        conditions.append(Mandate.grantee_tax_code == user.tax_code)
    pending = list(
        session.scalars(select(Mandate).where(Mandate.grantee_id.is_(None), or_(*conditions)))
    )
    for mandate in pending:
        mandate.grantee_id = user.id
    return len(pending)
