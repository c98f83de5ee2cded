"""Filing through the API as a software house's client would: catalogue, prefilled draft,
attachments checked by content, idempotent submission, receipt, and mandates."""

from __future__ import annotations

import io

import pytest

from portale.accounts.services import issue_api_token
from portale.catalogue import services as catalogue
from portale.catalogue.loader import load_catalogue
from tests.factories import MandateFactory, UserFactory
from tests.integration.test_procedures_support import PDF, PNG, make_world

VALID = {"data_inizio": "2026-12-01", "superficie": "40", "settore": "non_alimentare"}


def bearer(session, user):
    return {"Authorization": f"Bearer {issue_api_token(session, user, 'test').secret}"}


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def auth(session, world):
    return bearer(session, world.user)


def new_draft(client, world, auth):
    response = client.post(
        "/api/v1/drafts",
        json={
            "company_id": world.company.id,
            "local_unit_id": world.unit.id,
            "type_code": world.version.code,
        },
        headers=auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_catalogue_is_searchable_through_the_api(client, session, auth):
    catalogue.sync_catalogue(session, load_catalogue())
    items = client.get("/api/v1/catalogue?q=insegna", headers=auth).get_json()["items"]
    assert [i["code"] for i in items] == ["AUT_INSEGNA"]
    one = client.get("/api/v1/catalogue/AUT_MEDIA_STRUTTURA", headers=auth).get_json()
    assert one["regime"] == "SILENZIO-ASSENSO" and one["term_days"] == 90
    assert client.get("/api/v1/catalogue/NON_ESISTE", headers=auth).status_code == 404


def test_draft_comes_prefilled_and_keeps_invalid_answers_with_errors(client, world, auth):
    draft = new_draft(client, world, auth)
    assert draft["answers"]["ragione_sociale"] == world.company.name
    assert draft["answers"]["indirizzo"] == "Via Garibaldi 10"
    assert set(draft["prefilled"]) == {"ragione_sociale", "indirizzo"}
    saved = client.patch(
        f"/api/v1/drafts/{draft['id']}",
        json={"answers": {"superficie": "tanti", "settore": "alimentare"}},
        headers=auth,
    ).get_json()
    assert saved["answers"]["superficie"] == "tanti"  # kept as typed
    assert "superficie" in saved["errors"] and "responsabile_haccp" in saved["errors"]


def test_wrong_file_is_refused_with_the_slot_named(client, world, auth):
    draft = new_draft(client, world, auth)
    response = client.post(
        f"/api/v1/drafts/{draft['id']}/attachments/planimetria",
        data={"file": (io.BytesIO(PNG), "planimetria.pdf")},
        content_type="multipart/form-data",
        headers=auth,
    )
    assert response.status_code == 422
    body = response.get_json()
    assert "Planimetria dei locali" in body["message"] and "planimetria" in body["errors"]


def test_submission_is_idempotent_and_needs_a_key(client, world, auth):
    draft = new_draft(client, world, auth)
    client.patch(f"/api/v1/drafts/{draft['id']}", json={"answers": VALID}, headers=auth)
    uploaded = client.post(
        f"/api/v1/drafts/{draft['id']}/attachments/planimetria",
        data={"file": (io.BytesIO(PDF), "planimetria.pdf")},
        content_type="multipart/form-data",
        headers=auth,
    )
    assert uploaded.status_code == 201 and len(uploaded.get_json()["sha256"]) == 64
    assert client.post(f"/api/v1/drafts/{draft['id']}/submit", headers=auth).status_code == 428
    first = client.post(
        f"/api/v1/drafts/{draft['id']}/submit", headers={**auth, "Idempotency-Key": "abc-1"}
    )
    again = client.post(
        f"/api/v1/drafts/{draft['id']}/submit", headers={**auth, "Idempotency-Key": "abc-1"}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["protocol"] == again.get_json()["protocol"]
    procedure = first.get_json()
    assert procedure["state"] == "presented" and procedure["cui"]["uuid"]
    assert [e["kind"] for e in procedure["events"]][-1] == "presented"
    listed = client.get("/api/v1/procedures", headers=auth).get_json()["items"]
    assert [p["id"] for p in listed] == [procedure["id"]]
    pdf = client.get(procedure["receipt_url"], headers=auth)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_invalid_submission_answers_422_with_fields(client, world, auth):
    draft = new_draft(client, world, auth)
    response = client.post(
        f"/api/v1/drafts/{draft['id']}/submit", headers={**auth, "Idempotency-Key": "k"}
    )
    assert response.status_code == 422
    assert "data_inizio" in response.get_json()["errors"]


def test_another_company_is_not_found(client, session, world, auth):
    draft = new_draft(client, world, auth)
    stranger = UserFactory()
    MandateFactory(grantee_id=stranger.id)
    other = bearer(session, stranger)
    assert client.get(f"/api/v1/drafts/{draft['id']}", headers=other).status_code == 404
    assert (
        client.patch(
            f"/api/v1/drafts/{draft['id']}", json={"answers": {}}, headers=other
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/drafts",
            json={
                "company_id": world.company.id,
                "local_unit_id": world.unit.id,
                "type_code": world.version.code,
            },
            headers=other,
        ).status_code
        == 404
    )


def test_openapi_lists_the_filing_paths(client, session):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/drafts",
        "/api/v1/drafts/{draft_id}/submit",
        "/api/v1/catalogue",
        "/api/v1/procedures/{procedure_id}/receipt",
    } <= set(paths)
