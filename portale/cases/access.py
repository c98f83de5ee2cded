"""Who may open a filed procedure: the clerks of its office, and the company's mandataries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portale.cases.models import Procedure
from portale.dossier.access import NoAccess, get_company_for
from portale.errors import NotFound


def is_clerk_of(user: Any, procedure: Procedure) -> bool:
    # Separation of duties: the administrator role gives no access to procedures; only the
    # clerk role of the procedure's office does (see portale.admin.break_glass for reading).
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.has_role("clerk") and user.office_id == procedure.office_id)


def procedure_for_clerk(session: Session, user: Any, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or not is_clerk_of(user, procedure):
        raise NotFound(procedure_id)
    return procedure


def procedure_for_company(
    session: Session, user: Any, procedure_id: int, *, need: str = "edit"
) -> Procedure:
    """The procedure if ``user`` holds a mandate on its company (``edit`` to act on it)."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or not getattr(user, "is_authenticated", False):
        raise NotFound(procedure_id)
    try:
        get_company_for(session, user, procedure.company_id, need=need)
    except NoAccess:
        raise NotFound(procedure_id) from None
    return procedure
