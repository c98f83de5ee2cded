"""Onboarding by tax code, refresh from the register and the VAT check, against the fakes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from connectors.fakes.server import start_fake_services
from connectors.http import reset_breakers
from portale import integrations
from portale.dossier.models import Company, DossierChange
from portale.reference.services import load_municipalities
from tests.factories import CompanyFactory, MandateFactory, UserFactory, vat_number


@pytest.fixture(scope="module")
def fakes():
    services = start_fake_services()
    yield services
    services.stop()


@pytest.fixture
def connected(app, fakes):
    previous = app.config.get("CONNECTORS")
    integrations.configure(app, fakes.connector_settings())
    reset_breakers()
    fakes.register.behaviour.mode = fakes.vies.behaviour.mode = "ok"
    yield fakes
    integrations.configure(app, previous or {})


@pytest.fixture
def entrepreneur(session, login_as):
    load_municipalities(session)
    user = UserFactory(full_name="Marco Rossi")
    login_as(user)
    return user


def test_preview_then_confirm_creates_the_dossier_from_the_register(
    client, session, connected, entrepreneur
):
    preview = client.post(
        "/imprese/da-registro", data={"tax_code": "11850450013", "action": "preview"}
    )
    html = preview.get_data(as_text=True)
    assert (
        "Pasticceria Rossi S.r.l." in html and "Moncalieri" in html and "RSSMRC70C12F335M" in html
    )
    assert session.scalar(select(Company)) is None  # nothing saved before confirming
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', html).group(1)
    done = client.post(
        "/imprese/da-registro",
        data={"tax_code": "11850450013", "fingerprint": fingerprint, "action": "confirm"},
    )
    assert done.status_code == 302
    company = session.scalar(select(Company).where(Company.tax_code == "11850450013"))
    assert company.local_units[0].municipality == "001156"
    page = client.get(f"/imprese/{company.id}").get_data(as_text=True)
    assert "da Registro delle Imprese" in page
    sources = set(
        session.scalars(
            select(DossierChange.source_ref).where(DossierChange.company_id == company.id)
        )
    )
    assert sources == {"business_register"}


def test_register_down_gives_a_clear_message_and_keeps_the_tax_code(
    client, session, connected, entrepreneur
):
    connected.register.behaviour.mode = "down"
    html = client.post(
        "/imprese/da-registro", data={"tax_code": "11850450013", "action": "preview"}
    ).get_data(as_text=True)
    assert "non risponde in questo momento" in html and 'value="11850450013"' in html


def test_unknown_and_invalid_tax_codes_are_explained(client, session, connected, entrepreneur):
    unknown = client.post(
        "/imprese/da-registro", data={"tax_code": vat_number(9999), "action": "preview"}
    )
    assert "non conosce questo codice fiscale" in unknown.get_data(as_text=True)
    invalid = client.post("/imprese/da-registro", data={"tax_code": "12345", "action": "preview"})
    assert "Codice fiscale non valido" in invalid.get_data(as_text=True)


def test_refresh_shows_differences_and_applies_only_what_is_accepted(
    client, session, connected, entrepreneur
):
    company = CompanyFactory(
        tax_code="11850430015",
        vat_number="11850430015",
        name="Bottega e Caffè Aurora S.r.l.",
        legal_form=None,
        pec="vecchia@pec.esempio.it",
        rea_number="TO-1298734",
        office_street="Via Po 18",
        office_postcode="10123",
    )
    MandateFactory(company=company, grantee_id=entrepreneur.id)
    html = client.get(f"/imprese/{company.id}/registro").get_data(as_text=True)
    assert "aurora@pec.registroimprese.esempio.it" in html and "vecchia@pec.esempio.it" in html
    assert 'value="legal_form"' in html  # the register also has a legal form that differs
    client.post(
        f"/imprese/{company.id}/registro", data={"version": company.version, "accept": ["pec"]}
    )
    session.expire_all()
    company = session.get(Company, company.id)
    assert company.pec == "aurora@pec.registroimprese.esempio.it"
    assert company.legal_form is None  # offered by the register, not accepted: untouched
    change = session.scalar(select(DossierChange).where(DossierChange.field_path == "pec"))
    assert change.source == "connector" and change.source_ref == "business_register"


def test_vat_check_is_kept_with_its_date(client, session, connected, entrepreneur):
    company = CompanyFactory(tax_code="11850450013", vat_number="11850450013")
    MandateFactory(company=company, grantee_id=entrepreneur.id)
    client.post(f"/imprese/{company.id}/verifica-iva")
    session.expire_all()
    company = session.get(Company, company.id)
    assert company.vat_check_valid is True and company.vat_checked_at is not None
    assert "Verifica partita IVA (VIES)" in client.get(f"/imprese/{company.id}").get_data(
        as_text=True
    )


def test_onboarding_without_configuration_says_to_type_the_data(client, session, entrepreneur, app):
    integrations.configure(app, {})
    html = client.post(
        "/imprese/da-registro", data={"tax_code": "11850450013", "action": "preview"}
    ).get_data(as_text=True)
    assert "non è configurato" in html
