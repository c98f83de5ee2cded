"""Registration, login and language as a person would use them."""

from __future__ import annotations

from sqlalchemy import select

from portale.accounts.models import User
from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory


def test_register_then_logged_in(client, session):
    response = client.post(
        "/account/registrati",
        data={
            "full_name": "Giulia Bianchi",
            "email": "Giulia.Bianchi@Esempio.it",
            "password": "una-password-lunga",
            "confirm": "una-password-lunga",
        },
        follow_redirects=True,
    )
    assert "Benvenuto" in response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "giulia.bianchi@esempio.it"))
    assert user is not None and user.role_names == {"entrepreneur"}
    assert user.password_hash.startswith("$argon2")


def test_register_errors_keep_what_was_typed(client, session):
    response = client.post(
        "/account/registrati",
        data={
            "full_name": "Giulia Bianchi",
            "email": "giulia@esempio.it",
            "tax_code": "BNCGLI80A41L219X",
            "password": "corta",
            "confirm": "diversa",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Codice fiscale non valido" in html
    assert "almeno 10 caratteri" in html
    assert 'value="Giulia Bianchi"' in html and 'value="giulia@esempio.it"' in html


def test_duplicate_email_refused(client, session):
    UserFactory(email="doppio@esempio.it")
    response = client.post(
        "/account/registrati",
        data={
            "full_name": "X Y",
            "email": "doppio@esempio.it",
            "password": "a" * 12,
            "confirm": "a" * 12,
        },
    )
    assert "Esiste già un account" in response.get_data(as_text=True)


def test_login_wrong_password_then_right(client, session):
    user = UserFactory()
    bad = client.post("/account/accedi", data={"email": user.email, "password": "sbagliata"})
    assert "E-mail o password non corretti" in bad.get_data(as_text=True)
    good = client.post("/account/accedi", data={"email": user.email, "password": TEST_PASSWORD})
    assert good.status_code == 302
    home = client.get("/")
    assert user.full_name in home.get_data(as_text=True)


def test_english_on_request(client, session):
    client.post("/lingua", data={"lang": "en", "next": "/account/accedi"})
    page = client.get("/account/accedi").get_data(as_text=True)
    assert 'lang="en"' in page


def test_unknown_page_is_404_in_italian(client, session):
    response = client.get("/non-esiste")
    assert response.status_code == 404
    assert "Pagina non trovata" in response.get_data(as_text=True)


def test_italian_by_default_even_for_an_english_browser(client, session):
    page = client.get("/account/accedi", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="it"' in page.get_data(as_text=True)


def test_pages_and_errors_in_english_when_chosen(client, session):
    client.post("/lingua", data={"lang": "en"})
    page = client.get("/account/accedi").get_data(as_text=True)
    assert "Log in" in page and "Remember me on this device" in page
    response = client.post(
        "/account/registrati",
        data={
            "full_name": "Jane Doe",
            "email": "jane@example.com",
            "password": "short",
            "confirm": "short",
        },
    )
    assert "The password must be at least 10 characters long." in response.get_data(as_text=True)


def test_home_offers_each_role_its_areas_with_what_they_are_for(client, session, login_as):
    clerk = UserFactory(roles=("clerk",))
    login_as(clerk)
    home = client.get("/").get_data(as_text=True)
    assert "Scrivania" in home and "le più urgenti per prime" in home
    assert "Le mie imprese" not in home and "Amministrazione" not in home
