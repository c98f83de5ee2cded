"""Outbox jobs of the filing area, and the dispatch events they leave on the timeline.

- ``procedures.receipt``: render the receipt, store it, e-mail it to the submitter.
- ``dispatch.authority``: send the procedure to a third-party authority through the adapter
  of its channel (SSU or PEC), passing the job's idempotency key on.
Each status change of a dispatch becomes an event of the procedure (queued, sent, failed and
retrying, given up), so the timeline and the reports see the time spent on the wire.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import AuthorityDispatch, ConnectorUnavailable
from connectors.registry import ConnectorRegistry
from portale.cases.models import Procedure
from portale.cases.routing import DISPATCH_JOB, OPINION_REQUEST_MESSAGE
from portale.clock import lifecycle as lc
from portale.outbox.models import DONE, GIVEN_UP, QUEUED, RETRYING, OutboxJob
from portale.outbox.services import JobContext, on_status_change, register_handler
from portale.procedures.services import RECEIPT_JOB


def render_and_send_receipt(ctx: JobContext) -> dict[str, Any]:
    from portale.extensions import db
    from portale.procedures.receipt import ensure_receipt, mail_receipt
    from portale.storage import storage_from_config

    session = db.session_factory()
    try:
        procedure = session.get(Procedure, ctx.payload["procedure_id"])
        if procedure is None:
            return {"skipped": "procedure gone"}
        pdf = ensure_receipt(session, storage_from_config(ctx.config), procedure)
        mail_receipt(procedure, pdf, ctx.config)
        return {"bytes": len(pdf), "mailed_to": procedure.submitter.email}
    finally:
        session.close()


@lru_cache(maxsize=8)
def _registry(settings_key: str) -> ConnectorRegistry:
    import json

    registry = ConnectorRegistry()
    registry.load_entry_points()
    settings = json.loads(settings_key)
    if settings.get("connectors"):
        registry.configure(settings["connectors"])
    else:
        registry.configure_from_env(settings["env"])
    return registry


def registry_for(config: dict[str, Any]) -> ConnectorRegistry:
    import json

    key = json.dumps(
        {"connectors": config.get("CONNECTORS") or {}, "env": config.get("CONNECTOR_ENV") or {}},
        sort_keys=True,
    )
    return _registry(key)


def _dispatch_adapter(ctx: JobContext, authority: Any) -> AuthorityDispatch:
    channel = authority.channel
    registry = registry_for(ctx.config)
    adapter = registry.get(channel) if channel in registry.identifiers() else None
    if (
        adapter is None
        or not isinstance(adapter, AuthorityDispatch)
        or adapter not in registry.enabled("authority_dispatch")
    ):
        # Waits (and shows as failing to the administrator) until the channel is configured.
        raise ConnectorUnavailable(f"channel {channel!r} for {authority.code} is not configured")
    return adapter


def _opinion_request(session: Session, opinion_id: int | None) -> dict[str, Any] | None:
    from portale.cases.models import OpinionRequest

    opinion = session.get(OpinionRequest, opinion_id) if opinion_id else None
    if opinion is None:
        return None
    return {
        "kind": "opinion_request",
        "opinion_id": opinion.id,
        "question": opinion.question or "",
        "due_on": opinion.due_on.isoformat(),
    }


def send_to_authority(ctx: JobContext) -> dict[str, Any]:
    """Send a procedure (``send_instance``), an opinion request or a notice to an authority.

    An opinion request travels as the instance itself with the question and due date (on SSU
    the authority answers with ``send_conclusions``). After an SSU ``retry`` the job runs
    again with a new key, because the authority asked for the message to be delivered again.
    """
    from portale.accounts.models import Authority
    from portale.cases.ssu import instance_descriptor
    from portale.extensions import db

    session = db.session_factory()
    try:
        procedure = session.get(Procedure, ctx.payload["procedure_id"])
        authority = session.query(Authority).filter_by(code=ctx.payload["authority"]).one_or_none()
        if procedure is None or authority is None:
            return {"skipped": "procedure or authority gone"}
        adapter = _dispatch_adapter(ctx, authority)
        message = ctx.payload.get("message", "send_instance")
        key = ctx.idempotency_key
        if ctx.payload.get("retransmission"):
            key = f"{key}:retransmission:{ctx.payload['retransmission']}"
        descriptor = instance_descriptor(procedure)
        if message == "notify":
            receipt = adapter.notify(
                descriptor["cui"],
                {
                    **(ctx.payload.get("event") or {}),
                    **_outcome_resource(session, procedure, ctx.payload.get("event") or {}),
                    "endpoint": authority.ssu_endpoint,
                    "pec": authority.pec,
                    "public_key": authority.ssu_public_key,
                    "client_id": authority.ssu_client_id,
                },
                idempotency_key=key,
            )
        else:
            instance = {
                "descriptor": descriptor,
                "authority": {
                    "code": authority.code,
                    "pec": authority.pec,
                    "endpoint": authority.ssu_endpoint,
                    "public_key": authority.ssu_public_key,
                    "client_id": authority.ssu_client_id,
                },
                "manifest": manifest(procedure),
                "documents": documents(procedure, ctx.config),
            }
            if message == OPINION_REQUEST_MESSAGE:
                instance["request"] = _opinion_request(session, ctx.payload.get("opinion_id"))
            receipt = adapter.send_instance(instance, idempotency_key=key)
        return {"accepted": receipt.accepted, "reference": receipt.reference, "message": message}
    finally:
        session.close()


def _outcome_resource(
    session: Session, procedure: Procedure, event: dict[str, Any]
) -> dict[str, Any]:
    """The act an outcome notice refers to, as an SSU resource the authority can fetch."""
    from portale.cases.act_models import Act
    from portale.cases.services import SSU_OUTCOME_EVENTS

    if event.get("event") not in SSU_OUTCOME_EVENTS:
        return {}
    act = session.scalar(
        select(Act).where(Act.procedure_id == procedure.id).order_by(Act.id.desc()).limit(1)
    )
    if act is None:
        # A SCIA whose control window closed with no decision has no act; a decision's act is
        # committed with the decision, so it is there by the time this job runs.
        return {}
    return {"resource_id": f"act-{act.id}", "hash": act.sha256, "alg_hash": "S256"}


def manifest(procedure: Procedure) -> dict[str, Any]:
    """What an authority needs to read the procedure: who, what, the answers by label."""
    labels = {
        f["name"]: f.get("label", f["name"])
        for f in (procedure.type_version.spec or {}).get("fields", [])
    }
    return {
        "cui": procedure.cui_uuid,
        "protocol": procedure.protocol_label,
        "type_code": procedure.type_code,
        "regime": procedure.regime,
        "title": procedure.type_version.title,
        "received_on": procedure.received_on.isoformat() if procedure.received_on else "",
        "company": {
            "tax_code": procedure.company.tax_code,
            "name": procedure.company.name,
            "pec": procedure.company.pec,
        },
        "answers": [
            {"name": name, "label": labels.get(name, name), "value": value}
            for name, value in (procedure.answers or {}).items()
        ],
    }


def documents(procedure: Procedure, config: dict[str, Any]) -> list[dict[str, Any]]:
    from portale.storage import storage_from_config

    storage = storage_from_config(config)
    return [
        {
            "filename": a.filename,
            "slot": a.slot,
            "mime_type": a.mime_type,
            "content": storage.read(a.storage_key),
            "sha256": a.sha256,
            # What the authority asks for at /instance/{cui_uuid}/document/{resource_id}.
            "resource_id": f"att-{a.id}",
        }
        for a in procedure.attachments
    ]


_EVENT_OF_STATUS = {
    QUEUED: lc.DISPATCH_QUEUED,
    DONE: lc.DISPATCH_SENT,
    RETRYING: lc.DISPATCH_FAILED,
    GIVEN_UP: lc.DISPATCH_GIVEN_UP,
}


def record_dispatch_event(session: Session, job: OutboxJob, old_status: str) -> None:
    if job.handler != DISPATCH_JOB or job.procedure_id is None or job.status == old_status:
        return
    kind = _EVENT_OF_STATUS.get(job.status)
    if kind is None:
        return
    from portale.cases.services import record

    procedure = session.get(Procedure, job.procedure_id)
    if procedure is None:
        return
    record(
        session,
        procedure,
        kind,
        actor_id=None,
        payload={
            "authority": (job.payload or {}).get("authority"),
            "message": (job.payload or {}).get("message", "send_instance"),
            "channel": job.connector,
            "attempt": job.attempts,
            "error": job.last_error if job.status != DONE else None,
        },
    )


def register() -> None:
    register_handler(RECEIPT_JOB, render_and_send_receipt, replace=True)
    register_handler(DISPATCH_JOB, send_to_authority, replace=True)
    on_status_change(record_dispatch_event)
