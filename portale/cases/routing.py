"""Routing: where a filed procedure goes. The competent office serves the premises'
municipality; the authorities to consult come from the catalogue, unless a routing rule
(procedure type x municipality) says otherwise. Each dispatch to an authority is an outbox
job written with the filing, so a failing system never loses a submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portale.accounts.models import Authority, Office
from portale.db import Base
from portale.outbox.services import enqueue

# The dispatch job's message asking an authority for its opinion (the others: the instance
# itself, ``notify``).
OPINION_REQUEST_MESSAGE = "opinion_request"

DISPATCH_JOB = "dispatch.authority"


def dispatch_order(procedure: Any, authority_code: str) -> str:
    """The outbox ordering key of the messages of one instance to one authority: a notice
    never overtakes the ``send_instance`` queued before it, other instances never wait."""
    return f"dispatch:{procedure.cui_uuid}:{authority_code}"


class RoutingRule(Base):
    """An exception to the default routing, for one procedure type, in one or all municipalities."""

    __tablename__ = "routing_rule"
    __table_args__ = (UniqueConstraint("type_code", "municipality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_code: Mapped[str] = mapped_column(String(64), index=True)
    municipality: Mapped[str | None] = mapped_column(ForeignKey("municipality.istat_code"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    authorities: Mapped[list[str] | None] = mapped_column(JSON)


@dataclass(frozen=True)
class Route:
    office_id: int | None
    authorities: tuple[Authority, ...]
    rule_id: int | None = None


def route(
    session: Session,
    *,
    type_code: str,
    spec: dict[str, Any],
    municipality: str,
    default_office_id: int | None,
) -> Route:
    rule = session.scalar(
        select(RoutingRule)
        .where(
            RoutingRule.type_code == type_code,
            or_(RoutingRule.municipality == municipality, RoutingRule.municipality.is_(None)),
        )
        # A rule for the municipality wins over the type's general rule.
        .order_by(RoutingRule.municipality.is_(None))
        .limit(1)
    )
    codes = list(spec.get("authorities") or [])
    office_id = default_office_id
    if rule is not None:
        if rule.authorities is not None:
            codes = list(rule.authorities)
        office_id = rule.office_id or office_id
    authorities = (
        tuple(
            session.scalars(
                select(Authority)
                .where(Authority.code.in_(codes), Authority.active.is_(True))
                .order_by(Authority.code)
            )
        )
        if codes
        else ()
    )
    return Route(office_id, authorities, rule.id if rule else None)


DURC_JOB = "durc.check"
PROTOCOL_JOB = "protocol.register"


def queue_dispatches(session: Session, procedure: Any, authorities: tuple[Authority, ...]) -> None:
    """One job per authority, in the caller's transaction; the key makes a retry send nothing twice.

    With them go the filing's other calls outward: the registration in the office's protocol
    system when it has one, and the DURC check when the procedure type asks for it.
    """
    queue_filing_jobs(session, procedure)
    for authority in authorities:
        enqueue(
            session,
            DISPATCH_JOB,
            {"procedure_id": procedure.id, "authority": authority.code},
            idempotency_key=f"dispatch:{procedure.cui_uuid}:{authority.code}:send_instance",
            connector=authority.channel,
            procedure_id=procedure.id,
            ordering_key=dispatch_order(procedure, authority.code),
        )


def queue_filing_jobs(session: Session, procedure: Any) -> None:
    spec = procedure.type_version.spec or {}
    if spec.get("durc"):
        enqueue(
            session,
            DURC_JOB,
            {"procedure_id": procedure.id},
            idempotency_key=f"durc:{procedure.cui_uuid}",
            connector="durc",
            procedure_id=procedure.id,
        )
    office = session.get(Office, procedure.office_id)
    system = office.protocol_system if office is not None else None
    if system:
        enqueue(
            session,
            PROTOCOL_JOB,
            {"procedure_id": procedure.id, "system": system},
            idempotency_key=f"protocol:{system}:{procedure.cui_uuid}",
            connector=system,
            procedure_id=procedure.id,
        )
