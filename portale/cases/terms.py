"""The legal term of a filed procedure: the term rules of the catalogue version it was filed
under, and the one calendar bridge (a municipality's patron day and its office's Saturday rule).

The last day itself is computed only from the events, by :mod:`portale.clock.terms` (see
:func:`portale.cases.services.clock_of` and :func:`~portale.cases.services.refresh`, which
caches it on the procedure and in the ``presented`` event at filing); nothing here computes it
again from the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from portale.cases.models import EVENT_PRESENTED, Procedure
from portale.clock import lifecycle as lc
from portale.clock.calendar import HolidayCalendar, local_date
from portale.clock.terms import SSU_LIMITS, TermRules
from portale.reference.models import Municipality

DEFAULT_CONTROL_WINDOW_DAYS = 60


def rules_for(procedure: Procedure) -> TermRules:
    """The legal-term rules of the catalogue version the procedure was filed under."""
    version = procedure.type_version
    spec = version.spec or {}
    times = spec.get("times") or {}
    integration = spec.get("integration") or {}
    return TermRules(
        regime=procedure.regime,
        term_days=version.term_days,
        silent_assent=version.silent_assent,
        integration_max_suspension_days=int(integration.get("max_suspension_days", 30)),
        integration_requests_allowed=int(integration.get("requests_allowed", 1)),
        control_window_days=version.control_window_days or DEFAULT_CONTROL_WINDOW_DAYS,
        **{k: times[k] for k in SSU_LIMITS if k in times},
    )


def calendar_of(municipality: Municipality | None, office: Any) -> HolidayCalendar:
    """Holidays for a municipality (its patron day) served by an office (its Saturday rule)."""
    patron = None
    if municipality is not None and municipality.patron_month and municipality.patron_day:
        patron = (municipality.patron_month, municipality.patron_day)
    return HolidayCalendar(
        patron_day=patron, saturday_is_holiday=bool(office and office.saturday_is_holiday)
    )


def calendar_for(session: Session, procedure: Procedure) -> HolidayCalendar:
    """The holiday calendar of the procedure's municipality and office."""
    return calendar_of(session.get(Municipality, procedure.municipality), procedure.office)


@dataclass(frozen=True)
class LegalTerm:
    """What the receipt states about the administration's term, as it stood at filing."""

    regime: str
    received_on: date
    term_days: int | None
    last_day: date | None  # decision due by (or end of the SCIA control window)
    effective_on: date | None = None  # SCIA: effective at filing


def legal_term(procedure: Procedure) -> LegalTerm:
    """The term at filing; its last day is the one the events gave then (``presented``)."""
    received_on = procedure.received_on or local_date(procedure.submitted_at)
    regime = (procedure.regime or "").upper()
    rules = rules_for(procedure)
    days = rules.term_days
    if regime == lc.REGIME_SCIA:
        days = rules.control_window_days
    if regime == lc.REGIME_NOTICE or not days:
        return LegalTerm(regime, received_on, None, None)
    presented = next((e for e in procedure.events if e.kind == EVENT_PRESENTED), None)
    stated = (presented.payload or {}).get("last_day") if presented is not None else None
    last_day = date.fromisoformat(stated) if stated else procedure.last_day
    effective = received_on if regime == lc.REGIME_SCIA else None
    return LegalTerm(regime, received_on, int(days), last_day, effective)
