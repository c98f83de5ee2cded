"""Issue 13, as a visitor and an attacker see the web pages: headers, redirects, exports,
read-only delegates, a database that goes away, an install without the metrics library."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from portale import create_app
from portale.web.security import safe_redirect_target
from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# -- 3. security headers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/account/accedi", "/healthz", "/api/v1/me", "/nope"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in development


def test_production_adds_hsts(app, database_url, tmp_path):
    production = create_app(
        {
            "TESTING": True,
            "ENV_MODE": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "EMBEDDED_WORKER": False,
            "VAR_DIR": str(tmp_path),
            "STORAGE_PATH": str(tmp_path / "s"),
        }
    )
    response = production.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_has_an_inline_script_or_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if inline.search(path.read_text()) or handler.search(path.read_text())
    ]
    assert offenders == []


def test_pages_load_bootstrap_italia_fonts_from_a_static_script(client):
    html = client.get("/").get_data(as_text=True)
    assert (
        'src="/static/js/fonts.js" data-public-path="/static/vendor/bootstrap-italia/fonts"' in html
    )
    assert client.get("/static/js/fonts.js").status_code == 200


# -- 4. no open redirect --------------------------------------------------------------------------


EVIL = [
    "/%09/evil.example",
    "/\t/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", EVIL)
def test_unsafe_targets_are_refused(target):
    assert safe_redirect_target(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/pratiche/3", "/scrivania/?stato=presented&pagina=2", "/"])
def test_same_site_paths_are_followed(target):
    assert safe_redirect_target(target, "/home") == target


@pytest.mark.parametrize("raw", ["/%09/evil.example", "/%5C%5Cevil.example", "/%2F%2Fevil.example"])
def test_login_never_redirects_off_site(client, session, raw):
    user = UserFactory()
    response = client.post(
        f"/account/accedi?next={raw}", data={"email": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_never_redirects_off_site(client, session):
    response = client.post("/lingua", data={"lang": "en", "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/"
    response = client.post("/lingua", data={"lang": "en", "next": "/catalogo/"})
    assert response.headers["Location"] == "/catalogo/"


# -- 10. exports: formula injection ---------------------------------------------------------------


FORMULA = '=HYPERLINK("http://evil.example","clic")'


@pytest.fixture
def poisoned_report(session, tmp_path):
    from tests.reports_support import build_report_data

    world = build_report_data(session, tmp_path)
    world.slow.name = FORMULA
    session.commit()
    return world


def _report_query():
    from tests.reports_support import AS_OF, PERIOD

    return urlencode({**PERIOD.as_params(), "istante": AS_OF.isoformat()})


def test_csv_export_neutralises_cells_that_start_a_formula(client, poisoned_report, login_as):
    login_as(UserFactory(roles=("analyst",)))
    response = client.get("/report/esporta.csv?" + _report_query())
    cells = [
        cell
        for row in csv.reader(
            io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"
        )
        for cell in row
    ]
    assert "'" + FORMULA in cells
    assert not any(c.startswith(("=", "+", "@", "\t")) for c in cells)
    # numbers stay numbers: only text is prefixed
    assert not any(re.fullmatch(r"'-?\d+(,\d+)?", c) for c in cells)


def test_xlsx_export_neutralises_cells_that_start_a_formula(client, poisoned_report, login_as):
    login_as(UserFactory(roles=("analyst",)))
    response = client.get("/report/esporta.xlsx?" + _report_query())
    book = load_workbook(io.BytesIO(response.data))
    values = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in values)
    assert any(c.value == "'" + FORMULA for c in values)


def test_open_data_csv_neutralises_names():
    from portale.reports.spreadsheet import neutralise, neutralise_row

    assert neutralise_row(["+39 011", "@SUM(A1)", "-2+3", "\tx", "Torino", -4, 2.5]) == [
        "'+39 011",
        "'@SUM(A1)",
        "'-2+3",
        "'\tx",
        "Torino",
        -4,
        2.5,
    ]
    assert neutralise(None) is None


# -- 12. a read-only delegate cannot get the silent-assent certificate issued ---------------------


def test_read_only_delegate_cannot_have_the_silent_assent_certificate_issued(
    app, client, session, login_as
):
    from datetime import UTC, date, datetime, timedelta

    import time_machine
    from sqlalchemy import select

    from portale.backoffice.jobs import tick
    from portale.cases.act_models import Act
    from portale.clock import lifecycle as lc
    from tests.backoffice_support import file_procedure
    from tests.factories import MandateFactory

    filed = file_procedure(
        session,
        app.config["STORAGE_PATH"],
        regime="SILENZIO-ASSENSO",
        term_days=30,
        silent_assent=True,
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    with time_machine.travel(datetime(2026, 5, 1, tzinfo=UTC), tick=False):
        tick(session, filed.storage)
    assert filed.procedure.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED
    reader = UserFactory()
    MandateFactory(
        company=filed.company,
        grantee_id=reader.id,
        kind="delegate",
        scope="read",
        expires_on=date.today() + timedelta(days=30),
    )
    session.commit()
    login_as(reader)
    url = f"/pratiche/{filed.procedure.id}"
    assert client.get(url).status_code == 200  # reading is what the mandate allows
    assert client.post(f"{url}/silenzio-assenso").status_code == 404
    acts = session.scalars(select(Act).where(Act.procedure_id == filed.procedure.id)).all()
    assert acts == []
    # the owner may
    client.post("/account/esci")
    login_as(filed.submitter)
    assert client.post(f"{url}/silenzio-assenso").status_code == 302
    assert (
        len(session.scalars(select(Act).where(Act.procedure_id == filed.procedure.id)).all()) == 1
    )


# -- 17. the database goes away: 503, Retry-After, an Italian page ------------------------------


@pytest.fixture
def unreachable_database_app(tmp_path):
    from tests.production_support import free_port

    port = free_port()
    application = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "DATABASE_URL": f"postgresql+psycopg://portale@127.0.0.1:{port}/portale?connect_timeout=2",
            "SECRET_KEY": "x",
            "EMBEDDED_WORKER": False,
            "VAR_DIR": str(tmp_path),
            "STORAGE_PATH": str(tmp_path / "s"),
        }
    )
    return application


def test_pages_answer_503_with_retry_after_while_the_database_is_down(unreachable_database_app):
    client = unreachable_database_app.test_client()
    for path in ("/catalogo/", "/tempi/"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        html = response.get_data(as_text=True)
        assert "Servizio momentaneamente non disponibile" in html
        assert "Traceback" not in html and "OperationalError" not in html


def test_the_api_answers_503_json_while_the_database_is_down(unreachable_database_app):
    response = unreachable_database_app.test_client().get(
        "/api/v1/me", headers={"Authorization": "Bearer pui_x"}
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.json["code"] == 503 and "riprova" in response.json["message"]


@pytest.mark.postgres
def test_pooled_connections_killed_by_a_restart_are_replaced(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("terminating server connections needs PostgreSQL")
    from sqlalchemy import text

    from portale.db import make_engine

    portal = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "EMBEDDED_WORKER": False,
            "VAR_DIR": str(tmp_path),
            "STORAGE_PATH": str(tmp_path / "s"),
        }
    )
    client = portal.test_client()
    assert client.get("/readyz").status_code == 200  # a pooled connection now exists
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = '' AND state = 'idle'"
            )
        ).scalar()
    admin.dispose()
    assert killed >= 1
    assert client.get("/readyz").status_code == 200  # pool_pre_ping reconnects transparently


# -- 1. an install without prometheus-client still serves every page -----------------------------


def test_pages_are_served_without_the_metrics_library(app, client, session, monkeypatch):
    from portale import observability

    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import now fails
    monkeypatch.setattr(observability, "_metrics", {})
    for path in ("/", "/catalogo/", "/account/accedi", "/tempi/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/metrics").status_code == 503
