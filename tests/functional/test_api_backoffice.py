"""The back office through the API: clock in the representation, clerk actions, company answers."""

from __future__ import annotations

from datetime import UTC, datetime

from portale.accounts.services import issue_api_token
from portale.clock import lifecycle as lc
from tests.backoffice_support import file_procedure
from tests.factories import OfficeFactory, UserFactory

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bearer(session, user):
    return {"Authorization": f"Bearer {issue_api_token(session, user, 'test').secret}"}


def test_clerk_and_company_through_the_api(app, client, session):
    filed = file_procedure(session, app.config["STORAGE_PATH"], term_days=60, now=FILED_AT)
    pid = filed.procedure.id
    clerk, company = bearer(session, filed.clerk), bearer(session, filed.submitter)

    shown = client.get(f"/api/v1/procedures/{pid}", headers=company).get_json()
    assert shown["clock"]["term_days"] == 60 and shown["clock"]["days_suspended"] == 0
    assert shown["clock"]["last_day"] == "2026-05-02"

    base = f"/api/v1/backoffice/procedures/{pid}"
    refused = client.post(
        f"{base}/actions/request_integration", json={"text": "Visura", "days": 40}, headers=clerk
    )
    assert refused.status_code == 409 and "30 giorni" in refused.get_json()["message"]
    asked = client.post(
        f"{base}/actions/request_integration",
        json={"text": "Visura", "documents": ["Visura"], "days": 20},
        headers=clerk,
    )
    assert asked.status_code == 200
    body = asked.get_json()
    assert body["state"] == lc.INTEGRATION_REQUESTED and body["clock"]["suspended_now"] is True
    assert body["pending_request"]["kind"] == "integration"

    answered = client.post(
        f"/api/v1/procedures/{pid}/answer",
        json={"note": "Allegata alla PEC del 3/3"},
        headers=company,
    )
    assert answered.status_code == 200 and answered.get_json()["state"] == lc.INTEGRATED
    early = client.post(f"{base}/actions/reject", json={"text": "No"}, headers=clerk)
    assert early.status_code == 409 and "10-bis" in early.get_json()["message"]
    approved = client.post(f"{base}/actions/approve", json={"text": "Regolare"}, headers=clerk)
    assert approved.status_code == 200 and approved.get_json()["acts"][0]["kind"] == "approval"
    act_id = approved.get_json()["acts"][0]["id"]
    pdf = client.get(f"/api/v1/procedures/{pid}/acts/{act_id}", headers=company)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert (
        client.get(f"/api/v1/procedures/{pid}/acts/{act_id + 99}", headers=company).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/procedures/{pid}/withdraw", json={}, headers=company).status_code
        == 409
    )


def test_the_api_answers_404_outside_office_and_mandates(app, client, session):
    filed = file_procedure(session, app.config["STORAGE_PATH"], now=FILED_AT)
    pid = filed.procedure.id
    outsider = UserFactory(roles=("clerk",), office_id=OfficeFactory().id)
    stranger = UserFactory()
    session.commit()
    for user in (outsider, stranger):
        auth = bearer(session, user)
        assert client.get(f"/api/v1/backoffice/procedures/{pid}", headers=auth).status_code == 404
        assert (
            client.post(
                f"/api/v1/backoffice/procedures/{pid}/actions/approve", json={}, headers=auth
            ).status_code
            == 404
        )
        assert (
            client.post(f"/api/v1/procedures/{pid}/withdraw", json={}, headers=auth).status_code
            == 404
        )
    assert client.post(f"/api/v1/procedures/{pid}/withdraw", json={}).status_code == 401
