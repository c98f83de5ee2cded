"""The outbox on Celery: real Redis, real worker processes (``celery -A tests.celery_worker``).

A job published after commit runs once; a failing job is retried with growing backoff; a task
delivered again (acks_late after a worker died before acknowledging, or published twice) finds
the row done and does not run the job a second time. Rows are committed for the worker process
to see, and deleted afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from portale.outbox import celery_app as ca
from portale.outbox import services
from portale.outbox.models import DONE, OutboxJob
from tests.production_support import redis_db_for_worker, redis_up, stop

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def env(database_url, engine, tmp_path):
    if not redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    import redis

    db_number = redis_db_for_worker()
    prefix = f"pt-{uuid.uuid4().hex[:8]}"
    broker = f"redis://127.0.0.1:6379/{db_number}"
    store = redis.Redis.from_url(broker)
    values = {
        "PORTALE_DATABASE_URL": database_url,
        "PORTALE_VAR_DIR": str(tmp_path / "var"),
        "PORTALE_CELERY_BROKER_URL": broker,
        "PORTALE_CELERY_QUEUE": prefix,
        "PORTALE_OUTBOX_RETRY_BASE_SECONDS": "0.5",
        "TEST_REDIS_URL": broker,
        "TEST_PREFIX": prefix,
    }
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    yield {"env": values, "store": store, "factory": factory, "tmp": tmp_path}
    with factory() as s:
        s.execute(delete(OutboxJob).where(OutboxJob.idempotency_key.like(prefix + "%")))
        s.commit()
    for key in store.scan_iter(f"{prefix}*"):
        store.delete(key)
    ca.uninstall_publisher()


def start_worker(ctx, name: str, **extra: str) -> subprocess.Popen:
    log = ctx["tmp"] / f"{name}.log"
    environment = {**os.environ, **ctx["env"], **extra}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.celery_worker", "worker", "--pool", "solo",
         "-Q", ctx["env"]["PORTALE_CELERY_QUEUE"], "-n", f"{name}@%h", "--without-heartbeat",
         "--without-mingle", "--without-gossip", "-l", "info"],
        cwd=ROOT, env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if "ready." in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.2)
    stop(process)
    raise AssertionError(f"worker {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def publisher(ctx):
    celery = ca.make_celery(
        ctx["env"]["PORTALE_CELERY_BROKER_URL"], queue=ctx["env"]["PORTALE_CELERY_QUEUE"]
    )
    ca.install_publisher(celery)
    return celery


def enqueue(ctx, key: str, **payload) -> int:
    with ctx["factory"]() as s:
        job = services.enqueue(s, "test.celery.count", payload, idempotency_key=key)
        s.commit()  # the publisher sends the task after this commit
        return job.id


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def job(ctx, job_id: int) -> OutboxJob:
    with ctx["factory"]() as s:
        return s.get(OutboxJob, job_id)


def runs(ctx, key: str) -> int:
    return int(ctx["store"].get(f"{ctx['env']['TEST_PREFIX']}:runs:{key}") or 0)


def results(ctx) -> list[str]:
    raw = ctx["store"].lrange(f"{ctx['env']['TEST_PREFIX']}:results", 0, -1)
    return [r.decode() for r in raw]


def test_a_job_published_after_commit_runs_once_even_when_delivered_again(env):
    worker = start_worker(env, "w1")
    try:
        celery = publisher(env)
        key = f"{env['env']['TEST_PREFIX']}-once"
        job_id = enqueue(env, key)
        assert wait_until(lambda: job(env, job_id).status == DONE), "the job did not run"
        # The same task delivered twice more, as a redelivery would: the row says done.
        for _ in range(2):
            celery.send_task("portale.outbox.run_job", args=[job_id])
        assert wait_until(lambda: results(env).count(f"{job_id}:skipped") == 2)
        assert runs(env, key) == 1
        assert job(env, job_id).attempts == 1
    finally:
        stop(worker)


def test_a_failing_job_is_retried_with_growing_backoff(env):
    worker = start_worker(env, "w1")
    try:
        publisher(env)
        key = f"{env['env']['TEST_PREFIX']}-retry"
        job_id = enqueue(env, key, fail_times=2)
        assert wait_until(lambda: job(env, job_id).status == DONE), "the job never succeeded"
        attempts = env["store"].lrange(f"{env['env']['TEST_PREFIX']}:attempts:{key}", 0, -1)
        times = [float(a.decode().split(":")[1]) for a in attempts]
        assert [a.decode().split(":")[0] for a in attempts] == ["1", "2", "3"]
        first_gap, second_gap = times[1] - times[0], times[2] - times[1]
        # Base 0.5 s with ±20 % jitter, doubling: about 0.5 s, then about 1 s.
        assert first_gap >= 0.4 and second_gap >= 0.8 and second_gap > first_gap
        assert runs(env, key) == 1
        done = job(env, job_id)
        assert done.attempts == 3 and done.last_error is None
    finally:
        stop(worker)


def test_a_task_redelivered_after_the_worker_died_does_not_run_the_job_twice(env):
    visibility = {"PORTALE_CELERY_VISIBILITY_TIMEOUT": "2"}
    doomed = start_worker(env, "doomed", TEST_KILL_AFTER_FIRST_TASK="1", **visibility)
    publisher(env)
    key = f"{env['env']['TEST_PREFIX']}-redelivered"
    job_id = enqueue(env, key)
    try:
        assert doomed.wait(30) != 0, "the worker should have died after its first task"
    finally:
        stop(doomed)
    assert job(env, job_id).status == DONE and runs(env, key) == 1
    time.sleep(2.5)  # past the visibility timeout: Redis gives the unacknowledged task back
    worker = start_worker(env, "heir", **visibility)
    try:
        assert wait_until(lambda: f"{job_id}:skipped" in results(env)), "no redelivery seen"
        assert runs(env, key) == 1
        assert job(env, job_id).attempts == 1
    finally:
        stop(worker)
