"""Administration use cases: accounts and their roles, offices and the municipalities they serve,
authorities. Plain functions over a session; each use case commits once.

Refusals raise :class:`AdminError` with the name of the form field the message belongs to, so
the page can show it next to that field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portale.accounts.models import (
    ROLE_ADMIN,
    ROLE_AUTHORITY_OFFICER,
    ROLE_CLERK,
    ROLES,
    Authority,
    Office,
    User,
    office_municipality,
)
from portale.accounts.services import AccountError, register_user, set_roles
from portale.reference.models import Municipality

T = TypeVar("T")

AUTHORITY_CHANNELS = ("pec", "ssu")
AUTHORITY_KINDS = ("ASL", "VVF", "ARPA", "PM", "SOPRINTENDENZA", "ALTRO")


class AdminError(ValueError):
    """A change refused; ``field`` names the form field the message belongs to, if any."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# -- accounts --------------------------------------------------------------------------------


def list_users(
    session: Session, *, query: str = "", role: str = "", page: int = 1, per_page: int = 25
) -> Page[User]:
    """Accounts matching ``query`` (e-mail, name or tax code, case-insensitive), by e-mail."""
    stmt = select(User)
    query = query.strip()
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(like),
                func.lower(User.full_name).like(like),
                func.lower(func.coalesce(User.tax_code, "")).like(like),
            )
        )
    if role in ROLES:
        from portale.accounts.models import UserRole

        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    items = list(
        session.scalars(stmt.order_by(User.email).offset((page - 1) * per_page).limit(per_page))
    )
    return Page(items=items, total=total, page=page, per_page=per_page)


@dataclass
class AccountData:
    """What the administrator sets on an account."""

    full_name: str
    roles: set[str]
    active: bool = True
    office_id: int | None = None
    authority_id: int | None = None
    tax_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _check_membership(session: Session, data: AccountData) -> tuple[int | None, int | None]:
    """Validate office/authority against the roles; returns the ids to store.

    An office only means something for a clerk and an authority for an authority officer, so
    the other cases store NULL rather than a stale membership.
    """
    unknown = data.roles - set(ROLES)
    if unknown:
        raise AdminError(_l("Ruolo sconosciuto."), "roles")
    if not data.roles:
        raise AdminError(_l("Scegli almeno un ruolo."), "roles")
    office_id = data.office_id if ROLE_CLERK in data.roles else None
    authority_id = data.authority_id if ROLE_AUTHORITY_OFFICER in data.roles else None
    if ROLE_CLERK in data.roles:
        if office_id is None:
            raise AdminError(_l("Un operatore SUAP deve appartenere a un ufficio."), "office_id")
        if session.get(Office, office_id) is None:
            raise AdminError(_l("Ufficio inesistente."), "office_id")
    if ROLE_AUTHORITY_OFFICER in data.roles:
        if authority_id is None:
            raise AdminError(
                _l("Un funzionario di ente terzo deve appartenere a un ente."), "authority_id"
            )
        if session.get(Authority, authority_id) is None:
            raise AdminError(_l("Ente inesistente."), "authority_id")
    return office_id, authority_id


def update_account(session: Session, *, actor: User, user_id: int, data: AccountData) -> User:
    """Change an account's name, roles, active flag and membership."""
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(user_id)
    office_id, authority_id = _check_membership(session, data)
    if user.id == actor.id and ROLE_ADMIN not in data.roles:
        raise AdminError(_l("Non puoi togliere a te stesso il ruolo di amministratore."), "roles")
    if user.id == actor.id and ROLE_CLERK in data.roles - user.role_names:
        # Separation of duties: access to an office's procedures is granted by someone else.
        raise AdminError(
            _l(
                "Non puoi assegnare a te stesso il ruolo di operatore SUAP: chiedilo a un altro amministratore."
            ),
            "roles",
        )
    if user.id == actor.id and not data.active:
        raise AdminError(_l("Non puoi disattivare il tuo stesso account."), "active")
    if not data.full_name.strip():
        raise AdminError(_l("Inserisci nome e cognome."), "full_name")
    user.full_name = data.full_name.strip()
    user.active = data.active
    user.office_id = office_id
    user.authority_id = authority_id
    set_roles(session, user, set(data.roles))
    session.commit()
    return user


def create_account(session: Session, *, email: str, password: str, data: AccountData) -> User:
    """Create an account with the given roles (e.g. a clerk of an office)."""
    office_id, authority_id = _check_membership(session, data)
    try:
        user = register_user(
            session,
            email=email,
            password=password,
            full_name=data.full_name,
            tax_code=data.tax_code or None,
            roles=tuple(sorted(data.roles)),
            commit=False,
        )
    except AccountError as error:
        session.rollback()
        raise AdminError(error.args[0], error.field) from error
    user.active = data.active
    user.office_id = office_id
    user.authority_id = authority_id
    session.commit()
    return user


# -- offices ---------------------------------------------------------------------------------


@dataclass
class OfficeData:
    code: str
    name: str
    email: str | None = None
    pec: str | None = None
    saturday_is_holiday: bool = False
    active: bool = True
    municipalities: Sequence[str] = ()


def list_offices(session: Session) -> list[tuple[Office, int]]:
    """Offices with the number of municipalities each serves, by name."""
    counts = (
        select(office_municipality.c.office_id, func.count().label("n"))
        .group_by(office_municipality.c.office_id)
        .subquery()
    )
    rows = session.execute(
        select(Office, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.office_id == Office.id)
        .order_by(Office.name)
    )
    return [(office, n) for office, n in rows]


def municipality_choices(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Municipality.istat_code, Municipality.name).order_by(Municipality.name)
    )
    return [(code, f"{name} ({code})") for code, name in rows]


def served_elsewhere(
    session: Session, codes: Iterable[str], office_id: int | None
) -> list[tuple[str, str]]:
    """(municipality name, office name) of the ``codes`` served by an office other than this one."""
    codes = list(codes)
    if not codes:
        return []
    stmt = (
        select(Municipality.name, Office.name)
        .join(office_municipality, office_municipality.c.istat_code == Municipality.istat_code)
        .join(Office, Office.id == office_municipality.c.office_id)
        .where(Municipality.istat_code.in_(codes))
        .order_by(Municipality.name)
    )
    if office_id is not None:
        stmt = stmt.where(Office.id != office_id)
    return [(m, o) for m, o in session.execute(stmt)]


def served_by(session: Session, *, except_office: int | None = None) -> dict[str, str]:
    """Municipality ISTAT code -> name of the office serving it (other than ``except_office``)."""
    stmt = select(office_municipality.c.istat_code, Office.name).join(
        Office, Office.id == office_municipality.c.office_id
    )
    if except_office is not None:
        stmt = stmt.where(Office.id != except_office)
    return {code: name for code, name in session.execute(stmt)}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def save_office(session: Session, *, office_id: int | None, data: OfficeData) -> Office:
    """Create (``office_id`` None) or update an office and the municipalities it serves.

    A municipality is served by at most one office: the procedures filed for it must have
    exactly one owner.
    """
    code = data.code.strip().upper()
    if not code:
        raise AdminError(_l("Inserisci il codice."), "code")
    clash = session.scalar(select(Office.id).where(Office.code == code))
    if clash is not None and clash != office_id:
        raise AdminError(_l("Esiste già un ufficio con questo codice."), "code")
    if not data.name.strip():
        raise AdminError(_l("Inserisci il nome."), "name")
    codes = list(dict.fromkeys(data.municipalities))
    known = {
        m.istat_code: m
        for m in session.scalars(select(Municipality).where(Municipality.istat_code.in_(codes)))
    }
    if len(known) != len(codes):
        raise AdminError(_l("Comune sconosciuto."), "municipalities")
    taken = served_elsewhere(session, codes, office_id)
    if taken:
        listed = "; ".join(f"{m} ({o})" for m, o in taken)
        raise AdminError(
            _l(
                "Questi comuni sono già serviti da un altro ufficio: %(list)s. "
                "Toglili prima da quell'ufficio.",
                list=listed,
            ),
            "municipalities",
        )
    if office_id is None:
        office = Office(code=code, name="")
        session.add(office)
    else:
        office = session.get(Office, office_id)
        if office is None:
            raise LookupError(office_id)
    office.code = code
    office.name = data.name.strip()
    office.email = _clean(data.email)
    office.pec = _clean(data.pec)
    office.saturday_is_holiday = data.saturday_is_holiday
    office.active = data.active
    office.municipalities = [known[c] for c in codes]
    session.commit()
    return office


# -- authorities -----------------------------------------------------------------------------


@dataclass
class AuthorityData:
    code: str
    name: str
    kind: str
    email: str | None = None
    pec: str | None = None
    channel: str = "pec"
    ssu_endpoint: str | None = None
    active: bool = True


def list_authorities(session: Session) -> list[Authority]:
    return list(session.scalars(select(Authority).order_by(Authority.name)))


def save_authority(session: Session, *, authority_id: int | None, data: AuthorityData) -> Authority:
    """Create or update an authority; the SSU channel needs an endpoint, PEC needs an address."""
    code = data.code.strip().upper()
    if not code:
        raise AdminError(_l("Inserisci il codice."), "code")
    clash = session.scalar(select(Authority.id).where(Authority.code == code))
    if clash is not None and clash != authority_id:
        raise AdminError(_l("Esiste già un ente con questo codice."), "code")
    if not data.name.strip():
        raise AdminError(_l("Inserisci il nome."), "name")
    if data.channel not in AUTHORITY_CHANNELS:
        raise AdminError(_l("Canale non valido."), "channel")
    endpoint = _clean(data.ssu_endpoint)
    if data.channel == "ssu" and not endpoint:
        raise AdminError(
            _l("Per il canale SSU indica l'indirizzo del servizio dell'ente."), "ssu_endpoint"
        )
    if endpoint and not endpoint.startswith(("https://", "http://")):
        raise AdminError(_l("L'indirizzo deve iniziare con https://"), "ssu_endpoint")
    if data.channel == "pec" and not _clean(data.pec):
        raise AdminError(_l("Per il canale PEC indica l'indirizzo PEC dell'ente."), "pec")
    if authority_id is None:
        authority = Authority(code=code, name="", kind="")
        session.add(authority)
    else:
        authority = session.get(Authority, authority_id)
        if authority is None:
            raise LookupError(authority_id)
    authority.code = code
    authority.name = data.name.strip()
    authority.kind = data.kind.strip().upper()
    authority.email = _clean(data.email)
    authority.pec = _clean(data.pec)
    authority.channel = data.channel
    authority.ssu_endpoint = endpoint
    authority.active = data.active
    session.commit()
    return authority


def overview(session: Session) -> dict[str, int]:
    """Counts shown on the administration index."""
    return {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "offices": session.scalar(select(func.count()).select_from(Office)) or 0,
        "authorities": session.scalar(select(func.count()).select_from(Authority)) or 0,
        "municipalities": session.scalar(select(func.count()).select_from(Municipality)) or 0,
        "unserved": session.scalar(
            select(func.count())
            .select_from(Municipality)
            .where(Municipality.istat_code.not_in(select(office_municipality.c.istat_code)))
        )
        or 0,
    }


def find_procedure_id(session: Session, reference: str) -> int | None:
    """A procedure named by its protocol number (``SUAPTO/2026/000012``) or its id."""
    from portale.cases.models import Procedure

    reference = (reference or "").strip()
    if reference.isdigit() and len(reference) < 19:
        return session.scalar(select(Procedure.id).where(Procedure.id == int(reference)))
    code, _sep, rest = reference.rpartition("/")
    office_code, _sep, year = code.rpartition("/")
    if not (rest.isdigit() and year.isdigit() and office_code) or len(rest) > 9 or len(year) != 4:
        return None
    return session.scalar(
        select(Procedure.id)
        .join(Office, Office.id == Procedure.office_id)
        .where(
            Office.code == office_code,
            Procedure.protocol_year == int(year),
            Procedure.protocol_number == int(rest),
        )
    )
