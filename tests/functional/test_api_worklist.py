"""The worklist and the authority's opinions through the JSON API, with the web's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portale.accounts.services import issue_api_token
from portale.backoffice import consultations
from portale.cases import services as core
from portale.cases.models import OpinionRequest
from tests.backoffice_support import file_procedure
from tests.factories import OfficeFactory, UserFactory
from tests.worklist_support import clone_procedures

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bearer(session, user):
    return {"Authorization": f"Bearer {issue_api_token(session, user, 'test').secret}"}


@pytest.fixture
def filed(session, tmp_path):
    return file_procedure(session, tmp_path, term_days=60, authorities=2, now=FILED_AT)


def test_the_worklist_pages_with_the_web_filters(client, session, filed):
    clones = clone_procedures(
        session, filed.procedure, [FILED_AT + timedelta(days=i) for i in range(1, 4)]
    )
    headers = bearer(session, filed.clerk)
    first = client.get("/api/v1/worklist?limit=3&sort=filed", headers=headers)
    assert first.status_code == 200
    body = first.get_json()
    assert [i["id"] for i in body["items"]] == [filed.procedure.id, *[c.id for c in clones[:2]]]
    item = body["items"][0]
    assert item["protocol"] == filed.procedure.protocol_label and item["state"] == "presented"
    assert item["last_day"] == filed.procedure.last_day.isoformat() and item["suspended"] is False
    second = client.get(body["next_url"], headers=headers).get_json()
    assert [i["id"] for i in second["items"]] == [clones[2].id] and second["next_after"] is None
    mine = client.get("/api/v1/worklist?assignee=me", headers=headers).get_json()
    assert mine["items"] == []


def test_the_worklist_refuses_bad_parameters_and_non_clerks(client, session, filed):
    bad = client.get("/api/v1/worklist?sort=nome", headers=bearer(session, filed.clerk))
    assert bad.status_code == 422 and "sort" in bad.get_json()["errors"]
    assert (
        client.get("/api/v1/worklist", headers=bearer(session, filed.submitter)).status_code == 404
    )
    stranger = UserFactory(roles=("clerk",), office_id=OfficeFactory().id)
    empty = client.get("/api/v1/worklist", headers=bearer(session, stranger)).get_json()
    assert empty["items"] == []


@pytest.fixture
def asked(session, filed):
    opinions = consultations.request_opinions(
        session,
        filed.procedure,
        [a.id for a in filed.authorities],
        actor_id=filed.clerk.id,
        now=FILED_AT,
    )
    officer = UserFactory(roles=("authority_officer",), authority_id=filed.authorities[0].id)
    other = UserFactory(roles=("authority_officer",), authority_id=filed.authorities[1].id)
    mine = next(o.id for o in opinions if o.authority_id == officer.authority_id)
    return officer, other, mine


def test_the_officer_lists_and_gives_the_opinion(client, session, filed, asked):
    officer, _other, mine = asked
    headers = bearer(session, officer)
    listed = client.get("/api/v1/authority/opinions", headers=headers).get_json()["items"]
    assert [o["id"] for o in listed] == [mine]
    assert listed[0]["protocol"] == filed.procedure.protocol_label and listed[0]["outcome"] is None
    missing = client.post(
        f"/api/v1/authority/opinions/{mine}", json={"outcome": "unfavourable"}, headers=headers
    )
    assert missing.status_code == 422 and "text" in missing.get_json()["errors"]
    given = client.post(
        f"/api/v1/authority/opinions/{mine}",
        json={"outcome": "unfavourable", "text": "Locali non idonei"},
        headers=headers,
    )
    assert given.status_code == 200 and given.get_json()["outcome"] == "unfavourable"
    assert session.get(OpinionRequest, mine).answered_by_id == officer.id
    again = client.post(
        f"/api/v1/authority/opinions/{mine}", json={"outcome": "favourable"}, headers=headers
    )
    assert again.status_code == 409


def test_another_authority_and_other_roles_get_404(client, session, filed, asked):
    _officer, other, mine = asked
    response = client.post(
        f"/api/v1/authority/opinions/{mine}",
        json={"outcome": "favourable"},
        headers=bearer(session, other),
    )
    assert response.status_code == 404
    assert session.get(OpinionRequest, mine).answered_at is None
    clerk = bearer(session, filed.clerk)
    assert client.get("/api/v1/authority/opinions", headers=clerk).status_code == 404
    bad = client.post(
        f"/api/v1/authority/opinions/{mine}",
        json={"outcome": "forse"},
        headers=bearer(session, asked[0]),
    )
    assert bad.status_code == 422


def test_the_clerk_takes_in_charge_and_assigns_through_the_api(client, session, filed):
    colleague = UserFactory(roles=("clerk",), office_id=filed.office.id)
    headers = bearer(session, filed.clerk)
    pid = filed.procedure.id
    taken = client.post(f"/api/v1/worklist/{pid}/assignee", json={}, headers=headers)
    assert taken.status_code == 200 and taken.get_json()["assignee_id"] == filed.clerk.id
    given = client.post(
        f"/api/v1/worklist/{pid}/assignee", json={"assignee_id": colleague.id}, headers=headers
    )
    assert given.get_json()["assignee_id"] == colleague.id
    again = client.post(
        f"/api/v1/worklist/{pid}/assignee", json={"assignee_id": colleague.id}, headers=headers
    )
    assert again.status_code == 409
    stranger = UserFactory(roles=("clerk",), office_id=OfficeFactory().id)
    other = client.post(
        f"/api/v1/worklist/{pid}/assignee", json={}, headers=bearer(session, stranger)
    )
    assert other.status_code == 404


def test_the_officer_asks_for_an_integration_through_the_api(client, session, filed, asked):
    officer, other, mine = asked
    url = f"/api/v1/authority/opinions/{mine}/integration-request"
    body = {"text": "Manca la relazione acustica", "documents": ["Relazione acustica"]}
    assert client.post(url, json=body, headers=bearer(session, other)).status_code == 404
    assert client.post(url, json={"text": ""}, headers=bearer(session, officer)).status_code == 422
    assert client.post(url, json=body, headers=bearer(session, officer)).status_code == 202
    events = [
        e
        for e in core.events_of(session, filed.procedure.id)
        if e.kind == "authority_integration_request"
    ]
    assert [e.payload["documents"] for e in events] == [["Relazione acustica"]]


def test_openapi_lists_the_back_office_paths(client, session):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/worklist",
        "/api/v1/worklist/{procedure_id}/assignee",
        "/api/v1/authority/opinions",
        "/api/v1/authority/opinions/{opinion_id}",
        "/api/v1/authority/opinions/{opinion_id}/integration-request",
    ):
        assert path in paths
