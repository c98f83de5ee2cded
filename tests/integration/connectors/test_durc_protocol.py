"""DURC and municipal protocol: adapters against the fakes, and the jobs queued with a filing,
retried through failures and idempotent when delivered twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import render_template

from connectors.base import ConnectorMalformedResponse, ConnectorUnavailable, NotFound
from connectors.durc import DurcConnector
from connectors.protocol import ProtocolConnector
from portale.cases.routing import DURC_JOB, PROTOCOL_JOB
from portale.external.models import DurcCertificate
from portale.outbox.models import DONE, GIVEN_UP, RETRYING
from tests.integration.connectors.support import (
    EXPIRED_COMPANY,
    IRREGULAR_COMPANY,
    REGULAR_COMPANY,
    drain,
    file_with,
    jobs_of,
    kinds,
    make_due,
)


@pytest.fixture
def durc(fakes):
    return DurcConnector(fakes.connector_settings()["durc"])


def test_durc_fetched_with_a_voucher_and_mapped(durc, fakes):
    result = durc.check(REGULAR_COMPANY)
    assert result.regular is True and result.protocol.startswith("INPS_")
    assert result.valid_until - result.issued_on == timedelta(days=120)
    assert durc.check(IRREGULAR_COMPANY).regular is False
    assert fakes.tokens.behaviour.requests == 1  # the voucher is reused


def test_durc_unknown_company_and_broken_answers(durc, fakes):
    with pytest.raises(NotFound):
        durc.check("00000000000")
    fakes.durc.behaviour.mode = "malformed"
    with pytest.raises(ConnectorMalformedResponse):
        durc.check(REGULAR_COMPANY)


def test_protocol_registration_is_idempotent_per_key(fakes):
    protocol = ProtocolConnector(fakes.connector_settings()["protocol"])
    args = dict(
        office_code="SUAPTO",
        subject="Pratica",
        direction="incoming",
        correspondent="Impresa",
        documents=[{"filename": "p.pdf", "sha256": "ab" * 32}],
    )
    before = len(fakes.protocol.registrations)
    first = protocol.register(**args, idempotency_key="proto-k1")
    again = protocol.register(**args, idempotency_key="proto-k1")
    other = protocol.register(**args, idempotency_key="proto-k2")
    assert first == again and other.number != first.number
    assert len(fakes.protocol.registrations) == before + 2
    assert fakes.protocol.registrations[-1]["documenti"][0]["impronta"] == "ab" * 32


def test_filing_a_durc_type_stores_the_certificate_and_shows_it(session, tmp_path, app, wired):
    world, procedure = file_with(session, tmp_path, durc=True, tax_code=EXPIRED_COMPANY)
    [job] = jobs_of(session, procedure, DURC_JOB)
    drain(app)
    assert jobs_of(session, procedure, DURC_JOB)[0].status == DONE
    [certificate] = session.query(DurcCertificate).filter_by(procedure_id=procedure.id).all()
    assert certificate.valid_until < date.today() and certificate.company_id == world.company.id
    assert "durc_checked" in kinds(session, procedure)
    with app.test_request_context():
        html = render_template("backoffice/_durc.html", procedure=procedure)
    assert "Scaduto" in html and certificate.protocol in html


def test_a_type_without_durc_queues_no_durc_check(session, tmp_path, app, wired):
    world, procedure = file_with(session, tmp_path, durc=False)
    assert jobs_of(session, procedure, DURC_JOB) == []
    with app.test_request_context():
        assert "DURC" not in render_template("backoffice/_durc.html", procedure=procedure)


def test_shipped_types_that_ask_a_durc():
    from portale.catalogue.loader import load_catalogue

    shipped = {s.code: s.spec for s in load_catalogue()}
    assert shipped["SCIA_SUBINGRESSO"]["durc"] is True
    assert shipped["SCIA_SOMMINISTRAZIONE"]["durc"] is True
    assert shipped["COM_CESSAZIONE"]["durc"] is False


def test_office_with_a_protocol_system_registers_each_filing(session, tmp_path, app, wired):
    world, procedure = file_with(session, tmp_path, protocol_system="protocol")
    drain(app)
    [job] = jobs_of(session, procedure, PROTOCOL_JOB)
    assert job.status == DONE
    event = next(
        e
        for e in session.get(type(procedure), procedure.id).events
        if e.kind == "protocol_registered"
    )
    assert event.payload["system"] == "protocol" and event.payload["number"] == job.result["number"]
    registration = fakes_registration(wired, job.idempotency_key)
    assert procedure.cui_uuid in registration["oggetto"]
    assert registration["documenti"][0]["nome"] == "p.pdf"


def fakes_registration(fakes, key):
    [found] = [r for r in fakes.protocol.registrations if r["key"] == key]
    return found


def test_office_without_protocol_system_queues_nothing(session, tmp_path, app, wired):
    world, procedure = file_with(session, tmp_path)
    assert jobs_of(session, procedure, PROTOCOL_JOB) == []


@pytest.mark.parametrize(
    "mode,status",
    [("down", RETRYING), ("error", RETRYING), ("slow", RETRYING), ("malformed", GIVEN_UP)],
)
def test_protocol_failures_wait_or_give_up_and_register_once_when_back(
    session, tmp_path, app, wired, mode, status
):
    wired.protocol.behaviour.mode = mode
    wired.protocol.behaviour.slow_seconds = 1.5
    app.config["CONNECTORS"]["protocol"]["timeout"] = "0.5"
    try:
        world, procedure = file_with(session, tmp_path, protocol_system="protocol")
        drain(app)
        [job] = jobs_of(session, procedure, PROTOCOL_JOB)
        assert job.status == status and job.last_error
        assert "protocol_registered" not in kinds(session, procedure)
        wired.protocol.behaviour.mode = "ok"
        if status == GIVEN_UP:  # an administrator retries it from the outbox page
            from portale.outbox import services as outbox

            outbox.retry_now(session, job.id)
        else:
            make_due(session, job)
        drain(app)
        [job] = jobs_of(session, procedure, PROTOCOL_JOB)
        assert job.status == DONE
        assert kinds(session, procedure).count("protocol_registered") == 1
        registered = [r for r in wired.protocol.registrations if r["key"] == job.idempotency_key]
        assert len(registered) == 1  # a slow answer that arrived late was not registered twice
    finally:
        app.config["CONNECTORS"]["protocol"].pop("timeout", None)


def test_duplicate_delivery_of_the_protocol_job_registers_once(session, tmp_path, app, wired):
    from portale.outbox import services as outbox

    world, procedure = file_with(session, tmp_path, protocol_system="protocol")
    drain(app)
    [job] = jobs_of(session, procedure, PROTOCOL_JOB)
    outbox.resend(session, job.id)  # delivered again, e.g. by a second worker or a replay
    drain(app)
    assert kinds(session, procedure).count("protocol_registered") == 1
    assert len([r for r in wired.protocol.registrations if r["key"] == job.idempotency_key]) == 1


def test_durc_service_stopped_the_check_waits_and_completes_when_back(
    session, tmp_path, app, wired, client, login_as
):
    wired.stop_service("durc")
    try:
        world, procedure = file_with(session, tmp_path, durc=True, tax_code=REGULAR_COMPANY)
        drain(app)
        [job] = jobs_of(session, procedure, DURC_JOB)
        assert job.status == RETRYING and "durc" in job.last_error.lower()
    finally:
        wired.restart_service("durc")
    make_due(session, job)
    drain(app)
    assert jobs_of(session, procedure, DURC_JOB)[0].status == DONE
    login_as(world.user)
    page = client.get(f"/pratiche/{procedure.id}").get_data(as_text=True)
    assert "DURC acquisito" in page


def test_missing_connector_makes_the_job_wait(session, tmp_path, app, wired, monkeypatch):
    settings = {k: v for k, v in wired.connector_settings().items() if k != "durc"}
    monkeypatch.setitem(app.config, "CONNECTORS", settings)
    world, procedure = file_with(session, tmp_path, durc=True, tax_code=REGULAR_COMPANY)
    drain(app)
    [job] = jobs_of(session, procedure, DURC_JOB)
    assert job.status == RETRYING and "not configured" in job.last_error


def test_unavailable_is_what_a_stopped_service_raises(durc, fakes):
    fakes.stop_service("durc")
    try:
        with pytest.raises(ConnectorUnavailable):
            durc.check(REGULAR_COMPANY)
    finally:
        fakes.restart_service("durc")
