"""The company's side of the back office, in the procedures area: answer what the office asks
(correction, integration, conformation, notice of reasons for refusal), withdraw, download acts
and the certificate of silent assent. Routes on the procedures blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portale.cases import access as case_access
from portale.cases import acts
from portale.cases import answers as case_answers
from portale.cases import requests as case_requests
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db
from portale.procedures.blueprint import FILE_PREFIX, bp
from portale.procedures.forms import ObservationsForm, WithdrawForm, procedure_form
from portale.storage import storage_from_config

NOTE_FIELD = "nota"
REQUEST_LABELS = {
    case_requests.REQUEST_CORRECTION: _l("Richiesta di regolarizzazione"),
    case_requests.REQUEST_INTEGRATION: _l("Richiesta di integrazione"),
    case_requests.REQUEST_CONFORMATION: _l("Richiesta di conformazione"),
    case_requests.REQUEST_REFUSAL_NOTICE: _l("Preavviso di diniego (art. 10-bis L. 241/1990)"),
}


@bp.app_template_global()
def request_label(kind: str) -> str:
    return str(REQUEST_LABELS.get(kind, kind))


def _own(procedure_id: int, need: str = "edit") -> Any:
    try:
        return case_access.procedure_for_company(db.session, current_user, procedure_id, need=need)
    except NotFound:
        abort(404)


def _uploads(slots: list[str]) -> list[case_answers.Upload]:
    found = []
    for slot in slots:
        for upload in request.files.getlist(FILE_PREFIX + slot):
            if upload and upload.filename:
                found.append(case_answers.Upload(slot, upload.filename, upload.stream.read()))
    return found


def _observation_files() -> list[case_answers.Upload]:
    return [
        case_answers.Upload(case_requests.INTEGRATION_SLOT, f.filename, f.stream.read())
        for f in request.files.getlist("files")
        if f and f.filename
    ]


def _slots(spec: formbuilder.FormSpec) -> list[str]:
    return [case_requests.INTEGRATION_SLOT, *(a.slot for a in spec.attachments)]


def _render_answer(procedure: Any, pending: Any, *, formdata: Any, errors: Any = None) -> Any:
    spec = catalogue_services.spec_of(procedure.type_version)
    if pending.kind == case_requests.REQUEST_REFUSAL_NOTICE:
        form = ObservationsForm(formdata=formdata)
        for name, messages in (errors or {}).items():
            if name in form._fields:
                form[name].errors = list(messages)
        return render_template(
            "procedures/answer.html",
            procedure=procedure,
            pending=pending,
            form=form,
            observations=True,
            errors=errors or {},
            spec=spec,
        )
    data = (
        formdata if formdata is not None else formbuilder.answers_formdata(procedure.answers or {})
    )
    form = procedure_form(
        spec,
        prefilled=[],
        choices=catalogue_services.field_choices(db.session, spec),
        formdata=data,
    )
    for name, messages in (errors or {}).items():
        if name in form._fields:
            form[name].errors = list(messages)
    return render_template(
        "procedures/answer.html",
        procedure=procedure,
        pending=pending,
        form=form,
        observations=False,
        errors=errors or {},
        spec=spec,
        note=(formdata or MultiDict()).get(NOTE_FIELD, ""),
        file_prefix=FILE_PREFIX,
        integration_slot=case_requests.INTEGRATION_SLOT,
        visible=formbuilder.visible_fields(spec, formbuilder.answers_from_formdata(spec, data)[0]),
    )


@bp.route("/<int:procedure_id>/risposta", methods=["GET", "POST"])
@login_required
def answer(procedure_id: int) -> Any:
    procedure = _own(procedure_id)
    pending = case_requests.pending_request(db.session, procedure)
    if pending is None:
        flash(_("Non ci sono richieste a cui rispondere per questa pratica."), "info")
        return redirect(url_for("procedures.detail", procedure_id=procedure.id))
    if request.method == "GET":
        return _render_answer(procedure, pending, formdata=None)
    spec = catalogue_services.spec_of(procedure.type_version)
    storage = storage_from_config(current_app.config)
    try:
        if pending.kind == case_requests.REQUEST_REFUSAL_NOTICE:
            case_answers.send_observations(
                db.session,
                storage,
                procedure,
                actor=current_user._get_current_object(),
                text=request.form.get("text", ""),
                uploads=_observation_files(),
            )
        else:
            answers, _updates = formbuilder.answers_from_formdata(spec, request.form)
            case_answers.answer_request(
                db.session,
                storage,
                procedure,
                actor=current_user._get_current_object(),
                note=request.form.get(NOTE_FIELD, ""),
                answers=answers,
                uploads=_uploads(_slots(spec)),
            )
    except case_answers.AnswerInvalid as error:
        db.session.rollback()
        return _render_answer(procedure, pending, formdata=request.form, errors=error.errors), 422
    except ActionNotAllowed as error:
        db.session.rollback()
        return _render_answer(
            procedure, pending, formdata=request.form, errors={"__all__": [error.message]}
        ), 422
    flash(_("Risposta inviata allo sportello."), "success")
    return redirect(url_for("procedures.detail", procedure_id=procedure.id))


@bp.post("/<int:procedure_id>/ritiro")
@login_required
def withdraw(procedure_id: int) -> Response:
    procedure = _own(procedure_id)
    form = WithdrawForm()
    try:
        case_answers.withdraw(
            db.session,
            procedure,
            actor=current_user._get_current_object(),
            reason=form.text.data or "",
        )
    except ActionNotAllowed as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        flash(_("Pratica ritirata."), "success")
    return redirect(url_for("procedures.detail", procedure_id=procedure.id))


@bp.post("/<int:procedure_id>/silenzio-assenso")
@login_required
def silent_assent_certificate(procedure_id: int) -> Response:
    # Issuing the certificate is a new act for the company: a read-only delegate may not.
    procedure = _own(procedure_id, need="edit")
    try:
        act = acts.silent_assent_certificate(
            db.session,
            storage_from_config(current_app.config),
            procedure,
            actor=current_user._get_current_object(),
        )
    except ActionNotAllowed as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("procedures.detail", procedure_id=procedure.id))
    return redirect(url_for("procedures.act_pdf", procedure_id=procedure.id, act_id=act.id))


@bp.get("/<int:procedure_id>/atti/<int:act_id>")
@login_required
def act_pdf(procedure_id: int, act_id: int) -> Response:
    procedure = _own(procedure_id, need="read")
    try:
        act = acts.act_for(db.session, procedure, act_id)
    except NotFound:
        abort(404)
    data = storage_from_config(current_app.config).read(act.storage_key)
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{act.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
