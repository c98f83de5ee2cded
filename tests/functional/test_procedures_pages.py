"""Filing a procedure through the web pages, as a user would."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from portale.cases.models import Procedure
from portale.mail import SENT
from portale.procedures.models import Draft
from tests.factories import MandateFactory, UserFactory
from tests.integration.test_procedures_support import PDF, PNG, make_world, unit_for


def start(client, world):
    response = client.post(
        f"/pratiche/nuova?tipo={world.version.code}",
        data={"premises": f"{world.company.id}:{world.unit.id}"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_form_is_prefilled_and_marked_from_the_dossier(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    html = client.get(f"/pratiche/bozze/{draft_id}").get_data(as_text=True)
    assert f'value="{world.company.name}"' in html
    assert "dal fascicolo" in html
    assert "Aggiorna anche il fascicolo" in html  # offered, hidden until the value changes


def test_errors_next_to_fields_and_nothing_typed_is_lost(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    response = client.post(
        f"/pratiche/bozze/{draft_id}",
        data={
            "ragione_sociale": world.company.name,
            "indirizzo": "Via Garibaldi 10",
            "data_inizio": "",
            "superficie": "centoventi",
            "settore": "alimentare",
            "note": "Apertura prevista a dicembre",
            "action": "submit",
            "idempotency_key": "k1",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Campo obbligatorio." in html  # data_inizio and the now-shown HACCP field
    assert "Numero non valido." in html
    assert "Apertura prevista a dicembre" in html and 'value="centoventi"' in html
    assert "Planimetria dei locali" in html
    assert session.scalar(select(func.count()).select_from(Procedure)) == 0
    # the draft on the server has what was typed, even invalid
    session.expire_all()
    assert session.get(Draft, draft_id).answers["superficie"] == "centoventi"


def test_draft_survives_logout_and_is_listed(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    saved = client.post(
        f"/pratiche/bozze/{draft_id}/salvataggio",
        data={"note": "testo scritto prima di uscire", "superficie": "12"},
    )
    assert saved.status_code == 200 and saved.get_json()["saved"] is True
    client.post("/account/esci")
    assert (
        client.post(f"/pratiche/bozze/{draft_id}/salvataggio", data={"note": "x"}).status_code
        == 401
    )
    login_as(world.user)
    listing = client.get("/pratiche/").get_data(as_text=True)
    assert f"/pratiche/bozze/{draft_id}" in listing
    html = client.get(f"/pratiche/bozze/{draft_id}").get_data(as_text=True)
    assert "testo scritto prima di uscire" in html


def test_full_filing_with_double_click_gives_one_procedure_and_a_receipt(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    SENT.clear()
    data = {
        "ragione_sociale": world.company.name,
        "indirizzo": "Via Garibaldi 10",
        "data_inizio": "2026-12-01",
        "superficie": "120",
        "settore": "non_alimentare",
        "action": "submit",
        "idempotency_key": "doppio-click",
    }
    first = client.post(
        f"/pratiche/bozze/{draft_id}",
        data={**data, "allegato__planimetria": (io.BytesIO(PDF), "planimetria.pdf")},
        content_type="multipart/form-data",
    )
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    second = client.post(f"/pratiche/bozze/{draft_id}", data=data)
    assert second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert session.scalar(select(func.count()).select_from(Procedure)) == 1
    procedure = session.scalar(select(Procedure))
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert procedure.protocol_label in page
    # The receipt is rendered and e-mailed by the outbox job queued with the filing.
    assert SENT == []
    from portale.extensions import db
    from portale.outbox.services import drain

    assert drain(db.session_factory, worker="test", config=dict(client.application.config)) == 1
    receipt = client.get(f"/pratiche/{procedure.id}/ricevuta.pdf")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF")
    assert len(SENT) == 1 and SENT[0]["To"] == world.user.email
    assert any(part.get_filename().endswith(".pdf") for part in SENT[0].iter_attachments())
    listing = client.get("/pratiche/").get_data(as_text=True)
    assert procedure.protocol_label in listing and "Presentata" in listing


def test_wrong_file_is_rejected_naming_the_slot(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    response = client.post(
        f"/pratiche/bozze/{draft_id}",
        data={"action": "save", "allegato__planimetria": (io.BytesIO(PNG), "planimetria.pdf")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Planimetria dei locali" in html and "non è un formato ammesso" in html


def test_another_companys_user_gets_404(client, session, login_as):
    world = make_world(session)
    login_as(world.user)
    draft_id = start(client, world)
    stranger = UserFactory()
    MandateFactory(company=unit_for().company, grantee_id=stranger.id)
    client.post("/account/esci")
    login_as(stranger)
    assert client.get(f"/pratiche/bozze/{draft_id}").status_code == 404
    assert client.post(f"/pratiche/bozze/{draft_id}", data={"note": "x"}).status_code == 404
    assert (
        client.post(f"/pratiche/bozze/{draft_id}/salvataggio", data={"note": "x"}).status_code
        == 404
    )
    assert client.post(f"/pratiche/bozze/{draft_id}/elimina").status_code == 404
    # a filed procedure and its receipt
    client.post("/account/esci")
    login_as(world.user)
    client.post(
        f"/pratiche/bozze/{draft_id}",
        data={
            "data_inizio": "2026-12-01",
            "superficie": "1",
            "settore": "non_alimentare",
            "action": "submit",
            "idempotency_key": "k",
            "allegato__planimetria": (io.BytesIO(PDF), "p.pdf"),
        },
        content_type="multipart/form-data",
    )
    procedure = session.scalar(select(Procedure))
    assert procedure is not None
    client.post("/account/esci")
    login_as(stranger)
    assert client.get(f"/pratiche/{procedure.id}").status_code == 404
    assert client.get(f"/pratiche/{procedure.id}/ricevuta.pdf").status_code == 404
    assert procedure.protocol_label not in client.get("/pratiche/").get_data(as_text=True)
