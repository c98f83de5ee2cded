"""Outbox jobs of payments: open a position on pagoPA, read it back, cancel it, complete it.

- ``payments.open``: create and publish the position (GPD); the position id (IUPD) makes a
  second attempt find the first one instead of opening another.
- ``payments.poll``: read the state and the receipt; schedules the next read itself while
  the position is payable, so a filing completes even if the person never comes back.
- ``payments.cancel``: invalidate an open position (an abandoned draft's).
- ``payments.complete``: what the purpose does once paid (the filing, the act's release).
Failures raise the connector's errors: the outbox retries the retryable ones with backoff.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from connectors.base import ConnectorUnavailable, PaymentGateway
from connectors.registry import ConnectorRegistry
from portale.db import utcnow
from portale.outbox.services import JobContext, register_handler
from portale.payments import services
from portale.payments.models import DRAFTED, PUBLISHED, PaymentPosition


@lru_cache(maxsize=4)
def _registry(settings_key: str) -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.load_entry_points()
    settings = json.loads(settings_key)
    if settings["connectors"]:
        registry.configure(settings["connectors"])
    else:
        registry.configure_from_env(settings["env"])
    return registry


def gateway_for(config: dict[str, Any]) -> PaymentGateway:
    """The enabled payment adapter; unavailable (retried later) until one is configured."""
    key = json.dumps(
        {"connectors": config.get("CONNECTORS") or {}, "env": config.get("CONNECTOR_ENV") or {}},
        sort_keys=True,
    )
    for adapter in _registry(key).enabled("payments"):
        if isinstance(adapter, PaymentGateway):
            return adapter
    raise ConnectorUnavailable("no payment connector (pagoPA) is configured")


def _session() -> Session:
    from portale.extensions import db

    return db.session_factory()


def _load(session: Session, ctx: JobContext) -> PaymentPosition | None:
    return session.get(PaymentPosition, ctx.payload["position_id"])


def _creditor(session: Session, position: PaymentPosition, config: dict[str, Any]) -> Any:
    creditor = services.creditor_for(session, position.office, config)
    if creditor is None:
        raise ConnectorUnavailable(f"office {position.office.code} has no pagoPA creditor settings")
    return creditor


def open_on_pagopa(ctx: JobContext) -> dict[str, Any]:
    session = _session()
    try:
        position = _load(session, ctx)
        if position is None or position.status != DRAFTED:
            return {"skipped": position.status if position else "gone"}
        gateway = gateway_for(ctx.config)
        opened = gateway.open_position(
            _creditor(session, position, ctx.config),
            services.request_for(position),
            idempotency_key=ctx.idempotency_key,
        )
        services.apply_opened(session, position, opened, utcnow())
        session.commit()
        return {"notice_number": opened.notice_number}
    finally:
        session.close()


def read_from_pagopa(ctx: JobContext) -> dict[str, Any]:
    session = _session()
    try:
        position = _load(session, ctx)
        if position is None or position.status == DRAFTED:
            return {"skipped": position.status if position else "gone"}
        if position.status != PUBLISHED and not ctx.payload.get("after_payment"):
            return {"skipped": position.status}
        state = gateway_for(ctx.config).read_position(
            _creditor(session, position, ctx.config), position.iupd or "", position.iuv or ""
        )
        services.apply_state(session, position, state, utcnow())
        session.commit()
        return {"status": position.status, "receipts": len(state.receipts)}
    finally:
        session.close()


def cancel_on_pagopa(ctx: JobContext) -> dict[str, Any]:
    session = _session()
    try:
        position = _load(session, ctx)
        if position is None or position.status != PUBLISHED:
            return {"skipped": position.status if position else "gone"}
        state = gateway_for(ctx.config).cancel_position(
            _creditor(session, position, ctx.config), position.iupd or ""
        )
        services.apply_state(session, position, state, utcnow())
        session.commit()
        return {"status": position.status}
    finally:
        session.close()


def complete_paid(ctx: JobContext) -> dict[str, Any]:
    session = _session()
    try:
        position = _load(session, ctx)
        if position is None:
            return {"skipped": "gone"}
        services.complete(session, position, ctx.config)
        session.commit()
        return {"completed": position.purpose, "procedure_id": position.procedure_id}
    finally:
        session.close()


def register() -> None:
    register_handler(services.OPEN_JOB, open_on_pagopa, replace=True)
    register_handler(services.POLL_JOB, read_from_pagopa, replace=True)
    register_handler(services.CANCEL_JOB, cancel_on_pagopa, replace=True)
    register_handler(services.COMPLETE_JOB, complete_paid, replace=True)
