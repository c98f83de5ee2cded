"""Break-glass: an administrator reads one procedure, for a stated reason, in the open.

Administrators manage accounts, offices and the catalogue; they neither read nor decide
procedures (separation of duties). When one must look at a procedure anyway (a clerk is
absent, a complaint, an incident) they open it here with a reason: that records a
``break_glass_access`` event on the procedure's timeline (the office and the company see who,
when and why), notifies every clerk of the office, and lets that administrator read the
clerk's page of that procedure for ``BREAK_GLASS_MINUTES``. It never lets them act on it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import ROLE_ADMIN, ROLE_CLERK, User, UserRole
from portale.accounts.services import notify
from portale.cases.models import Procedure, ProcedureEvent
from portale.db import utcnow

log = logging.getLogger(__name__)

EVENT_BREAK_GLASS = "break_glass_access"
BREAK_GLASS_MINUTES = 60
MIN_REASON_LENGTH = 15


class BreakGlassRefused(ValueError):
    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def open_break_glass(
    session: Session, admin: User, procedure_id: int, reason: str, *, now: datetime | None = None
) -> Procedure:
    """Record the access, tell the office, and return the procedure; commits."""
    from portale.cases.services import record

    if not admin.has_role(ROLE_ADMIN):
        raise BreakGlassRefused(_l("Solo un amministratore può chiedere l'accesso straordinario."))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise BreakGlassRefused(
            _l("Scrivi il motivo dell'accesso (almeno %(n)s caratteri).", n=MIN_REASON_LENGTH)
        )
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise BreakGlassRefused(_l("Pratica inesistente."))
    now = now or utcnow()
    until = now + timedelta(minutes=BREAK_GLASS_MINUTES)
    record(
        session,
        procedure,
        EVENT_BREAK_GLASS,
        actor_id=admin.id,
        payload={"reason": reason[:1000], "until": until.isoformat()},
        now=now,
    )
    clerks = session.scalars(
        select(User.id).where(
            User.office_id == procedure.office_id,
            User.active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role == ROLE_CLERK)),
        )
    )
    subject = str(
        _l(
            "Accesso straordinario alla pratica %(p)s da parte di %(who)s",
            p=procedure.protocol_label,
            who=admin.full_name,
        )
    )
    for clerk_id in clerks:
        notify(
            session, clerk_id, subject, reason[:4000], link=f"/scrivania/pratiche/{procedure.id}"
        )
    log.warning("break-glass access to procedure %s by user %s: %s", procedure.id, admin.id, reason)
    session.commit()
    return procedure


def has_break_glass(
    session: Session, user: User, procedure: Procedure, *, now: datetime | None = None
) -> bool:
    """Whether ``user`` is an administrator who opened ``procedure`` in the last hour."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(ROLE_ADMIN):
        return False
    since = (now or utcnow()) - timedelta(minutes=BREAK_GLASS_MINUTES)
    found = session.scalar(
        select(ProcedureEvent.id)
        .where(
            ProcedureEvent.procedure_id == procedure.id,
            ProcedureEvent.kind == EVENT_BREAK_GLASS,
            ProcedureEvent.actor_id == user.id,
            ProcedureEvent.at >= since,
        )
        .limit(1)
    )
    return found is not None
