"""Scheduled back-office jobs: silent assent, end of the SCIA control window, expired requests.

:func:`tick` is what ``portale backoffice tick`` (cron) and the embedded worker run. Each step
selects its candidates with an indexed query on the cached state and last day, checks each with
the clock computed from the events as of ``now``, and acts through the same use cases as a
clerk. Running it twice changes nothing: an acted-on procedure is no longer a candidate.

- silent assent: an open ``SILENZIO-ASSENSO`` procedure whose last day has passed, with no
  suspension running, ends as ``ended_by_proceeding_time_expired``; the company is told and can
  ask for the certificate;
- SCIA: an open SCIA whose control window has passed closes itself (``close_window``);
- a SCIA conformation not answered by its term: the activity is prohibited (art. 19 c. 3);
- an integration not answered by its term: ``ended_by_integration_times_expired``;
- the stored last day of procedures whose clock moves with time (a running suspension, or
  one that ended with no event, as a 10-bis notice does) is rewritten, so the worklist's
  filters and the reports read the truth;
- the time the authorities had to ask for integrations (``max_gg_int_req`` of the type's SSU
  times) is over: each authority involved is told ``integration_request_time_expired``, as the
  sequence diagrams show (once per authority: the notice's key).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.backoffice import decisions
from portale.cases import notify
from portale.cases import requests as case_requests
from portale.cases import services as core
from portale.cases.models import Procedure
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.storage import AbstractStorage

log = logging.getLogger(__name__)
SYSTEM_ACTOR = None


def _candidates(session: Session, regime: str | None, states: Any, today: Any) -> list[int]:
    query = select(Procedure.id).where(Procedure.state.in_(tuple(states)))
    if regime is not None:
        query = query.where(Procedure.regime == regime)
    if today is not None:
        query = query.where(Procedure.last_day.is_not(None), Procedure.last_day < today)
    return list(session.scalars(query.order_by(Procedure.id)))


def _silent_assent(session: Session, procedure: Procedure, now: datetime) -> bool:
    clock = core.clock_of(session, procedure, now)
    if clock.suspended_now or clock.last_day is None or local_date(now) <= clock.last_day:
        core.refresh(session, procedure, now)
        session.commit()
        return False
    core.perform(
        session,
        procedure,
        "silent_assent",
        actor_id=SYSTEM_ACTOR,
        payload={"last_day": clock.last_day.isoformat(), "automatic": True},
        now=now,
    )
    notify.notify_company(
        procedure,
        session,
        _l("Silenzio assenso"),
        _l(
            "Il termine del procedimento è scaduto il %(date)s senza un provvedimento: la "
            "domanda si intende accolta (silenzio assenso). Puoi scaricare l'attestazione dalla "
            "pagina della pratica.",
            date=clock.last_day.strftime("%d/%m/%Y"),
        ),
    )
    session.commit()
    return True


def _close_window(session: Session, procedure: Procedure, now: datetime) -> bool:
    clock = core.clock_of(session, procedure, now)
    if clock.suspended_now or clock.last_day is None or local_date(now) <= clock.last_day:
        core.refresh(session, procedure, now)
        session.commit()
        return False
    core.record(
        session,
        procedure,
        lc.SCIA_WINDOW_CLOSED,
        actor_id=SYSTEM_ACTOR,
        payload={"last_day": clock.last_day.isoformat()},
        now=now,
    )
    core.perform(session, procedure, "close_window", actor_id=SYSTEM_ACTOR, now=now)
    notify.notify_company(
        procedure,
        session,
        _l("Controlli sulla SCIA conclusi"),
        _l("Il periodo di controllo della SCIA si è chiuso senza provvedimenti."),
    )
    session.commit()
    return True


def _expired_request(session: Session, procedure: Procedure, now: datetime) -> Any:
    pending = case_requests.pending_request(session, procedure)
    if pending is None or not pending.expired(local_date(now)):
        return None
    return pending


def _expire_integration(session: Session, procedure: Procedure, now: datetime) -> bool:
    pending = _expired_request(session, procedure, now)
    if pending is None:
        return False
    core.perform(
        session,
        procedure,
        "expire_integration",
        actor_id=SYSTEM_ACTOR,
        payload={"respond_by": pending.respond_by.isoformat(), "automatic": True},
        now=now,
    )
    notify.notify_company(
        procedure,
        session,
        _l("Integrazione non pervenuta"),
        _l(
            "L'integrazione richiesta non è pervenuta entro il %(date)s: la pratica è conclusa.",
            date=pending.respond_by.strftime("%d/%m/%Y"),
        ),
    )
    session.commit()
    return True


def _expire_conformation(
    session: Session, storage: AbstractStorage, procedure: Procedure, now: datetime
) -> bool:
    pending = _expired_request(session, procedure, now)
    if pending is None:
        return False
    decisions.prohibit(
        session,
        storage,
        procedure,
        actor=None,
        motivation=str(
            _l(
                "L'impresa non si è conformata entro il %(date)s: l'attività si intende vietata "
                "(art. 19 c. 3 L. 241/1990).",
                date=pending.respond_by.strftime("%d/%m/%Y"),
            )
        ),
        now=now,
        automatic=True,
    )
    return True


# How far back the integration-request window is looked for: a tick that did not run for a
# week still catches up; older windows were closed by earlier ticks.
CATCH_UP_DAYS = 7


def _integration_request_windows(session: Session, today: date) -> int:
    """Queue ``integration_request_time_expired`` for procedures whose window closed."""
    from portale.catalogue.models import ProcedureTypeVersion

    sent = 0
    for version in session.scalars(select(ProcedureTypeVersion)):
        days = ((version.spec or {}).get("times") or {}).get("max_gg_int_req")
        if not days:
            continue
        closed_by = today - timedelta(days=int(days))
        candidates = session.scalars(
            select(Procedure)
            .where(
                Procedure.type_version_id == version.id,
                Procedure.state.not_in(tuple(lc.FINAL_STATES)),
                Procedure.received_on < closed_by,
                Procedure.received_on >= closed_by - timedelta(days=CATCH_UP_DAYS),
            )
            .order_by(Procedure.id)
        )
        for procedure in candidates:
            authorities = core.involved_authorities(session, procedure)
            notice = {
                "event": core.INTEGRATION_REQUEST_TIME_EXPIRED,
                "text": str(_l("Il termine per chiedere integrazioni è scaduto.")),
            }
            sent += core.queue_notice(
                session, procedure, authorities, notice, key=core.INTEGRATION_REQUEST_TIME_EXPIRED
            )
    session.commit()
    return sent


# Open procedures whose clock moves with time alone: a suspension running (integration,
# correction, notice of reasons for refusal) or ended with no event since (the 10-bis notice
# ends ten days after the observations, or when the days for them pass; an integration stops
# suspending at its cap). Their stored last day is rewritten on each tick.
MOVING_STATES = (lc.INTEGRATION_REQUESTED, lc.CORRECTION_REQUESTED)


# A 10-bis suspension lasts at most the 10 days for observations and 10 more after them.
NOTICE_MOVES_DAYS = 30


def _moving_clocks(session: Session, now: datetime) -> list[int]:
    from portale.cases.models import ProcedureEvent

    notice = (
        select(ProcedureEvent.id)
        .where(
            ProcedureEvent.procedure_id == Procedure.id,
            ProcedureEvent.kind == lc.REFUSAL_NOTICE_SENT,
            ProcedureEvent.at >= now - timedelta(days=NOTICE_MOVES_DAYS),
        )
        .exists()
    )
    query = select(Procedure.id).where(
        Procedure.state.not_in(tuple(lc.FINAL_STATES)),
        Procedure.state.in_(MOVING_STATES) | notice,
    )
    return list(session.scalars(query.order_by(Procedure.id)))


def _refresh_moving_clocks(session: Session, now: datetime) -> int:
    """Rewrite the stored last day and summary of the procedures whose clock time moves, as
    of ``now``; how many last days changed. Idempotent: the same ``now`` writes the same."""
    changed = 0
    for procedure_id in _moving_clocks(session, now):
        procedure = session.get(Procedure, procedure_id)
        before = procedure.last_day
        core.refresh(session, procedure, now)
        changed += procedure.last_day != before
        session.commit()
    return changed


def tick(session: Session, storage: AbstractStorage, now: datetime | None = None) -> dict[str, int]:
    """Run every scheduled step once as of ``now``; returns how many procedures each changed."""
    now = now or utcnow()
    today = local_date(now)
    done = {
        "silent_assent": 0,
        "scia_closed": 0,
        "integration_expired": 0,
        "conformation_expired": 0,
        "integration_request_closed": 0,
        "clocks_refreshed": 0,
    }
    steps = (
        ("silent_assent", lc.REGIME_SILENT_ASSENT, lc.OPEN_STATES, today, _silent_assent),
        ("scia_closed", lc.REGIME_SCIA, lc.OPEN_STATES, today, _close_window),
        (
            "integration_expired",
            None,
            (lc.INTEGRATION_REQUESTED,),
            None,
            _expire_integration,
        ),
    )
    for name, regime, states, last_before, step in steps:
        for procedure_id in _candidates(session, regime, states, last_before):
            procedure = session.get(Procedure, procedure_id)
            if procedure is None:
                continue
            try:
                done[name] += int(step(session, procedure, now))
            except Exception:  # noqa: BLE001 - one bad procedure must not stop the others
                session.rollback()
                log.exception("tick: %s not applied to procedure %s", name, procedure_id)
    for procedure_id in _candidates(
        session, lc.REGIME_SCIA, (lc.ENDED_BY_CONFORMATION_REQUESTED,), None
    ):
        procedure = session.get(Procedure, procedure_id)
        if procedure is None:
            continue
        try:
            done["conformation_expired"] += int(
                _expire_conformation(session, storage, procedure, now)
            )
        except Exception:  # noqa: BLE001 - one bad procedure must not stop the others
            session.rollback()
            log.exception("tick: conformation expiry not applied to procedure %s", procedure_id)
    try:
        done["clocks_refreshed"] = _refresh_moving_clocks(session, now)
    except Exception:  # noqa: BLE001 - the other steps' work is already committed
        session.rollback()
        log.exception("tick: moving clocks not refreshed")
    try:
        done["integration_request_closed"] = _integration_request_windows(session, today)
    except Exception:  # noqa: BLE001 - the other steps' work is already committed
        session.rollback()
        log.exception("tick: integration request windows not checked")
    return done


def periodic_tick(app: Any) -> dict[str, int]:
    """The embedded worker's call: :func:`tick` in the app's context with its own session."""
    from portale.extensions import db
    from portale.storage import storage_from_config

    with app.app_context():
        session = db.session_factory()
        try:
            return tick(session, storage_from_config(app.config))
        finally:
            session.close()
