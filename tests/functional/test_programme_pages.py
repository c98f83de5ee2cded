"""The programme's pages as analysts, stakeholders and everyone else meet them."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from portale.extensions import db
from portale.outbox.models import OutboxJob
from portale.outbox.services import claim_one, run_job
from portale.programme.models import Proposal, Target
from portale.reports import exports
from tests.factories import UserFactory
from tests.integration.test_programme import TODAY, _target, layout  # noqa: F401 (fixture)


@pytest.fixture
def analyst(session):
    return UserFactory(roles=("analyst",))


@pytest.fixture
def stakeholder(session):
    return UserFactory(roles=("stakeholder",))


PAGES = [
    "/programma/",
    "/programma/confronto",
    "/programma/proposte",
    "/programma/proposte/nuova",
]


@pytest.mark.parametrize("role", ["entrepreneur", "intermediary", "clerk", "admin"])
def test_the_programme_does_not_exist_for_other_roles(client, session, login_as, role):
    login_as(UserFactory(roles=(role,)))
    for path in [*PAGES, "/programma/obiettivi/nuovo", "/programma/proposte/1"]:
        assert client.get(path).status_code == 404, path


def test_anonymous_visitors_are_sent_to_the_login_page(client, session):
    response = client.get("/programma/")
    assert response.status_code == 302 and "/account/accedi" in response.headers["Location"]


def test_an_analyst_sets_a_target_and_sees_its_status(client, session, login_as, analyst, layout):  # noqa: F811
    login_as(analyst)
    form = client.get("/programma/obiettivi/nuovo").get_data(as_text=True)
    assert "Nuovo obiettivo" in form
    data = {
        "title": "Mediana entro 20 giorni",
        "type_code": "PROGRAMME_TYPE",
        "measure": "median_net",
        "threshold": "20",
        "baseline_start": "2025-01-01",
        "baseline_end": "2024-03-31",  # before the start: refused, nothing lost
        "due_on": "2026-12-31",
        "office_ids": [str(layout[0].id)],
    }
    refused = client.post("/programma/obiettivi/nuovo", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "La fine del periodo precede l" in html
    assert 'value="Mediana entro 20 giorni"' in html  # what was typed is still there
    assert session.scalar(select(Target)) is None
    data["baseline_end"] = "2025-03-31"
    saved = client.post("/programma/obiettivi/nuovo", data=data)
    assert saved.status_code == 302
    target = session.scalar(select(Target))
    assert target.office_ids == [layout[0].id] and target.threshold == 20.0
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Mediana entro 20 giorni" in page and "<svg" in page
    assert "In linea" in page or "Raggiunto" in page or "A rischio" in page


def test_a_share_threshold_is_typed_as_a_percentage(client, session, login_as, analyst, layout):  # noqa: F811
    login_as(analyst)
    response = client.post(
        "/programma/obiettivi/nuovo",
        data={
            "title": "Entro il termine",
            "type_code": "",
            "measure": "within_term",
            "threshold": "90",
            "baseline_start": "2025-01-01",
            "baseline_end": "2025-03-31",
            "due_on": "2026-12-31",
        },
    )
    assert response.status_code == 302
    assert session.scalar(select(Target)).threshold == pytest.approx(0.9)


def test_stakeholders_see_but_do_not_set_targets_and_get_the_public_comparison(
    client,
    session,
    login_as,
    stakeholder,
    layout,  # noqa: F811
):
    _target(session, layout)
    login_as(stakeholder)
    index = client.get("/programma/").get_data(as_text=True)
    assert "Autorizzazioni: mediana entro 20 giorni" in index
    assert "Nuovo obiettivo" not in index
    assert client.get("/programma/obiettivi/nuovo").status_code == 404
    target = session.scalar(select(Target))
    assert client.post(f"/programma/obiettivi/{target.id}/elimina").status_code == 404
    html = client.get(
        "/programma/confronto?tipo=PROGRAMME_TYPE&misura=median_net&dal=2025-01-01&al=2026-03-31"
    ).get_data(as_text=True)
    names = [o.name for o in layout]
    assert names[0] in html and names[2] in html
    assert names[1] not in html  # four procedures: left out of the public version
    # a stakeholder is no clerk: the back office does not exist for them
    assert client.get("/scrivania/").status_code == 404


def test_the_public_comparison_needs_no_login_and_hides_small_offices(client, session, layout):  # noqa: F811
    html = client.get(
        "/tempi/confronto/?tipo=PROGRAMME_TYPE&misura=median_net&dal=2025-01-01&al=2026-03-31"
    ).get_data(as_text=True)
    assert layout[0].name in html and layout[1].name not in html
    assert "Meno richieste di integrazione" in html


def test_a_stakeholder_files_a_proposal_an_analyst_moves_it_and_followers_hear(
    client,
    session,
    login_as,
    stakeholder,
    analyst,
    layout,  # noqa: F811
):
    login_as(stakeholder)
    empty = client.post("/programma/proposte/nuova", data={"title": "Solo il titolo"})
    assert "Descrivi la proposta." in empty.get_data(as_text=True)
    assert 'value="Solo il titolo"' in empty.get_data(as_text=True)
    response = client.post(
        "/programma/proposte/nuova",
        data={
            "title": "Un parere congiunto",
            "body": "ASL e VVF insieme.",
            "type_codes": ["PROGRAMME_TYPE"],
            "steps": ["authority"],
            "measure": "median_net",
        },
    )
    assert response.status_code == 302
    proposal = session.scalar(select(Proposal))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Un parere congiunto" in page and "Cambia stato" not in page
    # a stakeholder cannot move it
    refused = client.post(f"/programma/proposte/{proposal.id}/stato", data={"status": "accepted"})
    assert refused.status_code == 404
    client.post("/account/esci")

    login_as(analyst)
    page = client.get(f"/programma/proposte/{proposal.id}").get_data(as_text=True)
    assert "Cambia stato" in page and "Apri questi dati nel cruscotto" in page
    wrong = client.post(f"/programma/proposte/{proposal.id}/stato", data={"status": "in_force"})
    assert "non è consentito" in wrong.get_data(as_text=True)
    moved = client.post(
        f"/programma/proposte/{proposal.id}/stato",
        data={"status": "under_review", "note": "In istruttoria"},
    )
    assert moved.status_code == 302
    client.post(f"/programma/proposte/{proposal.id}/commenti", data={"body": "Dati chiesti."})
    client.post("/account/esci")

    login_as(stakeholder)
    notes = client.get("/account/notifiche").get_data(as_text=True)
    assert "In esame" in notes and "Nuovo commento" in notes
    page = client.get(f"/programma/proposte/{proposal.id}").get_data(as_text=True)
    assert "Dati chiesti." in page and "In istruttoria" in page


def test_the_quarterly_report_runs_as_a_job_in_pdf_and_xlsx(
    app,
    client,
    session,
    login_as,
    analyst,
    layout,  # noqa: F811
):
    _target(session, layout)
    login_as(analyst)
    index = client.get("/programma/").get_data(as_text=True)
    quarter = re.search(r'<option value="(\d{4}-Q\d)">', index).group(1)
    for fmt in ("pdf", "xlsx"):
        response = client.post("/programma/rapporto", data={"trimestre": quarter, "formato": fmt})
        assert response.status_code == 302
        job = session.scalars(
            select(OutboxJob)
            .where(OutboxJob.handler == exports.EXPORT_JOB)
            .order_by(OutboxJob.id.desc())
        ).first()
        assert claim_one(session, job.id, worker="t")
        assert run_job(db.session_factory, job.id, worker="t", config=dict(app.config)) == "done"
        html = client.get(response.headers["Location"]).get_data(as_text=True)
        link = re.search(r'href="([^"]+/scarica)"', html).group(1)
        data = client.get(link).data
        if fmt == "pdf":
            text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
            text = " ".join(text.split())
            assert "Rapporto trimestrale del programma di semplificazione" in text
            assert "Autorizzazioni: mediana entro 20 giorni" in text
            assert layout[0].name in text  # the offices compared
        else:
            book = load_workbook(io.BytesIO(data))
            assert book.sheetnames == ["Obiettivi", "Confronto sportelli", "Proposte"]
            assert book["Obiettivi"]["A2"].value == "Autorizzazioni: mediana entro 20 giorni"
    assert client.post("/programma/rapporto", data={"trimestre": "1999-Q1"}).status_code == 404
