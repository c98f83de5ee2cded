"""factory_boy factories for test data; bound to the test session by the ``session`` fixture.

They commit (a savepoint release inside the test transaction): a request's teardown closes
the shared scoped session, which would otherwise discard data the test only flushed.
"""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session
from stdnum import luhn

from portale.accounts.models import Authority, Office, User, UserRole
from portale.accounts.passwords import hash_password
from portale.dossier.models import (
    MANDATE_OWNER,
    Company,
    LegalRepresentative,
    LocalUnit,
    Mandate,
)
from portale.reference.models import Municipality

_FACTORIES: list[type[SQLAlchemyModelFactory]] = []
_PASSWORD_HASH: str | None = None


def bind(session: Session) -> None:
    for f in _FACTORIES:
        f._meta.sqlalchemy_session = session


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from tests.conftest import TEST_PASSWORD

        _PASSWORD_HASH = hash_password(TEST_PASSWORD)
    return _PASSWORD_HASH


def registered(cls: type[SQLAlchemyModelFactory]) -> type[SQLAlchemyModelFactory]:
    _FACTORIES.append(cls)
    return cls


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "commit"


def vat_number(n: int) -> str:
    body = f"{n:07d}001"  # seven-digit company number, office code 001 (Torino)
    return body + luhn.calc_check_digit(body)


@registered
class MunicipalityFactory(Base):
    class Meta:
        model = Municipality
        sqlalchemy_get_or_create = ("istat_code",)

    istat_code = "001272"
    name = "Torino"
    cadastral_code = "L219"
    province_code = "001"
    supra_code = "201"
    province_abbr = "TO"
    is_capital = True
    patron_month = 6
    patron_day = 24


@registered
class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"utente{n}@esempio.it")
    full_name = factory.Sequence(lambda n: f"Utente Prova {n}")
    password_hash = factory.LazyFunction(_password_hash)

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        for role in extracted or ("entrepreneur",):
            obj.roles.append(UserRole(role=role))
        if create:
            UserFactory._meta.sqlalchemy_session.commit()


@registered
class OfficeFactory(Base):
    class Meta:
        model = Office

    code = factory.Sequence(lambda n: f"SUAP{n:03d}")
    name = factory.Sequence(lambda n: f"SUAP di prova {n}")
    email = "suap@esempio.it"


@registered
class AuthorityFactory(Base):
    class Meta:
        model = Authority

    code = factory.Sequence(lambda n: f"ENTE{n:03d}")
    name = factory.Sequence(lambda n: f"Ente di prova {n}")
    kind = "ASL"


@registered
class CompanyFactory(Base):
    class Meta:
        model = Company

    tax_code = factory.Sequence(lambda n: vat_number(1000 + n))
    vat_number = factory.LazyAttribute(lambda o: o.tax_code)
    name = factory.Sequence(lambda n: f"Impresa di Prova {n} S.r.l.")
    legal_form = "Società a responsabilità limitata"
    rea_number = factory.Sequence(lambda n: f"TO-{100000 + n}")
    pec = factory.Sequence(lambda n: f"impresa{n}@pec.esempio.it")
    office_street = "Via Roma 1"
    office_postcode = "10121"
    office_municipality = factory.LazyFunction(lambda: MunicipalityFactory().istat_code)


@registered
class LocalUnitFactory(Base):
    class Meta:
        model = LocalUnit

    company = factory.SubFactory(CompanyFactory)
    name = "Negozio"
    street = "Via Garibaldi 10"
    postcode = "10122"
    municipality = factory.LazyFunction(lambda: MunicipalityFactory().istat_code)
    ateco_code = "47.19.10"


@registered
class RepresentativeFactory(Base):
    class Meta:
        model = LegalRepresentative

    company = factory.SubFactory(CompanyFactory)
    full_name = "Mario Rossi"
    tax_code = "RSSMRA80A01L219M"
    role = "Amministratore unico"


@registered
class MandateFactory(Base):
    class Meta:
        model = Mandate

    company = factory.SubFactory(CompanyFactory)
    grantee_id = factory.LazyFunction(lambda: UserFactory().id)
    kind = MANDATE_OWNER
    scope = "full"
