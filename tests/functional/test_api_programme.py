"""The programme through the API: the same figures and rules as the pages."""

from __future__ import annotations

import pytest

from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.programme import targets
from tests.factories import UserFactory
from tests.functional.test_api_reports import bearer
from tests.integration.test_programme import T, _target, layout  # noqa: F401 (fixture)


def test_targets_carry_their_computed_status(client, session, layout):  # noqa: F811
    target = _target(session, layout)
    headers = bearer(session, UserFactory(roles=("stakeholder",)))
    listed = client.get("/api/v1/programme/targets", headers=headers).json["targets"]
    expected = targets.progress(session, target, today=local_date(utcnow()))
    assert [t["id"] for t in listed] == [target.id]
    assert listed[0]["status"] == expected.status
    assert listed[0]["overall"]["baseline"]["value"] == 34.0


def test_only_analysts_set_targets_and_bad_periods_are_422(client, session, layout):  # noqa: F811
    body = {
        "title": "Entro il termine",
        "measure": "within_term",
        "threshold": 0.9,
        "baseline_start": "2025-01-01",
        "baseline_end": "2024-12-31",
        "due_on": "2026-12-31",
    }
    stakeholder = bearer(session, UserFactory(roles=("stakeholder",)))
    assert (
        client.post("/api/v1/programme/targets", json=body, headers=stakeholder).status_code == 404
    )
    analyst = bearer(session, UserFactory(roles=("analyst",)))
    refused = client.post("/api/v1/programme/targets", json=body, headers=analyst)
    assert refused.status_code == 422 and "baseline_end" in refused.json["errors"]
    body["baseline_end"] = "2025-03-31"
    created = client.post("/api/v1/programme/targets", json=body, headers=analyst)
    assert created.status_code == 201 and created.json["status"] in targets.SEVERITY


def test_stakeholders_get_the_public_ranking(client, session, layout):  # noqa: F811
    query = {"tipo": T, "dal": "2025-01-01", "al": "2026-03-31"}
    analyst = bearer(session, UserFactory(roles=("analyst",)))
    full = client.get("/api/v1/programme/rankings", query_string=query, headers=analyst).json
    assert not full["public"] and len(full["offices"]) == 3
    assert full["offices"][0]["office_id"] == layout[0].id and full["offices"][0]["rank_low"] == 1
    stakeholder = bearer(session, UserFactory(roles=("stakeholder",)))
    public = client.get("/api/v1/programme/rankings", query_string=query, headers=stakeholder).json
    assert public["public"] and layout[1].id not in [o["office_id"] for o in public["offices"]]


def test_proposal_lifecycle_through_the_api(client, session, layout):  # noqa: F811
    stakeholder = bearer(session, UserFactory(roles=("stakeholder",)))
    analyst = bearer(session, UserFactory(roles=("analyst",)))
    created = client.post(
        "/api/v1/programme/proposals",
        json={"title": "Parere unico", "body": "ASL e VVF insieme.", "type_codes": [T]},
        headers=stakeholder,
    )
    assert created.status_code == 201 and created.json["status"] == "proposed"
    pid = created.json["id"]
    unknown = client.post(
        "/api/v1/programme/proposals",
        json={"title": "x", "body": "y", "type_codes": ["NESSUNO"]},
        headers=stakeholder,
    )
    assert unknown.status_code == 422 and "type_codes" in unknown.json["errors"]
    url = f"/api/v1/programme/proposals/{pid}/status"
    assert client.post(url, json={"status": "under_review"}, headers=stakeholder).status_code == 404
    skipped = client.post(url, json={"status": "in_force"}, headers=analyst)
    assert skipped.status_code == 422
    moved = client.post(url, json={"status": "under_review", "note": "Si"}, headers=analyst)
    assert moved.status_code == 200 and moved.json["status"] == "under_review"
    commented = client.post(
        f"/api/v1/programme/proposals/{pid}/comments", json={"body": "Bene"}, headers=stakeholder
    )
    assert commented.status_code == 201 and commented.json["comments"][0]["body"] == "Bene"
    assert client.get("/api/v1/programme/proposals/999999", headers=analyst).status_code == 404


@pytest.mark.parametrize("roles", [("entrepreneur",), ("clerk",), ("admin",), ("intermediary",)])
def test_the_programme_api_does_not_exist_for_other_roles(client, session, roles):
    headers = bearer(session, UserFactory(roles=roles))
    for path in ("/api/v1/programme/targets", "/api/v1/programme/proposals"):
        assert client.get(path, headers=headers).status_code == 404


def test_the_programme_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/programme/targets" in paths and "/api/v1/programme/rankings" in paths
