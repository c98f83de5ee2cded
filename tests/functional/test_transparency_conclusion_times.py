"""Times of conclusion per office and type against the legal term (art. 35 D.Lgs. 33/2013),
on the public page and in the open data, computed again here from the known test log."""

from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import UTC, datetime

import pytest
import time_machine

from portale.reports.legal_times import legal_times
from tests.eventlog_support import SCIA, VICINATO, build_log, personal_data

TODAY = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)
# SUAPTO x vicinato, concluded in 2026 (the log's docstring): Torino 10, 20, 30 (12 days of
# integration left out), 40, 70 net days; Moncalieri 15 and 15. The 70-day one is late and
# concluded in April; the rest in the first quarter.
YEAR_DAYS = [10, 20, 30, 40, 70, 15, 15]
Q1_DAYS = [10, 20, 30, 40, 15, 15]


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_figures_per_office_type_year_and_quarter(session, world):
    times = legal_times(session)
    by_period = {(r.codice_tipo, r.period_label): r for r in times.rows}
    year = by_period[(VICINATO, "2026")]
    assert (year.codice_sportello, year.termine_legale_giorni) == ("SUAPTO", 60)
    assert year.pratiche_concluse == len(YEAR_DAYS)
    assert year.giorni_netti_mediana == statistics.median(YEAR_DAYS)
    assert year.giorni_netti_media == round(statistics.mean(YEAR_DAYS), 1)
    assert year.quota_entro_termine == round(6 / 7, 3)
    q1 = by_period[(VICINATO, "2026-T1")]
    assert q1.pratiche_concluse == len(Q1_DAYS)
    assert q1.giorni_netti_mediana == statistics.median(Q1_DAYS)
    assert q1.giorni_netti_media == round(statistics.mean(Q1_DAYS), 1)
    assert q1.quota_entro_termine == 1.0
    # the second quarter (one procedure) and the SCIA (one) are too small to publish
    assert (VICINATO, "2026-T2") not in by_period
    assert not [r for r in times.rows if r.codice_tipo == SCIA]
    assert times.suppressed_groups == 3  # SCIA year, SCIA Q1, vicinato Q2
    assert times.years == [2026]


def test_the_public_page_shows_term_median_mean_share_and_count_with_a_chart(client, world, frozen):
    html = client.get("/tempi/").get_data(as_text=True)
    section = html.split('id="conclusione"', 1)[1]
    table = section.split('id="tabella-conclusione"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tbody>", 1)[1].split("<tr")[1:]
    assert len(rows) == 2  # the year, then its one published quarter
    year, q1 = rows
    assert "Apertura di un esercizio di vicinato" in year and "Anno 2026" in year
    for cell in (">60<", ">7<", ">20<", ">28,6<", ">86 %<"):
        assert cell in year, cell
    assert "1° trimestre" in q1
    for cell in (">6<", ">18<", ">21,7<", ">100 %<"):  # median 17.5 shows as 18
        assert cell in q1, cell
    chart = section.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "Termine di legge" in chart and "mediana 20 giorni" in chart
    assert "Come sono calcolati" in section and "sospeso" in section
    for value in personal_data(world):
        assert value not in html


def test_an_unknown_year_falls_back_to_the_latest(client, world, frozen):
    html = client.get("/tempi/?anno=1999").get_data(as_text=True)
    assert 'value="2026" selected' in html and "Anno 2026" in html


def test_conclusion_times_as_open_data(client, world, frozen):
    response = client.get("/tempi/tempi-conclusione.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'rel="describedby"' in response.headers["Link"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["anno"], r["trimestre"]) for r in rows] == [("2026", ""), ("2026", "1")]
    assert rows[0]["termine_legale_giorni"] == "60" and rows[0]["pratiche_concluse"] == "7"
    assert rows[0]["giorni_netti_media"] == "28.6" and rows[0]["quota_entro_termine"] == "0.857"
    body = json.loads(client.get("/tempi/tempi-conclusione.json").get_data(as_text=True))
    assert body["data"][0]["giorni_netti_mediana"] == 20
    assert body["metadata"]["suppression"] == {"min_procedures": 5, "suppressed_groups": 3}
    assert {f["name"] for f in body["metadata"]["fields"]} >= {"termine_legale_giorni"}
    assert body["metadata"]["describedBy"]["dataset"].endswith(
        "/tempi/catalogo/tempi-di-conclusione"
    )
