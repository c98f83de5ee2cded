"""Web views of the procedures area: start, fill in (with autosave), submit, list, receipt.

Thin: every view parses the request, calls one service of ``portale.procedures.services`` and
renders or redirects. What the user types is saved on every POST, valid or not.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portale.cases import terms as case_terms
from portale.cases.labels import EVENT_LABELS, STATE_LABELS
from portale.catalogue import formbuilder
from portale.catalogue import services as catalogue_services
from portale.dossier.access import accessible_companies
from portale.errors import NotFound
from portale.extensions import db
from portale.procedures import services
from portale.procedures.blueprint import FILE_PREFIX, bp
from portale.procedures.forms import StartForm, procedure_form
from portale.procedures.receipt import ensure_receipt, receipt_filename
from portale.storage import AbstractStorage, storage_from_config


def _storage() -> AbstractStorage:
    return storage_from_config(current_app.config)


@bp.app_template_global()
def procedure_state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


@bp.app_template_global()
def procedure_event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, STATE_LABELS.get(kind, kind)))


@bp.errorhandler(CSRFError)
def _csrf_expired(error: CSRFError) -> tuple[str, int]:
    # The draft has been autosaved every ~20 seconds: say so, and where to resume it.
    draft_id = (request.view_args or {}).get("draft_id")
    return render_template("procedures/session_expired.html", draft_id=draft_id), 400


# --- list --------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    procedures = services.list_procedures_for(db.session, current_user)
    drafts = services.list_drafts_for(db.session, current_user)
    return render_template(
        "procedures/index.html",
        procedures=procedures,
        drafts=drafts,
        type_title=catalogue_services.type_title_of,
    )


@bp.get("/<int:procedure_id>")
@login_required
def detail(procedure_id: int) -> str:
    procedure = _procedure_or_404(procedure_id)
    spec = catalogue_services.spec_of(procedure.type_version)
    choices = catalogue_services.field_choices(db.session, spec)
    answers = [
        (f.label, formbuilder.display_value(f, procedure.answers[f.name], choices))
        for f in spec.fields
        if f.name in procedure.answers
    ]
    from portale.cases import pages
    from portale.cases.acts import act_title
    from portale.db import utcnow

    return render_template(
        "procedures/detail.html",
        procedure=procedure,
        answers=answers,
        slot_labels=pages.slot_labels(procedure),
        term=case_terms.legal_term(procedure),
        type_title=catalogue_services.type_title_of(procedure.type_version),
        act_title=act_title,
        **pages.company_page(db.session, procedure, utcnow()),
    )


@bp.get("/<int:procedure_id>/ricevuta.pdf")
@login_required
def receipt(procedure_id: int) -> Response:
    procedure = _procedure_or_404(procedure_id)
    pdf = ensure_receipt(db.session, _storage(), procedure)
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{receipt_filename(procedure)}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _procedure_or_404(procedure_id: int) -> Any:
    try:
        return services.procedure_for(db.session, current_user, procedure_id)
    except NotFound:
        abort(404)


# --- start -------------------------------------------------------------------------------


@bp.route("/nuova", methods=["GET", "POST"])
@login_required
def start() -> str | Response:
    type_code = request.args.get("tipo", "")
    version = catalogue_services.current_version(db.session, type_code) if type_code else None
    if version is None:
        abort(404)
    form = StartForm()
    form.premises.choices = [("", _("— scegli —"))] + [
        (f"{company.id}:{unit.id}", f"{company.name} — {unit.name}, {unit.street}")
        for company in accessible_companies(db.session, current_user)
        for unit in company.local_units
        if unit.active
    ]
    if form.validate_on_submit():
        company_id, _sep, unit_id = form.premises.data.partition(":")
        try:
            draft = services.start_draft(
                db.session,
                actor=current_user,
                company_id=int(company_id),
                local_unit_id=int(unit_id),
                type_code=type_code,
            )
        except (NotFound, ValueError):
            abort(404)
        return redirect(url_for("procedures.edit_draft", draft_id=draft.id))
    return render_template(
        "procedures/start.html",
        form=form,
        version=version,
        type_title=catalogue_services.type_title_of(version),
    )


# --- draft -------------------------------------------------------------------------------


def _draft_or_404(draft_id: int) -> Any:
    try:
        return services.get_draft(db.session, current_user, draft_id)
    except NotFound:
        abort(404)


@bp.route("/bozze/<int:draft_id>", methods=["GET", "POST"])
@login_required
def edit_draft(draft_id: int) -> str | Response:
    draft = _draft_or_404(draft_id)
    if draft.procedure_id is not None:
        return redirect(url_for("procedures.detail", procedure_id=draft.procedure_id))
    spec = catalogue_services.spec_of(draft.type_version)
    if request.method == "GET":
        return _render_draft(draft, spec, formdata=None)

    answers, updates = formbuilder.answers_from_formdata(spec, request.form)
    services.save_draft(
        db.session, draft.id, actor=current_user, answers=answers, dossier_updates=updates
    )
    upload_errors = _store_uploads(draft, spec)
    action = request.form.get("action", "save")
    if action == "submit" and not upload_errors:
        try:
            procedure = services.submit_procedure(
                db.session,
                _storage(),
                draft.id,
                actor=current_user,
                idempotency_key=request.form.get("idempotency_key", ""),
            )
        except services.SubmissionInvalid as error:
            return _render_draft(draft, spec, formdata=request.form, errors=error.errors), 422
        flash(
            _(
                "Pratica presentata: protocollo %(protocol)s. "
                "La ricevuta ti è stata inviata per e-mail.",
                protocol=procedure.protocol_label,
            ),
            "success",
        )
        return redirect(url_for("procedures.detail", procedure_id=procedure.id))
    if upload_errors:
        return _render_draft(draft, spec, formdata=request.form, errors=upload_errors), 422
    flash(
        _("Bozza salvata. Puoi riprenderla in qualsiasi momento da «Le mie pratiche»."), "success"
    )
    return redirect(url_for("procedures.edit_draft", draft_id=draft.id))


def _store_uploads(draft: Any, spec: formbuilder.FormSpec) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for slot in spec.attachments:
        upload = request.files.get(FILE_PREFIX + slot.slot)
        if upload is None or not upload.filename:
            continue
        try:
            services.add_attachment(
                db.session,
                _storage(),
                draft.id,
                actor=current_user,
                slot=slot.slot,
                filename=upload.filename,
                data=upload.stream,
            )
        except services.AttachmentRejected as error:
            errors[f"allegato:{slot.slot}"] = [error.message]
    return errors


def _render_draft(
    draft: Any,
    spec: formbuilder.FormSpec,
    *,
    formdata: Any,
    errors: dict[str, list[str]] | None = None,
) -> str:
    dossier = services.dossier_values(spec, draft.company, draft.local_unit)
    stored = formbuilder.answers_formdata(draft.answers or {}, draft.dossier_updates or ())
    data = formdata if formdata is not None else stored
    form = procedure_form(
        spec,
        prefilled=list(dossier),
        choices=catalogue_services.field_choices(db.session, spec),
        formdata=data,
    )
    form.idempotency_key.data = (formdata or MultiDict()).get("idempotency_key") or uuid.uuid4().hex
    errors = errors or {}
    for name, messages in errors.items():
        if name in form._fields:
            form[name].errors = list(messages)
    current, _updates = formbuilder.answers_from_formdata(spec, data)
    return render_template(
        "procedures/draft.html",
        draft=draft,
        spec=spec,
        form=form,
        dossier={k: _as_text(v) for k, v in dossier.items()},
        current={k: _as_text(v) for k, v in current.items()},
        visible=formbuilder.visible_fields(spec, current),
        attachments={a.slot: a for a in draft.attachments if a.procedure_id is None},
        errors=errors,
        general_errors=errors.get(services.GENERAL_ERROR, []),
        type_title=catalogue_services.type_title_of(draft.type_version),
        update_prefix=formbuilder.UPDATE_PREFIX,
        file_prefix=FILE_PREFIX,
    )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@bp.post("/bozze/<int:draft_id>/salvataggio")
def autosave(draft_id: int) -> tuple[Response, int] | Response:
    """The page's periodic save (fetch, JSON): any answer is accepted, valid or not."""
    if not current_user.is_authenticated:
        return jsonify(saved=False, reason="session_expired"), 401
    try:
        draft = services.get_draft(db.session, current_user, draft_id)
        spec = catalogue_services.spec_of(draft.type_version)
        answers, updates = formbuilder.answers_from_formdata(spec, request.form)
        draft = services.save_draft(
            db.session, draft.id, actor=current_user, answers=answers, dossier_updates=updates
        )
    except NotFound:
        return jsonify(saved=False, reason="not_found"), 404
    except services.DraftAlreadyFiled as filed:
        return jsonify(saved=False, reason="filed", procedure_id=filed.procedure_id), 409
    return jsonify(saved=True, saved_at=draft.updated_at.isoformat())


@bp.post("/bozze/<int:draft_id>/elimina")
@login_required
def delete_draft(draft_id: int) -> Response:
    try:
        services.delete_draft(db.session, _storage(), draft_id, actor=current_user)
    except NotFound:
        abort(404)
    except services.DraftAlreadyFiled as filed:
        return redirect(url_for("procedures.detail", procedure_id=filed.procedure_id))
    flash(_("Bozza eliminata."), "info")
    return redirect(url_for("procedures.index"))


@bp.post("/bozze/<int:draft_id>/allegati/<int:attachment_id>/elimina")
@login_required
def remove_attachment(draft_id: int, attachment_id: int) -> Response:
    try:
        services.remove_attachment(
            db.session, _storage(), draft_id, attachment_id, actor=current_user
        )
    except NotFound:
        abort(404)
    except services.DraftAlreadyFiled as filed:
        return redirect(url_for("procedures.detail", procedure_id=filed.procedure_id))
    flash(_("Allegato rimosso."), "info")
    return redirect(url_for("procedures.edit_draft", draft_id=draft_id))
