"""The clerk's desk in the browser: worklist, taking in charge, opinions and the services
conference, and 404 for anyone outside the office."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import render_template
from sqlalchemy import select

from portale.accounts.models import Notification
from portale.backoffice import consultations
from portale.cases import services as core
from portale.cases.models import OpinionRequest, Procedure
from portale.clock import lifecycle as lc
from tests.backoffice_support import file_procedure
from tests.factories import OfficeFactory, UserFactory
from tests.worklist_support import clone_procedures

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def filed(session, tmp_path):
    return file_procedure(session, tmp_path, term_days=60, authorities=2, now=FILED_AT)


@pytest.fixture
def outsider(session):
    return UserFactory(roles=("clerk",), office_id=OfficeFactory().id)


def test_worklist_shows_the_office_procedures_with_badges(client, session, filed, login_as):
    late = clone_procedures(session, filed.procedure, [FILED_AT - timedelta(days=80)])[0]
    with time_machine.travel(TODAY, tick=False):
        login_as(filed.clerk)
        page = client.get("/scrivania/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert filed.procedure.protocol_label in html and late.protocol_label in html
    assert "scaduta da" in html and 'class="table-danger"' in html
    days_left = (filed.procedure.last_day - TODAY.date()).days
    assert f"{days_left} gg" in html
    assert "Prendi in carico" in html


def test_worklist_filters_and_pages_through_links(client, session, filed, login_as):
    clone_procedures(session, filed.procedure, [FILED_AT + timedelta(days=i) for i in range(3)])
    with time_machine.travel(TODAY, tick=False):
        login_as(filed.clerk)
        first = client.get("/scrivania/?limit=2&sort=filed&order=desc")
        html = first.get_data(as_text=True)
        assert 'rel="next"' in html
        next_href = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
        second = client.get(next_href)
        assert second.status_code == 200
        assert "Prima pagina" in second.get_data(as_text=True)
        bad = client.get("/scrivania/?sort=nome")
    assert bad.status_code == 400 and "Valore non ammesso" in bad.get_data(as_text=True)


def test_worklist_is_not_found_for_who_is_not_a_clerk(client, session, filed, login_as):
    login_as(filed.submitter)
    assert client.get("/scrivania/").status_code == 404


def test_worklist_needs_a_login(client, filed):
    response = client.get("/scrivania/")
    assert response.status_code == 302 and "/account/accedi" in response.headers["Location"]


def test_take_in_charge_and_assign(client, session, filed, login_as):
    colleague = UserFactory(roles=("clerk",), office_id=filed.office.id)
    login_as(filed.clerk)
    pid = filed.procedure.id
    response = client.post(
        f"/scrivania/pratiche/{pid}/presa-in-carico", data={"next": "/scrivania/?assignee=me"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/scrivania/?assignee=me"
    )
    assert session.get(Procedure, pid).assignee_id == filed.clerk.id
    mine = client.get("/scrivania/?assignee=me").get_data(as_text=True)
    assert filed.procedure.protocol_label in mine
    client.post(f"/scrivania/pratiche/{pid}/assegna", data={"assignee_id": colleague.id})
    assert session.get(Procedure, pid).assignee_id == colleague.id
    away = client.post(f"/scrivania/pratiche/{pid}/assegna", data={"next": "https://evil.example/"})
    assert away.headers["Location"].endswith("/scrivania/")


def test_another_office_gets_404_on_every_action(client, session, filed, outsider, login_as):
    login_as(outsider)
    pid = filed.procedure.id
    assert client.post(f"/scrivania/pratiche/{pid}/presa-in-carico").status_code == 404
    assert (
        client.post(
            f"/scrivania/pratiche/{pid}/assegna", data={"assignee_id": outsider.id}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/scrivania/pratiche/{pid}/pareri", data={"authority": filed.authorities[0].id}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/scrivania/pratiche/{pid}/cdss", data={"date": "2026-05-01"}).status_code
        == 404
    )
    assert (
        client.post(
            f"/scrivania/pratiche/{pid}/cdss/esito", data={"outcome": "favourable"}
        ).status_code
        == 404
    )
    assert filed.procedure.protocol_label not in client.get("/scrivania/").get_data(as_text=True)


def test_request_opinions_each_with_its_own_term_notifies_the_officers(
    client, session, filed, login_as
):
    first, second = filed.authorities
    officer = UserFactory(roles=("authority_officer",), authority_id=first.id)
    with time_machine.travel(FILED_AT + timedelta(days=1), tick=False):
        login_as(filed.clerk)
        response = client.post(
            f"/scrivania/pratiche/{filed.procedure.id}/pareri",
            data={
                "authority": [first.id, second.id],
                f"term_{first.id}": "10",
                f"term_{second.id}": "45",
                "question": "Parere igienico-sanitario",
            },
        )
    assert response.status_code == 302
    asked = {
        o.authority_id: o
        for o in session.scalars(
            select(OpinionRequest).where(OpinionRequest.procedure_id == filed.procedure.id)
        )
    }
    assert asked[first.id].term_days == 10 and asked[second.id].term_days == 45
    assert (asked[second.id].due_on - asked[first.id].due_on).days >= 35
    notes = session.scalars(select(Notification).where(Notification.user_id == officer.id)).all()
    assert len(notes) == 1 and f"/ente/pareri/{asked[first.id].id}" == notes[0].link


def test_request_opinion_with_a_bad_term_keeps_nothing_and_says_why(
    client, session, filed, login_as
):
    login_as(filed.clerk)
    a = filed.authorities[0]
    client.post(
        f"/scrivania/pratiche/{filed.procedure.id}/pareri",
        data={"authority": a.id, f"term_{a.id}": "0"},
    )
    page = client.get("/scrivania/").get_data(as_text=True)
    assert "Il termine per il parere va da 1 a 365 giorni" in page
    assert session.scalars(select(OpinionRequest)).all() == []


def test_services_conference_convened_and_its_outcome_recorded(client, session, filed, login_as):
    authority = filed.authorities[0]
    core.record(
        session,
        filed.procedure,
        "cdss_requested",
        actor_id=None,
        payload={"authority": authority.code, "reason": "Più enti coinvolti"},
    )
    session.commit()
    login_as(filed.clerk)
    pid = filed.procedure.id
    response = client.post(
        f"/scrivania/pratiche/{pid}/cdss",
        data={"date": "2026-05-04", "participants": [authority.code]},
    )
    assert response.status_code == 302
    assert session.get(Procedure, pid).state == lc.CDSS_CONVENED
    convened = [e for e in core.events_of(session, pid) if e.kind == lc.CDSS_CONVENED][0]
    assert convened.payload == {"date": "2026-05-04", "participants": [authority.code]}
    client.post(
        f"/scrivania/pratiche/{pid}/cdss/esito",
        data={"outcome": "favourable_with_conditions", "text": "Verbale n. 1"},
    )
    outcome = [e for e in core.events_of(session, pid) if e.kind == lc.CDSS_OUTCOME]
    assert [e.payload["outcome"] for e in outcome] == ["favourable_with_conditions"]
    again = client.post(
        f"/scrivania/pratiche/{pid}/cdss/esito",
        data={"outcome": "favourable"},
        follow_redirects=True,
    )
    assert "già stato registrato" in again.get_data(as_text=True)


def test_conference_without_participants_is_refused(client, session, filed, login_as):
    pid = filed.procedure.id
    login_as(filed.clerk)
    page = client.post(
        f"/scrivania/pratiche/{pid}/cdss", data={"date": "2026-05-04"}, follow_redirects=True
    )
    assert "Indica almeno un ente partecipante" in page.get_data(as_text=True)
    assert session.get(Procedure, pid).state == lc.PRESENTED


def _render(app, template, **context):
    with app.test_request_context("/scrivania/"):
        return render_template(template, **context)


def test_opinions_partial_flags_late_opinions_and_links_the_document(app, session, filed):
    asked = consultations.request_opinions(
        session,
        filed.procedure,
        [a.id for a in filed.authorities],
        actor_id=filed.clerk.id,
        term_days=10,
        now=FILED_AT,
    )
    consultations.give_opinion(
        session,
        asked[0].id,
        outcome="favourable",
        text="Nulla osta",
        actor_id=None,
        document={"key": "opinions/x/abc", "name": "parere.pdf", "sha256": "0" * 64},
        now=FILED_AT + timedelta(days=3),
    )
    html = _render(
        app,
        "backoffice/_opinions.html",
        procedure=filed.procedure,
        opinions=asked,
        authorities=filed.authorities,
        today=(FILED_AT + timedelta(days=30)).date(),
    )
    assert html.count("in ritardo") == 1  # the second, unanswered past its due day
    assert "Nulla osta" in html and f"/scrivania/pareri/{asked[0].id}/documento" in html
    assert f"/scrivania/pratiche/{filed.procedure.id}/pareri" in html
    assert 'name="term_' in html


def test_cdss_partial_shows_what_authorities_asked(app, session, filed):
    core.record(
        session,
        filed.procedure,
        "cdss_requested",
        actor_id=None,
        payload={"authority": "ASLTO", "reason": "Troppi pareri"},
    )
    core.record(
        session,
        filed.procedure,
        "authority_integration_request",
        actor_id=None,
        payload={
            "authority": "VVF",
            "text": "Manca la relazione",
            "documents": ["Relazione tecnica"],
        },
    )
    session.commit()
    html = _render(app, "backoffice/_cdss.html", procedure=filed.procedure)
    assert "ASLTO" in html and "Troppi pareri" in html
    assert "Manca la relazione" in html and "Relazione tecnica" in html
    assert f"/scrivania/pratiche/{filed.procedure.id}/cdss" in html


def test_opinion_document_is_downloaded_only_by_the_office(
    client, app, session, filed, outsider, login_as
):
    from portale.storage import storage_from_config

    storage_from_config(app.config).put("opinions/2026/03/firmato", b"%PDF-1.4 parere")
    asked = consultations.request_opinions(
        session, filed.procedure, [filed.authorities[0].id], actor_id=None, now=FILED_AT
    )
    consultations.give_opinion(
        session,
        asked[0].id,
        outcome="favourable",
        text="",
        actor_id=None,
        document={"key": "opinions/2026/03/firmato", "name": "parere.pdf", "sha256": "x"},
    )
    login_as(filed.clerk)
    assert client.get(f"/scrivania/pareri/{asked[0].id}/documento").data == b"%PDF-1.4 parere"
    client.post("/account/esci")
    login_as(outsider)
    assert client.get(f"/scrivania/pareri/{asked[0].id}/documento").status_code == 404


def test_navigation_by_role(client, session, filed, login_as):
    officer = UserFactory(roles=("authority_officer",), authority_id=filed.authorities[0].id)
    login_as(filed.clerk)
    html = client.get("/scrivania/").get_data(as_text=True)
    assert 'href="/scrivania/"' in html and 'href="/ente/"' not in html
    client.post("/account/esci")
    login_as(officer)
    html = client.get("/ente/").get_data(as_text=True)
    assert 'href="/ente/"' in html and 'href="/scrivania/"' not in html
    client.post("/account/esci")
    login_as(filed.submitter)
    html = client.get("/pratiche/").get_data(as_text=True)
    assert 'href="/ente/"' not in html and 'href="/scrivania/"' not in html


def _statements_for_page(client, engine):
    from sqlalchemy import event

    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        html = client.get("/scrivania/?limit=50").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return html.count("/presa-in-carico"), len(statements)


def test_the_page_runs_the_same_number_of_queries_for_5_or_40_procedures(
    client, session, filed, login_as
):
    UserFactory(roles=("clerk",), office_id=filed.office.id)  # a colleague: the assign form shows
    clone_procedures(session, filed.procedure, [FILED_AT + timedelta(days=i) for i in range(4)])
    login_as(filed.clerk)
    engine = session.get_bind()
    few_rows, few = _statements_for_page(client, engine)
    clone_procedures(session, filed.procedure, [FILED_AT + timedelta(days=i) for i in range(35)])
    many_rows, many = _statements_for_page(client, engine)
    assert (few_rows, many_rows) == (5, 40)
    assert few == many, (few, many)
