"""Workers draining at once on PostgreSQL never run a job twice (Celery: test_outbox_celery).

These tests commit real rows (other connections must see them) and delete them afterwards.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

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
