"""The two things payments need of the filed case: its model and recording an event on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portale.cases.models import Procedure, ProcedureEvent


def record_event(
    session: Session,
    procedure: Procedure,
    kind: str,
    *,
    payload: Mapping[str, Any],
    at: datetime,
    actor_id: int | None = None,
) -> None:
    from portale.cases.services import record

    record(session, procedure, kind, actor_id=actor_id, payload=payload, now=at)


__all__ = ["Procedure", "ProcedureEvent", "record_event"]
