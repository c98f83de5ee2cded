"""Administration pages, used as an administrator would (and refused to everyone else)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portale.accounts.models import Office, User
from portale.extensions import db
from portale.reference.services import load_municipalities
from tests.factories import AuthorityFactory, OfficeFactory, UserFactory

ADMIN_URLS = ["/admin/", "/admin/account", "/admin/uffici", "/admin/enti", "/admin/uffici/nuovo"]


@pytest.fixture
def admin(session, login_as):  # type: ignore[no-untyped-def]
    user = UserFactory(roles=["admin"], email="amministratore@esempio.it")
    login_as(user)
    return user


def test_anonymous_visitors_are_sent_to_login(client) -> None:  # type: ignore[no-untyped-def]
    for url in ADMIN_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/account/accedi" in response.headers["Location"]


@pytest.mark.parametrize("roles", [["entrepreneur"], ["clerk"], ["analyst", "intermediary"]])
def test_other_roles_get_not_found(client, login_as, roles) -> None:  # type: ignore[no-untyped-def]
    login_as(UserFactory(roles=roles, office_id=OfficeFactory().id if "clerk" in roles else None))
    for url in ADMIN_URLS:
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/uffici/nuovo", data={"code": "X", "name": "X"}).status_code == 404


def test_admin_index_links_to_the_pages(client, admin) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/admin/").get_data(as_text=True)
    assert "Amministrazione" in page
    for url in ("/admin/account", "/admin/uffici", "/admin/enti"):
        assert f'href="{url}"' in page


def test_accounts_list_searches_and_pages(client, admin) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):
        UserFactory(email=f"cercami{n:02d}@esempio.it", full_name=f"Persona {n}")
    UserFactory(email="altro@esempio.it", full_name="Giulia Bianchi")

    page1 = client.get("/admin/account?q=cercami").get_data(as_text=True)
    assert "30 account trovati" in page1
    assert "cercami00@esempio.it" in page1 and "cercami29@esempio.it" not in page1
    assert "altro@esempio.it" not in page1
    page2 = client.get("/admin/account?q=cercami&pagina=2").get_data(as_text=True)
    assert "cercami29@esempio.it" in page2 and "cercami00@esempio.it" not in page2
    assert "Giulia Bianchi" in client.get("/admin/account?q=bianchi").get_data(as_text=True)


def test_making_someone_a_clerk_needs_an_office(client, admin, session) -> None:  # type: ignore[no-untyped-def]
    office_id = OfficeFactory(name="SUAP di Chieri").id
    person = UserFactory(full_name="Luca Verdi", email="luca@esempio.it")
    # UserFactory adds roles after its commit; commit them (in the scoped session the factories
    # and the views share) so the refused POST's rollback cannot take them away.
    db.session.commit()

    response = client.post(
        f"/admin/account/{person.id}",
        data={"full_name": "Luca Verdi", "roles": ["clerk"], "active": "y", "office_id": ""},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Un operatore SUAP deve appartenere a un ufficio." in page
    assert 'id="office_id-error"' in page  # next to the field, not only at the top
    session.expire_all()
    assert session.get(User, person.id).role_names == {"entrepreneur"}

    response = client.post(
        f"/admin/account/{person.id}",
        data={
            "full_name": "Luca Verdi",
            "roles": ["clerk"],
            "active": "y",
            "office_id": str(office_id),
        },
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(User, person.id)
    assert saved.role_names == {"clerk"} and saved.office_id == office_id


def test_authority_officer_needs_an_authority_and_admin_cannot_demote_self(
    client, admin, session
) -> None:  # type: ignore[no-untyped-def]
    person = UserFactory()
    page = client.post(
        f"/admin/account/{person.id}",
        data={"full_name": "X Y", "roles": ["authority_officer"], "active": "y"},
    ).get_data(as_text=True)
    assert "Un funzionario di ente terzo deve appartenere a un ente." in page
    authority = AuthorityFactory()
    assert (
        client.post(
            f"/admin/account/{person.id}",
            data={
                "full_name": "X Y",
                "roles": ["authority_officer"],
                "active": "y",
                "authority_id": str(authority.id),
            },
        ).status_code
        == 302
    )

    page = client.post(
        f"/admin/account/{admin.id}",
        data={"full_name": admin.full_name, "roles": ["analyst"], "active": "y"},
    ).get_data(as_text=True)
    assert "Non puoi togliere a te stesso il ruolo di amministratore." in page


def test_admin_creates_a_clerk_account_who_can_log_in(client, admin, session) -> None:  # type: ignore[no-untyped-def]
    office_id = OfficeFactory().id
    response = client.post(
        "/admin/account/nuovo",
        data={
            "email": "Nuovo.Operatore@Comune.example",
            "full_name": "Anna Neri",
            "roles": ["clerk"],
            "active": "y",
            "office_id": str(office_id),
            "password": "una-password-lunga",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "nuovo.operatore@comune.example"))
    assert user.role_names == {"clerk"} and user.office_id == office_id

    client.post("/account/esci")
    login = client.post(
        "/account/accedi",
        data={"email": "nuovo.operatore@comune.example", "password": "una-password-lunga"},
    )
    assert login.status_code == 302


def test_duplicate_email_is_refused_next_to_the_field(client, admin) -> None:  # type: ignore[no-untyped-def]
    UserFactory(email="gia@esempio.it")
    page = client.post(
        "/admin/account/nuovo",
        data={
            "email": "gia@esempio.it",
            "full_name": "Mario Gialli",
            "roles": ["analyst"],
            "active": "y",
            "password": "una-password-lunga",
        },
    ).get_data(as_text=True)
    assert "Esiste già un account con questo indirizzo e-mail." in page
    assert 'value="Mario Gialli"' in page


def test_a_municipality_is_served_by_one_office_only(client, admin, session) -> None:  # type: ignore[no-untyped-def]
    load_municipalities(session)
    client.post(
        "/admin/uffici/nuovo",
        data={
            "code": "suap_sud",
            "name": "SUAP Sud",
            "active": "y",
            "municipalities": ["001156", "001164"],
        },
    )
    sud = session.scalar(select(Office).where(Office.code == "SUAP_SUD"))
    assert sorted(m.name for m in sud.municipalities) == ["Moncalieri", "Nichelino"]

    response = client.post(
        "/admin/uffici/nuovo",
        data={
            "code": "SUAP_ALTRO",
            "name": "SUAP Altro",
            "active": "y",
            "municipalities": ["001164", "001280"],
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "già serviti da un altro ufficio: Nichelino (SUAP Sud)" in page
    assert session.scalar(select(Office).where(Office.code == "SUAP_ALTRO")) is None
    # what was chosen is still chosen
    assert re.search(r'<input checked[^>]*value="001280"', page)
    assert "2 comuni scelti:" in page and "Trofarello (001280)" in page

    # moving Nichelino: take it away from SUAP Sud first, then it can go elsewhere
    assert (
        client.post(
            f"/admin/uffici/{sud.id}",
            data={
                "code": "SUAP_SUD",
                "name": "SUAP Sud",
                "active": "y",
                "municipalities": ["001156"],
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/admin/uffici/nuovo",
            data={
                "code": "SUAP_ALTRO",
                "name": "SUAP Altro",
                "active": "y",
                "municipalities": ["001164", "001280"],
            },
        ).status_code
        == 302
    )


def test_authority_edit_validates_the_channel(client, admin, session) -> None:  # type: ignore[no-untyped-def]
    authority = AuthorityFactory(code="ASL_X", name="ASL X", pec="asl@pec.example")
    page = client.post(
        f"/admin/enti/{authority.id}",
        data={
            "code": "ASL_X",
            "name": "ASL X",
            "kind": "ASL",
            "channel": "ssu",
            "pec": "asl@pec.example",
            "active": "y",
        },
    ).get_data(as_text=True)
    assert "Per il canale SSU indica l'indirizzo del servizio dell'ente." in page
    response = client.post(
        f"/admin/enti/{authority.id}",
        data={
            "code": "ASL_X",
            "name": "ASL X",
            "kind": "ASL",
            "channel": "ssu",
            "pec": "asl@pec.example",
            "ssu_endpoint": "https://asl.example/ssu",
            "active": "y",
        },
    )
    assert response.status_code == 302
    assert "https://asl.example/ssu" in client.get("/admin/enti").get_data(as_text=True)
