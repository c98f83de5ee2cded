"""Outbox jobs of the filing area: render the receipt, store it, e-mail it to the submitter."""

from __future__ import annotations

from typing import Any

from portale.outbox.services import JobContext, register_handler
from portale.procedures.models import Procedure
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


def register() -> None:
    register_handler(RECEIPT_JOB, render_and_send_receipt, replace=True)
