"""The portal's Celery worker for bench/production_check.py, with every outbox handler counted.

``celery -A bench.production_worker worker``: the same tasks as ``portale.outbox.celery_app``;
each handler run that succeeds increments ``<CHECK_PREFIX>:runs:<idempotency key>`` in Redis, so
the check can prove that no job ran twice across worker processes, the sweep and redeliveries.
"""

from __future__ import annotations

import os
from typing import Any

import redis

from portale.outbox import services
from portale.outbox.celery_app import make_celery

store = redis.Redis.from_url(os.environ["PORTALE_CELERY_BROKER_URL"])
PREFIX = os.environ["CHECK_PREFIX"]


def _counted(name: str, handler: Any) -> Any:
    def run(ctx: services.JobContext) -> Any:
        result = handler(ctx)
        store.incr(f"{PREFIX}:runs:{ctx.idempotency_key}")
        return result

    run.__name__ = f"counted_{name}"
    return run


def make_app() -> Any:
    from portale import create_app

    app = create_app()
    for name, handler in list(services._handlers.items()):
        services.register_handler(name, _counted(name, handler), replace=True)
    return app


app = make_celery(os.environ["PORTALE_CELERY_BROKER_URL"], app_factory=make_app)
