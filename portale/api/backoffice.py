"""The back office through the API: the clock of a procedure, the clerk's actions and the
company's answers. Same use cases and rules as the web pages (:mod:`portale.backoffice.decisions`);
an action not allowed now answers 409 with the reason, anything outside the caller's office or
mandates answers 404.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields, validate

from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.api.schemas import ItalianSchema
from portale.backoffice import decisions
from portale.backoffice.views import ACTION_LABELS
from portale.cases import access as case_access
from portale.cases import acts
from portale.cases import answers as case_answers
from portale.cases import requests as case_requests
from portale.cases import services as core
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db
from portale.storage import storage_from_config

clerk_blp = TokenBlueprint(
    "api_backoffice",
    __name__,
    url_prefix="/api/v1/backoffice/procedures",
    description="The clerk's view of a procedure (clock, pending request) and actions on it.",
)
answers_blp = TokenBlueprint(
    "api_procedure_answers",
    __name__,
    url_prefix="/api/v1/procedures",
    description="The company's answers to the office: requests, 10-bis observations, withdrawal.",
)


class ClockSchema(ma.Schema):
    term_days = fields.Integer(allow_none=True)
    last_day = fields.Date(allow_none=True)
    days_used = fields.Integer()
    days_suspended = fields.Integer()
    days_left = fields.Integer(allow_none=True)
    suspended_now = fields.Boolean()
    interrupted = fields.Boolean()
    overdue = fields.Boolean()
    decided_on = fields.Date(allow_none=True)


class PendingSchema(ma.Schema):
    kind = fields.String()
    text = fields.String()
    documents = fields.List(fields.String())
    respond_by = fields.Date(allow_none=True)


class ActSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    protocol = fields.String(attribute="protocol_label")
    issued_at = fields.DateTime()
    sha256 = fields.String()
    valid_until = fields.Date(allow_none=True)


class BackofficeProcedureSchema(ma.Schema):
    id = fields.Integer()
    protocol = fields.String()
    regime = fields.String()
    state = fields.String()
    clock = fields.Nested(ClockSchema)
    pending_request = fields.Nested(PendingSchema, allow_none=True)
    actions = fields.List(fields.String(), metadata={"description": "actions allowed now"})
    acts = fields.List(fields.Nested(ActSchema))


class ActionSchema(ItalianSchema):
    text = fields.String(load_default="")
    days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    documents = fields.List(fields.String(), load_default=list)


class AnswerSchema(ItalianSchema):
    note = fields.String(load_default="")
    answers = fields.Dict(load_default=None, allow_none=True)


class TextSchema(ItalianSchema):
    text = fields.String(load_default="")


def clock_json(procedure: Any) -> dict[str, Any]:
    clock = core.clock_of(db.session, procedure)
    return {name: getattr(clock, name) for name in ClockSchema._declared_fields}


def _representation(procedure: Any) -> dict[str, Any]:
    return {
        "id": procedure.id,
        "protocol": procedure.protocol_label,
        "regime": procedure.regime,
        "state": procedure.state,
        "clock": clock_json(procedure),
        "pending_request": case_requests.pending_request(db.session, procedure),
        "actions": decisions.offered_actions(db.session, procedure),
        "acts": acts.acts_of(db.session, procedure.id),
    }


def _not_allowed(error: ActionNotAllowed) -> ApiError:
    db.session.rollback()
    return ApiError(409, error.message)


@clerk_blp.route("/<int:procedure_id>", methods=["GET"])
@clerk_blp.response(200, BackofficeProcedureSchema)
@clerk_blp.alt_response(404, response="NOT_FOUND")
def get_procedure(procedure_id: int) -> dict[str, Any]:
    """The procedure as the clerk sees it: clock, pending request, actions allowed now, acts."""
    return _representation(_clerk_procedure(procedure_id))


def _clerk_procedure(procedure_id: int) -> Any:
    try:
        return case_access.procedure_for_clerk(db.session, current_api_user(), procedure_id)
    except NotFound:
        raise ApiError(404, _("Pratica non trovata.")) from None


@clerk_blp.route("/<int:procedure_id>/actions/<action>", methods=["POST"])
@clerk_blp.arguments(ActionSchema)
@clerk_blp.response(200, BackofficeProcedureSchema)
@clerk_blp.alt_response(404, response="NOT_FOUND")
@clerk_blp.alt_response(409, response="CONFLICT")
def act_on(data: dict[str, Any], procedure_id: int, action: str) -> dict[str, Any]:
    """Take one action (``request_correction``, ``refuse``, ``request_integration``,
    ``send_refusal_notice``, ``approve``, ``reject``, ``request_conformation``, ``prohibit``)."""
    procedure = _clerk_procedure(procedure_id)
    if action not in ACTION_LABELS:
        raise ApiError(404, _("Azione sconosciuta."))
    session, user, storage = db.session, current_api_user(), storage_from_config(current_app.config)
    text, days = data["text"], data["days"]
    calls = {
        "request_correction": lambda: decisions.request_correction(
            session, procedure, actor=user, text=text, days=days
        ),
        "refuse": lambda: decisions.refuse(session, procedure, actor=user, motivation=text),
        "request_integration": lambda: decisions.request_integration(
            session, procedure, actor=user, text=text, documents=data["documents"], days=days
        ),
        "send_refusal_notice": lambda: decisions.send_refusal_notice(
            session, procedure, actor=user, text=text
        ),
        "approve": lambda: decisions.approve(
            session, storage, procedure, actor=user, motivation=text
        ),
        "reject": lambda: decisions.reject(
            session, storage, procedure, actor=user, motivation=text
        ),
        "request_conformation": lambda: decisions.request_conformation(
            session, procedure, actor=user, text=text, days=days
        ),
        "prohibit": lambda: decisions.prohibit(
            session, storage, procedure, actor=user, motivation=text
        ),
    }
    try:
        calls[action]()
    except ActionNotAllowed as error:
        raise _not_allowed(error) from None
    return _representation(procedure)


def _company_procedure(procedure_id: int, need: str = "edit") -> Any:
    try:
        return case_access.procedure_for_company(
            db.session, current_api_user(), procedure_id, need=need
        )
    except NotFound:
        raise ApiError(404, _("Pratica non trovata.")) from None


@answers_blp.route("/<int:procedure_id>/clock", methods=["GET"])
@answers_blp.response(200, BackofficeProcedureSchema)
@answers_blp.alt_response(404, response="NOT_FOUND")
def company_view(procedure_id: int) -> dict[str, Any]:
    """Clock, pending request and acts of one of the caller's procedures."""
    return _representation(_company_procedure(procedure_id, need="read"))


@answers_blp.route("/<int:procedure_id>/answer", methods=["POST"])
@answers_blp.arguments(AnswerSchema)
@answers_blp.response(200, BackofficeProcedureSchema)
@answers_blp.alt_response(404, response="NOT_FOUND")
@answers_blp.alt_response(409, response="CONFLICT")
def answer(data: dict[str, Any], procedure_id: int) -> dict[str, Any]:
    """Answer a correction, integration or conformation request (corrected answers, a note)."""
    procedure = _company_procedure(procedure_id)
    try:
        case_answers.answer_request(
            db.session,
            storage_from_config(current_app.config),
            procedure,
            actor=current_api_user(),
            note=data["note"],
            answers=data["answers"],
        )
    except case_answers.AnswerInvalid as error:
        db.session.rollback()
        raise ApiError(422, _("Risposta non valida."), errors=error.errors) from None
    except ActionNotAllowed as error:
        raise _not_allowed(error) from None
    return _representation(procedure)


@answers_blp.route("/<int:procedure_id>/observations", methods=["POST"])
@answers_blp.arguments(TextSchema)
@answers_blp.response(200, BackofficeProcedureSchema)
@answers_blp.alt_response(404, response="NOT_FOUND")
@answers_blp.alt_response(409, response="CONFLICT")
def observations(data: dict[str, Any], procedure_id: int) -> dict[str, Any]:
    """Observations on a notice of reasons for refusal (art. 10-bis), within 10 days."""
    procedure = _company_procedure(procedure_id)
    try:
        case_answers.send_observations(
            db.session,
            storage_from_config(current_app.config),
            procedure,
            actor=current_api_user(),
            text=data["text"],
        )
    except case_answers.AnswerInvalid as error:
        db.session.rollback()
        raise ApiError(422, _("Risposta non valida."), errors=error.errors) from None
    except ActionNotAllowed as error:
        raise _not_allowed(error) from None
    return _representation(procedure)


@answers_blp.route("/<int:procedure_id>/withdraw", methods=["POST"])
@answers_blp.arguments(TextSchema)
@answers_blp.response(200, BackofficeProcedureSchema)
@answers_blp.alt_response(404, response="NOT_FOUND")
@answers_blp.alt_response(409, response="CONFLICT")
def withdraw(data: dict[str, Any], procedure_id: int) -> dict[str, Any]:
    """Withdraw a procedure not yet decided."""
    procedure = _company_procedure(procedure_id)
    try:
        case_answers.withdraw(db.session, procedure, actor=current_api_user(), reason=data["text"])
    except ActionNotAllowed as error:
        raise _not_allowed(error) from None
    return _representation(procedure)


@answers_blp.route("/<int:procedure_id>/acts/<int:act_id>", methods=["GET"])
@answers_blp.response(200, description="The act as a PDF", content_type="application/pdf")
@answers_blp.alt_response(404, response="NOT_FOUND")
def act_pdf(procedure_id: int, act_id: int) -> Any:
    """Download an act (licence, rejection, prohibition, certificate of silent assent)."""
    import io

    from flask import send_file

    procedure = _company_procedure(procedure_id, need="read")
    try:
        act = acts.act_for(db.session, procedure, act_id)
    except NotFound:
        raise ApiError(404, _("Atto non trovato.")) from None
    data = storage_from_config(current_app.config).read(act.storage_key)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=act.filename)


def blueprints() -> list[Blueprint]:
    return [clerk_blp, answers_blp]
