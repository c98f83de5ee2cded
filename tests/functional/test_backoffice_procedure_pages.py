"""The clerk's procedure page and actions, and the company's answers, as users see them."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from pypdf import PdfReader

from portale.backoffice import decisions as dec
from portale.cases import acts
from portale.clock import lifecycle as lc
from portale.extensions import db
from tests.backoffice_support import file_procedure
from tests.factories import MandateFactory, OfficeFactory, UserFactory
from tests.integration.test_procedures_support import PDF

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fresh(procedure_id):
    from portale.cases.models import Procedure
    from portale.extensions import db

    return db.session.get(Procedure, procedure_id)


@pytest.fixture
def filed(app, session):
    filed = file_procedure(session, app.config["STORAGE_PATH"], term_days=60, now=FILED_AT)
    filed.attachment_id = filed.procedure.attachments[0].id
    filed.attachment_sha = filed.procedure.attachments[0].sha256
    filed.answers = dict(filed.procedure.answers)
    filed.pid = filed.procedure.id
    return filed


def test_clerk_sees_clock_answers_attachments_and_dossier(client, login_as, filed):
    with time_machine.travel(datetime(2026, 3, 12, 10, tzinfo=UTC), tick=False):
        login_as(filed.clerk)
        page = client.get(f"/scrivania/pratiche/{filed.procedure.id}")
        download = client.get(f"/scrivania/pratiche/{filed.pid}/allegati/{filed.attachment_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="days-used">10<' in html and 'id="days-left">' in html
    assert filed.attachment_sha in html
    assert download.status_code == 200 and download.data == PDF
    # only actions allowed now: no rejection before a 10-bis notice, no SCIA actions
    assert "azioni/send_refusal_notice" in html and "azioni/reject" not in html
    assert "azioni/prohibit" not in html


def test_others_get_404(client, login_as, session, filed):
    other_office = OfficeFactory(code="SUAPXX")
    outsider = UserFactory(roles=("clerk",), office_id=other_office.id)
    stranger = UserFactory()
    session.commit()
    url = f"/scrivania/pratiche/{filed.procedure.id}"
    assert client.get(url).status_code in (302, 401)
    assert client.post(url + "/azioni/approve", data={}).status_code in (302, 401)
    login_as(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url + "/azioni/approve", data={}).status_code == 404
    assert client.get(url + f"/allegati/{filed.attachment_id}").status_code == 404
    client.post("/account/esci")
    login_as(stranger)
    assert client.get(url).status_code == 404
    assert client.get(f"/pratiche/{filed.procedure.id}/risposta").status_code == 404
    assert client.post(f"/pratiche/{filed.procedure.id}/ritiro").status_code == 404
    assert fresh(filed.pid).state == lc.PRESENTED


def test_invalid_action_shows_a_message_and_keeps_the_text(client, login_as, filed):
    login_as(filed.clerk)
    url = f"/scrivania/pratiche/{filed.procedure.id}/azioni/request_integration"
    response = client.post(
        url, data={"request_integration-text": "Manca la visura", "request_integration-days": "45"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "30 giorni" in html and "Manca la visura" in html
    empty = client.post(f"/scrivania/pratiche/{filed.procedure.id}/azioni/refuse", data={})
    assert empty.status_code == 422
    assert (
        client.post(f"/scrivania/pratiche/{filed.procedure.id}/azioni/nonsense").status_code == 404
    )


def test_integration_answer_and_approval_through_the_pages(client, login_as, session, filed):
    pid = filed.pid
    login_as(filed.clerk)
    response = client.post(
        f"/scrivania/pratiche/{pid}/azioni/request_integration",
        data={
            "request_integration-text": "Manca la relazione",
            "request_integration-documents": "Relazione tecnica",
            "request_integration-days": "20",
        },
    )
    assert response.status_code == 302 and fresh(pid).state == lc.INTEGRATION_REQUESTED
    client.post("/account/esci")
    login_as(filed.submitter)
    detail = client.get(f"/pratiche/{pid}").get_data(as_text=True)
    assert "Manca la relazione" in detail and "Relazione tecnica" in detail
    form = client.get(f"/pratiche/{pid}/risposta").get_data(as_text=True)
    assert 'value="non_alimentare"' in form  # prefilled with the filed answers
    bad = client.post(
        f"/pratiche/{pid}/risposta",
        data={
            **filed.answers,
            "nota": "Eccola",
            "allegato__integrazione": (io.BytesIO(b"not a pdf"), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert (
        bad.status_code == 422
        and "formato" in bad.get_data(as_text=True)
        and "Eccola" in bad.get_data(as_text=True)
    )
    ok = client.post(
        f"/pratiche/{pid}/risposta",
        data={
            **filed.answers,
            "nota": "Eccola",
            "allegato__integrazione": (io.BytesIO(PDF), "relazione.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302 and fresh(pid).state == lc.INTEGRATED
    client.post("/account/esci")
    login_as(filed.clerk)
    assert (
        client.post(
            f"/scrivania/pratiche/{pid}/azioni/approve", data={"approve-text": "Tutto regolare"}
        ).status_code
        == 302
    )
    assert fresh(pid).state == lc.ENDED_BY_POSITIVE_OUTCOME
    [act] = acts.acts_of(fresh(pid) and db.session, pid)
    client.post("/account/esci")
    login_as(filed.submitter)
    pdf = client.get(f"/pratiche/{pid}/atti/{act.id}")
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert act.protocol_label in text


def test_company_withdraws(client, login_as, filed):
    login_as(filed.submitter)
    response = client.post(f"/pratiche/{filed.procedure.id}/ritiro", data={"text": "Non serve più"})
    assert response.status_code == 302
    assert fresh(filed.pid).state == lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED
    again = client.post(f"/pratiche/{filed.procedure.id}/ritiro", follow_redirects=True)
    assert "già conclusa" in again.get_data(as_text=True)


CLERK_ACTIONS = (
    "request_correction",
    "refuse",
    "request_integration",
    "send_refusal_notice",
    "approve",
    "reject",
    "request_conformation",
    "prohibit",
)


def test_every_clerk_action_is_404_outside_the_office_and_needs_a_login(
    client, login_as, session, filed
):
    outsider = UserFactory(roles=("clerk",), office_id=OfficeFactory().id)
    entrepreneur = filed.submitter
    session.commit()
    base = f"/scrivania/pratiche/{filed.pid}/azioni/"
    for action in CLERK_ACTIONS:
        assert client.post(base + action, data={f"{action}-text": "x"}).status_code == 302
    login_as(outsider)
    for action in CLERK_ACTIONS:
        assert client.post(base + action, data={f"{action}-text": "x"}).status_code == 404
    client.post("/account/esci")
    login_as(entrepreneur)  # the company itself is not a clerk
    for action in CLERK_ACTIONS:
        assert client.post(base + action, data={f"{action}-text": "x"}).status_code == 404
    assert fresh(filed.pid).state == lc.PRESENTED


def test_admin_does_not_see_the_clerk_page(client, login_as, session, filed):
    # Separation of duties (issue 13): reading needs the office's clerk role or break-glass.
    admin = UserFactory(roles=("admin",))
    session.commit()
    login_as(admin)
    assert client.get(f"/scrivania/pratiche/{filed.pid}").status_code == 404


def test_company_routes_need_a_mandate_and_edit_rights(client, login_as, session, filed):
    act = dec.approve(db.session, filed.storage, fresh(filed.pid), actor=filed.clerk)
    act_id = act.id
    reader = UserFactory()
    MandateFactory(company=filed.company, grantee_id=reader.id, kind="delegate", scope="read")
    stranger = UserFactory()
    session.commit()
    urls = [
        ("get", f"/pratiche/{filed.pid}/atti/{act_id}"),
        ("get", f"/pratiche/{filed.pid}/risposta"),
        ("post", f"/pratiche/{filed.pid}/risposta"),
        ("post", f"/pratiche/{filed.pid}/ritiro"),
        ("post", f"/pratiche/{filed.pid}/silenzio-assenso"),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 302  # to the login page
    login_as(stranger)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
    client.post("/account/esci")
    login_as(reader)  # a read-only mandate downloads the act but cannot answer or withdraw
    assert client.get(f"/pratiche/{filed.pid}/atti/{act_id}").status_code == 200
    assert client.post(f"/pratiche/{filed.pid}/ritiro").status_code == 404
    assert client.get(f"/pratiche/{filed.pid}/risposta").status_code == 404


def test_refusal_notice_observations_through_the_pages(client, login_as, filed):
    pid = filed.pid
    login_as(filed.clerk)
    client.post(
        f"/scrivania/pratiche/{pid}/azioni/send_refusal_notice",
        data={"send_refusal_notice-text": "La superficie supera il limite"},
    )
    page = client.get(f"/scrivania/pratiche/{pid}").get_data(as_text=True)
    assert "azioni/reject" in page and "azioni/send_refusal_notice" not in page
    early = client.post(f"/scrivania/pratiche/{pid}/azioni/reject", data={"reject-text": "No"})
    assert early.status_code == 422 and "osservazioni fino al" in early.get_data(as_text=True)
    client.post("/account/esci")
    login_as(filed.submitter)
    assert "La superficie supera il limite" in client.get(f"/pratiche/{pid}").get_data(as_text=True)
    empty = client.post(f"/pratiche/{pid}/risposta", data={"text": ""})
    assert empty.status_code == 422
    sent = client.post(f"/pratiche/{pid}/risposta", data={"text": "La superficie è di 85 m²"})
    assert sent.status_code == 302
    client.post("/account/esci")
    login_as(filed.clerk)
    done = client.post(
        f"/scrivania/pratiche/{pid}/azioni/reject", data={"reject-text": "Oltre il limite"}
    )
    assert done.status_code == 302 and fresh(pid).state == lc.ENDED_BY_NEGATIVE_OUTCOME


def test_integration_form_is_prefilled_with_the_authorities_requests(client, login_as, filed):
    from portale.cases import services as core

    core.record(
        db.session,
        fresh(filed.pid),
        dec.AUTHORITY_INTEGRATION_REQUEST,
        actor_id=None,
        payload={"authority": "ASL_TO", "text": "Serve la scheda HACCP", "documents": ["HACCP"]},
    )
    db.session.commit()
    login_as(filed.clerk)
    html = client.get(f"/scrivania/pratiche/{filed.pid}").get_data(as_text=True)
    assert "[ASL_TO] Serve la scheda HACCP" in html and "ancora da inoltrare" in html


def test_a_bad_number_of_days_is_refused_next_to_the_field(client, login_as, filed):
    login_as(filed.clerk)
    response = client.post(
        f"/scrivania/pratiche/{filed.pid}/azioni/request_correction",
        data={"request_correction-text": "Firma mancante", "request_correction-days": "dieci"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Firma mancante" in html
    assert "request_correction-days-error" in html and "numero di giorni valido" in html
    assert fresh(filed.pid).state == lc.PRESENTED


def test_dossier_comparison_reads_as_text_and_flags_what_changed(client, login_as, session, filed):
    from portale.reference.models import Municipality

    unit = filed.company.local_units[0]
    unit.street = "Via Roma 1"  # the company moved its premises after filing
    session.commit()
    town = session.get(Municipality, unit.municipality).name
    login_as(filed.clerk)
    html = client.get(f"/scrivania/pratiche/{filed.pid}").get_data(as_text=True)
    table = html[
        html.index('id="dossier"') if 'id="dossier"' in html else html.index("Fascicolo") :
    ]
    table = table[: table.index("</table>")]
    place = f"{unit.postcode} {town}"
    assert f"Via Garibaldi 10, {place}" in table and f"Via Roma 1, {place}" in table
    assert "True" not in table and "False" not in table and unit.municipality not in table
    assert table.count("cambiato") == 1
