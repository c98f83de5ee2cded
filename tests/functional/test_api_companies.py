"""Dossier endpoints as an API client uses them: mandates, versions, provenance, errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portale.accounts.services import issue_api_token
from portale.db import utcnow
from portale.dossier.models import MANDATE_DELEGATE, DossierChange
from tests.factories import CompanyFactory, MandateFactory, UserFactory, vat_number


@pytest.fixture
def owner(session):
    return UserFactory(roles=["entrepreneur"], full_name="Marta Neri")


@pytest.fixture
def headers(session, owner):
    secret = issue_api_token(session, owner, "gestionale").secret
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def company(session, owner):
    return MandateFactory(grantee_id=owner.id).company


def test_list_shows_only_companies_with_an_active_mandate(client, session, owner, headers):
    mine = MandateFactory(grantee_id=owner.id, company=CompanyFactory(name="Alfa S.r.l.")).company
    MandateFactory(
        grantee_id=owner.id,
        kind=MANDATE_DELEGATE,
        company=CompanyFactory(name="Beta S.n.c."),
        expires_on=date.today() - timedelta(days=2),
    )
    MandateFactory(
        grantee_id=owner.id,
        company=CompanyFactory(name="Gamma S.p.A."),
        revoked_at=utcnow(),
    )
    CompanyFactory(name="Delta S.r.l.")  # somebody else's
    response = client.get("/api/v1/companies", headers=headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [c["name"] for c in items] == ["Alfa S.r.l."]
    assert items[0]["id"] == mine.id and items[0]["tax_code"] == mine.tax_code


def test_another_company_is_not_found_never_forbidden(client, session, headers):
    other = CompanyFactory()
    url = f"/api/v1/companies/{other.id}"
    read = client.get(url, headers=headers)
    assert read.status_code == 404
    assert read.get_json()["message"] == "Impresa non trovata."
    patch = client.patch(url, json={"name": "Mia"}, headers={**headers, "If-Match": '"1"'})
    assert patch.status_code == 404
    history = client.get(f"/api/v1/companies/{other.id}/history", headers=headers)
    assert history.status_code == 404
    assert client.get("/api/v1/companies/999999", headers=headers).status_code == 404


def test_read_only_mandate_cannot_patch(client, session, owner, headers):
    readable = MandateFactory(grantee_id=owner.id, kind=MANDATE_DELEGATE, scope="read").company
    assert client.get(f"/api/v1/companies/{readable.id}", headers=headers).status_code == 200
    response = client.patch(
        f"/api/v1/companies/{readable.id}",
        json={"name": "Nuovo nome"},
        headers={**headers, "If-Match": f'"{readable.version}"'},
    )
    assert response.status_code == 404


def test_get_dossier_with_version_as_etag(client, session, company, headers):
    response = client.get(f"/api/v1/companies/{company.id}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == company.name and body["tax_code"] == company.tax_code
    assert body["version"] == company.version
    assert response.headers["ETag"] == f'"{company.version}"'
    assert isinstance(body["provenance"], dict)
    # the response schema drops nothing the dossier services serialise
    from portale.dossier.services import serialise_company

    assert set(body) == set(serialise_company(company)) | {"provenance"}
    again = client.get(
        f"/api/v1/companies/{company.id}",
        headers={**headers, "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_patch_with_if_match_updates_and_records_provenance(
    client, session, owner, company, headers
):
    before, old_name = company.version, company.name
    response = client.patch(
        f"/api/v1/companies/{company.id}",
        json={"name": "Panetteria Neri S.r.l.", "pec": "neri@pec.esempio.it"},
        headers={**headers, "If-Match": f'"{before}"'},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Panetteria Neri S.r.l." and body["pec"] == "neri@pec.esempio.it"
    assert body["version"] > before
    assert response.headers["ETag"] == f'"{body["version"]}"'
    provenance = body["provenance"]["name"]
    assert provenance["source"] == "user"
    assert provenance["actor"] == {"id": owner.id, "name": "Marta Neri"}
    assert provenance["at"]
    # and the change is in the history, with the old value
    history = client.get(f"/api/v1/companies/{company.id}/history", headers=headers).get_json()
    names = [c for c in history["items"] if c["field"] == "name"]
    assert names and names[0]["old_value"] == old_name
    assert names[0]["new_value"] == "Panetteria Neri S.r.l."
    assert names[0]["actor"]["id"] == owner.id
    # and it reached the database, not only the response
    session.expire_all()
    stored = session.scalars(
        select(DossierChange).where(
            DossierChange.company_id == company.id, DossierChange.field_path == "name"
        )
    ).all()
    assert stored[-1].actor_id == owner.id and stored[-1].source == "user"


def test_patch_accepts_version_in_body(client, session, company, headers):
    response = client.patch(
        f"/api/v1/companies/{company.id}",
        json={"legal_form": "Società in nome collettivo", "version": company.version},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["legal_form"] == "Società in nome collettivo"


def test_stale_version_is_409_with_the_changes_since(client, session, company, headers):
    url = f"/api/v1/companies/{company.id}"
    read = company.version
    first = client.patch(
        url, json={"name": "Prima modifica"}, headers={**headers, "If-Match": f'"{read}"'}
    )
    assert first.status_code == 200
    stale = client.patch(
        url, json={"name": "Seconda modifica"}, headers={**headers, "If-Match": f'"{read}"'}
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["code"] == 409 and "modificato" in body["message"]
    assert body["current_version"] == first.get_json()["version"]
    assert any(
        c["field"] == "name" and c["new_value"] == "Prima modifica" for c in body["changes_since"]
    )
    assert client.get(url, headers=headers).get_json()["name"] == "Prima modifica"


def test_missing_version_is_428(client, session, company, headers):
    response = client.patch(
        f"/api/v1/companies/{company.id}", json={"name": "Senza versione"}, headers=headers
    )
    assert response.status_code == 428
    assert "If-Match" in response.get_json()["message"]
    assert (
        client.get(f"/api/v1/companies/{company.id}", headers=headers).get_json()["name"]
        == company.name
    )


def test_invalid_vat_number_is_422_in_italian(client, session, company, headers):
    response = client.patch(
        f"/api/v1/companies/{company.id}",
        json={"vat_number": "12345678901"},
        headers={**headers, "If-Match": f'"{company.version}"'},
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422
    assert "vat_number" in body["errors"]
    assert "IVA" in str(body["errors"]["vat_number"])


def test_invalid_vat_number_in_english(client, session, company, headers):
    response = client.patch(
        f"/api/v1/companies/{company.id}",
        json={"vat_number": "12345678901"},
        headers={**headers, "If-Match": f'"{company.version}"', "Accept-Language": "en"},
    )
    assert response.status_code == 422
    body = response.get_json()
    # The English catalogue may lag behind: check the shape, not the words.
    assert set(body) == {"code", "status", "message", "errors"}
    assert list(body["errors"]) == ["vat_number"]


def test_malformed_body_is_422_per_field_in_italian(client, session, company, headers):
    response = client.patch(
        f"/api/v1/companies/{company.id}",
        json={"name": 42, "colore": "rosso", "office_postcode": "101210"},
        headers={**headers, "If-Match": f'"{company.version}"'},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["name"] == ["Deve essere un testo."]
    assert errors["colore"] == ["Campo non previsto."]
    assert "al massimo 5 caratteri" in errors["office_postcode"][0]


def test_create_company_gives_the_caller_an_owner_mandate(client, session, owner, headers):
    tax_code = vat_number(424242)
    response = client.post(
        "/api/v1/companies",
        json={"tax_code": tax_code, "vat_number": tax_code, "name": "Nuova Impresa S.r.l."},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["tax_code"] == tax_code and body["name"] == "Nuova Impresa S.r.l."
    assert response.headers["Location"].endswith(f"/api/v1/companies/{body['id']}")
    assert body["provenance"]["name"]["actor"]["id"] == owner.id
    listed = client.get("/api/v1/companies", headers=headers).get_json()["items"]
    assert body["id"] in [c["id"] for c in listed]


def test_create_company_requires_name_and_tax_code(client, session, headers):
    response = client.post("/api/v1/companies", json={}, headers=headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["name"] == ["Campo obbligatorio."]
    assert errors["tax_code"] == ["Campo obbligatorio."]


def test_clerk_cannot_create_companies(client, session):
    clerk = UserFactory(roles=["clerk"])
    secret = issue_api_token(session, clerk, "x").secret
    response = client.post(
        "/api/v1/companies",
        json={"tax_code": vat_number(515151), "name": "X"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403


def test_history_is_paged(client, session, company, headers):
    url = f"/api/v1/companies/{company.id}"
    version = company.version
    for n in range(3):
        response = client.patch(
            url, json={"rea_number": f"TO-9{n}"}, headers={**headers, "If-Match": f'"{version}"'}
        )
        assert response.status_code == 200
        version = response.get_json()["version"]
    page = client.get(f"{url}/history?limit=2&offset=0", headers=headers).get_json()
    assert page["limit"] == 2 and len(page["items"]) == 2 and page["total"] == 3
    assert [c["new_value"] for c in page["items"]] == ["TO-92", "TO-91"]  # newest first
    rest = client.get(f"{url}/history?limit=2&offset=2", headers=headers).get_json()
    seen = [c["id"] for c in page["items"]] + [c["id"] for c in rest["items"]]
    assert len(seen) == len(set(seen)) >= 3
    bad = client.get(f"{url}/history?limit=0", headers=headers)
    assert bad.status_code == 422 and "limit" in bad.get_json()["errors"]
