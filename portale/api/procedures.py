"""Filing through the API: catalogue, drafts prefilled from the dossier, attachments, and
idempotent submission (``Idempotency-Key`` header), with the same rules as the web pages.

Drafts keep whatever the client sends, valid or not, and answer with the errors per field;
only submission refuses invalid data. Anything outside the caller's mandates is 404.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields

from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.api.schemas import ItalianSchema
from portale.cases.models import Procedure
from portale.catalogue import services as catalogue
from portale.catalogue import services as catalogue_services
from portale.catalogue.models import ProcedureTypeVersion
from portale.errors import NotFound
from portale.extensions import db
from portale.procedures import services as filing
from portale.procedures.models import Draft
from portale.storage import storage_from_config

catalogue_blp = TokenBlueprint(
    "api_catalogue",
    __name__,
    url_prefix="/api/v1/catalogue",
    description="Procedure types that can be filed (catalogo dei procedimenti).",
)
drafts_blp = TokenBlueprint(
    "api_drafts",
    __name__,
    url_prefix="/api/v1/drafts",
    description="Procedures being filled in: prefilled from the dossier, saved as they are.",
)
procedures_blp = TokenBlueprint(
    "api_procedures",
    __name__,
    url_prefix="/api/v1/procedures",
    description="Filed procedures with their protocol number, CUI, state and timeline.",
)

IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "a key of the client's choice: repeating it returns the procedure filed the first time",
    "schema": {"type": "string", "maxLength": 100},
}


# --- schemas ---------------------------------------------------------------------------------


class CatalogueQuerySchema(ItalianSchema):
    q = fields.String(load_default=None)
    municipality = fields.String(load_default=None)


class ProcedureTypeSchema(ma.Schema):
    code = fields.String()
    version = fields.Integer()
    title = fields.String()
    regime = fields.String()
    term_days = fields.Integer(allow_none=True)
    silent_assent = fields.Boolean()
    control_window_days = fields.Integer(allow_none=True)
    spec = fields.Dict(metadata={"description": "fields, attachments, fees, legal basis, times"})


class ProcedureTypeListSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcedureTypeSchema))


class DraftCreateSchema(ItalianSchema):
    company_id = fields.Integer(required=True)
    local_unit_id = fields.Integer(required=True)
    type_code = fields.String(required=True)


class DraftUpdateSchema(ItalianSchema):
    answers = fields.Dict(required=True)
    dossier_updates = fields.List(fields.String(), load_default=None)


class AttachmentSchema(ma.Schema):
    id = fields.Integer()
    slot = fields.String()
    filename = fields.String()
    kind = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class DraftSchema(ma.Schema):
    id = fields.Integer()
    company_id = fields.Integer()
    local_unit_id = fields.Integer()
    type_code = fields.String()
    type_version = fields.Integer()
    answers = fields.Dict()
    dossier_updates = fields.List(fields.String())
    prefilled = fields.List(
        fields.String(), metadata={"description": "fields bound to the dossier"}
    )
    attachments = fields.List(fields.Nested(AttachmentSchema))
    errors = fields.Dict(metadata={"description": "what submission would refuse now, per field"})
    procedure_id = fields.Integer(allow_none=True)


class EventSchema(ma.Schema):
    kind = fields.String()
    at = fields.DateTime()
    payload = fields.Dict()


class ProcedureSchema(ma.Schema):
    id = fields.Integer()
    company_id = fields.Integer()
    type_code = fields.String()
    type_version = fields.Integer()
    regime = fields.String()
    state = fields.String()
    cui = fields.Dict()
    protocol = fields.String()
    submitted_at = fields.DateTime()
    received_on = fields.Date(allow_none=True)
    last_day = fields.Date(allow_none=True)
    answers = fields.Dict()
    attachments = fields.List(fields.Nested(AttachmentSchema))
    events = fields.List(fields.Nested(EventSchema))
    receipt_url = fields.String()
    clock = fields.Dict(
        metadata={
            "description": "term_days, last_day, days_used, days_suspended, days_left, "
            "suspended_now, interrupted, overdue, decided_on (see /procedures/{id}/clock)"
        }
    )


class ProcedureListSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcedureSchema))


# --- helpers ---------------------------------------------------------------------------------


def _type(version: ProcedureTypeVersion) -> dict[str, Any]:
    return {
        "code": version.code,
        "version": version.version,
        "title": version.title_for(str(get_locale() or "it")),
        "regime": version.regime,
        "term_days": version.term_days,
        "silent_assent": version.silent_assent,
        "control_window_days": version.control_window_days,
        "spec": version.spec,
    }


def _draft(draft: Draft) -> dict[str, Any]:
    _clean, errors = filing.validate_draft(db.session, draft)
    spec = catalogue_services.spec_of(draft.type_version)
    return {
        "id": draft.id,
        "company_id": draft.company_id,
        "local_unit_id": draft.local_unit_id,
        "type_code": draft.type_code,
        "type_version": draft.type_version.version,
        "answers": draft.answers or {},
        "dossier_updates": draft.dossier_updates or [],
        "prefilled": [f.name for f in spec.fields if f.dossier_path],
        "attachments": list(draft.attachments),
        "errors": errors,
        "procedure_id": draft.procedure_id,
    }


def _procedure(procedure: Procedure) -> dict[str, Any]:
    return {
        "id": procedure.id,
        "company_id": procedure.company_id,
        "type_code": procedure.type_code,
        "type_version": procedure.type_version.version,
        "regime": procedure.regime,
        "state": procedure.state,
        "cui": {
            "context": procedure.cui_context,
            "data": procedure.cui_date.isoformat(),
            "progressive": str(procedure.cui_progressive),
            "uuid": procedure.cui_uuid,
        },
        "protocol": procedure.protocol_label,
        "submitted_at": procedure.submitted_at,
        "received_on": procedure.received_on,
        "last_day": procedure.last_day,
        "answers": procedure.answers or {},
        "attachments": list(procedure.attachments),
        "events": list(procedure.events),
        "receipt_url": url_for("api_procedures.receipt", procedure_id=procedure.id),
        "clock": _clock(procedure),
    }


def _clock(procedure: Procedure) -> dict[str, Any]:
    from portale.api.backoffice import clock_json

    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in clock_json(procedure).items()
    }


def _get_draft(draft_id: int) -> Draft:
    try:
        return filing.get_draft(db.session, current_api_user(), draft_id)
    except NotFound:
        raise ApiError(404, _("Bozza non trovata.")) from None


def _get_procedure(procedure_id: int) -> Procedure:
    try:
        return filing.procedure_for(db.session, current_api_user(), procedure_id)
    except NotFound:
        raise ApiError(404, _("Pratica non trovata.")) from None


# --- catalogue -------------------------------------------------------------------------------


@catalogue_blp.route("", methods=["GET"])
@catalogue_blp.arguments(CatalogueQuerySchema, location="query", as_kwargs=True)
@catalogue_blp.response(200, ProcedureTypeListSchema)
def list_types(q: str | None, municipality: str | None) -> dict[str, Any]:
    """Published procedure types matching the words ``q`` and offered in ``municipality``."""
    rows = catalogue.search_catalogue(db.session, q, municipality, str(get_locale() or "it"))
    return {"items": [_type(v) for v in rows]}


@catalogue_blp.route("/<code>", methods=["GET"])
@catalogue_blp.response(200, ProcedureTypeSchema)
@catalogue_blp.alt_response(404, response="NOT_FOUND")
def get_type(code: str) -> dict[str, Any]:
    """The version in force of one procedure type."""
    version = catalogue.current_version(db.session, code)
    if version is None:
        raise ApiError(404, _("Procedimento non trovato nel catalogo."))
    return _type(version)


# --- drafts ----------------------------------------------------------------------------------


@drafts_blp.route("", methods=["POST"])
@drafts_blp.arguments(DraftCreateSchema)
@drafts_blp.response(201, DraftSchema)
@drafts_blp.alt_response(404, response="NOT_FOUND")
def create_draft(data: dict[str, Any]) -> Any:
    """Start a procedure for one premises of a company: the answers come prefilled."""
    try:
        draft = filing.start_draft(db.session, actor=current_api_user(), **data)
    except NotFound:
        raise ApiError(404, _("Impresa, sede o procedimento non trovati.")) from None
    return _draft(draft), 201, {"Location": url_for("api_drafts.get_draft", draft_id=draft.id)}


@drafts_blp.route("/<int:draft_id>", methods=["GET"])
@drafts_blp.response(200, DraftSchema)
@drafts_blp.alt_response(404, response="NOT_FOUND")
def get_draft(draft_id: int) -> dict[str, Any]:
    """The draft as saved, with what submission would refuse now."""
    return _draft(_get_draft(draft_id))


@drafts_blp.route("/<int:draft_id>", methods=["PATCH"])
@drafts_blp.arguments(DraftUpdateSchema)
@drafts_blp.response(200, DraftSchema)
@drafts_blp.alt_response(404, response="NOT_FOUND")
@drafts_blp.alt_response(409, response="CONFLICT")
def update_draft(data: dict[str, Any], draft_id: int) -> dict[str, Any]:
    """Save answers as they are (partial or invalid ones too); errors come back per field."""
    _get_draft(draft_id)
    try:
        draft = filing.save_draft(db.session, draft_id, actor=current_api_user(), **data)
    except filing.DraftAlreadyFiled:
        raise ApiError(409, _("La bozza è già stata presentata.")) from None
    return _draft(draft)


@drafts_blp.route("/<int:draft_id>/attachments/<slot>", methods=["POST"])
@drafts_blp.response(201, AttachmentSchema)
@drafts_blp.alt_response(404, response="NOT_FOUND")
@drafts_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def upload_attachment(draft_id: int, slot: str) -> Any:
    """Upload the file of one attachment slot (multipart field ``file``); checked by content."""
    _get_draft(draft_id)
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            422,
            _("Manca il file (campo «file» della richiesta multipart)."),
            errors={"file": [_("Campo obbligatorio.")]},
        )
    try:
        attachment = filing.add_attachment(
            db.session,
            storage_from_config(current_app.config),
            draft_id,
            actor=current_api_user(),
            slot=slot,
            filename=upload.filename or "",
            data=upload.stream,
        )
    except filing.AttachmentRejected as error:
        raise ApiError(422, str(error), errors={slot: [str(error)]}) from None
    except NotFound:
        raise ApiError(404, _("Allegato non previsto per questo procedimento.")) from None
    return attachment, 201


@drafts_blp.route("/<int:draft_id>/attachments/<int:attachment_id>", methods=["DELETE"])
@drafts_blp.response(204)
@drafts_blp.alt_response(404, response="NOT_FOUND")
def delete_attachment(draft_id: int, attachment_id: int) -> None:
    """Remove an uploaded file from the draft."""
    _get_draft(draft_id)
    try:
        filing.remove_attachment(
            db.session,
            storage_from_config(current_app.config),
            draft_id,
            attachment_id,
            actor=current_api_user(),
        )
    except NotFound:
        raise ApiError(404, _("Allegato non trovato.")) from None


@drafts_blp.route("/<int:draft_id>/submit", methods=["POST"])
@drafts_blp.doc(parameters=[IDEMPOTENCY_PARAM])
@drafts_blp.response(201, ProcedureSchema)
@drafts_blp.alt_response(200, schema=ProcedureSchema, description="Already filed with this key")
@drafts_blp.alt_response(404, response="NOT_FOUND")
@drafts_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@drafts_blp.alt_response(428, response="PRECONDITION_REQUIRED")
def submit(draft_id: int) -> Any:
    """File the draft: protocol number, CUI, receipt. The same key never files twice."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        raise ApiError(
            428,
            _(
                "Indica l'intestazione Idempotency-Key: evita di presentare due volte la stessa pratica."
            ),
        )
    user = current_api_user()
    _get_draft(draft_id)  # 404 unless the caller may work on this draft
    # Keys are scoped to the client's account, so two clients cannot collide.
    scoped_key = f"api:{user.id}:{key}"
    try:
        procedure, created = filing.file_draft(
            db.session,
            storage_from_config(current_app.config),
            draft_id,
            actor=user,
            idempotency_key=scoped_key,
        )
    except filing.SubmissionInvalid as error:
        raise ApiError(
            422,
            _("La pratica non può essere presentata: controlla i campi indicati."),
            errors=error.errors,
        ) from None
    # 200 whenever this request did not file it: a repeat, or a concurrent twin that won.
    return _procedure(procedure), 201 if created else 200


# --- procedures ------------------------------------------------------------------------------


@procedures_blp.route("", methods=["GET"])
@procedures_blp.response(200, ProcedureListSchema)
def list_procedures() -> dict[str, Any]:
    """Procedures of the companies the caller holds a mandate for, newest first."""
    return {
        "items": [_procedure(p) for p in filing.list_procedures_for(db.session, current_api_user())]
    }


@procedures_blp.route("/<int:procedure_id>", methods=["GET"])
@procedures_blp.response(200, ProcedureSchema)
@procedures_blp.alt_response(404, response="NOT_FOUND")
def get_procedure(procedure_id: int) -> dict[str, Any]:
    """One filed procedure with its timeline of events."""
    return _procedure(_get_procedure(procedure_id))


@procedures_blp.route("/<int:procedure_id>/receipt", methods=["GET"])
@procedures_blp.response(200, description="The receipt PDF", content_type="application/pdf")
@procedures_blp.alt_response(404, response="NOT_FOUND")
def receipt(procedure_id: int) -> Any:
    """The receipt (ricevuta) as a PDF."""
    import io

    from portale.procedures.receipt import ensure_receipt, receipt_filename

    procedure = _get_procedure(procedure_id)
    pdf = ensure_receipt(db.session, storage_from_config(current_app.config), procedure)
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", download_name=receipt_filename(procedure)
    )


def blueprints() -> list[Blueprint]:
    return [catalogue_blp, drafts_blp, procedures_blp]
