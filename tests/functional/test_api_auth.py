"""The API as a client sees it: the OpenAPI document, token authentication, /me."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portale.accounts.services import issue_api_token, revoke_api_token
from portale.db import utcnow
from tests.factories import UserFactory

API_PATHS = {
    "/api/v1/me": {"get"},
    "/api/v1/companies": {"get", "post"},
    "/api/v1/companies/{company_id}": {"get", "patch"},
    "/api/v1/companies/{company_id}/history": {"get"},
}


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def test_openapi_document_is_served_and_valid(client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for path, methods in API_PATHS.items():
        assert path in document["paths"], path
        operations = document["paths"][path]
        assert methods <= set(operations), path
        for method in methods:
            assert operations[method]["security"] == [{"bearerAuth": []}], (path, method)
            assert "401" in operations[method]["responses"], (path, method)
    patch = document["paths"]["/api/v1/companies/{company_id}"]["patch"]
    assert {"409", "422", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" for p in patch["parameters"])


def test_no_token_is_401_json_with_challenge(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["code"] == 401 and body["status"] == "Unauthorized"
    assert "token API" in body["message"]


@pytest.mark.parametrize(
    "header", ["Bearer pui_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "pui_x"]
)
def test_bad_token_is_401(client, session, header):
    response = client.get("/api/v1/companies", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["code"] == 401


def test_revoked_token_stops_working(client, session):
    user = UserFactory()
    issued = issue_api_token(session, user, "gestionale")
    assert client.get("/api/v1/me", headers=bearer(issued.secret)).status_code == 200
    assert revoke_api_token(session, user, issued.token.id)
    response = client.get("/api/v1/me", headers=bearer(issued.secret))
    assert response.status_code == 401
    assert "revocato" in response.get_json()["message"]


def test_expired_token_is_401(client, session):
    user = UserFactory()
    issued = issue_api_token(session, user, "vecchio")
    token = session.merge(issued.token)
    token.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(issued.secret)).status_code == 401


def test_token_of_deactivated_user_is_401(client, session):
    user = UserFactory()
    issued = issue_api_token(session, user, "gestionale")
    session.merge(user).active = False
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(issued.secret)).status_code == 401


def test_me_shows_the_token_owner_and_records_use(client, session):
    user = UserFactory(roles=["intermediary", "entrepreneur"], full_name="Anna Verdi")
    issued = issue_api_token(session, user, "gestionale")
    response = client.get("/api/v1/me", headers=bearer(issued.secret))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user.id and body["email"] == user.email
    assert body["full_name"] == "Anna Verdi"
    assert body["roles"] == ["entrepreneur", "intermediary"]
    session.expire_all()
    from portale.accounts.models import ApiToken

    assert session.get(ApiToken, issued.token.id).last_used_at is not None


def test_error_message_follows_accept_language(client, session):
    italian = client.get("/api/v1/me", headers={"Accept-Language": "it"}).get_json()
    english = client.get("/api/v1/me", headers={"Accept-Language": "en"}).get_json()
    # The English catalogue may not translate this message yet: the shape must not change.
    assert set(english) == set(italian) == {"code", "status", "message"}
    assert english["code"] == 401 and english["message"]


def test_session_cookie_does_not_authenticate_the_api(client, session, login_as):
    user = UserFactory()
    login_as(user)
    assert client.get("/api/v1/me").status_code == 401
