"""Web views of the backoffice area: the clerk's procedure page and its actions.

Thin: each view checks that the clerk belongs to the procedure's office (404 otherwise),
calls one use case of :mod:`portale.backoffice.decisions` and redirects, or renders the page
again with the message next to the form when the action is not allowed (what was typed stays).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portale.backoffice import decisions, pages
from portale.backoffice.forms import (
    IntegrationForm,
    OptionalTextForm,
    TermActionForm,
    TextActionForm,
)
from portale.cases import access as case_access
from portale.cases import acts
from portale.cases.acts import act_title
from portale.cases.models import Attachment
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db
from portale.storage import AbstractStorage, storage_from_config

bp = Blueprint("backoffice", __name__, url_prefix="/scrivania")

ACTION_LABELS = {
    "request_correction": _l("Chiedi la regolarizzazione"),
    "refuse": _l("Dichiara irricevibile"),
    "request_integration": _l("Chiedi l'integrazione"),
    "send_refusal_notice": _l("Invia il preavviso di diniego (art. 10-bis)"),
    "approve": _l("Accogli e rilascia l'atto"),
    "reject": _l("Respingi"),
    "request_conformation": _l("Chiedi la conformazione"),
    "prohibit": _l("Vieta la prosecuzione dell'attività"),
}
TEXT_LABELS = {
    "request_correction": _l("Che cosa va regolarizzato"),
    "refuse": _l("Motivazione dell'irricevibilità"),
    "request_integration": _l("Che cosa manca (testo unico per l'impresa)"),
    "send_refusal_notice": _l("Motivi che ostano all'accoglimento"),
    "approve": _l("Motivazione (facoltativa)"),
    "reject": _l("Motivazione del rigetto"),
    "request_conformation": _l("Misure richieste"),
    "prohibit": _l("Motivazione del divieto"),
}
DONE_MESSAGES = {
    "request_correction": _l("Richiesta di regolarizzazione inviata all'impresa."),
    "refuse": _l("Pratica dichiarata irricevibile."),
    "request_integration": _l("Richiesta di integrazione inviata: il termine è sospeso."),
    "send_refusal_notice": _l("Preavviso di diniego inviato: il termine è sospeso."),
    "approve": _l("Pratica accolta: l'atto è stato emesso."),
    "reject": _l("Pratica respinta: il provvedimento è stato emesso."),
    "request_conformation": _l("Richiesta di conformazione inviata."),
    "prohibit": _l("Divieto di prosecuzione emesso."),
}
_FORMS: dict[str, Any] = {
    "request_correction": TermActionForm,
    "refuse": TextActionForm,
    "request_integration": IntegrationForm,
    "send_refusal_notice": TextActionForm,
    "approve": OptionalTextForm,
    "reject": TextActionForm,
    "request_conformation": TermActionForm,
    "prohibit": TextActionForm,
}


def _storage() -> AbstractStorage:
    return storage_from_config(current_app.config)


def _procedure_or_404(procedure_id: int) -> Any:
    try:
        return case_access.procedure_for_clerk(db.session, current_user, procedure_id)
    except NotFound:
        abort(404)


def _form(action: str, *, formdata: Any = None, prefill: Any = None) -> Any:
    form = _FORMS[action](prefix=action, formdata=formdata)
    form.text.label.text = str(TEXT_LABELS[action])
    if formdata is None and action == "request_integration" and prefill is not None:
        form.text.data = prefill.text
        form.documents.data = "\n".join(prefill.documents)
        form.days.data = prefill.days
    return form


def _render(
    procedure: Any,
    *,
    failed: str | None = None,
    form: Any = None,
    status: int = 200,
    read_only: bool = False,
) -> Any:
    data = pages.page(db.session, procedure, utcnow())
    if read_only:  # break-glass reading: no action is offered
        data["offered"] = []
        flash(
            str(_l("Accesso straordinario in sola lettura: registrato e visibile all'ufficio.")),
            "warning",
        )
    forms = {a: _form(a, prefill=data["prefill"]) for a in data["offered"]}
    if failed is not None and form is not None:
        forms[failed] = form
    return (
        render_template(
            "backoffice/procedure.html",
            forms=forms,
            action_labels=ACTION_LABELS,
            act_title=act_title,
            failed=failed,
            **data,
        ),
        status,
    )


@bp.get("/pratiche/<int:procedure_id>")
@login_required
def procedure(procedure_id: int) -> Any:
    from portale.admin.break_glass import has_break_glass
    from portale.cases.models import Procedure

    found = db.session.get(Procedure, procedure_id)
    if found is not None and has_break_glass(db.session, current_user, found):
        return _render(found, read_only=True)
    return _render(_procedure_or_404(procedure_id))


def _run(action: str, procedure: Any, form: Any) -> None:
    session, storage, user = db.session, _storage(), current_user._get_current_object()
    text = (form.text.data or "").strip()
    days = getattr(form, "days", None)
    days = days.data if days is not None else None
    if action == "request_correction":
        decisions.request_correction(session, procedure, actor=user, text=text, days=days)
    elif action == "refuse":
        decisions.refuse(session, procedure, actor=user, motivation=text)
    elif action == "request_integration":
        documents = (form.documents.data or "").splitlines()
        decisions.request_integration(
            session, procedure, actor=user, text=text, documents=documents, days=days
        )
    elif action == "send_refusal_notice":
        decisions.send_refusal_notice(session, procedure, actor=user, text=text)
    elif action == "approve":
        decisions.approve(session, storage, procedure, actor=user, motivation=text)
    elif action == "reject":
        decisions.reject(session, storage, procedure, actor=user, motivation=text)
    elif action == "request_conformation":
        decisions.request_conformation(session, procedure, actor=user, text=text, days=days)
    elif action == "prohibit":
        decisions.prohibit(session, storage, procedure, actor=user, motivation=text)


@bp.post("/pratiche/<int:procedure_id>/azioni/<action>")
@login_required
def act_on(procedure_id: int, action: str) -> Any:
    procedure = _procedure_or_404(procedure_id)
    if action not in _FORMS:
        abort(404)
    form = _FORMS[action](prefix=action)
    form.text.label.text = str(TEXT_LABELS[action])
    if not form.validate():
        days = getattr(form, "days", None)
        if days is not None and days.errors:  # WTForms' own message is English
            days.errors = [str(_l("Indica un numero di giorni valido."))]
        return _render(procedure, failed=action, form=form, status=422)
    try:
        _run(action, procedure, form)
    except ActionNotAllowed as error:
        db.session.rollback()
        form.text.errors = [*form.text.errors, error.message]
        return _render(procedure, failed=action, form=form, status=422)
    flash(str(DONE_MESSAGES[action]), "success")
    return redirect(url_for("backoffice.procedure", procedure_id=procedure.id))


@bp.get("/pratiche/<int:procedure_id>/allegati/<int:attachment_id>")
@login_required
def attachment(procedure_id: int, attachment_id: int) -> Response:
    procedure = _procedure_or_404(procedure_id)
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.procedure_id != procedure.id:
        abort(404)
    return _file(_storage().read(found.storage_key), found.mime_type, found.filename)


@bp.get("/pratiche/<int:procedure_id>/atti/<int:act_id>")
@login_required
def act_pdf(procedure_id: int, act_id: int) -> Response:
    procedure = _procedure_or_404(procedure_id)
    try:
        act = acts.act_for(db.session, procedure, act_id)
    except NotFound:
        abort(404)
    return _file(_storage().read(act.storage_key), "application/pdf", act.filename)


def _file(data: bytes, mimetype: str, filename: str) -> Response:
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
