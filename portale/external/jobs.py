"""Outbox jobs that fetch the DURC of a procedure and register a filing in the protocol system.

Both are queued with the filing (:func:`portale.cases.routing.queue_filing_jobs`); they
wait, retrying with backoff, while the service is down or not configured, and record their
result on the procedure's timeline (``durc_checked``, ``protocol_registered``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connectors.base import ConnectorUnavailable, ContributionRegularity, ProtocolRegistry
from portale.cases.models import Procedure, ProcedureEvent
from portale.cases.routing import DURC_JOB, PROTOCOL_JOB
from portale.outbox.services import JobContext, register_handler

PROTOCOL_REGISTERED = "protocol_registered"


def fetch_durc(ctx: JobContext) -> dict[str, Any]:
    from portale.extensions import db
    from portale.external.durc import store_durc
    from portale.procedures.jobs import registry_for

    adapter = registry_for(ctx.config).first("contribution_regularity")
    if not isinstance(adapter, ContributionRegularity):
        raise ConnectorUnavailable("contribution regularity (DURC): connector not configured")
    session = db.session_factory()
    try:
        procedure = session.get(Procedure, ctx.payload["procedure_id"])
        if procedure is None:
            return {"skipped": "procedure gone"}
        tax_code = procedure.company.tax_code
        session.commit()  # no transaction open while the service answers
        result = adapter.check(tax_code)
        certificate = store_durc(session, procedure, result, source=adapter.identifier)
        session.commit()
        return {
            "regular": result.regular,
            "valid_until": result.valid_until.isoformat(),
            "certificate_id": certificate.id,
        }
    finally:
        session.close()


def _protocol_adapter(ctx: JobContext, system: str) -> ProtocolRegistry:
    from portale.procedures.jobs import registry_for

    registry = registry_for(ctx.config)
    enabled = {c.identifier: c for c in registry.enabled("protocol")}
    adapter = enabled.get(system)
    if not isinstance(adapter, ProtocolRegistry):
        raise ConnectorUnavailable(f"protocol system {system!r} is not configured")
    return adapter


def register_filing(ctx: JobContext) -> dict[str, Any]:
    from portale.cases.services import record
    from portale.extensions import db

    system = ctx.payload["system"]
    adapter = _protocol_adapter(ctx, system)
    session = db.session_factory()
    try:
        procedure = session.get(Procedure, ctx.payload["procedure_id"])
        if procedure is None:
            return {"skipped": "procedure gone"}
        company = procedure.company
        request = {
            "office_code": procedure.office.code,
            "subject": f"{procedure.type_version.title} - CUI {procedure.cui_uuid} - "
            f"{procedure.protocol_label}",
            "direction": "incoming",
            "correspondent": f"{company.name} (C.F. {company.tax_code})",
            "documents": [
                {"filename": a.filename, "sha256": a.sha256} for a in procedure.attachments
            ],
        }
        session.commit()
        receipt = adapter.register(**request, idempotency_key=ctx.idempotency_key)
        payload = {
            "system": system,
            "number": receipt.number,
            "date": receipt.registered_at.isoformat(),
        }
        already = session.scalars(
            select(ProcedureEvent.payload).where(
                ProcedureEvent.procedure_id == procedure.id,
                ProcedureEvent.kind == PROTOCOL_REGISTERED,
            )
        ).all()
        if not any((p or {}).get("number") == receipt.number for p in already):
            record(session, procedure, PROTOCOL_REGISTERED, actor_id=None, payload=payload)
            session.commit()
        return payload
    finally:
        session.close()


def register() -> None:
    register_handler(DURC_JOB, fetch_durc, replace=True)
    register_handler(PROTOCOL_JOB, register_filing, replace=True)
