"""Acts: the office's decisions and certificates, numbered in its protocol, rendered as PDF
(``templates/pdf/act.html``, WeasyPrint in block layout, the receipt's stylesheet and fonts from
:mod:`portale.pdf`), stored, and recorded as ``act_issued``; an approval adds its title to the
company's dossier.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import User
from portale.cases import services as core
from portale.cases.act_models import (
    ACT_APPROVAL,
    ACT_PROHIBITION,
    ACT_REJECTION,
    ACT_SILENT_ASSENT,
    Act,
)
from portale.cases.models import OpinionRequest, Procedure
from portale.cases.protocol import next_protocol_number
from portale.catalogue import services as catalogue_services
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.dossier.access import NoAccess, get_company_for
from portale.errors import ActionNotAllowed, NotFound
from portale.pdf import STATIC, jinja_env, weasy_fonts_and_css
from portale.storage import AbstractStorage

ACT_TITLES = {
    ACT_APPROVAL: _l("Provvedimento di accoglimento"),
    ACT_REJECTION: _l("Provvedimento di rigetto"),
    ACT_PROHIBITION: _l("Divieto di prosecuzione dell'attività"),
    ACT_SILENT_ASSENT: _l("Attestazione di silenzio assenso"),
}


OUTCOME_LABELS = {
    "favourable": _l("Parere favorevole"),
    "favourable_with_conditions": _l("Parere favorevole con prescrizioni"),
    "unfavourable": _l("Parere non favorevole"),
    "conformation_requested": _l("Parere: richiesta di conformazione"),
    "suspension_requested": _l("Parere: richiesta di sospensione"),
}


def outcome_label(outcome: str | None) -> str:
    return str(OUTCOME_LABELS.get(outcome or "", outcome or ""))


def act_title(kind: str) -> str:
    return str(ACT_TITLES.get(kind, kind))


def act_context(session: Session, procedure: Procedure, act: Act) -> dict[str, Any]:
    from portale.reference.models import Municipality

    opinions = session.scalars(
        select(OpinionRequest)
        .where(OpinionRequest.procedure_id == procedure.id, OpinionRequest.outcome.is_not(None))
        .order_by(OpinionRequest.id)
    ).all()
    return {
        "procedure": procedure,
        "act": act,
        "title": act_title(act.kind),
        "office": procedure.office,
        "company": procedure.company,
        "unit": procedure.local_unit,
        "municipality": session.get(Municipality, procedure.municipality),
        "type_title": catalogue_services.type_title_of(procedure.type_version),
        "issued_on": local_date(act.issued_at),
        "received_on": procedure.received_on,
        "opinions": opinions,
        "cui": procedure.cui_label,
        "outcome_label": outcome_label,
    }


def render_act_html(session: Session, procedure: Procedure, act: Act) -> str:
    return jinja_env().get_template("pdf/act.html").render(**act_context(session, procedure, act))


def render_act_pdf(session: Session, procedure: Procedure, act: Act) -> bytes:
    from weasyprint import HTML

    fonts, css = weasy_fonts_and_css()
    html = HTML(string=render_act_html(session, procedure, act), base_url=str(STATIC) + "/")
    return html.write_pdf(stylesheets=[css], font_config=fonts)


ACT_ISSUED = "act_issued"


def acts_of(session: Session, procedure_id: int) -> list[Act]:
    return list(
        session.scalars(select(Act).where(Act.procedure_id == procedure_id).order_by(Act.id))
    )


def _valid_until(procedure: Procedure, issued_on: date) -> date | None:
    title = (procedure.type_version.spec or {}).get("licence") or {}
    if title.get("validity_days"):
        return issued_on + timedelta(days=int(title["validity_days"]))
    if title.get("validity_years"):
        years = int(title["validity_years"])
        try:
            return issued_on.replace(year=issued_on.year + years)
        except ValueError:  # 29 February
            return issued_on.replace(year=issued_on.year + years, day=28)
    return None


def issue_act(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    kind: str,
    *,
    actor: User | None,
    motivation: str,
    now: datetime,
    stored: list[str],
) -> Act:
    """Number, render and store the act; record ``act_issued``. Does not commit."""
    issued_on = local_date(now)
    number = next_protocol_number(session, procedure.office_id, issued_on.year)
    act = Act(
        procedure_id=procedure.id,
        kind=kind,
        protocol_year=issued_on.year,
        protocol_number=number,
        protocol_label=f"{procedure.office.code}/{issued_on.year}/{number:06d}",
        issued_at=now,
        issued_by_id=actor.id if actor else None,
        motivation=(motivation or "").strip(),
        valid_until=_valid_until(procedure, issued_on) if kind == ACT_APPROVAL else None,
    )
    pdf = render_act_pdf(session, procedure, act)
    key = f"acts/{procedure.id}/{kind}-{act.protocol_year}-{number:06d}.pdf"
    storage.put(key, pdf)
    stored.append(key)
    act.storage_key = key
    act.sha256 = hashlib.sha256(pdf).hexdigest()
    act.size = len(pdf)
    session.add(act)
    session.flush()
    core.record(
        session,
        procedure,
        ACT_ISSUED,
        actor_id=act.issued_by_id,
        payload={"kind": kind, "protocol": act.protocol_label, "act_id": act.id},
        now=now,
    )
    return act


def add_title(session: Session, procedure: Procedure, act: Act) -> Any:
    """The licence goes into the dossier, with its validity and the procedure as provenance."""
    from portale.dossier.models import SOURCE_DECISION
    from portale.dossier.services import _add_part

    company = procedure.company
    title_spec = (procedure.type_version.spec or {}).get("licence") or {}
    kind = str(title_spec.get("kind") or catalogue_services.type_title_of(procedure.type_version))[
        :200
    ]
    company.updated_at = utcnow()  # bumps the dossier version
    title = _add_part(
        session,
        company,
        "titles",
        {
            "kind": kind,
            "number": act.protocol_label,
            "issuer": procedure.office.name,
            "valid_from": local_date(act.issued_at),
            "valid_until": act.valid_until,
            "local_unit_id": procedure.local_unit_id,
        },
        actor=None,
        source=SOURCE_DECISION,
        source_ref=str(procedure.id),
    )
    title.procedure_id = procedure.id
    return title


def silent_assent_certificate(
    session: Session,
    storage: AbstractStorage,
    procedure: Procedure,
    *,
    actor: User,
    now: datetime | None = None,
) -> Act:
    """The certificate of silent assent, issued once on the company's request (a mandate that
    may act for the company, not a read-only one)."""
    try:
        get_company_for(session, actor, procedure.company_id, need="edit")
    except NoAccess:
        raise NotFound(procedure.id) from None
    if procedure.state != lc.ENDED_BY_PROCEEDING_TIME_EXPIRED:
        raise ActionNotAllowed(
            _l("Il certificato si rilascia solo per una pratica accolta per silenzio assenso.")
        )
    existing = session.scalar(
        select(Act).where(Act.procedure_id == procedure.id, Act.kind == ACT_SILENT_ASSENT)
    )
    if existing is not None:
        return existing
    now = now or utcnow()
    stored: list[str] = []
    try:
        act = issue_act(
            session,
            storage,
            procedure,
            ACT_SILENT_ASSENT,
            actor=None,
            motivation="",
            now=now,
            stored=stored,
        )
        session.commit()
    except BaseException:
        session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    return act


def act_for(session: Session, procedure: Procedure, act_id: int) -> Act:
    act = session.get(Act, act_id)
    if act is None or act.procedure_id != procedure.id:
        raise NotFound(act_id)
    return act
