"""Celery transport for the outbox, used when PORTALE_CELERY_BROKER_URL is set.

A task carries only a job id: the row stays the source of truth, so a task delivered twice
(``task_acks_late`` redelivers when a worker dies) finds the job already claimed or done and
does nothing. A periodic sweep runs jobs whose publication was lost.

Run a worker with ``celery -A portale.outbox.celery_app worker -B``.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session

from portale.outbox import services
from portale.outbox.worker import worker_name

QUEUE = os.environ.get("PORTALE_CELERY_QUEUE", "portale-outbox")


def make_celery(broker_url: str, queue: str = QUEUE, app_factory: Any = None) -> Celery:
    app = Celery("portale", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        beat_schedule={"outbox-sweep": {"task": "portale.outbox.sweep", "schedule": 30.0}},
    )
    _portal: dict[str, Any] = {}

    def portal() -> Any:
        # The Flask app (and its engine) is built once per worker process, lazily.
        if "app" not in _portal:
            from portale import create_app

            _portal["app"] = (app_factory or create_app)()
        return _portal["app"]

    @app.task(name="portale.outbox.run_job")
    def run_job(job_id: int) -> str:
        from portale.extensions import db

        flask_app = portal()
        name = worker_name("celery")
        session = db.session_factory()
        try:
            claimed = services.claim_one(session, job_id, worker=name)
        finally:
            session.close()
        if not claimed:
            return "skipped"
        return services.run_job(
            db.session_factory, job_id, worker=name, config=dict(flask_app.config)
        )

    @app.task(name="portale.outbox.sweep")
    def sweep() -> int:
        from portale.extensions import db

        flask_app = portal()
        return services.drain(
            db.session_factory, worker=worker_name("celery-sweep"), config=dict(flask_app.config)
        )

    app.portal = portal  # type: ignore[attr-defined]
    return app


def install_publisher(celery: Celery) -> None:
    """Publish a task for each job enqueued in a transaction, once that transaction commits."""

    @event.listens_for(Session, "after_commit")
    def _publish(session: Session) -> None:
        ids = session.info.pop("outbox_new_jobs", None)
        for job_id in ids or ():
            celery.send_task("portale.outbox.run_job", args=[job_id])

    @event.listens_for(Session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop("outbox_new_jobs", None)


broker = os.environ.get("PORTALE_CELERY_BROKER_URL")
celery_app = make_celery(broker) if broker else None
app = celery_app  # what ``celery -A portale.outbox.celery_app`` looks for
