"""The authority officer's area: only consulted procedures, the answer with a signed
document checked by content, the integration request, downloads with their own check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import time_machine

from portale.backoffice import consultations
from portale.cases.models import OpinionRequest, ProcedureEvent
from tests.backoffice_support import file_procedure
from tests.factories import UserFactory
from tests.integration.test_procedures_support import P7M_DER, PDF, PNG

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def consulted(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, authorities=2, now=FILED_AT)
    asked = consultations.request_opinions(
        session,
        filed.procedure,
        [a.id for a in filed.authorities],
        actor_id=filed.clerk.id,
        question="Parere igienico-sanitario sui locali",
        term_days=20,
        now=FILED_AT + timedelta(days=1),
    )
    officer = UserFactory(roles=("authority_officer",), authority_id=filed.authorities[0].id)
    other = UserFactory(roles=("authority_officer",), authority_id=filed.authorities[1].id)
    mine = next(o for o in asked if o.authority_id == officer.authority_id)
    theirs = next(o for o in asked if o.authority_id == other.authority_id)
    return filed, officer, other, mine.id, theirs.id


def test_the_list_shows_consulted_procedures_open_first_late_flagged(
    client, session, consulted, login_as
):
    filed, officer, _other, mine, _theirs = consulted
    with time_machine.travel(FILED_AT + timedelta(days=40), tick=False):
        login_as(officer)
        html = client.get("/ente/").get_data(as_text=True)
    assert filed.procedure.protocol_label in html and f"/ente/pareri/{mine}" in html
    assert "in ritardo" in html and "da esprimere" in html


def test_the_procedure_view_shows_question_due_date_answers_and_attachments(
    client, app, session, consulted, login_as
):
    from portale.storage import storage_from_config

    filed, officer, _other, mine, _theirs = consulted
    attachment = filed.procedure.attachments[0]
    attachment_id = attachment.id
    # file_procedure stored the file in its own folder: the portal reads the app's storage
    storage_from_config(app.config).put(
        attachment.storage_key, filed.storage.read(attachment.storage_key)
    )
    login_as(officer)
    html = client.get(f"/ente/pareri/{mine}").get_data(as_text=True)
    assert "Parere igienico-sanitario sui locali" in html
    assert "Superficie di vendita" in html
    href = f"/ente/pareri/{mine}/allegati/{attachment_id}"
    assert href in html
    assert client.get(href).data == PDF


def test_officers_of_another_authority_and_clerks_get_404(client, session, consulted, login_as):
    filed, _officer, other, mine, _theirs = consulted
    attachment_id = filed.procedure.attachments[0].id
    login_as(other)
    assert client.get(f"/ente/pareri/{mine}").status_code == 404
    assert client.post(f"/ente/pareri/{mine}", data={"outcome": "favourable"}).status_code == 404
    assert (
        client.post(f"/ente/pareri/{mine}/integrazione", data={"integration_text": "x"}).status_code
        == 404
    )
    assert client.get(f"/ente/pareri/{mine}/allegati/{attachment_id}").status_code == 404
    assert client.get(f"/ente/pareri/{mine}/documento").status_code == 404
    assert f'/ente/pareri/{mine}"' not in client.get("/ente/").get_data(as_text=True)
    client.post("/account/esci")
    login_as(filed.clerk)
    assert client.get("/ente/").status_code == 404
    assert client.get(f"/ente/pareri/{mine}").status_code == 404


def test_an_attachment_of_another_procedure_is_not_reachable(client, session, consulted, login_as):
    _filed, officer, _other, mine, _theirs = consulted
    login_as(officer)
    assert client.get(f"/ente/pareri/{mine}/allegati/999999").status_code == 404


def test_conditions_are_required_and_what_was_typed_is_kept(client, session, consulted, login_as):
    _filed, officer, _other, mine, _theirs = consulted
    login_as(officer)
    response = client.post(
        f"/ente/pareri/{mine}", data={"outcome": "favourable_with_conditions", "text": "  "}
    )
    assert response.status_code == 422
    assert "Indica le condizioni" in response.get_data(as_text=True)
    assert session.get(OpinionRequest, mine).answered_at is None
    response = client.post(f"/ente/pareri/{mine}", data={"outcome": "unfavourable", "text": ""})
    assert "Indica la motivazione" in response.get_data(as_text=True)
    assert 'value="unfavourable" id="outcome-unfavourable" checked' in response.get_data(
        as_text=True
    )


def test_a_document_that_is_not_pdf_or_p7m_is_refused(client, session, consulted, login_as):
    _filed, officer, _other, mine, _theirs = consulted
    login_as(officer)
    response = client.post(
        f"/ente/pareri/{mine}",
        data={
            "outcome": "favourable",
            "text": "Nulla osta",
            "document": (BytesIO(PNG), "parere.pdf"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "non è un formato ammesso" in html
    assert "Nulla osta" in html
    assert session.get(OpinionRequest, mine).answered_at is None


def test_the_opinion_is_given_with_its_signed_document(client, app, session, consulted, login_as):
    filed, officer, _other, mine, _theirs = consulted
    login_as(officer)
    response = client.post(
        f"/ente/pareri/{mine}",
        data={
            "outcome": "favourable_with_conditions",
            "text": "Installare la cappa aspirante",
            "document": (BytesIO(P7M_DER), "parere.pdf.p7m"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    opinion = session.get(OpinionRequest, mine)
    assert opinion.outcome == "favourable_with_conditions" and opinion.answered_by_id == officer.id
    assert opinion.document_name == "parere.pdf.p7m" and opinion.answered_via == "portal"
    assert client.get(f"/ente/pareri/{mine}/documento").data == P7M_DER
    page = client.get(f"/ente/pareri/{mine}").get_data(as_text=True)
    assert "Installare la cappa aspirante" in page and "Invia il parere" not in page
    again = client.post(f"/ente/pareri/{mine}", data={"outcome": "favourable"})
    assert again.status_code == 409


def test_the_officer_asks_the_company_for_an_integration_through_the_office(
    client, session, consulted, login_as
):
    filed, officer, _other, mine, _theirs = consulted
    login_as(officer)
    empty = client.post(f"/ente/pareri/{mine}/integrazione", data={"integration_text": ""})
    assert empty.status_code == 422 and "Scrivi che cosa deve integrare" in empty.get_data(
        as_text=True
    )
    response = client.post(
        f"/ente/pareri/{mine}/integrazione",
        data={
            "integration_text": "Manca la planimetria quotata",
            "documents": "Planimetria quotata\nRelazione\n",
        },
    )
    assert response.status_code == 302
    events = session.query(ProcedureEvent).filter_by(kind="authority_integration_request").all()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["authority"] == filed.authorities[0].code
    assert payload["text"] == "Manca la planimetria quotata"
    assert payload["documents"] == ["Planimetria quotata", "Relazione"]
