"""The authority officer's area (*ente*): the opinions asked of their authority, and the answer.

Only officers of the consulted authority see a procedure; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portale.accounts.models import ROLE_AUTHORITY_OFFICER
from portale.backoffice import authority
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db
from portale.storage import storage_from_config

bp = Blueprint("authority", __name__, url_prefix="/ente")


def _officer() -> Any:
    if not current_user.has_role(ROLE_AUTHORITY_OFFICER) or current_user.authority_id is None:
        abort(404)
    return current_user


def _opinion(opinion_id: int) -> Any:
    try:
        return authority.opinion_for(db.session, _officer(), opinion_id)
    except NotFound:
        abort(404)


@bp.get("/")
@login_required
def index() -> str:
    officer = _officer()
    return render_template(
        "authority/index.html",
        opinions=authority.opinions_for(db.session, officer),
        today=local_date(utcnow()),
        type_title=catalogue_services.type_title_of,
    )


def _render(opinion: Any, errors: dict[str, str] | None = None, form: Any = None) -> str:
    procedure = opinion.procedure
    spec = catalogue_services.spec_of(procedure.type_version)
    choices = catalogue_services.field_choices(db.session, spec)
    answers = [
        (f.label, formbuilder.display_value(f, procedure.answers[f.name], choices))
        for f in spec.fields
        if f.name in procedure.answers
    ]
    return render_template(
        "authority/opinion.html",
        opinion=opinion,
        procedure=procedure,
        answers=answers,
        slot_labels={a.slot: a.label for a in spec.attachments},
        type_title=catalogue_services.type_title_of(procedure.type_version),
        today=local_date(utcnow()),
        errors=errors or {},
        form=form or {},
        outcomes=authority.OFFICER_OUTCOMES,
    )


@bp.get("/pareri/<int:opinion_id>")
@login_required
def opinion(opinion_id: int) -> str:
    return _render(_opinion(opinion_id))


@bp.post("/pareri/<int:opinion_id>")
@login_required
def answer(opinion_id: int) -> tuple[str, int] | Response:
    opinion = _opinion(opinion_id)
    upload = request.files.get("document")
    document = None
    if upload is not None and upload.filename:
        document = authority.Upload(upload.filename, upload.stream)
    try:
        authority.answer_opinion(
            db.session,
            storage_from_config(current_app.config),
            current_user,
            opinion.id,
            outcome=request.form.get("outcome") or "",
            text=request.form.get("text") or "",
            document=document,
        )
    except authority.OpinionInvalid as error:
        return _render(opinion, error.errors, request.form), 422
    except ActionNotAllowed as error:
        return _render(opinion, {"outcome": error.message}, request.form), 409
    flash(_("Parere inviato al SUAP."), "success")
    return redirect(url_for("authority.opinion", opinion_id=opinion.id))


@bp.post("/pareri/<int:opinion_id>/integrazione")
@login_required
def integration(opinion_id: int) -> tuple[str, int] | Response:
    opinion = _opinion(opinion_id)
    documents = (request.form.get("documents") or "").splitlines()
    try:
        authority.ask_integration(
            db.session,
            current_user,
            opinion.id,
            text=request.form.get("integration_text") or "",
            documents=documents,
        )
    except authority.OpinionInvalid as error:
        errors = {"integration_text": error.errors.get("text", "")}
        return _render(opinion, errors, request.form), 422
    except ActionNotAllowed as error:
        return _render(opinion, {"integration_text": error.message}, request.form), 409
    flash(_("Richiesta di integrazione inviata al SUAP, che la inoltrerà all'impresa."), "success")
    return redirect(url_for("authority.opinion", opinion_id=opinion.id))


@bp.get("/pareri/<int:opinion_id>/allegati/<int:attachment_id>")
@login_required
def attachment(opinion_id: int, attachment_id: int) -> Any:
    try:
        item = authority.attachment_for(db.session, _officer(), opinion_id, attachment_id)
    except NotFound:
        abort(404)
    return _send(item.storage_key, item.filename, item.mime_type)


@bp.get("/pareri/<int:opinion_id>/documento")
@login_required
def document(opinion_id: int) -> Any:
    opinion = _opinion(opinion_id)
    if not opinion.document_key:
        abort(404)
    return _send(opinion.document_key, opinion.document_name or "parere", None)


def _send(key: str, name: str, mimetype: str | None) -> Any:
    try:
        handle = storage_from_config(current_app.config).open(key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        handle,
        as_attachment=True,
        download_name=name,
        mimetype=mimetype or "application/octet-stream",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
