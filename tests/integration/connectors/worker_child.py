"""A worker process for the kill test: drains the outbox of a database file, sending SSU
notices to the fake authority. ``python -m tests.integration.connectors.worker_child URL``.

Settings come from the environment: ``CHILD_SSU_SETTINGS`` (JSON, the ``ssu`` adapter's).
"""

from __future__ import annotations

import json
import os
import sys

from sqlalchemy.orm import sessionmaker

from connectors.ssu import SsuAuthorityConnector
from portale.db import make_engine
from portale.models import import_all_models
from portale.outbox import services

HANDLER = "test.ssu_notify"


def main(url: str) -> None:
    import_all_models()
    adapter = SsuAuthorityConnector(json.loads(os.environ["CHILD_SSU_SETTINGS"]))

    def notify(ctx: services.JobContext) -> dict:
        receipt = adapter.notify(
            ctx.payload["cui"], ctx.payload["event"], idempotency_key=ctx.idempotency_key
        )
        return {"reference": receipt.reference}

    services.register_handler(HANDLER, notify)
    factory = sessionmaker(bind=make_engine(url))
    ran = services.drain(factory, worker=f"child-{os.getpid()}", max_jobs=100)
    print(f"ran {ran}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
