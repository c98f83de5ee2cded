"""The back-office core: events drive state, last day and summary; opinions; notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portale.accounts.models import Notification
from portale.backoffice import consultations
from portale.cases import services as core
from portale.cases.models import OPINION_FAVOURABLE, ProcedureSummary
from portale.cases.notify import notify_people
from portale.clock import lifecycle as lc
from portale.errors import ActionNotAllowed
from portale.extensions import db
from portale.mail import SENT
from portale.outbox.models import OutboxJob
from portale.outbox.services import drain
from tests.backoffice_support import file_procedure

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_filing_writes_the_summary_row(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    row = session.get(ProcedureSummary, filed.procedure.id)
    assert row.state == lc.PRESENTED and row.received_on == date(2026, 3, 2)
    # 2 March + 60 = 1 May, a holiday: the term moves to Saturday 2 May (an ordinary day)
    assert row.last_day == filed.procedure.last_day == date(2026, 5, 2)


def test_an_action_not_allowed_is_refused_with_a_message_and_writes_nothing(session, tmp_path):
    filed = file_procedure(session, tmp_path, now=FILED_AT)
    with pytest.raises(ActionNotAllowed) as error:
        core.perform(session, filed.procedure, "integrate", actor_id=filed.clerk.id)
    assert "presentata" in error.value.message.lower()
    assert filed.procedure.state == lc.PRESENTED


def test_integration_suspends_the_term_and_moves_the_last_day(session, tmp_path):
    filed = file_procedure(session, tmp_path, term_days=60, now=FILED_AT)
    p = filed.procedure
    core.perform(
        session,
        p,
        "request_integration",
        actor_id=filed.clerk.id,
        now=FILED_AT + timedelta(days=10),
    )
    core.perform(
        session, p, "integrate", actor_id=filed.submitter.id, now=FILED_AT + timedelta(days=22)
    )
    session.commit()
    clock = core.clock_of(session, p, FILED_AT + timedelta(days=30))
    assert clock.days_suspended == 12 and clock.days_used == 18
    assert p.state == lc.INTEGRATED and p.last_day == date(2026, 5, 13)
    assert session.get(ProcedureSummary, p.id).days_company == 12


def test_opinions_are_asked_dispatched_and_answered(session, tmp_path):
    filed = file_procedure(session, tmp_path, authorities=2, now=FILED_AT)
    p = filed.procedure
    asked = consultations.request_opinions(
        session,
        p,
        [a.id for a in filed.authorities],
        actor_id=filed.clerk.id,
        question="Parere igienico-sanitario",
        term_days=30,
        now=FILED_AT + timedelta(days=1),
    )
    assert [o.due_on for o in asked] == [date(2026, 4, 2)] * 2
    jobs = session.scalars(select(OutboxJob).where(OutboxJob.procedure_id == p.id)).all()
    assert sum(1 for j in jobs if (j.payload or {}).get("message") == "opinion_request") == 2
    answered = consultations.give_opinion(
        session,
        asked[0].id,
        outcome=OPINION_FAVOURABLE,
        text="Nulla osta",
        actor_id=None,
        now=FILED_AT + timedelta(days=40),
    )
    assert answered.is_late(date(2026, 4, 11)) is True
    with pytest.raises(ActionNotAllowed):
        consultations.give_opinion(
            session, asked[0].id, outcome=OPINION_FAVOURABLE, text="", actor_id=None
        )
    kinds = [e.kind for e in core.events_of(session, p.id)]
    assert kinds.count(lc.OPINION_REQUESTED) == 2 and kinds.count(lc.OPINION_GIVEN) == 1


def test_notifications_reach_the_portal_and_the_mailbox(app, session, tmp_path):
    filed = file_procedure(session, tmp_path, now=FILED_AT)
    SENT.clear()
    notify_people(
        session,
        [filed.submitter.id, filed.submitter.id],
        subject="Integrazione richiesta",
        body="Serve la planimetria firmata.",
        link=f"/pratiche/{filed.procedure.id}",
    )
    session.commit()
    notes = session.scalars(
        select(Notification).where(Notification.user_id == filed.submitter.id)
    ).all()
    assert len(notes) == 1
    drain(db.session_factory, worker="t", config=dict(app.config))
    mails = [m for m in SENT if m["Subject"] == "Integrazione richiesta"]
    assert len(mails) == 1 and mails[0]["To"] == filed.submitter.email
    assert f"/pratiche/{filed.procedure.id}" in mails[0].get_content()
