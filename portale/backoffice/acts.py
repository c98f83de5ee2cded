"""The PDF of an act (``templates/pdf/act.html``), rendered with WeasyPrint in block layout.

The stylesheet and fonts are the receipt's, parsed once per process
(:func:`portale.procedures.receipt._weasy`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.backoffice.act_models import (
    ACT_APPROVAL,
    ACT_PROHIBITION,
    ACT_REJECTION,
    ACT_SILENT_ASSENT,
    Act,
)
from portale.backoffice.models import OpinionRequest
from portale.clock.calendar import local_date
from portale.procedures.models import Procedure
from portale.procedures.receipt import STATIC, _jinja, _weasy

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
    from portale.procedures import services as filing
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
        "type_title": filing.type_title_of(procedure.type_version),
        "issued_on": local_date(act.issued_at),
        "received_on": procedure.received_on,
        "opinions": opinions,
        "cui": procedure.cui_label,
        "outcome_label": outcome_label,
    }


def render_act_html(session: Session, procedure: Procedure, act: Act) -> str:
    return _jinja().get_template("pdf/act.html").render(**act_context(session, procedure, act))


def render_act_pdf(session: Session, procedure: Procedure, act: Act) -> bytes:
    from weasyprint import HTML

    fonts, css = _weasy()
    html = HTML(string=render_act_html(session, procedure, act), base_url=str(STATIC) + "/")
    return html.write_pdf(stylesheets=[css], font_config=fonts)
