"""A Celery worker process for the tests: ``celery -A tests.celery_worker worker``.

It runs the portal's own outbox tasks (portale.outbox.celery_app) against the test database
named by PORTALE_DATABASE_URL, with handlers that count their runs in Redis so the test
process can see what a separate process did. ``TEST_KILL_AFTER_FIRST_TASK=1`` makes the worker
die right after its first task ran and before the broker got the acknowledgement
(``task_acks_late``), as a worker killed at the worst moment would.
"""

from __future__ import annotations

import os

import redis
from celery.signals import task_postrun

from portale.outbox import services
from portale.outbox.celery_app import make_celery

REDIS_URL = os.environ["TEST_REDIS_URL"]
PREFIX = os.environ["TEST_PREFIX"]
store = redis.Redis.from_url(REDIS_URL)


class Unavailable(Exception):
    retryable = True


def count(ctx: services.JobContext) -> dict[str, int]:
    """Counts each run; fails (transiently) the first ``fail_times`` attempts."""
    import time

    key = ctx.idempotency_key
    store.rpush(f"{PREFIX}:attempts:{key}", f"{ctx.attempt}:{time.time()}")
    if ctx.attempt <= int(ctx.payload.get("fail_times", 0)):
        raise Unavailable(f"attempt {ctx.attempt} fails on purpose")
    store.incr(f"{PREFIX}:runs:{key}")
    return {"attempt": ctx.attempt}


def make_app():  # noqa: ANN201
    from portale import create_app

    app = create_app(
        {
            "TESTING": True,
            "EMBEDDED_WORKER": False,
            "MAIL_BACKEND": "memory",
            "CELERY_BROKER_URL": None,  # this process publishes nothing itself
        }
    )
    services.register_handler("test.celery.count", count, replace=True)
    return app


app = make_celery(
    os.environ["PORTALE_CELERY_BROKER_URL"],
    queue=os.environ["PORTALE_CELERY_QUEUE"],
    app_factory=make_app,
)


@task_postrun.connect
def _after_task(task_id=None, task=None, args=None, retval=None, **_):  # noqa: ANN001
    if task is not None and task.name == "portale.outbox.run_job":
        store.rpush(f"{PREFIX}:results", f"{args[0]}:{retval}")
    if os.environ.get("TEST_KILL_AFTER_FIRST_TASK") == "1" and store.set(
        f"{PREFIX}:killed", "1", nx=True
    ):
        os._exit(1)  # before the acknowledgement: the broker will deliver this task again
