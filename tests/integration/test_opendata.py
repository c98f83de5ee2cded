"""The open-data aggregate: figures per type, municipality and period; small groups suppressed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from portale.cases.models import ProcedureSummary
from portale.reports import opendata
from portale.reports.filters import ReportFilter
from tests.eventlog_support import MONCALIERI, SCIA, TORINO, VICINATO, build_log, personal_data
from tests.integration.test_report_stats import percentile_cont

YEAR = ReportFilter(date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


def summaries(session, municipality, type_code):
    return session.scalars(
        select(ProcedureSummary).where(
            ProcedureSummary.municipality == municipality,
            ProcedureSummary.type_code == type_code,
        )
    ).all()


def test_figures_per_type_municipality_and_quarter(session, world):
    dataset = opendata.aggregate(session, YEAR, granularity="quarter")
    (row,) = dataset.rows  # the only group with at least five procedures
    assert (row.periodo, row.codice_tipo, row.codice_istat_comune) == ("2026-T1", VICINATO, TORINO)
    assert (row.comune, row.presentate, row.concluse) == ("Torino", 6, 5)
    closed = [s for s in summaries(session, TORINO, VICINATO) if s.decided_on is not None]
    net = [float(s.days_net) for s in closed]
    assert sorted(net) == [10, 20, 30, 40, 70]  # the integration's 12 days are not counted
    assert row.giorni_netti_mediana == round(percentile_cont(net, 0.5), 1) == 30
    assert row.giorni_netti_p90 == round(percentile_cont(net, 0.9), 1)
    assert row.quota_entro_termine == sum(s.within_term for s in closed) / len(closed) == 0.8


def test_groups_of_fewer_than_five_are_left_out_and_the_metadata_says_so(session, world):
    dataset = opendata.aggregate(session, YEAR, granularity="quarter")
    published = {(r.codice_tipo, r.codice_istat_comune) for r in dataset.rows}
    assert (VICINATO, MONCALIERI) not in published and (SCIA, TORINO) not in published
    assert dataset.suppressed_groups == 2
    rule = dataset.metadata["suppression"]
    assert rule["min_procedures"] == 5 and "meno di 5" in rule["rule"]
    text = opendata.to_csv(dataset) + opendata.to_json(dataset)
    assert MONCALIERI not in text and SCIA not in text
    # with a lower threshold the same groups appear: they were hidden, not missing
    lenient = opendata.aggregate(session, YEAR, granularity="quarter", min_group=1)
    assert {(r.codice_tipo, r.codice_istat_comune) for r in lenient.rows} == published | {
        (VICINATO, MONCALIERI),
        (SCIA, TORINO),
    }


def test_times_are_withheld_when_too_few_procedures_are_closed(session, world):
    # by month, with groups of three: January has three closed, February only two
    dataset = opendata.aggregate(session, YEAR, granularity="month", min_group=3)
    by_month = {r.periodo: r for r in dataset.rows if r.codice_istat_comune == TORINO}
    assert by_month["2026-01"].concluse == 3 and by_month["2026-01"].giorni_netti_mediana == 20
    february = by_month["2026-02"]
    assert (february.presentate, february.concluse) == (3, 2)
    assert february.giorni_netti_mediana is None and february.giorni_netti_p90 is None
    assert february.quota_entro_termine is None


def test_csv_and_json_carry_the_rows_and_a_metadata_record(session, world):
    dataset = opendata.aggregate(session, YEAR, granularity="year")
    rows = list(csv.DictReader(io.StringIO(opendata.to_csv(dataset))))
    assert [r["periodo"] for r in rows] == ["2026"]
    assert rows[0]["codice_istat_comune"] == TORINO and rows[0]["giorni_netti_mediana"] == "30.0"
    document = json.loads(opendata.to_json(dataset))
    meta = document["metadata"]
    assert meta["license"]["identifier"] == "CC-BY-4.0"
    assert meta["temporal"] == {"startDate": "2026-01-01", "endDate": "2026-12-31"}
    assert meta["title"] and meta["description"] and meta["publisher"]["name"]
    assert meta["generated_at"] and meta["personal_data"] is False
    fields = {f["name"]: f for f in meta["fields"]}
    assert list(fields) == list(rows[0]) == list(document["data"][0])
    assert fields["giorni_netti_mediana"]["unit"] == "giorni" and all(
        f["description"] for f in fields.values()
    )


def test_no_company_or_person_appears(session, world):
    for granularity in opendata.GRANULARITIES:
        dataset = opendata.aggregate(session, YEAR, granularity=granularity, min_group=1)
        text = opendata.to_csv(dataset) + opendata.to_json(dataset)
        for value in personal_data(world):
            assert value not in text, value


def test_the_filter_narrows_the_data_set(session, world):
    only_moncalieri = ReportFilter(YEAR.start, YEAR.end, municipality=MONCALIERI)
    dataset = opendata.aggregate(session, only_moncalieri, granularity="period", min_group=1)
    assert [(r.comune, r.presentate, r.periodo) for r in dataset.rows] == [
        ("Moncalieri", 2, "2026-01-01/2026-12-31")
    ]
    assert dataset.metadata["filters"] == {"codice_istat_comune": MONCALIERI}
