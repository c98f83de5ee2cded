"""Demo data of the programme: two targets on the generated data set and three proposals.

The targets are set on the two busiest procedure types of the data set, with thresholds read
off its own figures so that one is on track and one at risk whatever the generator's seed: the
demo shows both states. The proposals go through the real lifecycle (filed by the demo trade
association, moved by the demo analyst); the one in force went into force six months ago, so
its before/after is measured on the data. Idempotent: nothing is added when targets exist.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.accounts.models import User
from portale.cases.models import ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.programme import proposals, targets
from portale.programme.models import ACCEPTED, IN_FORCE, UNDER_REVIEW, Target


def busiest_types(session: Session, today: date, count: int = 2) -> list[str]:
    S = ProcedureSummary
    rows = session.execute(
        select(S.type_code, func.count())
        .where(
            S.decided_on.is_not(None),
            S.received_on >= today - timedelta(days=730),
            # a SCIA's days are its fixed control window: nothing for a target to move
            S.regime.in_(("AUTORIZZAZIONE", "SILENZIO-ASSENSO")),
        )
        .group_by(S.type_code)
        .order_by(func.count().desc(), S.type_code)
        .limit(count)
    ).all()
    return [code for code, _n in rows]


def _set_threshold(session: Session, target: Target, today: date, *, on_track: bool) -> None:
    """A day threshold above (on track) or well below (at risk) what the trend reaches."""
    found = targets.progress(session, target, today=today).overall
    now = found.now.value if found.now else None
    reference = [v for v in (now, found.projection) if v is not None]
    if not reference:
        return
    if on_track:
        target.threshold = float(math.ceil(max(reference) * 1.15))
    else:
        target.threshold = max(1.0, math.floor(min(reference) / 2))
    session.commit()


def load_demo_programme(session: Session, analyst: User, stakeholder: User, today: date) -> None:
    if session.scalar(select(func.count()).select_from(Target)):
        return
    codes = busiest_types(session, today)
    if len(codes) < 2:
        return  # no generated data set: nothing to measure
    titles = dict(session.execute(select(ProcedureType.code, ProcedureType.title)).all())
    baseline_start = date(today.year - 2, 1, 1)
    baseline_end = date(today.year - 2, 12, 31)
    due = date(today.year + 1, 6, 30)
    first = targets.save_target(
        session,
        None,
        actor_id=analyst.id,
        title=f"{titles.get(codes[0], codes[0])}: mediana dei giorni netti entro la soglia",
        type_code=codes[0],
        measure="median_net",
        threshold=20.0,
        each_office=False,
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        due_on=due,
        notes="Patto metropolitano per la semplificazione (dati dimostrativi).",
    )
    _set_threshold(session, first, today, on_track=True)
    second = targets.save_target(
        session,
        None,
        actor_id=analyst.id,
        title=f"{titles.get(codes[1], codes[1])}: nove pratiche su dieci entro la soglia",
        type_code=codes[1],
        measure="p90_net",
        threshold=20.0,
        each_office=False,
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        due_on=due,
        notes="Patto metropolitano per la semplificazione (dati dimostrativi).",
    )
    _set_threshold(session, second, today, on_track=False)

    proposals.file_proposal(
        session,
        stakeholder,
        title="Un solo parere congiunto di ASL e Vigili del fuoco",
        body=(
            "Per i locali di somministrazione ASL e Vigili del fuoco chiedono integrazioni "
            "diverse sugli stessi elaborati. Proponiamo un parere congiunto in conferenza "
            "semplificata."
        ),
        type_codes=codes[:1],
        steps=["authority"],
    )
    reviewed = proposals.file_proposal(
        session,
        stakeholder,
        title="Non chiedere di nuovo la planimetria già depositata",
        body=(
            "La planimetria dei locali è già agli atti del Comune dalla pratica edilizia: "
            "chiederla di nuovo genera la maggior parte delle integrazioni."
        ),
        type_codes=codes[1:2],
        steps=["company"],
    )
    proposals.change_status(session, reviewed, analyst, UNDER_REVIEW, note="In istruttoria.")
    proposals.add_comment(
        session, reviewed, analyst, "Le integrazioni per pratica confermano il problema."
    )
    in_force = proposals.file_proposal(
        session,
        analyst,
        title="Modulo unico per le integrazioni",
        body="Una sola richiesta di integrazione con l'elenco completo di quanto manca.",
        type_codes=codes[:1],
        steps=["company", "office"],
    )
    proposals.change_status(session, in_force, analyst, UNDER_REVIEW)
    proposals.change_status(session, in_force, analyst, ACCEPTED)
    proposals.change_status(
        session,
        in_force,
        analyst,
        IN_FORCE,
        note="Nuova versione del catalogo pubblicata.",
        in_force_on=today - timedelta(days=180),
        today=today,
    )
