"""Analysts download the event log with the dashboard's filter; nobody else can."""

from __future__ import annotations

import pytest

from tests.eventlog_support import MONCALIERI, build_log
from tests.factories import UserFactory
from tests.xes_check import attribute, check_xes

PERIOD = "dal=2026-01-01&al=2026-12-31"
ROUTES = ("/report/eventlog.xes", "/report/eventlog.jsonocel")


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_visitors_are_sent_to_log_in(client, world, route):
    response = client.get(f"{route}?{PERIOD}")
    assert response.status_code == 302 and "/account/accedi" in response.headers["Location"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("roles", [("entrepreneur",), ("clerk",), ("authority_officer",)])
def test_other_roles_get_not_found(client, world, login_as, route, roles):
    login_as(UserFactory(roles=roles))
    assert client.get(f"{route}?{PERIOD}").status_code == 404


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_download_the_filtered_xes(client, world, login_as, role):
    login_as(UserFactory(roles=(role,)))
    response = client.get(f"/report/eventlog.xes?{PERIOD}&comune={MONCALIERI}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="registro-eventi-2026-01-01-2026-12-31.xes"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    log = check_xes(response.get_data(as_text=True))
    assert [attribute(t, "municipality") for t in log.iter("trace")] == [MONCALIERI] * 2
    everything = check_xes(client.get(f"/report/eventlog.xes?{PERIOD}").get_data(as_text=True))
    assert len(everything.findall("trace")) == 9


def test_analysts_download_the_ocel_log(client, world, login_as):
    login_as(UserFactory(roles=("analyst",)))
    response = client.get(f"/report/eventlog.jsonocel?{PERIOD}&ente={world.authority.id}")
    assert response.status_code == 200 and response.is_streamed
    ocel = response.get_json()
    procedures = [o for o in ocel["objects"] if o["type"] == "procedure"]
    assert len(procedures) == 1
    assert {e["type"] for e in ocel["events"]} >= {"opinion_requested", "opinion_given"}


def test_a_bad_filter_is_explained_not_a_crash(client, world, login_as):
    login_as(UserFactory(roles=("analyst",)))
    response = client.get("/report/eventlog.xes?dal=2026-13-01&sportello=uno")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "AAAA-MM-GG" in html and "sportello" in html and "Valore non valido" in html
