"""The outbox: same-transaction enqueue, retries with backoff, leases, idempotent delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from portale.db import utcnow
from portale.outbox import services
from portale.outbox.models import DONE, GIVEN_UP, QUEUED, RETRYING, RUNNING, OutboxJob
from tests.factories import UserFactory


class Unavailable(Exception):
    retryable = True


class Rejected(Exception):
    retryable = False


class FakeRemote:
    """A remote system that, like a real idempotent API, delivers each key once."""

    def __init__(self) -> None:
        self.deliveries: dict[str, int] = {}
        self.received: dict[str, int] = {}
        self.calls = 0
        self.failures: list[Exception] = []

    def __call__(self, ctx: services.JobContext):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.received[ctx.idempotency_key] = self.received.get(ctx.idempotency_key, 0) + 1
        # A key seen before is acknowledged again without a second delivery.
        self.deliveries.setdefault(ctx.idempotency_key, 1)
        return {"delivered": ctx.payload.get("n")}


@pytest.fixture
def remote():
    fake = FakeRemote()
    services.register_handler("test.deliver", fake, replace=True)
    services.reset_breakers()
    yield fake
    services.reset_breakers()


@pytest.fixture
def factory(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


def due_now(session, job):
    job.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()


def test_enqueue_belongs_to_the_callers_transaction(session):
    user = UserFactory()
    with session.begin_nested() as nested:
        user.full_name = "Cambiato"
        services.enqueue(session, "test.deliver", {"n": 1}, idempotency_key="tx-1")
        nested.rollback()
    assert session.scalar(select(OutboxJob).where(OutboxJob.idempotency_key == "tx-1")) is None


def test_same_key_enqueued_twice_is_one_job(session):
    first = services.enqueue(session, "test.deliver", {"n": 1}, idempotency_key="k-1")
    second = services.enqueue(session, "test.deliver", {"n": 2}, idempotency_key="k-1")
    session.commit()
    assert first.id == second.id
    assert len(session.scalars(select(OutboxJob)).all()) == 1


def test_transient_failures_are_retried_with_growing_backoff_then_delivered(
    session, factory, remote
):
    remote.failures = [Unavailable("down"), Unavailable("500")]
    job = services.enqueue(
        session, "test.deliver", {"n": 7}, idempotency_key="r-1", connector="fake"
    )
    session.commit()
    delays = []
    for _ in range(3):
        due_now(session, job)
        before = utcnow()
        services.drain(factory, worker="w1")
        session.expire_all()
        job = session.get(OutboxJob, job.id)
        if job.status == RETRYING:
            delays.append((job.next_attempt_at - before).total_seconds())
    assert job.status == DONE and job.result == {"delivered": 7}
    assert remote.deliveries == {"r-1": 1}
    assert len(delays) == 2 and delays[1] > delays[0] > 3
    assert job.attempts == 3


def test_gives_up_after_max_attempts_and_keeps_the_error(session, factory, remote):
    remote.failures = [Unavailable("timeout")] * 3
    job = services.enqueue(session, "test.deliver", {}, idempotency_key="g-1", max_attempts=3)
    session.commit()
    for _ in range(3):
        due_now(session, job)
        services.drain(factory, worker="w1")
        session.expire_all()
        job = session.get(OutboxJob, job.id)
    assert job.status == GIVEN_UP and "timeout" in job.last_error
    assert remote.deliveries == {}


def test_rejected_request_is_not_retried(session, factory, remote):
    remote.failures = [Rejected("422 malformed")]
    job = services.enqueue(session, "test.deliver", {}, idempotency_key="p-1")
    session.commit()
    services.drain(factory, worker="w1")
    session.expire_all()
    assert session.get(OutboxJob, job.id).status == GIVEN_UP
    assert remote.calls == 1


def test_worker_killed_mid_job_lease_expires_and_delivery_happens_once(session, factory, remote):
    job = services.enqueue(session, "test.deliver", {"n": 1}, idempotency_key="lease-1")
    session.commit()
    # Worker A claims, delivers, and dies before recording the outcome.
    assert services.claim(session, worker="A") == [job.id]
    remote(services.JobContext(job.id, {"n": 1}, "lease-1", 1, 5.0, None))
    # Until the lease expires nobody else takes it.
    assert services.claim(session, worker="B") == []
    later = utcnow() + services.LEASE + timedelta(seconds=1)
    assert services.claim(session, worker="B", now=later) == [job.id]
    assert services.run_job(factory, job.id, worker="B") == DONE
    # The remote received the same key twice and, being idempotent by key, delivered once.
    assert remote.received == {"lease-1": 2}
    assert remote.deliveries == {"lease-1": 1}


def test_breaker_opens_and_later_jobs_wait_without_using_attempts(session, factory, remote):
    remote.failures = [Unavailable("down")] * services.BREAKER_FAIL_MAX
    jobs = [
        services.enqueue(session, "test.deliver", {}, idempotency_key=f"b-{i}", connector="dead")
        for i in range(services.BREAKER_FAIL_MAX + 1)
    ]
    session.commit()
    services.drain(factory, worker="w1", max_jobs=len(jobs))
    session.expire_all()
    last = session.get(OutboxJob, jobs[-1].id)
    assert last.status == RETRYING and "circuit open" in last.last_error
    assert last.attempts == 0
    assert remote.calls == services.BREAKER_FAIL_MAX


def test_admin_retries_and_cancels_from_the_page(client, session, login_as, remote):
    admin = UserFactory(roles=["admin"])
    given_up = services.enqueue(session, "test.deliver", {}, idempotency_key="a-1")
    queued = services.enqueue(session, "test.deliver", {}, idempotency_key="a-2")
    session.commit()
    given_up.status, given_up.attempts, given_up.last_error = GIVEN_UP, 8, "ConnectError: refused"
    session.commit()
    login_as(admin)
    page = client.get("/admin/coda/").get_data(as_text=True)
    assert "ConnectError: refused" in page and "abbandonati" in page
    client.post(f"/admin/coda/{given_up.id}/riprova")
    client.post(f"/admin/coda/{queued.id}/annulla")
    session.expire_all()
    assert session.get(OutboxJob, given_up.id).status == QUEUED
    assert session.get(OutboxJob, queued.id).status == "cancelled"


def test_outbox_page_is_for_admins_only(client, session, login_as):
    login_as(UserFactory(roles=["clerk"]))
    assert client.get("/admin/coda/").status_code == 404


def test_status_listener_sees_each_change(session, factory, remote):
    seen = []
    listener = lambda s, job, old: seen.append((job.idempotency_key, old, job.status))  # noqa: E731
    services.on_status_change(listener)
    try:
        services.enqueue(session, "test.deliver", {}, idempotency_key="l-1", procedure_id=None)
        session.commit()
        services.drain(factory, worker="w1")
    finally:
        services._status_listeners.remove(listener)
    assert ("l-1", "", QUEUED) in seen and ("l-1", RUNNING, DONE) in seen


def test_filing_queues_the_receipt_job_which_renders_and_mails_it(session, app):
    from portale.extensions import db
    from portale.mail import SENT
    from portale.procedures import services as filing
    from portale.procedures.receipt import receipt_key
    from portale.storage import storage_from_config
    from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world

    world = make_world(session)
    storage = storage_from_config(app.config)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    filing.save_draft(session, draft.id, actor=world.user, answers=VALID_ANSWERS)
    filing.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    procedure = filing.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="job-1"
    )
    [job] = services.jobs_for_procedure(session, procedure.id)
    assert job.handler == filing.RECEIPT_JOB and job.status == QUEUED
    SENT.clear()
    assert services.drain(db.session_factory, worker="t", config=dict(app.config)) == 1
    assert storage.exists(receipt_key(procedure))
    assert SENT and SENT[-1]["To"] == world.user.email
