"""The dashboard as an analyst sees it, and its exports: the same rows everywhere; access by role."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from portale.extensions import db
from portale.outbox.models import OutboxJob
from portale.outbox.services import claim_one, run_job
from portale.reports import exports
from tests.factories import UserFactory
from tests.reports_support import AS_OF, PERIOD, build_report_data

QUERY = {**PERIOD.as_params(), "istante": AS_OF.isoformat()}


@pytest.fixture
def world(session, tmp_path):
    return build_report_data(session, tmp_path)


@pytest.fixture
def analyst(session):
    return UserFactory(roles=("analyst",))


def expected_tables(session):
    return exports.build_report(session, PERIOD, AS_OF).tables


def page(client, **params):
    return client.get("/report/?" + urlencode(params or QUERY))


def test_an_analyst_sees_figures_charts_and_the_slow_authority_first(
    client, session, world, analyst, login_as
):
    login_as(analyst)
    response = page(client)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # the ranking of authorities lists the slow one in its first row
    authorities = html.split('<caption class="caption-top">Enti che trattengono più tempo')[1]
    first_row = authorities.split("<tbody>")[1].split("</tr>")[0]
    assert world.slow.name in first_row
    assert f"L'ente che trattiene più tempo è {world.slow.name}" in html.replace("&#39;", "'")
    # three charts, each with a title and a description, no JavaScript chart library
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 3
    assert html.count("<desc id=") == 3
    assert "chart.js" not in html.lower()
    # every table of the report is on the page, row for row
    for table in expected_tables(session):
        assert str(table.title) in html
        body = html.split(f'<caption class="caption-top">{table.title}')[1].split("</tbody>")[0]
        assert body.count("<tr") - 1 == max(len(table.rows), 1)


def test_a_wrong_filter_says_what_is_wrong_in_italian_and_keeps_what_was_typed(
    client, session, world, analyst, login_as
):
    login_as(analyst)
    response = page(client, dal="31/12/2026", al="2026-10-31", tipo="INESISTENTE", sportello="x")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Data non valida: usa il formato AAAA-MM-GG." in html
    assert "Valore non valido." in html
    assert 'value="31/12/2026"' in html and 'value="2026-10-31"' in html
    response = page(client, dal="2026-05-01", al="2026-10-31", tipo="INESISTENTE")
    html = response.get_data(as_text=True)
    assert "Tipo di procedimento sconosciuto." in html
    assert '<option value="INESISTENTE" selected>' in html
    assert "In sintesi" not in html  # no figures for a filter that names nothing
    response = page(client, dal="2026-10-31", al="2026-05-01")
    assert "L&#39;inizio del periodo è successivo alla fine." in response.get_data(as_text=True)


def test_csv_export_holds_exactly_the_rows_on_screen(client, session, world, analyst, login_as):
    login_as(analyst)
    response = client.get("/report/esporta.csv?" + urlencode(QUERY))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    for table in expected_tables(session):
        start = lines.index([str(table.title)])
        assert lines[start + 1] == [str(c.label) for c in table.columns]
        body = lines[start + 2 : start + 2 + len(table.rows)]
        assert [row[0] for row in body] == [
            r[0].isoformat() if hasattr(r[0], "isoformat") else str(r[0]) for r in table.rows
        ]
        assert lines[start + 2 + len(table.rows)] == []
        for row, expected in zip(body, table.rows, strict=True):
            for cell, value in zip(row[1:], expected[1:], strict=True):
                if isinstance(value, float):
                    assert float(cell.replace(",", ".")) == pytest.approx(value, abs=1e-4)
                elif value is not None:
                    assert cell == str(value)


def test_xlsx_export_has_one_sheet_per_table_with_the_same_rows(
    client, session, world, analyst, login_as
):
    login_as(analyst)
    response = client.get("/report/esporta.xlsx?" + urlencode(QUERY))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    for table in expected_tables(session):
        sheet = book[table.key]
        rows = list(sheet.iter_rows(min_row=3, values_only=True))
        assert len(rows) == len(table.rows)
        for got, expected in zip(rows, table.rows, strict=True):
            for cell, value in zip(got, expected, strict=True):
                if isinstance(value, float):
                    assert cell == pytest.approx(value, abs=1e-4)
                elif value is not None and not hasattr(value, "isoformat"):
                    assert cell == value


def test_the_pdf_report_runs_as_a_job_with_progress_and_a_download_link(
    app, client, session, world, analyst, login_as
):
    login_as(analyst)
    response = client.post("/report/esportazioni", data={**QUERY, "formato": "pdf"})
    assert response.status_code == 302
    status_url = response.headers["Location"]
    html = client.get(status_url).get_data(as_text=True)
    assert 'role="progressbar"' in html and 'http-equiv="refresh"' in html
    # run the export's outbox job (the data set's dispatch jobs stay queued: no connectors here)
    job = session.scalar(select(OutboxJob).where(OutboxJob.handler == exports.EXPORT_JOB))
    assert claim_one(session, job.id, worker="t")
    assert run_job(db.session_factory, job.id, worker="t", config=dict(app.config)) == "done"
    html = client.get(status_url).get_data(as_text=True)
    assert "Il file è pronto." in html and 'http-equiv="refresh"' not in html
    link = re.search(r'href="([^"]+/scarica)"', html).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Rapporto sui tempi dei procedimenti" in text
    assert "Classifica dei colli di bottiglia" in text
    # the summary page names the slow authority as the one to act on
    assert f"L'ente che trattiene più tempo è {world.slow.name}" in " ".join(text.split())
    # someone else's export does not exist for them
    client.post("/account/esci")
    login_as(UserFactory(roles=("analyst",)))
    assert client.get(status_url).status_code == 404
    assert client.get(link).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/report/",
        "/report/esporta.csv",
        "/report/esporta.xlsx",
        "/report/esportazioni/1",
        "/report/esportazioni/1/scarica",
    ],
)
def test_only_analysts_and_administrators_see_reports(client, session, login_as, path):
    assert client.get(path).status_code == 302  # anonymous: to the login page
    for roles in (("entrepreneur",), ("clerk",), ("authority_officer",)):
        login_as(UserFactory(roles=roles))
        assert client.get(path).status_code == 404, roles
        client.post("/account/esci")
    assert client.post("/report/esportazioni", data={"formato": "pdf"}).status_code == 302


def test_administrators_see_the_dashboard_too(client, session, login_as):
    login_as(UserFactory(roles=("admin",)))
    response = client.get("/report/")
    assert response.status_code == 200
    assert "Cruscotto dei tempi dei procedimenti" in response.get_data(as_text=True)


def test_the_event_log_runs_as_a_job_too_and_holds_one_trace_per_procedure(
    app, client, session, world, analyst, login_as
):
    from xml.etree import ElementTree

    from sqlalchemy import func

    from portale.cases.models import ProcedureSummary

    login_as(analyst)
    response = client.post("/report/esportazioni", data={**QUERY, "formato": "xes"})
    status_url = response.headers["Location"]
    job = session.scalar(select(OutboxJob).where(OutboxJob.handler == exports.EXPORT_JOB))
    assert claim_one(session, job.id, worker="t")
    assert run_job(db.session_factory, job.id, worker="t", config=dict(app.config)) == "done"
    html = client.get(status_url).get_data(as_text=True)
    link = re.search(r'href="([^"]+/scarica)"', html).group(1)
    assert "registro-eventi-" in html
    download = client.get(link)
    root = ElementTree.fromstring(download.data)
    assert root.tag.endswith("log")
    traces = [child for child in root if child.tag.endswith("trace")]
    filed = session.scalar(
        select(func.count()).select_from(ProcedureSummary).where(PERIOD.clause())
    )
    assert len(traces) == filed > 0


def _figure(html, label):
    figure = html.split(f"{label}</dt>")[1]
    return int(re.search(r'<dd class="h3 mb-0">([\d.]+)</dd>', figure).group(1).replace(".", ""))


def test_the_dashboard_is_kept_until_a_summary_changes_and_then_recomputed(
    client, session, world, analyst, login_as
):
    from sqlalchemy import event

    from portale.cases import services as core
    from portale.reports.cache import dashboards

    login_as(analyst)
    params = {"dal": PERIOD.start.isoformat(), "al": PERIOD.end.isoformat()}
    first = page(client, **params).get_data(as_text=True)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        again = page(client, **params).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert dashboards.hits == 1
    assert again.count("<table") == first.count("<table")
    assert _figure(again, "concluse") == _figure(first, "concluse")
    # a kept page reads no summary figures again: only the login, the filter's choices and
    # the version (one index lookup), whatever the data
    assert not [s for s in statements if "procedure_rollup" in s or "opinion_request" in s]
    # the next summary change shows at once: the company withdraws an open procedure
    from portale.clock import lifecycle as lc

    procedure = next(
        p
        for p in world.procedures
        if PERIOD.start <= p.received_on <= PERIOD.end
        and "withdraw" in lc.allowed_actions(p.state, p.regime)
    )
    core.perform(session, procedure, "withdraw", actor_id=procedure.submitter_id, now=AS_OF)
    session.commit()
    third = page(client, **params).get_data(as_text=True)
    assert dashboards.misses == 2
    assert _figure(third, "concluse") == _figure(first, "concluse") + 1
    assert _figure(third, "pratiche presentate") == _figure(first, "pratiche presentate")
