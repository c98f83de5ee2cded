"""Outbox use cases: enqueue in the caller's transaction, claim with a lease, run with
backoff, a circuit breaker per connector, and the admin's retry and cancel.

The job row is the source of truth: a worker that dies mid-job leaves a lease that expires,
and the job runs again with the same idempotency key, which handlers pass to the remote
system so nothing is delivered twice.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pybreaker
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from portale.db import utcnow
from portale.outbox.models import (
    CANCELLED,
    DONE,
    GIVEN_UP,
    QUEUED,
    RETRYING,
    RUNNING,
    OutboxJob,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# The first retry's delay; doubles at each attempt. Shorter only for tests and demos.
BASE_DELAY_SECONDS = float(os.environ.get("PORTALE_OUTBOX_RETRY_BASE_SECONDS", "5"))
MAX_DELAY_SECONDS = 3600.0
BREAKER_FAIL_MAX = 5
BREAKER_RESET_SECONDS = 60.0


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: it must pass ``idempotency_key`` on and respect ``timeout``."""

    job_id: int
    payload: dict[str, Any]
    idempotency_key: str
    attempt: int
    timeout: float
    procedure_id: int | None
    config: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobContext], Any]
_handlers: dict[str, Handler] = {}
_status_listeners: list[Callable[[Session, OutboxJob, str], None]] = []
_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_breakers_lock = threading.Lock()


class UnknownHandler(LookupError):
    pass


def register_handler(name: str, fn: Handler, *, replace: bool = False) -> None:
    if name in _handlers and not replace and _handlers[name] is not fn:
        raise ValueError(f"outbox handler {name!r} is already registered")
    _handlers[name] = fn


def on_status_change(fn: Callable[[Session, OutboxJob, str], None]) -> None:
    """Call ``fn(session, job, old_status)`` in the transaction that changes a job's status."""
    if fn not in _status_listeners:
        _status_listeners.append(fn)


def is_permanent(error: BaseException) -> bool:
    """Errors the remote system will give again: do not retry (connector rejections, bad data)."""
    retryable = getattr(error, "retryable", None)
    if retryable is not None:
        return not retryable
    return type(error).__name__ in {"ConnectorRejected", "ConnectorMalformedResponse", "NotFound"}


def breaker_for(connector: str | None) -> pybreaker.CircuitBreaker | None:
    if not connector:
        return None
    with _breakers_lock:
        breaker = _breakers.get(connector)
        if breaker is None:
            # Only transient failures trip the breaker: a rejected request says nothing about
            # whether the service is up.
            breaker = pybreaker.CircuitBreaker(
                fail_max=BREAKER_FAIL_MAX,
                reset_timeout=BREAKER_RESET_SECONDS,
                exclude=[is_permanent],
                name=connector,
            )
            _breakers[connector] = breaker
        return breaker


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


def enqueue(
    session: Session,
    handler: str,
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    connector: str | None = None,
    procedure_id: int | None = None,
    max_attempts: int = 8,
    run_at: datetime | None = None,
    ordering_key: str | None = None,
) -> OutboxJob:
    """Add a job to the caller's transaction (no commit); the same key returns the same job.

    Jobs sharing an ``ordering_key`` run one after the other, in the order they were queued:
    a job waits while an earlier one of its key is queued, running or being retried."""
    existing = session.scalar(select(OutboxJob).where(OutboxJob.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    job = OutboxJob(
        handler=handler,
        payload=payload,
        idempotency_key=idempotency_key,
        connector=connector,
        procedure_id=procedure_id,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        next_attempt_at=run_at or utcnow(),
        ordering_key=ordering_key,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # enqueued concurrently by another transaction
        return session.scalar(select(OutboxJob).where(OutboxJob.idempotency_key == idempotency_key))
    session.info.setdefault("outbox_new_jobs", []).append(job.id)
    _notify(session, job, "")
    return job


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter, capped: 5 s, 10 s, 20 s... up to an hour."""
    delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** max(attempt - 1, 0))
    return delay * random.uniform(0.8, 1.2)


PENDING = (QUEUED, RUNNING, RETRYING)


def _due(now: datetime) -> Any:
    earlier = aliased(OutboxJob)
    blocked = (
        select(earlier.id)
        .where(
            earlier.ordering_key == OutboxJob.ordering_key,
            earlier.id < OutboxJob.id,
            earlier.status.in_(PENDING),
        )
        .exists()
    )
    return and_(
        or_(
            (OutboxJob.status.in_((QUEUED, RETRYING))) & (OutboxJob.next_attempt_at <= now),
            (OutboxJob.status == RUNNING) & (OutboxJob.locked_until < now),
        ),
        or_(OutboxJob.ordering_key.is_(None), ~blocked),
    )


def claim(
    session: Session,
    *,
    worker: str,
    now: datetime | None = None,
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[int]:
    """Take up to ``limit`` due jobs for ``worker`` under a lease; commits."""
    now = now or utcnow()
    query = select(OutboxJob.id).where(_due(now)).order_by(OutboxJob.next_attempt_at).limit(limit)
    claimed: list[int] = []
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(query.with_for_update(skip_locked=True)))
        if ids:
            session.execute(
                update(OutboxJob).where(OutboxJob.id.in_(ids)).values(**_lease(worker, now, lease))
            )
        claimed = ids
    else:
        # SQLite serialises writers; the conditional UPDATE makes each claim atomic anyway.
        for job_id in list(session.scalars(query)):
            if _claim_if_due(session, job_id, worker, now, lease):
                claimed.append(job_id)
    session.commit()
    return claimed


def claim_one(
    session: Session,
    job_id: int,
    *,
    worker: str,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> bool:
    """Claim one given job if it is due (a Celery task names its job); commits."""
    claimed = _claim_if_due(session, job_id, worker, now or utcnow(), lease)
    session.commit()
    return claimed


def _lease(worker: str, now: datetime, lease: timedelta) -> dict[str, Any]:
    return {
        "status": RUNNING,
        "locked_by": worker,
        "locked_until": now + lease,
        "attempts": OutboxJob.attempts + 1,
        "updated_at": now,
    }


def _claim_if_due(
    session: Session, job_id: int, worker: str, now: datetime, lease: timedelta
) -> bool:
    # The condition in the UPDATE makes the claim atomic: of two workers, one gets rowcount 1.
    result = session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job_id, _due(now))
        .values(**_lease(worker, now, lease))
    )
    return result.rowcount == 1


def _notify(session: Session, job: OutboxJob, old_status: str) -> None:
    for listener in _status_listeners:
        listener(session, job, old_status)


def _finish(session: Session, job: OutboxJob, status: str, **values: Any) -> None:
    old = job.status
    job.status = status
    job.locked_by = None
    job.locked_until = None
    for key, value in values.items():
        setattr(job, key, value)
    _notify(session, job, old)
    session.commit()


def run_job(
    session_factory: sessionmaker[Session] | Callable[[], Session],
    job_id: int,
    *,
    worker: str,
    config: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> str:
    """Run one claimed job and record the outcome; returns the job's new status."""
    session = session_factory()
    try:
        job = session.get(OutboxJob, job_id)
        if job is None or job.status != RUNNING or job.locked_by != worker:
            session.rollback()
            return job.status if job else "missing"
        handler = _handlers.get(job.handler)
        if handler is None:
            _finish(session, job, GIVEN_UP, last_error=f"unknown handler {job.handler!r}")
            return GIVEN_UP
        context = JobContext(
            job_id=job.id,
            payload=dict(job.payload or {}),
            idempotency_key=job.idempotency_key,
            attempt=job.attempts,
            timeout=timeout,
            procedure_id=job.procedure_id,
            config=dict(config or {}),
        )
        connector = job.connector
        session.commit()  # hold no transaction while the remote system answers
        breaker = breaker_for(connector)
        try:
            result = breaker.call(handler, context) if breaker else handler(context)
        except pybreaker.CircuitBreakerError:
            job = session.get(OutboxJob, job_id)
            # Not an attempt: the service is known to be down; try when the breaker may close.
            _finish(
                session,
                job,
                RETRYING,
                attempts=max(job.attempts - 1, 0),
                next_attempt_at=utcnow() + timedelta(seconds=BREAKER_RESET_SECONDS),
                last_error=f"circuit open for {connector}",
            )
            return RETRYING
        except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
            job = session.get(OutboxJob, job_id)
            message = f"{type(error).__name__}: {error}"[:2000]
            if is_permanent(error) or job.attempts >= job.max_attempts:
                log.warning("outbox job %s given up: %s", job_id, message)
                _finish(session, job, GIVEN_UP, last_error=message)
                return GIVEN_UP
            _finish(
                session,
                job,
                RETRYING,
                last_error=message,
                next_attempt_at=utcnow() + timedelta(seconds=backoff_delay(job.attempts)),
            )
            return RETRYING
        job = session.get(OutboxJob, job_id)
        _finish(
            session,
            job,
            DONE,
            result=result if _jsonable(result) else None,
            done_at=utcnow(),
            last_error=None,
        )
        return DONE
    finally:
        session.close()


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (dict, list, str, int, float, bool))


def drain(
    session_factory: sessionmaker[Session] | Callable[[], Session],
    *,
    worker: str,
    config: dict[str, Any] | None = None,
    max_jobs: int = 100,
) -> int:
    """Claim and run due jobs until none is due or ``max_jobs`` ran; returns how many ran."""
    ran = 0
    while ran < max_jobs:
        session = session_factory()
        try:
            ids = claim(session, worker=worker, limit=min(10, max_jobs - ran))
        finally:
            session.close()
        if not ids:
            break
        for job_id in ids:
            run_job(session_factory, job_id, worker=worker, config=config)
            ran += 1
    return ran


def retry_now(session: Session, job_id: int) -> OutboxJob | None:
    job = session.get(OutboxJob, job_id)
    if job is None or job.status not in (RETRYING, GIVEN_UP, CANCELLED):
        return None
    old = job.status
    job.status = QUEUED
    job.next_attempt_at = utcnow()
    if job.attempts >= job.max_attempts:
        job.max_attempts = job.attempts + 1
    _notify(session, job, old)
    session.commit()
    return job


def cancel(session: Session, job_id: int) -> OutboxJob | None:
    job = session.get(OutboxJob, job_id)
    if job is None or job.status in (DONE, CANCELLED):
        return None
    _finish(session, job, CANCELLED)
    return job


@dataclass(frozen=True)
class OutboxStats:
    counts: dict[str, int]
    oldest_queued_seconds: float | None


def stats(session: Session, now: datetime | None = None) -> OutboxStats:
    now = now or utcnow()
    counts = dict(
        session.execute(select(OutboxJob.status, func.count()).group_by(OutboxJob.status)).all()
    )
    oldest = session.scalar(
        select(func.min(OutboxJob.created_at)).where(OutboxJob.status.in_((QUEUED, RETRYING)))
    )
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return OutboxStats(
        counts={
            status: counts.get(status, 0)
            for status in (QUEUED, RUNNING, RETRYING, DONE, GIVEN_UP, CANCELLED)
        },
        oldest_queued_seconds=(now - oldest).total_seconds() if oldest else None,
    )


def problem_jobs(session: Session, limit: int = 200) -> list[OutboxJob]:
    return list(
        session.scalars(
            select(OutboxJob)
            .where(OutboxJob.status.in_((RETRYING, GIVEN_UP, QUEUED, RUNNING)))
            .order_by(OutboxJob.status.desc(), OutboxJob.next_attempt_at)
            .limit(limit)
        )
    )


def jobs_for_procedure(session: Session, procedure_id: int) -> list[OutboxJob]:
    return list(
        session.scalars(
            select(OutboxJob).where(OutboxJob.procedure_id == procedure_id).order_by(OutboxJob.id)
        )
    )


def resend(session: Session, job_id: int) -> OutboxJob | None:
    """Run a job again at once, even a finished one, because the remote system asked for a
    retransmission (SSU ``retry``). The payload counts retransmissions, so handlers can give
    the remote system a new key for what is meant to be delivered again. Commits."""
    job = session.get(OutboxJob, job_id)
    if job is None or job.status == RUNNING:
        return job
    old = job.status
    payload = dict(job.payload or {})
    payload["retransmission"] = int(payload.get("retransmission", 0)) + 1
    job.payload = payload
    job.status = QUEUED
    job.next_attempt_at = utcnow()
    job.done_at = None
    job.max_attempts = max(job.max_attempts, job.attempts + 3)
    _notify(session, job, old)
    session.commit()
    return job
