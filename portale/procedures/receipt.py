"""The receipt (*ricevuta*) of a filed procedure: a PDF rendered with WeasyPrint.

The HTML comes from ``templates/pdf/receipt.html`` and uses block layout only (tables and
nested flexbox are slow in WeasyPrint). The stylesheet and its fonts are parsed once per process
and reused (PERFORMANCE.md). The PDF is stored under ``receipts/<procedure id>.pdf``; a receipt
missing from storage (a crash between filing and rendering) is rendered again on request.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portale.config import PROJECT_ROOT
from portale.procedures import formbuilder
from portale.procedures.models import Procedure
from portale.storage import AbstractStorage

ROME = ZoneInfo("Europe/Rome")
TEMPLATES = PROJECT_ROOT / "templates"
STYLESHEET = TEMPLATES / "pdf" / "receipt.css"
STATIC = PROJECT_ROOT / "portale" / "static"


def receipt_key(procedure: Procedure) -> str:
    # The CUI's UUID, not the row id: an id can come back (SQLite after a rollback, a database
    # restored behind its storage) and must never hand one procedure another's receipt.
    return f"receipts/{procedure.cui_uuid}.pdf"


@functools.cache
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.globals["_"] = gettext
    env.filters["it_date"] = lambda d: d.strftime("%d/%m/%Y") if d else ""
    return env


@functools.cache
def _weasy() -> tuple[Any, Any]:
    """(FontConfiguration, CSS) parsed once: @font-face fonts load with the stylesheet."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(filename=str(STYLESHEET), font_config=fonts, base_url=str(STATIC) + "/")
    return fonts, css


def receipt_context(session: Session, procedure: Procedure) -> dict[str, Any]:
    from portale.procedures import services

    version = procedure.type_version
    spec = services.spec_of(version)
    choices = services.field_choices(session, spec)
    answers = []
    for f in spec.fields:
        if f.name in procedure.answers:
            answers.append(
                (f.label, formbuilder.display_value(f, procedure.answers[f.name], choices))
            )
    slot_labels = {a.slot: a.label for a in spec.attachments}
    submitted = procedure.submitted_at.astimezone(ROME)
    from portale.reference.models import Municipality

    municipality = session.get(Municipality, procedure.municipality)
    return {
        "procedure": procedure,
        "company": procedure.company,
        "unit": procedure.local_unit,
        "office": procedure.office,
        "municipality": municipality,
        "type_title": services.type_title_of(version),
        "type_code": procedure.type_code,
        "version_label": services.version_label_of(version),
        "submitted_date": submitted.strftime("%d/%m/%Y"),
        "submitted_time": submitted.strftime("%H:%M"),
        "answers": answers,
        "attachments": [(slot_labels.get(a.slot, a.slot), a) for a in procedure.attachments],
        "term": services.legal_term(session, procedure),
        "cui": procedure.cui_label,
        "generated_at": datetime.now(ROME).strftime("%d/%m/%Y %H:%M"),
    }


def render_receipt_html(session: Session, procedure: Procedure) -> str:
    return _jinja().get_template("pdf/receipt.html").render(**receipt_context(session, procedure))


def render_receipt_pdf(session: Session, procedure: Procedure) -> bytes:
    from weasyprint import HTML

    fonts, css = _weasy()
    html = HTML(string=render_receipt_html(session, procedure), base_url=str(STATIC) + "/")
    return html.write_pdf(stylesheets=[css], font_config=fonts)


def ensure_receipt(session: Session, storage: AbstractStorage, procedure: Procedure) -> bytes:
    """The stored receipt, rendering and storing it first if it is missing."""
    key = procedure.receipt_key or receipt_key(procedure)
    if storage.exists(key):
        return storage.read(key)
    pdf = render_receipt_pdf(session, procedure)
    storage.put(key, pdf)
    if procedure.receipt_key != key:
        procedure.receipt_key = key
        session.commit()
    return pdf


def receipt_filename(procedure: Procedure) -> str:
    return f"ricevuta-{procedure.protocol_label.replace('/', '-')}.pdf"


def mail_receipt(procedure: Procedure, pdf: bytes, config: Any) -> None:
    """E-mail the receipt to the submitter (``portale.mail``, the configured backend)."""
    from portale.mail import Attachment, MailMessage, send

    subject = str(_l("Ricevuta della pratica %(protocol)s", protocol=procedure.protocol_label))
    body = str(
        _l(
            "La pratica «%(type)s» per %(company)s è stata presentata a %(office)s con "
            "protocollo %(protocol)s.\n\nTrovi la ricevuta in allegato; puoi scaricarla di nuovo "
            "da «Le mie pratiche».",
            type=procedure.type_code,
            company=procedure.company.name,
            office=procedure.office.name,
            protocol=procedure.protocol_label,
        )
    )
    send(
        MailMessage(
            to=(procedure.submitter.email,),
            subject=subject,
            body=body,
            attachments=(Attachment(receipt_filename(procedure), pdf),),
        ),
        config,
    )
