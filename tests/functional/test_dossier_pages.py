"""The company dossier as an entrepreneur and an intermediary use it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portale.dossier.models import Company, DossierChange, Mandate
from tests.conftest import TEST_PASSWORD
from tests.factories import (
    CompanyFactory,
    LocalUnitFactory,
    MandateFactory,
    MunicipalityFactory,
    UserFactory,
    vat_number,
)

VALID = {
    "tax_code": vat_number(4242),
    "vat_number": vat_number(4242),
    "name": "Caffè Reale S.r.l.",
    "legal_form": "Società a responsabilità limitata",
    "rea_number": "TO-1234567",
    "pec": "caffereale@pec.esempio.it",
    "office_street": "Piazza Castello 1",
    "office_postcode": "10121",
    "office_municipality": "001272",
}


@pytest.fixture
def owner(session, login_as):
    MunicipalityFactory()
    user = UserFactory(full_name="Anna Verdi")
    login_as(user)
    return user


def create(client, **overrides):
    return client.post("/imprese/nuova", data={**VALID, **overrides})


def test_create_dossier_shows_data_with_provenance(client, session, owner):
    response = create(client)
    assert response.status_code == 302
    company = session.scalar(select(Company).where(Company.tax_code == VALID["tax_code"]))
    page = client.get(f"/imprese/{company.id}").get_data(as_text=True)
    assert "Caffè Reale S.r.l." in page and "TO-1234567" in page and "Torino" in page
    assert "inserito da Anna Verdi" in page
    assert company.name in client.get("/imprese/").get_data(as_text=True)


def test_wrong_check_digits_are_explained_and_input_kept(client, session, owner):
    bad_vat = VALID["vat_number"][:-1] + str((int(VALID["vat_number"][-1]) + 1) % 10)
    response = create(client, tax_code="RSSMRA80A01L219X", vat_number=bad_vat)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Codice fiscale non valido" in html
    assert "Partita IVA non valida" in html
    assert 'value="Caffè Reale S.r.l."' in html and 'value="TO-1234567"' in html
    assert session.scalar(select(Company)) is None


def test_duplicate_tax_code_refused(client, session, owner):
    create(client)
    html = create(client).get_data(as_text=True)
    assert "Esiste già un fascicolo per questo codice fiscale" in html


def test_edit_records_history_old_and_new(client, session, owner):
    create(client)
    company = session.scalar(select(Company))
    data = {**VALID, "pec": "nuova@pec.esempio.it", "version": company.version}
    assert client.post(f"/imprese/{company.id}/modifica", data=data).status_code == 302
    history = client.get(f"/imprese/{company.id}/storico").get_data(as_text=True)
    assert "caffereale@pec.esempio.it" in history and "nuova@pec.esempio.it" in history
    assert "PEC" in history


def test_second_save_from_same_version_gets_conflict_not_overwrite(client, session, owner):
    create(client)
    company = session.scalar(select(Company))
    start_version = company.version
    first = {**VALID, "pec": "prima@pec.esempio.it", "version": start_version}
    client.post(f"/imprese/{company.id}/modifica", data=first)
    second = {
        **VALID,
        "name": "Caffè Reale Due S.r.l.",
        "pec": "seconda@pec.esempio.it",
        "version": start_version,
    }
    response = client.post(f"/imprese/{company.id}/modifica", data=second)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Qualcun altro ha modificato il fascicolo" in html
    assert "prima@pec.esempio.it" in html  # what the other person saved
    assert 'value="Caffè Reale Due S.r.l."' in html  # what this person typed is kept
    session.expire_all()
    assert session.get(Company, company.id).pec == "prima@pec.esempio.it"


def test_add_local_unit_and_remove_it(client, session, owner):
    create(client)
    company = session.scalar(select(Company))
    response = client.post(
        f"/imprese/{company.id}/unita-locali/nuova",
        data={
            "version": company.version,
            "name": "Bar",
            "street": "Via Po 3",
            "postcode": "10123",
            "municipality": "001272",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    unit_id = session.get(Company, company.id).local_units[0].id
    assert "Via Po 3" in client.get(f"/imprese/{company.id}").get_data(as_text=True)
    version = session.get(Company, company.id).version
    client.post(f"/imprese/{company.id}/unita-locali/{unit_id}/elimina", data={"version": version})
    session.expire_all()
    assert session.get(Company, company.id).local_units == []
    removed = session.scalars(
        select(DossierChange).where(DossierChange.field_path == f"local_units/{unit_id}/street")
    ).all()
    assert [c.new_value for c in removed] == ["Via Po 3", None]


def test_mandate_to_existing_intermediary_gives_access_and_revocation_removes_it(
    client, session, owner
):
    create(client)
    company = session.scalar(select(Company))
    agent = UserFactory(email="studio@esempio.it", roles=["intermediary"])
    expiry = (date.today() + timedelta(days=90)).isoformat()
    response = client.post(
        f"/imprese/{company.id}/deleghe",
        data={"grantee_email": "studio@esempio.it", "scope": "full", "expires_on": expiry},
    )
    assert response.status_code == 302
    client.post("/account/esci")
    client.post("/account/accedi", data={"email": agent.email, "password": TEST_PASSWORD})
    assert client.get(f"/imprese/{company.id}").status_code == 200
    assert company.name in client.get("/imprese/").get_data(as_text=True)
    client.post("/account/esci")
    client.post("/account/accedi", data={"email": owner.email, "password": TEST_PASSWORD})
    mandate = session.scalar(select(Mandate).where(Mandate.grantee_id == agent.id))
    client.post(f"/imprese/{company.id}/deleghe/{mandate.id}/revoca")
    client.post("/account/esci")
    client.post("/account/accedi", data={"email": agent.email, "password": TEST_PASSWORD})
    assert client.get(f"/imprese/{company.id}").status_code == 404


def test_mandate_to_unregistered_email_is_claimed_at_registration(client, session, owner):
    create(client)
    company = session.scalar(select(Company))
    expiry = (date.today() + timedelta(days=30)).isoformat()
    client.post(
        f"/imprese/{company.id}/deleghe",
        data={"grantee_email": "nuovo.studio@esempio.it", "scope": "full", "expires_on": expiry},
    )
    client.post("/account/esci")
    client.post(
        "/account/registrati",
        data={
            "full_name": "Nuovo Studio",
            "email": "nuovo.studio@esempio.it",
            "password": "x" * 12,
            "confirm": "x" * 12,
            "is_intermediary": "y",
        },
    )
    assert client.get(f"/imprese/{company.id}").status_code == 200


def test_read_only_mandate_cannot_edit(client, session, login_as):
    company = CompanyFactory()
    reader = UserFactory()
    MandateFactory(
        company=company,
        grantee_id=reader.id,
        kind="delegate",
        scope="read",
        expires_on=date.today() + timedelta(days=5),
    )
    login_as(reader)
    assert client.get(f"/imprese/{company.id}").status_code == 200
    assert client.get(f"/imprese/{company.id}/modifica").status_code == 404
    assert (
        client.post(f"/imprese/{company.id}/modifica", data={**VALID, "version": 1}).status_code
        == 404
    )


# -- access control: every dossier route, every kind of outsider -----------------------------------

ROUTES = [
    ("get", "/imprese/{c}"),
    ("get", "/imprese/{c}/modifica"),
    ("post", "/imprese/{c}/modifica"),
    ("get", "/imprese/{c}/storico"),
    ("get", "/imprese/{c}/deleghe"),
    ("post", "/imprese/{c}/deleghe"),
    ("post", "/imprese/{c}/deleghe/{m}/revoca"),
    ("get", "/imprese/{c}/unita-locali/nuova"),
    ("post", "/imprese/{c}/unita-locali/nuova"),
    ("post", "/imprese/{c}/unita-locali/{u}/elimina"),
    ("get", "/imprese/{c}/titoli/nuova"),
]


@pytest.fixture
def target(session):
    unit = LocalUnitFactory()
    owner = UserFactory()
    mandate = MandateFactory(company=unit.company, grantee_id=owner.id)
    return unit.company, unit, mandate


def outsider(kind, company):
    if kind == "other_entrepreneur":
        user = UserFactory()
        MandateFactory(company=CompanyFactory(), grantee_id=user.id)
    elif kind == "intermediary_without_mandate":
        user = UserFactory(roles=["intermediary"])
    elif kind == "expired_mandate":
        user = UserFactory(roles=["intermediary"])
        MandateFactory(
            company=company,
            grantee_id=user.id,
            kind="delegate",
            expires_on=date.today() - timedelta(days=1),
        )
    else:  # revoked mandate
        from portale.db import utcnow

        user = UserFactory(roles=["intermediary"])
        MandateFactory(
            company=company,
            grantee_id=user.id,
            kind="delegate",
            expires_on=date.today() + timedelta(days=10),
            revoked_at=utcnow(),
        )
    return user


@pytest.mark.parametrize("method,route", ROUTES)
def test_anonymous_is_sent_to_login(client, session, target, method, route):
    company, unit, mandate = target
    response = getattr(client, method)(route.format(c=company.id, u=unit.id, m=mandate.id))
    assert response.status_code == 302 and "/account/accedi" in response.headers["Location"]


@pytest.mark.parametrize(
    "kind",
    ["other_entrepreneur", "intermediary_without_mandate", "expired_mandate", "revoked_mandate"],
)
@pytest.mark.parametrize("method,route", ROUTES)
def test_outsiders_get_404_never_the_data(client, session, login_as, target, kind, method, route):
    company, unit, mandate = target
    login_as(outsider(kind, company))
    response = getattr(client, method)(
        route.format(c=company.id, u=unit.id, m=mandate.id),
        data={"version": company.version, "name": "Hack"},
    )
    assert response.status_code == 404
    assert company.name not in response.get_data(as_text=True)
