"""Celery transport for the outbox, used when PORTALE_CELERY_BROKER_URL is set.

A task carries only a job id: the row stays the source of truth, so a task delivered twice
(``task_acks_late`` redelivers when a worker dies before acknowledging) finds the job already
claimed or done and does nothing. A failed job is put back to ``retrying`` by
:func:`portale.outbox.services.run_job` with its backoff, and the task retries itself with that
countdown. A periodic sweep (beat) runs the jobs whose publication was lost (broker down at
commit time, a countdown lost with a worker).

Run workers with ``celery -A portale.outbox.celery_app worker`` and one scheduler with
``celery -A portale.outbox.celery_app beat`` (or ``worker -B`` on a single machine).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session

from portale.db import utcnow
from portale.outbox import services
from portale.outbox.models import RETRYING, OutboxJob
from portale.outbox.worker import worker_name

log = logging.getLogger(__name__)

QUEUE = os.environ.get("PORTALE_CELERY_QUEUE", "portale-outbox")
SWEEP_SECONDS = float(os.environ.get("PORTALE_CELERY_SWEEP_SECONDS", "30"))
# Redis gives an unacknowledged task back after this many seconds: longer than any job
# (the lease) and than the longest retry countdown, or a delayed task would run early twice.
VISIBILITY_TIMEOUT = int(os.environ.get("PORTALE_CELERY_VISIBILITY_TIMEOUT", "7200"))
MAX_COUNTDOWN = min(services.MAX_DELAY_SECONDS, VISIBILITY_TIMEOUT / 2)


def make_celery(broker_url: str, queue: str = QUEUE, app_factory: Any = None) -> Celery:
    app = Celery("portale", broker=broker_url)
    lease = int(services.LEASE.total_seconds())
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_ignore_result=True,
        # A job must end before its lease does, or another worker could claim it meanwhile.
        task_time_limit=max(lease - 10, 30),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        # Publishing happens after the filing committed: fail fast, the sweep catches up.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        beat_schedule={"outbox-sweep": {"task": "portale.outbox.sweep", "schedule": SWEEP_SECONDS}},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    _portal: dict[str, Any] = {}

    def portal() -> Any:
        # The Flask app (and its engine) is built once per worker process, lazily: after the
        # prefork pool forked, so no connection is shared between processes.
        if "app" not in _portal:
            from portale import create_app

            _portal["app"] = (app_factory or create_app)()
        return _portal["app"]

    @app.task(name="portale.outbox.run_job", bind=True, max_retries=None)
    def run_job(self: Any, job_id: int) -> str:
        from portale.extensions import db

        flask_app = portal()
        name = worker_name("celery")
        session = db.session_factory()
        try:
            claimed = services.claim_one(session, job_id, worker=name)
        finally:
            session.close()
        if not claimed:
            # Done, cancelled, held by another worker's lease, or not yet due: nothing to do.
            return "skipped"
        status = services.run_job(
            db.session_factory, job_id, worker=name, config=dict(flask_app.config)
        )
        if status == RETRYING:
            raise self.retry(countdown=_countdown(db.session_factory, job_id))
        return status

    @app.task(name="portale.outbox.sweep")
    def sweep() -> int:
        from portale.extensions import db

        flask_app = portal()
        return services.drain(
            db.session_factory, worker=worker_name("celery-sweep"), config=dict(flask_app.config)
        )

    app.portal = portal  # type: ignore[attr-defined]
    return app


def _countdown(session_factory: Any, job_id: int) -> float:
    """Seconds until the job's next attempt, as the outbox's backoff set it."""
    with session_factory() as session:
        job = session.get(OutboxJob, job_id)
        if job is None or job.next_attempt_at is None:
            return services.BASE_DELAY_SECONDS
        seconds = (job.next_attempt_at - utcnow()).total_seconds()
    return min(max(seconds, 0.0), MAX_COUNTDOWN)


_publisher: dict[str, Celery] = {}


def _publish(session: Session) -> None:
    ids = session.info.pop("outbox_new_jobs", None)
    celery = _publisher.get("celery")
    if not ids or celery is None:
        return
    for job_id in ids:
        try:
            celery.send_task("portale.outbox.run_job", args=[job_id])
        except Exception:  # noqa: BLE001 - the row is committed: the sweep will run it
            log.warning("could not publish outbox job %s; the sweep will run it", job_id)


def _forget(session: Session) -> None:
    session.info.pop("outbox_new_jobs", None)


def install_publisher(celery: Celery) -> None:
    """Publish a task for each job enqueued in a transaction, once that transaction commits.

    Idempotent: one listener per process, publishing through the latest Celery app given.
    """
    _publisher["celery"] = celery
    if not event.contains(Session, "after_commit", _publish):
        event.listen(Session, "after_commit", _publish)
        event.listen(Session, "after_rollback", _forget)


def uninstall_publisher() -> None:
    _publisher.clear()
    if event.contains(Session, "after_commit", _publish):
        event.remove(Session, "after_commit", _publish)
        event.remove(Session, "after_rollback", _forget)


def broker_reachable(broker_url: str, timeout: float = 2.0) -> None:
    """Raise if the broker does not answer (readiness probe)."""
    from kombu import Connection

    with Connection(broker_url, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        connection.default_channel  # noqa: B018 - opening a channel talks to the broker


_default: dict[str, Celery] = {}


def __getattr__(name: str) -> Any:
    """``app`` / ``celery_app``: what ``celery -A portale.outbox.celery_app`` looks for.

    Built on first access only, so importing this module (the portal does, to publish) does
    not register a second set of tasks under the same names.
    """
    if name not in ("app", "celery_app"):
        raise AttributeError(name)
    if "app" not in _default:
        broker = os.environ.get("PORTALE_CELERY_BROKER_URL")
        if not broker:
            raise RuntimeError("PORTALE_CELERY_BROKER_URL is not set")
        _default["app"] = make_celery(broker)
    return _default["app"]
