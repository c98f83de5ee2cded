"""The report API returns the dashboard's rows, takes the same filter, and exists only for
analysts and administrators."""

from __future__ import annotations

import pytest

from portale.accounts.services import issue_api_token
from portale.reports import services
from tests.factories import UserFactory
from tests.reports_support import AS_OF, PERIOD, build_report_data

QUERY = {**PERIOD.as_params(), "istante": AS_OF.isoformat()}


def bearer(session, user):
    return {"Authorization": f"Bearer {issue_api_token(session, user, 'test').secret}"}


@pytest.fixture
def world(session, tmp_path):
    return build_report_data(session, tmp_path)


def test_overview_has_the_same_rows_as_the_service(client, session, world):
    headers = bearer(session, UserFactory(roles=("analyst",)))
    response = client.get("/api/v1/reports/overview", query_string=QUERY, headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    expected = services.overview(session, PERIOD, as_of=AS_OF)
    assert [g["type_code"] for g in body["groups"]] == [g.type_code for g in expected.groups]
    for got, row in zip(
        body["groups"] + [body["total"]], expected.groups + [expected.total], strict=True
    ):
        assert got["filed"] == row.filed and got["closed"] == row.closed
        assert got["net_median"] == pytest.approx(row.net_median)
        assert got["within_term_share"] == pytest.approx(row.within_term_share)
        assert got["days_authority"] == pytest.approx(row.days_authority)
    assert [b["open"] for b in body["backlog"] if b["type_code"] is None] == expected.backlog_of(
        None
    )
    assert [o["code"] for o in body["opinions"]] == [o.code for o in expected.opinions]
    assert body["filter"]["start"] == PERIOD.start.isoformat()


def test_bottlenecks_name_the_slow_authority_first_and_narrow_with_the_filter(
    client, session, world
):
    headers = bearer(session, UserFactory(roles=("admin",)))
    response = client.get("/api/v1/reports/bottlenecks", query_string=QUERY, headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["authorities"][0]["code"] == world.slow.code
    assert body["authorities"][0]["trend"] is not None
    assert body["previous"]["end"] == PERIOD.previous().end.isoformat()
    assert {s["stage"] for s in body["stages"]} == {"company", "office", "authority", "dispatch"}
    narrowed = client.get(
        "/api/v1/reports/bottlenecks",
        query_string={**QUERY, "ente": str(world.authorities["ARPA"].id)},
        headers=headers,
    ).json
    assert [a["code"] for a in narrowed["authorities"]] == ["ARPA"]


def test_a_wrong_filter_is_a_422_with_italian_messages_per_field(client, session, world):
    headers = bearer(session, UserFactory(roles=("analyst",)))
    response = client.get(
        "/api/v1/reports/overview",
        query_string={"dal": "31/12/2026", "sportello": "x"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json["errors"]["dal"] == ["Data non valida: usa il formato AAAA-MM-GG."]
    assert "sportello" in response.json["errors"]
    response = client.get(
        "/api/v1/reports/overview", query_string={"tipo": "INESISTENTE"}, headers=headers
    )
    assert response.json["errors"]["tipo"] == ["Tipo di procedimento sconosciuto."]


@pytest.mark.parametrize("path", ["/api/v1/reports/overview", "/api/v1/reports/bottlenecks"])
def test_reports_do_not_exist_for_other_roles(client, session, path):
    assert client.get(path).status_code == 401
    for roles in (("entrepreneur",), ("intermediary",), ("clerk",), ("authority_officer",)):
        response = client.get(path, headers=bearer(session, UserFactory(roles=roles)))
        assert response.status_code == 404, roles


def test_reports_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/reports/overview" in paths and "/api/v1/reports/bottlenecks" in paths
