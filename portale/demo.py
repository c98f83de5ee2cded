"""``portale demo load``: reference data plus one login per role and a realistic demo company.

Everything here is demo data: the people, the company and its numbers are invented (the VAT
number and tax codes are computed to pass their check digits, not taken from real subjects).
:func:`load_demo` is idempotent: running it again keeps one of everything and resets the
demo passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import luhn
from stdnum.it import codicefiscale, iva

from portale.accounts.models import Authority, Office, User, UserRole
from portale.accounts.passwords import hash_password
from portale.accounts.services import get_user_by_email, set_roles
from portale.dossier.access import today_rome
from portale.dossier.models import (
    MANDATE_DELEGATE,
    MANDATE_OWNER,
    Company,
    Mandate,
)
from portale.reference.services import load_reference_data

DEMO_PASSWORD = "demo12345!"


def _vat_number(first_ten: str) -> str:
    # The Italian VAT check digit is Luhn's over the first ten digits (seven for the
    # company, three for the issuing office: 001 is Torino).
    number = first_ten + luhn.calc_check_digit(first_ten)
    iva.validate(number)
    return number


def _person_tax_code(first_fifteen: str) -> str:
    code = first_fifteen + codicefiscale.calc_check_digit(first_fifteen)
    codicefiscale.validate(code)
    return code


# Giulia Ferrero, born in Torino (L219) on 12 August 1985; Marco Bianchi, Torino, 1 January 1970.
GIULIA_TAX_CODE = _person_tax_code("FRRGLI85M52L219")
MARCO_TAX_CODE = _person_tax_code("BNCMRC70A01L219")
COMPANY_VAT = _vat_number("1185043001")


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    office: str | None = None
    authority: str | None = None
    tax_code: str | None = None


DEMO_USERS = (
    DemoUser("impresa@demo.it", "Giulia Ferrero", "entrepreneur", tax_code=GIULIA_TAX_CODE),
    DemoUser("intermediario@demo.it", "Marco Bianchi", "intermediary", tax_code=MARCO_TAX_CODE),
    DemoUser("suap@demo.it", "Paola Operatrice (SUAP Torino)", "clerk", office="SUAP_TORINO"),
    DemoUser(
        "asl@demo.it",
        "Andrea Funzionario (ASL Città di Torino)",
        "authority_officer",
        authority="ASL_TO",
    ),
    DemoUser("analista@demo.it", "Sara Analista", "analyst"),
    DemoUser("admin@demo.it", "Amministratore del portale", "admin"),
    DemoUser("associazione@demo.it", "Associazione Commercianti Torino (demo)", "stakeholder"),
)

DEMO_COMPANY: dict[str, Any] = {
    "tax_code": COMPANY_VAT,
    "vat_number": COMPANY_VAT,
    "name": "Bottega e Caffè Aurora S.r.l.",
    "legal_form": "Società a responsabilità limitata",
    "rea_number": "TO-1298734",
    "pec": "bottega.aurora@pec.demo.example",
    "office_street": "Via Po 18",
    "office_postcode": "10123",
    "office_municipality": "001272",  # Torino
    "local_units": [
        {
            "name": "Minimarket Aurora",
            "street": "Via Nizza 45",
            "postcode": "10125",
            "municipality": "001272",  # Torino
            # ATECO 2025: non-specialised retail, mainly food ("minimarket")
            "ateco_code": "47.11.02",
        },
        {
            "name": "Caffè Aurora",
            "street": "Corso Roma 12",
            "postcode": "10024",
            "municipality": "001156",  # Moncalieri
            # ATECO 2025: bars and coffee shops
            "ateco_code": "56.30.01",
        },
    ],
    "activities": [
        {"ateco_code": "47.11.02", "primary": True},
        {"ateco_code": "56.30.01", "primary": False},
    ],
    "representatives": [
        {
            "full_name": "Giulia Ferrero",
            "tax_code": GIULIA_TAX_CODE,
            "role": "Amministratrice unica",
        },
    ],
}

_COMPANY_FIELDS = (
    "tax_code",
    "vat_number",
    "name",
    "legal_form",
    "rea_number",
    "pec",
    "office_street",
    "office_postcode",
    "office_municipality",
)


def _ensure_user(session: Session, spec: DemoUser, password_hash: str) -> User:
    user = get_user_by_email(session, spec.email)
    if user is None:
        user = User(
            email=spec.email,
            full_name=spec.full_name,
            password_hash=password_hash,
            roles=[UserRole(role=spec.role)],
        )
        session.add(user)
    else:
        user.password_hash = password_hash
        set_roles(session, user, {spec.role})
    user.full_name = spec.full_name
    user.active = True
    if spec.tax_code and user.tax_code is None:
        taken = session.scalar(select(User.id).where(User.tax_code == spec.tax_code))
        if taken is None:
            user.tax_code = spec.tax_code
    user.office_id = (
        session.scalar(select(Office.id).where(Office.code == spec.office)) if spec.office else None
    )
    user.authority_id = (
        session.scalar(select(Authority.id).where(Authority.code == spec.authority))
        if spec.authority
        else None
    )
    session.flush()
    return user


def _create_demo_company(session: Session, actor: User) -> Company:
    """The demo dossier, created through the dossier service so it follows the forms' rules
    and every value shows "typed by" the entrepreneur."""
    from portale.dossier.services import create_company

    data = DEMO_COMPANY
    return create_company(
        session,
        actor=actor,
        data={
            **{f: data[f] for f in _COMPANY_FIELDS},
            "local_units": data["local_units"],
            "activities": data["activities"],
            "representatives": data["representatives"],
        },
    )


def _ensure_mandate(
    session: Session, company: Company, grantee: User, granted_by: User, kind: str, **extra: Any
) -> None:
    exists = session.scalar(
        select(Mandate.id).where(
            Mandate.company_id == company.id,
            Mandate.grantee_id == grantee.id,
            Mandate.kind == kind,
            Mandate.revoked_at.is_(None),
        )
    )
    if exists is None:
        session.add(
            Mandate(
                company_id=company.id,
                grantee_id=grantee.id,
                kind=kind,
                scope="full",
                granted_by_id=granted_by.id,
                **extra,
            )
        )


def load_demo(session: Session) -> list[tuple[str, str, str]]:
    """Load reference data, the demo logins and the demo company; returns (e-mail, password, role).

    Idempotent: a second run finds everything in place (and resets the demo passwords).
    """
    load_reference_data(session)
    from portale.catalogue.loader import load_catalogue
    from portale.catalogue.services import sync_catalogue

    sync_catalogue(session, load_catalogue())
    password_hash = hash_password(DEMO_PASSWORD)
    users = {spec.role: _ensure_user(session, spec, password_hash) for spec in DEMO_USERS}
    owner = users["entrepreneur"]
    company = session.scalar(select(Company).where(Company.tax_code == COMPANY_VAT))
    if company is None:
        company = _create_demo_company(session, owner)
        session.flush()
    _ensure_mandate(
        session,
        company,
        owner,
        owner,
        MANDATE_OWNER,
        note="Legale rappresentante (dati dimostrativi)",
    )
    _ensure_mandate(
        session,
        company,
        users["intermediary"],
        owner,
        MANDATE_DELEGATE,
        expires_on=today_rome() + timedelta(days=365),
        note="Delega allo Studio Bianchi per le pratiche SUAP (dati dimostrativi)",
    )
    session.commit()
    return [(spec.email, DEMO_PASSWORD, spec.role) for spec in DEMO_USERS]


DEMO_SSU_AUTHORITY = "ASL_TO"
DEMO_PROTOCOL_OFFICE = "SUAP_TORINO"


def wire_demo_fakes(session: Session, services: Any) -> None:
    """Point the demo at the fake services: the ASL answers on the SSU interface (with the
    fake's credentials, new at each start) and Torino's SUAP registers filings in the fake
    protocol system. Only for a demo database."""
    authority = session.scalar(select(Authority).where(Authority.code == DEMO_SSU_AUTHORITY))
    if authority is not None:
        for key, value in services.authority_record().items():
            setattr(authority, key, value)
    office = session.scalar(select(Office).where(Office.code == DEMO_PROTOCOL_OFFICE))
    if office is not None:
        office.protocol_system = "protocol"
    session.commit()


@click.group("demo", help="Demo data: one login per role and a demo company.")
def cli() -> None:
    pass


def _load_procedures(session: Session) -> None:
    """The back office's demo procedures (one approved after integration, one silent assent)."""
    from flask import current_app

    from portale.seed.procedures import load_demo_procedures
    from portale.storage import storage_from_config

    users = {
        spec.role: session.scalar(select(User).where(User.email == spec.email))
        for spec in DEMO_USERS
    }
    company = session.scalar(select(Company).where(Company.tax_code == COMPANY_VAT))
    load_demo_procedures(session, storage_from_config(current_app.config), users, company)


def _load_programme(session: Session) -> None:
    """Two targets and three proposals of the simplification programme, on the generated data."""
    from portale.programme.demo import load_demo_programme

    people = {spec.role: spec.email for spec in DEMO_USERS}
    analyst, stakeholder = (
        session.scalar(select(User).where(User.email == people[role]))
        for role in ("analyst", "stakeholder")
    )
    load_demo_programme(session, analyst, stakeholder, today_rome())


@cli.command("load")
def load() -> None:
    """Load reference data and the demo accounts and company (idempotent)."""
    from portale.extensions import db

    logins = load_demo(db.session)
    _load_procedures(db.session)
    _load_programme(db.session)
    width = max(len(e) for e, _p, _r in logins)
    click.echo(f"{'e-mail'.ljust(width)}  {'password':<12}  role")
    for email, password, role in logins:
        click.echo(f"{email.ljust(width)}  {password:<12}  {role}")
    click.echo(
        f"\n'{DEMO_PASSWORD}' is a DEMO password, printed on purpose: never load demo data "
        "into a production database."
    )


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--fakes/--no-fakes",
    default=True,
    show_default=True,
    help="Start the fake services (business register, VIES, DURC, protocol, an SSU authority, "
    "PEC) on loopback and use them.",
)
def serve(host: str, port: int, fakes: bool) -> None:
    """Serve the portal for the demo and print where to go and how to log in."""
    from flask import current_app

    from portale import integrations
    from portale.extensions import db

    if fakes and not current_app.config.get("CONNECTORS"):
        from connectors.fakes.server import start_fake_services

        # The fakes listen on the ports right after the portal's (5001-5007 by default).
        services = start_fake_services(host="127.0.0.1", base_port=port + 1)
        integrations.configure(current_app._get_current_object(), services.connector_settings())
        current_app.config["SSU_INBOUND"] = services.ssu_inbound(audience=f"http://{host}:{port}")
        wire_demo_fakes(db.session, services)
        click.echo(f"  Fake business register (PDND): {services.url('register')}")
        click.echo(f"  Fake VIES: {services.url('vies')}")
        click.echo(f"  Fake DURC On Line (PDND): {services.url('durc')}")
        click.echo(f"  Fake protocol system of Torino: {services.url('protocol')}")
        click.echo(f"  Fake ASL Città di Torino on SSU: {services.url('authority')}")
        click.echo("  Try onboarding with tax code 11850450013 (Pasticceria Rossi S.r.l.).")

    logins = [(spec.email, DEMO_PASSWORD, spec.role) for spec in DEMO_USERS]
    db.session.remove()
    click.echo("")
    click.echo("Portale Unico delle Imprese (demo)")
    click.echo(f"  URL: http://{host}:{port}/")
    click.echo("  Demo logins (password for all: " + DEMO_PASSWORD + "):")
    for email, _password, role in logins:
        click.echo(f"    {role:<18} {email}")
    click.echo("  Press Ctrl+C to stop.\n")
    from portale.outbox.worker import start_embedded_worker

    start_embedded_worker(current_app._get_current_object())
    # app.run() refuses to run inside the flask CLI; serve with Werkzeug directly.
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)
