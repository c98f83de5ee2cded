"""A filed procedure for back-office tests, filed through the real submission use case.

``file_procedure`` builds a company with premises in Torino, a SUAP serving it with one
clerk, a published procedure type with the regime and terms asked for, and files it at
``now`` (a frozen instant, so terms can be checked to the day). No tests here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.factories import AuthorityFactory, UserFactory
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world


@dataclass
class Filed:
    procedure: Any
    submitter: Any  # the entrepreneur holding the mandate
    clerk: Any  # a clerk of the office serving the premises
    office: Any
    company: Any
    version: Any
    authorities: list[Any]
    storage: LocalStorage


def file_procedure(
    session: Session,
    storage_path: Any,
    *,
    regime: str = "AUTORIZZAZIONE",
    term_days: int | None = 60,
    silent_assent: bool = False,
    control_window_days: int | None = None,
    authorities: int = 0,
    now: datetime | None = None,
    code: str = "ESERCIZIO_VICINATO",
    spec_extra: dict[str, Any] | None = None,
) -> Filed:
    world = make_world(session, regime=regime, term_days=term_days, code=code)
    version = world.version
    version.silent_assent = silent_assent
    version.control_window_days = control_window_days
    created = [AuthorityFactory() for _ in range(authorities)]
    version.spec = {
        **version.spec,
        "authorities": [a.code for a in created],
        **(spec_extra or {}),
    }
    clerk = UserFactory(roles=("clerk",), office_id=world.office.id)
    session.commit()
    storage = LocalStorage(storage_path)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=code,
    )
    filing.save_draft(session, draft.id, actor=world.user, answers=VALID_ANSWERS)
    filing.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="planimetria.pdf",
        data=PDF,
    )
    procedure = filing.submit_procedure(
        session,
        storage,
        draft.id,
        actor=world.user,
        idempotency_key=f"bo-{draft.id}",
        now=now or datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    return Filed(
        procedure=procedure,
        submitter=world.user,
        clerk=clerk,
        office=world.office,
        company=world.company,
        version=version,
        authorities=created,
        storage=storage,
    )
