"""Signature checks of uploads: run at upload (or as an outbox job), stored, retried.

Every upload path calls :func:`check_upload` with the bytes it has just stored, before its own
commit: the check joins the caller's transaction. A small file is verified at once (the
revocation services have a few seconds); a large one gets a ``pending`` check and an outbox job
(:data:`VERIFY_JOB`) that verifies it in the background. A check that could not reach the
revocation services (``unverifiable``) is retried by the same job with backoff until it can.
The original bytes are never touched; what a ``.p7m`` envelops is stored beside them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import ConnectorUnavailable
from portale.db import utcnow
from portale.signatures import verify as v
from portale.signatures.models import SignatureCheck
from portale.signatures.trust import trust_from_config
from portale.storage import AbstractStorage

VERIFY_JOB = "signatures.verify"
RETRY_AFTER = timedelta(minutes=1)


class VerificationPending(ConnectorUnavailable):
    """The revocation services could not be reached: the outbox tries again later."""


def check_upload(
    session: Session,
    storage: AbstractStorage,
    *,
    storage_key: str,
    data: bytes,
    kind: str,
    config: Any,
    procedure_id: int | None = None,
) -> SignatureCheck:
    """Verify (or queue the verification of) a stored upload; joins the caller's transaction."""
    check = SignatureCheck(
        storage_key=storage_key,
        sha256=hashlib.sha256(data).hexdigest(),
        status=v.UNSIGNED,
        signers=[],
        attempts=0,
    )
    if kind in ("pdf", "p7m"):
        if len(data) > int(config.get("SIGNATURE_INLINE_MAX_BYTES", 3 * 1024 * 1024)):
            check.status = v.PENDING
        else:
            _apply(check, v.verify_document(data, kind, trust_from_config(config)), storage)
    session.add(check)
    if check.status in (v.PENDING, v.UNVERIFIABLE):
        _queue(session, check, procedure_id)
    return check


def _queue(session: Session, check: SignatureCheck, procedure_id: int | None) -> None:
    from portale.outbox.services import enqueue

    enqueue(
        session,
        VERIFY_JOB,
        {"storage_key": check.storage_key},
        idempotency_key=f"signature-check:{check.storage_key}",
        procedure_id=procedure_id,
        max_attempts=20,
        run_at=utcnow() if check.status == v.PENDING else utcnow() + RETRY_AFTER,
    )


def _apply(check: SignatureCheck, result: v.Verification, storage: AbstractStorage) -> None:
    first = result.first
    check.status = result.status
    check.format = result.format
    check.problem = result.problem
    check.signers = [s.as_json() for s in result.signers]
    check.signer_name = first.signer_name if first else None
    check.signer_tax_code = first.signer_tax_code if first else None
    check.signing_time = first.signing_time if first else None
    check.intact = first.intact if first else None
    check.trusted = first.trusted if first else None
    check.qualified = first.qualified if first else None
    check.timestamped = first.timestamped if first else None
    check.timestamp_qualified = first.timestamp_qualified if first else None
    check.checked_at = utcnow()
    check.attempts = (check.attempts or 0) + 1
    if result.content is not None and check.content_key is None:
        from portale.uploads import detect_kind

        key = f"{check.storage_key}-content"
        storage.put(key, result.content)
        check.content_key = key
        check.content_kind = detect_kind(result.content)
        check.content_size = len(result.content)


def reverify(
    session: Session, storage: AbstractStorage, check: SignatureCheck, config: Any
) -> None:
    """Verify a stored upload again (no commit)."""
    from portale.uploads import detect_kind

    data = storage.read(check.storage_key)
    kind = detect_kind(data) or ""
    _apply(check, v.verify_document(data, kind, trust_from_config(config)), storage)


def verify_job(ctx: Any) -> dict[str, Any]:
    """Outbox handler: verify a large upload, or one whose revocation check failed before."""
    from portale.extensions import db
    from portale.storage import storage_from_config

    session = db.session_factory()
    try:
        check = session.scalar(
            select(SignatureCheck).where(SignatureCheck.storage_key == ctx.payload["storage_key"])
        )
        if check is None:
            return {"skipped": "check gone"}
        if check.status not in (v.PENDING, v.UNVERIFIABLE):
            return {"status": check.status}
        reverify(session, storage_from_config(ctx.config), check, ctx.config)
        session.commit()
        if check.status == v.UNVERIFIABLE:
            raise VerificationPending("revocation services unreachable; will try again")
        return {"status": check.status}
    finally:
        session.close()


def checks_by_key(session: Session, keys: Iterable[str]) -> dict[str, SignatureCheck]:
    """The checks of the given stored files, by storage key (one query)."""
    wanted = [k for k in keys if k]
    if not wanted:
        return {}
    rows = session.scalars(select(SignatureCheck).where(SignatureCheck.storage_key.in_(wanted)))
    return {row.storage_key: row for row in rows}


def check_for(session: Session, storage_key: str) -> SignatureCheck | None:
    return session.scalar(select(SignatureCheck).where(SignatureCheck.storage_key == storage_key))


def register() -> None:
    from portale.outbox.services import register_handler

    register_handler(VERIFY_JOB, verify_job, replace=True)
