"""Telling people what happened: an in-portal notification and the same text by e-mail.

The e-mail leaves through the outbox (job :data:`MAIL_JOB`), written in the caller's
transaction: a failing mail server delays the message, it never loses it or the action.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from portale.accounts.models import Notification, User
from portale.cases.models import Procedure
from portale.outbox.services import JobContext, enqueue, register_handler

MAIL_JOB = "mail.notification"


def notify_people(
    session: Session,
    user_ids: Iterable[int],
    *,
    subject: str,
    body: str,
    link: str | None = None,
    procedure_id: int | None = None,
) -> list[Notification]:
    """One notification per person (each once), plus an e-mail job. Does not commit."""
    notes = []
    for user_id in dict.fromkeys(user_ids):
        note = Notification(user_id=user_id, subject=subject[:300], body=body[:4000], link=link)
        session.add(note)
        session.flush()
        notes.append(note)
        enqueue(
            session,
            MAIL_JOB,
            {"notification_id": note.id},
            idempotency_key=f"mail:notification:{note.id}",
            procedure_id=procedure_id,
        )
    return notes


def send_notification_mail(ctx: JobContext) -> dict[str, Any]:
    from portale import mail
    from portale.extensions import db

    session = db.session_factory()
    try:
        note = session.get(Notification, ctx.payload["notification_id"])
        if note is None:
            return {"skipped": "notification gone"}
        user = session.get(User, note.user_id)
        if user is None or not user.active:
            return {"skipped": "no active recipient"}
        body = note.body
        if note.link:
            body += "\n\n" + ctx.config.get("BASE_URL", "").rstrip("/") + note.link
        mail.send(mail.MailMessage(to=(user.email,), subject=note.subject, body=body), ctx.config)
        return {"mailed_to": user.email}
    finally:
        session.close()


def register() -> None:
    register_handler(MAIL_JOB, send_notification_mail, replace=True)


def people_of_company(procedure: Procedure) -> list[int]:
    return [procedure.submitter_id]


def clerks_to_tell(procedure: Procedure) -> list[int]:
    return [procedure.assignee_id] if procedure.assignee_id else []


def _link(procedure: Procedure) -> str:
    return f"/pratiche/{procedure.id}"


def notify_company(procedure: Procedure, session: Session, subject: Any, body: Any) -> None:
    notify_people(
        session,
        people_of_company(procedure),
        subject=f"{subject} — {procedure.protocol_label}",
        body=str(body),
        link=_link(procedure),
        procedure_id=procedure.id,
    )


def notify_clerks(procedure: Procedure, session: Session, subject: Any, body: Any) -> None:
    ids = clerks_to_tell(procedure)
    if ids:
        notify_people(
            session,
            ids,
            subject=f"{subject} — {procedure.protocol_label}",
            body=str(body),
            link=f"/scrivania/pratiche/{procedure.id}",
            procedure_id=procedure.id,
        )
