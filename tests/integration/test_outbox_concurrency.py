"""Workers draining at once on PostgreSQL never run a job twice; Celery runs jobs on Redis.

These tests commit real rows (other connections must see them) and delete them afterwards.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from portale.db import make_engine
from portale.outbox import services
from portale.outbox.models import DONE, OutboxJob


@pytest.fixture
def committed(database_url, engine):
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    prefix = f"conc-{uuid.uuid4().hex[:6]}-"
    yield factory, prefix
    with factory() as s:
        s.execute(delete(OutboxJob).where(OutboxJob.idempotency_key.like(prefix + "%")))
        s.commit()


def test_two_workers_on_postgres_run_each_job_exactly_once(committed, is_postgres):
    if not is_postgres:
        pytest.skip("SKIP LOCKED claims are a PostgreSQL property; SQLite serialises writers")
    factory, prefix = committed
    runs: dict[str, int] = {}
    lock = threading.Lock()

    def handler(ctx):
        with lock:
            runs[ctx.idempotency_key] = runs.get(ctx.idempotency_key, 0) + 1

    services.register_handler("test.count", handler, replace=True)
    with factory() as s:
        for i in range(60):
            services.enqueue(s, "test.count", {}, idempotency_key=f"{prefix}{i}")
        s.commit()
    threads = [
        threading.Thread(
            target=services.drain, args=(factory,), kwargs={"worker": f"w{n}", "max_jobs": 100}
        )
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(runs) == 60 and set(runs.values()) == {1}
    with factory() as s:
        statuses = s.scalars(
            select(OutboxJob.status).where(OutboxJob.idempotency_key.like(prefix + "%"))
        )
        assert set(statuses) == {DONE}


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_celery_worker_on_redis_runs_the_job_published_after_commit(committed, database_url, app):
    if not _redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    from celery.contrib.testing.worker import start_worker

    from portale.outbox import celery_app as ca

    factory, prefix = committed
    queue = f"portale-test-{uuid.uuid4().hex[:8]}"
    celery = ca.make_celery("redis://127.0.0.1:6379/15", queue=queue, app_factory=lambda: app)
    celery.conf.task_default_queue = queue
    done = threading.Event()

    def handler(ctx):
        done.set()
        return {"ok": True}

    services.register_handler("test.celery", handler, replace=True)
    engine = make_engine(database_url)
    publisher_factory = sessionmaker(bind=engine)
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def publish(session):
        for job_id in session.info.pop("outbox_new_jobs", None) or ():
            celery.send_task("portale.outbox.run_job", args=[job_id], queue=queue)

    event.listen(Session, "after_commit", publish)
    try:
        with start_worker(celery, pool="solo", perform_ping_check=False, queues=[queue]):
            with publisher_factory() as s:
                job = services.enqueue(s, "test.celery", {}, idempotency_key=f"{prefix}celery")
                s.commit()
                job_id = job.id
            assert done.wait(20), "the Celery worker did not run the job"
            for _ in range(50):
                with factory() as s:
                    if s.get(OutboxJob, job_id).status == DONE:
                        break
                threading.Event().wait(0.1)
            with factory() as s:
                assert s.get(OutboxJob, job_id).status == DONE
    finally:
        event.remove(Session, "after_commit", publish)
        engine.dispose()
