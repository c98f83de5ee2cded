"""Issue 13 point 2: administrators manage accounts, offices and the catalogue; reading or
deciding a procedure needs the clerk role of its office. Break-glass reading is logged and
shown to the office."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portale.accounts.models import Notification
from portale.cases import services as bo
from portale.cases.models import Procedure
from portale.clock import lifecycle as lc
from tests.backoffice_support import file_procedure
from tests.factories import UserFactory

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def filed(app, session):
    filed = file_procedure(session, app.config["STORAGE_PATH"], term_days=60, now=FILED_AT)
    filed.pid = filed.procedure.id
    filed.attachment_id = filed.procedure.attachments[0].id
    return filed


@pytest.fixture
def admin(session):
    user = UserFactory(roles=("admin",))
    session.commit()
    return user


def test_an_administrator_neither_reads_nor_decides_procedures(
    client, login_as, session, filed, admin
):
    login_as(admin)
    base = f"/scrivania/pratiche/{filed.pid}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/azioni/approve", data={"approve-text": ""}).status_code == 404
    assert session.get(Procedure, filed.pid).state == lc.PRESENTED
    assert client.get(f"{base}/allegati/{filed.attachment_id}").status_code == 404


def test_an_administrator_token_cannot_decide_through_the_api(client, session, filed, admin):
    from portale.accounts.services import issue_api_token

    secret = issue_api_token(session, admin, "t").secret
    headers = {"Authorization": f"Bearer {secret}"}
    assert (
        client.get(f"/api/v1/backoffice/procedures/{filed.pid}", headers=headers).status_code == 404
    )
    response = client.post(
        f"/api/v1/backoffice/procedures/{filed.pid}/actions/approve", json={}, headers=headers
    )
    assert response.status_code == 404
    assert session.get(Procedure, filed.pid).state == lc.PRESENTED


def test_an_administrator_cannot_make_themselves_a_clerk(client, login_as, session, filed, admin):
    login_as(admin)
    response = client.post(
        f"/admin/account/{admin.id}",
        data={
            "full_name": admin.full_name,
            "roles": ["admin", "clerk"],
            "office_id": str(filed.office.id),
            "authority_id": "",
            "active": "y",
        },
    )
    assert response.status_code == 200
    assert "chiedilo a un altro amministratore" in response.get_data(as_text=True)
    session.expire_all()
    assert "clerk" not in session.get(type(admin), admin.id).role_names


def test_a_clerk_role_granted_by_another_administrator_gives_the_office_procedures(
    client, login_as, session, filed, admin
):
    both = UserFactory(roles=("admin",))
    session.commit()
    login_as(admin)
    response = client.post(
        f"/admin/account/{both.id}",
        data={
            "full_name": both.full_name,
            "roles": ["admin", "clerk"],
            "office_id": str(filed.office.id),
            "authority_id": "",
            "active": "y",
        },
    )
    assert response.status_code == 302
    client.post("/account/esci")
    login_as(both)
    assert client.get(f"/scrivania/pratiche/{filed.pid}").status_code == 200


def test_break_glass_needs_a_reason_then_reads_only_and_is_shown_to_the_office(
    client, login_as, session, filed, admin
):
    login_as(admin)
    label = session.get(Procedure, filed.pid).protocol_label
    refused = client.post("/admin/accesso-straordinario", data={"procedure": label, "reason": "x"})
    assert refused.status_code == 200 and "almeno 15 caratteri" in refused.get_data(as_text=True)
    assert client.get(f"/scrivania/pratiche/{filed.pid}").status_code == 404
    reason = "Reclamo dell'impresa, operatore assente"
    opened = client.post(
        "/admin/accesso-straordinario", data={"procedure": label, "reason": reason}
    )
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/scrivania/pratiche/{filed.pid}"
    page = client.get(f"/scrivania/pratiche/{filed.pid}").get_data(as_text=True)
    assert "sola lettura" in page
    assert "azioni/approve" not in page and "azioni/send_refusal_notice" not in page
    # still no deciding
    assert (
        client.post(f"/scrivania/pratiche/{filed.pid}/azioni/approve", data={}).status_code == 404
    )
    # logged on the timeline and notified to the office's clerks
    events = [e for e in bo.events_of(session, filed.pid) if e.kind == "break_glass_access"]
    assert len(events) == 1 and events[0].actor_id == admin.id
    assert events[0].payload["reason"] == reason
    notes = session.scalars(
        select(Notification).where(Notification.user_id == filed.clerk.id)
    ).all()
    assert any(admin.full_name in n.subject and n.body == reason for n in notes)
    client.post("/account/esci")
    login_as(filed.clerk)
    clerk_page = client.get(f"/scrivania/pratiche/{filed.pid}").get_data(as_text=True)
    assert (
        "Accesso straordinario di un amministratore" in clerk_page
        and reason in clerk_page.replace("&#39;", "'")
    )
    assert session.get(Procedure, filed.pid).state == lc.PRESENTED


def test_break_glass_expires_after_an_hour(session, filed, admin):
    from portale.admin.break_glass import has_break_glass, open_break_glass

    now = datetime(2026, 3, 5, 10, tzinfo=UTC)
    open_break_glass(session, admin, filed.pid, "Verifica su richiesta della Procura", now=now)
    procedure = session.get(Procedure, filed.pid)
    assert has_break_glass(session, admin, procedure, now=now + timedelta(minutes=59))
    assert not has_break_glass(session, admin, procedure, now=now + timedelta(minutes=61))
    other = UserFactory(roles=("admin",))
    assert not has_break_glass(session, other, procedure, now=now)
