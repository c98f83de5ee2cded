"""The security log: one row per event (kept, searchable by administrators) and one log line."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from portale.accounts.identity_models import SecurityEvent

logger = logging.getLogger("portale.security")


def record(
    session: Session,
    kind: str,
    *,
    user_id: int | None = None,
    tax_code: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> SecurityEvent:
    """Add an event to the session (the caller commits) and write it to the log at once."""
    event = SecurityEvent(
        kind=kind,
        user_id=user_id,
        tax_code=tax_code,
        ip=ip,
        detail={k: str(v)[:500] for k, v in detail.items()} or None,
    )
    session.add(event)
    logger.warning(
        "security event %s user=%s tax_code=%s ip=%s %s", kind, user_id, tax_code, ip, event.detail
    )
    return event
