"""A small, fully known event log for the event-log, open-data and transparency tests.

Everything goes through the real use cases at frozen instants: procedures are filed with
``submit_procedure`` (``now=``), then worked with ``perform``, ``record``,
``request_opinions`` and ``give_opinion``. One SUAP serves Torino and Moncalieri; one
company (with a named legal representative, to prove no personal data leaks) has premises in
both. No tests here; the bulk generator lives on its own branch.

The log (filing dates in 2026, Rome time):

- Torino x ESERCIZIO_VICINATO (AUTORIZZAZIONE, 60 days): six procedures. Five are approved
  after 10, 20, 30, 40 and 70 net days (the last one late); one of them went through an
  integration request (12 days with the company), one through an opinion of an authority.
  The sixth is still open. Enough to publish (>= 5).
- Moncalieri x ESERCIZIO_VICINATO: two procedures, approved after 15 days: too few to publish.
- Torino x SCIA_SOMMINISTRAZIONE (SCIA, 60 days): one procedure, window closed after 60 days.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portale.backoffice import consultations
from portale.cases import services as core
from portale.cases.models import OPINION_FAVOURABLE
from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.factories import (
    AuthorityFactory,
    LocalUnitFactory,
    MandateFactory,
    MunicipalityFactory,
    OfficeFactory,
    RepresentativeFactory,
    UserFactory,
)
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_type, unit_for

TORINO = "001272"
MONCALIERI = "001156"
VICINATO = "ESERCIZIO_VICINATO"
SCIA = "SCIA_SOMMINISTRAZIONE"
START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)

_keys = itertools.count(1)


@dataclass
class EventWorld:
    session: Session
    storage: LocalStorage
    submitter: Any
    clerk: Any
    office: Any
    company: Any
    units: dict[str, Any]
    authority: Any
    procedures: list[Any] = field(default_factory=list)

    def file(self, type_code: str, municipality: str, at: datetime) -> Any:
        """File one procedure of ``type_code`` for the premises in ``municipality`` at ``at``."""
        draft = filing.start_draft(
            self.session,
            actor=self.submitter,
            company_id=self.company.id,
            local_unit_id=self.units[municipality].id,
            type_code=type_code,
        )
        filing.save_draft(self.session, draft.id, actor=self.submitter, answers=VALID_ANSWERS)
        filing.add_attachment(
            self.session,
            self.storage,
            draft.id,
            actor=self.submitter,
            slot="planimetria",
            filename="planimetria.pdf",
            data=PDF,
        )
        procedure = filing.submit_procedure(
            self.session,
            self.storage,
            draft.id,
            actor=self.submitter,
            idempotency_key=f"eventlog-{next(_keys)}",
            now=at,
        )
        self.procedures.append(procedure)
        return procedure

    def take(self, procedure: Any, at: datetime) -> None:
        core.record(self.session, procedure, "assigned", actor_id=self.clerk.id, now=at)
        self.session.commit()

    def act(self, procedure: Any, action: str, at: datetime, *, by: Any = None) -> None:
        actor = by or self.clerk
        core.perform(self.session, procedure, action, actor_id=actor.id, now=at)
        self.session.commit()


def build_world(session: Session, storage_path: Any) -> EventWorld:
    torino = MunicipalityFactory()
    moncalieri = MunicipalityFactory(
        istat_code=MONCALIERI,
        name="Moncalieri",
        cadastral_code="F335",
        is_capital=False,
        patron_month=None,
        patron_day=None,
    )
    office = OfficeFactory(code="SUAPTO")
    office.municipalities.extend([torino, moncalieri])
    submitter = UserFactory(full_name="Giulia Esercente", email="giulia.esercente@esempio.it")
    unit = unit_for(street="Via Garibaldi 10", municipality=TORINO)
    company = unit.company
    other = LocalUnitFactory(company=company, street="Via Roma 3", municipality=MONCALIERI)
    RepresentativeFactory(company=company)
    MandateFactory(company=company, grantee_id=submitter.id)
    clerk = UserFactory(roles=("clerk",), office_id=office.id, full_name="Carlo Istruttore")
    authority = AuthorityFactory(code="ASLTO3")
    session.commit()
    make_type(session, code=VICINATO, regime="AUTORIZZAZIONE", term_days=60)
    make_type(session, code=SCIA, regime="SCIA", term_days=60, title="Somministrazione (SCIA)")
    return EventWorld(
        session=session,
        storage=LocalStorage(storage_path),
        submitter=submitter,
        clerk=clerk,
        office=office,
        company=company,
        units={TORINO: unit, MONCALIERI: other},
        authority=authority,
    )


def day(n: int, hour: int = 0) -> datetime:
    return START + timedelta(days=n, hours=hour)


def build_log(session: Session, storage_path: Any) -> EventWorld:
    """The log described in the module docstring."""
    world = build_world(session, storage_path)
    # Torino, vicinato: approved after 10, 20, 30, 40 and 70 days (no suspension but one)
    for i, days in enumerate((10, 20, 30, 40, 70)):
        filed_at = day(7 * i)
        p = world.file(VICINATO, TORINO, filed_at)
        world.take(p, filed_at + timedelta(hours=2))
        if days == 30:  # integration: 12 days with the company, not counted
            world.act(p, "request_integration", filed_at + timedelta(days=5))
            world.act(p, "integrate", filed_at + timedelta(days=17), by=world.submitter)
            world.act(p, "approve", filed_at + timedelta(days=days + 12))
            continue
        if days == 40:  # an opinion of the ASL, answered in 15 days
            (opinion,) = consultations.request_opinions(
                session,
                p,
                [world.authority.id],
                actor_id=world.clerk.id,
                now=filed_at + timedelta(days=3),
            )
            consultations.give_opinion(
                session,
                opinion.id,
                outcome=OPINION_FAVOURABLE,
                text="Parere favorevole del dott. Mario Rossi",
                actor_id=None,
                now=filed_at + timedelta(days=18),
            )
        world.act(p, "approve", filed_at + timedelta(days=days))
    still_open = world.file(VICINATO, TORINO, day(40))
    world.take(still_open, day(40, 3))
    # Moncalieri, vicinato: two procedures only
    for n in (1, 9):
        p = world.file(VICINATO, MONCALIERI, day(n))
        world.take(p, day(n, 1))
        world.act(p, "approve", day(n + 15))
    # Torino, SCIA
    p = world.file(SCIA, TORINO, day(2))
    world.take(p, day(2, 1))
    world.act(p, "close_window", day(62))
    return world


def personal_data(world):
    """Everything that names a company or a person in the test log."""
    company = world.company
    rep = company.representatives[0] if company.representatives else None
    values = {
        company.name,
        company.tax_code,
        company.vat_number,
        company.pec,
        world.submitter.full_name,
        world.submitter.email,
        world.clerk.full_name,
        world.clerk.email,
        "Mario Rossi",  # in the text of the authority's opinion
        "Via Garibaldi",
    }
    if rep is not None:
        values |= {rep.full_name, rep.tax_code}
    return {v for v in values if v}
