"""When a procedure ends, every authority it was sent to or consulted on is told how, through
its channel; an outcome notice names the act, which the authority can then fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthorityDispatch, DispatchReceipt
from connectors.registry import ConnectorRegistry
from portale.backoffice import consultations, decisions
from portale.cases import answers as case_answers
from portale.cases import services as core
from portale.extensions import db
from portale.outbox import services as outbox
from portale.procedures import jobs
from tests.backoffice_support import file_procedure

FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class RecordingChannel(AuthorityDispatch):
    identifier = "pec"
    label = "PEC (test)"
    notices: list[tuple[dict, dict, str]] = []

    def send_instance(self, instance, *, idempotency_key):
        return DispatchReceipt(accepted=True)

    def notify(self, cui, event, *, idempotency_key):
        RecordingChannel.notices.append((cui, event, idempotency_key))
        return DispatchReceipt(accepted=True)


@pytest.fixture
def channel(app, monkeypatch, tmp_path):
    registry = ConnectorRegistry()
    registry.register(RecordingChannel)
    registry.configure({"pec": {"base_url": "smtp://127.0.0.1"}})
    RecordingChannel.notices = []
    monkeypatch.setattr(jobs, "registry_for", lambda config: registry)
    monkeypatch.setitem(app.config, "STORAGE_PATH", str(tmp_path))
    outbox.reset_breakers()
    return RecordingChannel


def drain(app):
    return outbox.drain(db.session_factory, worker="t", config=dict(app.config), max_jobs=50)


def test_approval_is_notified_with_its_act_to_every_involved_authority(app, session, channel):
    filed = file_procedure(session, app.config["STORAGE_PATH"], authorities=1, now=FILED_AT)
    consulted_only = filed.authorities[0].__class__(
        code="VVF_TO", name="Vigili del Fuoco", kind="VVF"
    )
    session.add(consulted_only)
    session.commit()
    consultations.request_opinions(
        session,
        filed.procedure,
        [consulted_only.id],
        actor_id=filed.clerk.id,
        now=FILED_AT + timedelta(days=1),
    )
    act = decisions.approve(
        session,
        filed.storage,
        filed.procedure,
        actor=filed.clerk,
        now=FILED_AT + timedelta(days=20),
    )
    drain(app)
    notices = {key.split(":")[2]: event for _cui, event, key in channel.notices}
    assert set(notices) == {filed.authorities[0].code, "VVF_TO"}
    for event in notices.values():
        assert event["event"] == "end_by_positive_outcome"
        assert event["resource_id"] == f"act-{act.id}" and event["hash"] == act.sha256
    # run again: the notices are delivered once
    drain(app)
    assert len(channel.notices) == 2


def test_withdrawal_is_notified_without_a_resource_and_only_to_involved_authorities(
    app, session, channel
):
    filed = file_procedure(session, app.config["STORAGE_PATH"], authorities=1, now=FILED_AT)
    bystander = filed.authorities[0].__class__(code="ARPA_TO", name="ARPA", kind="ARPA")
    session.add(bystander)
    session.commit()
    case_answers.withdraw(
        session, filed.procedure, actor=filed.submitter, now=FILED_AT + timedelta(days=2)
    )
    drain(app)
    [(_cui, event, key)] = channel.notices
    assert key.split(":")[2] == filed.authorities[0].code
    assert event["event"] == "end_by_submitter_cancel_requested" and "resource_id" not in event


def test_a_scia_closed_by_its_window_is_notified_without_an_act_and_nothing_waits(
    app, session, channel
):
    filed = file_procedure(
        session,
        app.config["STORAGE_PATH"],
        regime="SCIA",
        term_days=None,
        control_window_days=60,
        authorities=1,
        now=FILED_AT,
    )
    core.perform(
        session, filed.procedure, "close_window", actor_id=None, now=FILED_AT + timedelta(days=61)
    )
    session.commit()
    drain(app)
    [(_cui, event, _key)] = channel.notices
    assert event["event"] == "end_by_positive_outcome" and "resource_id" not in event
    from sqlalchemy import select

    from portale.outbox.models import RETRYING, OutboxJob

    assert session.scalars(select(OutboxJob).where(OutboxJob.status == RETRYING)).all() == []
