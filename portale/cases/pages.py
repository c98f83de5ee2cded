"""What both procedure pages show of a filed procedure (no Flask): its answers as text, the
dossier at filing next to today's, the attachment slots' names, and what the company sees of
the back office. The clerk's page adds its own part in :mod:`portale.backoffice.pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.cases import acts
from portale.cases import requests as case_requests
from portale.cases import services as core
from portale.cases.models import Procedure
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.dossier.services import COMPANY_LABELS, PART_LABELS, serialise_company
from portale.reference.models import Municipality


@dataclass(frozen=True)
class DossierRow:
    label: str
    then: str
    now: str

    @property
    def changed(self) -> bool:
        return self.then != self.now


def _dates(row: dict[str, Any]) -> str:
    start, until = row.get("valid_from"), row.get("valid_until")
    if start and until:
        return str(_l("dal %(start)s al %(until)s", start=start, until=until))
    if start:
        return str(_l("dal %(start)s", start=start))
    return str(_l("fino al %(until)s", until=until)) if until else ""


def _part_row(part: str, row: dict[str, Any], names: dict[str, str]) -> str:
    """One premises, activity, representative or title as a person reads it."""
    if part == "local_units":
        place = " ".join(
            x
            for x in (
                row.get("postcode"),
                names.get(row.get("municipality") or "", row.get("municipality")),
            )
            if x
        )
        text = f"{row.get('name')} — {row.get('street')}, {place}"
        if row.get("ateco_code"):
            text += f" · ATECO {row['ateco_code']}"
        return text if row.get("active", True) else f"{text} ({_l('cessata')})"
    if part == "activities":
        return f"ATECO {row.get('ateco_code')}" + (
            f" ({_l('prevalente')})" if row.get("primary") else ""
        )
    if part == "representatives":
        return f"{row.get('full_name')} ({row.get('tax_code')}) — {row.get('role')}"
    if part == "titles":
        bits = [
            row.get("kind"),
            row.get("number") and f"n. {row['number']}",
            row.get("issuer"),
            _dates(row),
        ]
        return ", ".join(str(b) for b in bits if b)
    return ", ".join(str(v) for k, v in row.items() if k != "id" and v not in (None, ""))


def _show(value: Any, part: str = "", names: dict[str, str] | None = None) -> str:
    names = names or {}
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        return "; ".join(
            _part_row(part, item, names) if isinstance(item, dict) else str(item) for item in value
        )
    if part == "office_municipality":
        return names.get(str(value), str(value))
    return str(value)


def dossier_rows(session: Session, procedure: Procedure) -> list[DossierRow]:
    then = procedure.dossier_snapshot or {}
    now = serialise_company(procedure.company)
    codes = {then.get("office_municipality"), now.get("office_municipality")}
    for snapshot in (then, now):
        codes.update(u.get("municipality") for u in snapshot.get("local_units") or [])
    names = dict(
        session.execute(
            select(Municipality.istat_code, Municipality.name).where(
                Municipality.istat_code.in_([c for c in codes if c])
            )
        ).all()
    )
    rows = [
        DossierRow(str(label), _show(then.get(k), k, names), _show(now.get(k), k, names))
        for k, label in COMPANY_LABELS.items()
    ]
    for part, label in PART_LABELS.items():
        rows.append(
            DossierRow(
                str(label), _show(then.get(part), part, names), _show(now.get(part), part, names)
            )
        )
    return rows


def answers_of(session: Session, procedure: Procedure) -> list[tuple[str, str]]:
    spec = catalogue_services.spec_of(procedure.type_version)
    choices = catalogue_services.field_choices(session, spec)
    return [
        (f.label, formbuilder.display_value(f, procedure.answers[f.name], choices))
        for f in spec.fields
        if f.name in (procedure.answers or {})
    ]


def slot_labels(procedure: Procedure) -> dict[str, str]:
    spec = catalogue_services.spec_of(procedure.type_version)
    labels = {a.slot: a.label for a in spec.attachments}
    labels.setdefault(case_requests.INTEGRATION_SLOT, str(_l("Documenti integrativi")))
    return labels


def company_page(session: Session, procedure: Procedure, now: datetime) -> dict[str, Any]:
    """What the company sees of the back office on its procedure page."""
    events = core.events_of(session, procedure.id)
    return {
        "clock": core.clock_of(session, procedure, now, events=events),
        "pending": case_requests.pending_request(session, procedure, events),
        "acts": acts.acts_of(session, procedure.id),
        "can_withdraw": "withdraw" in lc.allowed_actions(procedure.state, procedure.regime),
        "silent_assent": procedure.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED,
        "today": local_date(now),
        "events": events,
    }
