"""A small, known data set for the report tests, built through the real services.

Two municipalities with their SUAP, three procedure types (SCIA, authorisation, silent assent),
three authorities, one of which (the fire brigade) is deliberately slow: it answers in 40 to
70 days on a 30-day term, or not at all. About fifty procedures are filed over a year with
``submit_procedure`` and worked with ``perform``, ``record``, ``request_opinions`` and
``give_opinion``, each at a frozen instant (``now=`` and ``time_machine``, so the dispatch
events the outbox writes carry the same clock). Half fall in :data:`PERIOD`, half in the
period before it, so trends have something to compare. No tests here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy.orm import Session

from portale.backoffice import consultations
from portale.cases import services as core
from portale.cases.models import OPINION_FAVOURABLE, OPINION_FAVOURABLE_WITH_CONDITIONS
from portale.clock import lifecycle as lc
from portale.procedures import services as filing
from portale.reports.filters import ReportFilter
from portale.storage import LocalStorage
from tests.factories import (
    AuthorityFactory,
    LocalUnitFactory,
    MandateFactory,
    MunicipalityFactory,
    OfficeFactory,
    UserFactory,
)
from tests.integration.test_procedures_support import PDF, SPEC, VALID_ANSWERS, make_type, unit_for

PERIOD = ReportFilter(start=date(2026, 5, 1), end=date(2026, 10, 31))
AS_OF = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
FIRST_FILING = date(2025, 11, 3)

SCIA = "ESERCIZIO_VICINATO"
AUTH = "AUTORIZZAZIONE_SANITARIA"
SILENT = "DEHORS_STAGIONALE"
TYPES = {
    SCIA: ("SCIA", 60, False, "Apertura di un esercizio di vicinato"),
    AUTH: ("AUTORIZZAZIONE", 45, False, "Autorizzazione sanitaria"),
    SILENT: ("SILENZIO-ASSENSO", 30, True, "Dehors stagionale"),
}
OPINION_TERM = 30
# days an authority takes to answer: (low, high)
DELAYS = {"ASLTO": (3, 20), "VVFTO": (40, 70), "ARPA": (2, 8)}


@dataclass
class ReportWorld:
    offices: dict[str, Any]  # municipality ISTAT code -> office
    municipalities: list[str]
    authorities: dict[str, Any]  # code -> authority
    slow: Any  # the authority the ranking must name first
    procedures: list[Any] = field(default_factory=list)

    @property
    def period(self) -> ReportFilter:
        return PERIOD


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


class _Builder:
    def __init__(self, session: Session, storage_path: Any, seed: int) -> None:
        self.session = session
        self.storage = LocalStorage(storage_path)
        self.rng = random.Random(seed)
        self.keys = 0

    def world(self) -> ReportWorld:
        torino = MunicipalityFactory()
        moncalieri = MunicipalityFactory(
            istat_code="001156", name="Moncalieri", cadastral_code="F335", is_capital=False
        )
        offices = {}
        for town, code in ((torino, "SUAPTO"), (moncalieri, "SUAPMO")):
            office = OfficeFactory(code=code, name=f"SUAP di {town.name}")
            office.municipalities.append(town)
            offices[town.istat_code] = office
        self.session.commit()
        authorities = {
            code: AuthorityFactory(code=code, name=name)
            for code, name in (
                ("ASLTO", "ASL Città di Torino"),
                ("VVFTO", "Vigili del Fuoco - Comando di Torino"),
                ("ARPA", "ARPA Piemonte"),
            )
        }
        for code, (regime, term, silent, title) in TYPES.items():
            spec = {**SPEC, "authorities": ["ARPA"] if code == AUTH else []}
            version = make_type(
                self.session, code=code, regime=regime, term_days=term, spec=spec, title=title
            )
            version.silent_assent = silent
        self.user = UserFactory()
        unit = unit_for(street="Via Garibaldi 10")
        self.units = {
            torino.istat_code: unit,
            moncalieri.istat_code: LocalUnitFactory(
                company=unit.company, municipality=moncalieri.istat_code, street="Via Roma 3"
            ),
        }
        MandateFactory(company=unit.company, grantee_id=self.user.id)
        self.clerk = UserFactory(roles=("clerk",))
        self.session.commit()
        return ReportWorld(
            offices=offices,
            municipalities=[torino.istat_code, moncalieri.istat_code],
            authorities=authorities,
            slow=authorities["VVFTO"],
        )

    def file(self, code: str, municipality: str, when: datetime) -> Any:
        unit = self.units[municipality]
        self.keys += 1
        with time_machine.travel(when, tick=False):
            draft = filing.start_draft(
                self.session,
                actor=self.user,
                company_id=unit.company_id,
                local_unit_id=unit.id,
                type_code=code,
            )
            filing.save_draft(self.session, draft.id, actor=self.user, answers=VALID_ANSWERS)
            filing.add_attachment(
                self.session,
                self.storage,
                draft.id,
                actor=self.user,
                slot="planimetria",
                filename="planimetria.pdf",
                data=PDF,
            )
            return filing.submit_procedure(
                self.session,
                self.storage,
                draft.id,
                actor=self.user,
                idempotency_key=f"report-{self.keys}",
                now=when,
            )

    def act(self, procedure: Any, action: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            core.perform(self.session, procedure, action, actor_id=self.clerk.id, now=when)
            self.session.commit()

    def sent(self, procedure: Any, authority: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            core.record(
                self.session,
                procedure,
                lc.DISPATCH_SENT,
                actor_id=None,
                payload={"authority": authority},
                now=when,
            )
            self.session.commit()

    def consult(self, procedure: Any, authorities: list[Any], when: datetime) -> list[Any]:
        """Ask for opinions; the wire delivers each request two hours later."""
        with time_machine.travel(when, tick=False):
            asked = consultations.request_opinions(
                self.session,
                procedure,
                [a.id for a in authorities],
                actor_id=self.clerk.id,
                term_days=OPINION_TERM,
                now=when,
            )
        for authority in authorities:
            self.sent(procedure, authority.code, when + timedelta(hours=2))
        return asked

    def answer(self, opinion: Any, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            consultations.give_opinion(
                self.session,
                opinion.id,
                outcome=self.rng.choice((OPINION_FAVOURABLE, OPINION_FAVOURABLE_WITH_CONDITIONS)),
                text="Parere",
                actor_id=None,
                now=when,
            )

    def case(self, world: ReportWorld, filed_on: date) -> Any:
        rng = self.rng
        code = rng.choice((SCIA, AUTH, AUTH, SILENT))
        municipality = rng.choice(world.municipalities)
        filed_at = _at(filed_on)
        procedure = self.file(code, municipality, filed_at)
        if code == AUTH:  # dispatched to ARPA at filing: some hours on the wire
            self.sent(procedure, "ARPA", filed_at + timedelta(hours=rng.randint(1, 30)))
        cursor = filed_at + timedelta(days=2)
        if rng.random() < 0.35:
            self.act(procedure, "request_integration", cursor)
            cursor += timedelta(days=rng.randint(3, 25))
            self.act(procedure, "integrate", cursor)
        if code != SCIA and rng.random() < 0.8:
            cursor = self._opinions(world, procedure, cursor + timedelta(days=1))
        self._decide(procedure, code, filed_at, cursor)
        world.procedures.append(procedure)
        return procedure

    def _opinions(self, world: ReportWorld, procedure: Any, when: datetime) -> datetime:
        chosen = [world.slow] if self.rng.random() < 0.85 else []
        chosen += [
            a for c, a in world.authorities.items() if c != "VVFTO" and self.rng.random() < 0.6
        ]
        if not chosen:
            chosen = [world.authorities["ASLTO"]]
        asked = self.consult(procedure, chosen, when)
        last = when
        for opinion in asked:
            low, high = DELAYS[opinion.authority.code]
            answered = when + timedelta(days=self.rng.randint(low, high), hours=3)
            if answered >= AS_OF or (
                opinion.authority.code == world.slow.code and self.rng.random() < 0.15
            ):
                continue  # never answered: still open at AS_OF, the decision waits
            self.answer(opinion, answered)
            last = max(last, answered)
        return last

    def _decide(self, procedure: Any, code: str, filed_at: datetime, ready: datetime) -> None:
        if any(o.answered_at is None for o in _opinions_of(self.session, procedure)):
            return  # waiting for an authority
        roll = self.rng.random()
        if roll < 0.15:
            return  # left open: some of these end up overdue
        when = ready + timedelta(days=self.rng.randint(1, 12), hours=2)
        if code == SILENT and roll < 0.45:
            action, when = "silent_assent", filed_at + timedelta(days=31, hours=1)
            when = max(when, ready + timedelta(hours=1))
        elif code in (SILENT, AUTH):
            action = "approve" if roll < 0.9 else "reject"
        else:
            action = "close_window"
        if when >= AS_OF:
            return
        self.act(procedure, action, when)


def _opinions_of(session: Session, procedure: Any) -> list[Any]:
    from sqlalchemy import select

    from portale.cases.models import OpinionRequest

    return list(
        session.scalars(select(OpinionRequest).where(OpinionRequest.procedure_id == procedure.id))
    )


def build_report_data(
    session: Session, storage_path: Any, *, procedures: int = 48, seed: int = 11
) -> ReportWorld:
    """File ``procedures`` procedures spread evenly from :data:`FIRST_FILING` to the end of
    :data:`PERIOD`, and work them as described in the module docstring."""
    builder = _Builder(session, storage_path, seed)
    world = builder.world()
    span = (PERIOD.end - FIRST_FILING).days
    for i in range(procedures):
        builder.case(world, FIRST_FILING + timedelta(days=span * i // procedures))
    return world
