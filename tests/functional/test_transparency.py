"""The public "Tempi dei procedimenti" page and its open-data downloads, as a visitor sees them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine

from tests.eventlog_support import MONCALIERI, SCIA, TORINO, VICINATO, build_log, personal_data
from tests.factories import UserFactory

# the test log is filed from January to March 2026: all of it is in the last 12 months
TODAY = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def table_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [r for r in body.split("<tr>")[1:]]


def test_anyone_sees_median_and_p90_of_the_last_12_months(client, world, frozen):
    response = client.get("/tempi/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tempi dei procedimenti" in html
    (row,) = table_rows(html)
    assert "Apertura di un esercizio di vicinato" in row and "Torino" in row
    assert ">30<" in row  # median of 10, 20, 30, 40, 70 net days
    assert ">58<" in row  # 90th percentile: 40 + 0.6 x (70 - 40)
    assert "80 %" in row
    # Moncalieri (two procedures) and the SCIA (one) are too small to be shown or offered
    assert "Moncalieri" not in html and "Somministrazione" not in html
    assert "meno di 5 pratiche" in html
    assert "/tempi/opendata.csv" in html and "/tempi/opendata.json" in html
    for value in personal_data(world):
        assert value not in html
    assert "Cookie" in response.headers["Vary"]


def test_the_page_filters_by_municipality_and_type(client, world, frozen):
    html = client.get(f"/tempi/?comune={TORINO}&tipo={VICINATO}").get_data(as_text=True)
    assert len(table_rows(html)) == 1 and f'value="{TORINO}" selected' in html
    assert f"/tempi/opendata.csv?tipo={VICINATO}&amp;comune={TORINO}" in html
    for query in (f"comune={MONCALIERI}", f"tipo={SCIA}", "comune=999999"):
        html = client.get(f"/tempi/?{query}").get_data(as_text=True)
        assert "Nessun dato da mostrare" in html


def test_figures_older_than_12_months_are_not_shown(client, world):
    with time_machine.travel(datetime(2027, 6, 30, 10, 0, tzinfo=UTC), tick=False):
        html = client.get("/tempi/").get_data(as_text=True)
    assert "Nessun dato da mostrare" in html


def test_a_logged_in_person_gets_a_private_cache(client, world, frozen, login_as):
    login_as(UserFactory())
    response = client.get("/tempi/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, max-age=600"


def test_open_data_downloads(client, world, frozen):
    response = client.get("/tempi/opendata.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"].startswith("public")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["periodo"], r["codice_istat_comune"]) for r in rows] == [("2026-T1", TORINO)]
    document = client.get(f"/tempi/opendata.json?comune={TORINO}&periodo=year").get_json()
    assert document["metadata"]["license"]["identifier"] == "CC-BY-4.0"
    assert document["metadata"]["suppression"]["suppressed_groups"] == 1  # the SCIA one
    assert [r["periodo"] for r in document["data"]] == ["2026"]
    # an office or authority filter is not part of the public data set
    assert client.get("/tempi/opendata.json?sportello=1").get_json()["metadata"]["filters"] == {}


def test_bad_download_parameters_are_explained(client, world, frozen):
    response = client.get("/tempi/opendata.csv?dal=31/12/2025")
    assert response.status_code == 400
    assert "AAAA-MM-GG" in response.get_data(as_text=True)
    response = client.get("/tempi/opendata.json?periodo=settimana")
    assert response.status_code == 400 and "Periodo non valido" in response.get_data(as_text=True)


def test_only_a_response_that_sets_no_cookie_may_be_shared(client, world, frozen):
    # the first visits set a session cookie (the CSRF token of the page's forms, then
    # Flask-Login's marker): a shared cache must not hand that cookie to someone else
    responses = [client.get("/tempi/") for _ in range(3)]
    assert "Set-Cookie" in responses[0].headers
    assert "Set-Cookie" not in responses[-1].headers
    for response in responses:
        shared = "Set-Cookie" not in response.headers
        scope = "public" if shared else "private"
        assert response.headers["Cache-Control"] == f"{scope}, max-age=600"
