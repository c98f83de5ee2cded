"""The receipt (*ricevuta*) of a filed procedure: a PDF rendered with WeasyPrint.

The HTML comes from ``templates/pdf/receipt.html`` and uses block layout only (tables and
nested flexbox are slow in WeasyPrint). The stylesheet and its fonts are parsed once per process
and reused (PERFORMANCE.md). The PDF is stored under ``receipts/<procedure id>.pdf``; a receipt
missing from storage (a crash between filing and rendering) is rendered again on request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portale.cases import terms as case_terms
from portale.cases.models import Procedure
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.pdf import STATIC, jinja_env, weasy_fonts_and_css
from portale.storage import AbstractStorage

ROME = ZoneInfo("Europe/Rome")


def receipt_key(procedure: Procedure) -> str:
    # The CUI's UUID, not the row id: an id can come back (SQLite after a rollback, a database
    # restored behind its storage) and must never hand one procedure another's receipt.
    return f"receipts/{procedure.cui_uuid}.pdf"


def receipt_context(session: Session, procedure: Procedure) -> dict[str, Any]:

    version = procedure.type_version
    spec = catalogue_services.spec_of(version)
    choices = catalogue_services.field_choices(session, spec)
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
        "type_title": catalogue_services.type_title_of(version),
        "type_code": procedure.type_code,
        "version_label": catalogue_services.version_label_of(version),
        "submitted_date": submitted.strftime("%d/%m/%Y"),
        "submitted_time": submitted.strftime("%H:%M"),
        "answers": answers,
        "attachments": [(slot_labels.get(a.slot, a.slot), a) for a in procedure.attachments],
        "term": case_terms.legal_term(procedure),
        "cui": procedure.cui_label,
        "generated_at": datetime.now(ROME).strftime("%d/%m/%Y %H:%M"),
    }


def render_receipt_html(session: Session, procedure: Procedure) -> str:
    return (
        jinja_env().get_template("pdf/receipt.html").render(**receipt_context(session, procedure))
    )


def render_receipt_pdf(session: Session, procedure: Procedure) -> bytes:
    from weasyprint import HTML

    fonts, css = weasy_fonts_and_css()
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
