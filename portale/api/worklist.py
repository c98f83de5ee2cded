"""Back office through the API: the clerk's worklist and the authority officer's opinions.

Same services, filters, paging and access rules as the web pages: a clerk sees only their
office's procedures, an officer only the opinions asked of their authority; anything else
is 404.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields, validate

from portale.accounts.models import ROLE_AUTHORITY_OFFICER, ROLE_CLERK, User
from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.api.schemas import ItalianSchema
from portale.backoffice import authority, worklist
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db

worklist_blp = TokenBlueprint(
    "api_worklist",
    __name__,
    url_prefix="/api/v1/worklist",
    description="The clerk's worklist: procedures of their office, filtered and paged by keyset.",
)
authority_blp = TokenBlueprint(
    "api_authority",
    __name__,
    url_prefix="/api/v1/authority",
    description="Opinions asked of the officer's authority, and the answer.",
)


class WorklistQuerySchema(ItalianSchema):
    sort = fields.String(load_default="deadline", validate=validate.OneOf(worklist.SORTS))
    order = fields.String(load_default="asc", validate=validate.OneOf(worklist.ORDERS))
    state = fields.String(
        load_default=worklist.STATE_OPEN,
        validate=validate.OneOf((worklist.STATE_OPEN, worklist.STATE_ALL, *lc.STATES)),
    )
    type_code = fields.String(load_default="")
    municipality = fields.String(load_default="")
    assignee = fields.String(load_default="any", validate=validate.OneOf(worklist.ASSIGNEES))
    due = fields.String(load_default="", validate=validate.OneOf(worklist.DUES))
    after = fields.String(load_default="", metadata={"description": "next_after of the last page"})
    limit = fields.Integer(
        load_default=worklist.DEFAULT_LIMIT, validate=validate.Range(1, worklist.MAX_LIMIT)
    )


class WorklistItemSchema(ma.Schema):
    id = fields.Integer()
    protocol = fields.String()
    type_code = fields.String()
    company = fields.String()
    municipality = fields.String()
    municipality_name = fields.String()
    state = fields.String()
    submitted_at = fields.DateTime()
    last_day = fields.Date(allow_none=True)
    days_left = fields.Integer(allow_none=True)
    suspended = fields.Boolean()
    overdue = fields.Boolean()
    assignee_id = fields.Integer(allow_none=True)
    assignee = fields.String(allow_none=True)


class WorklistPageSchema(ma.Schema):
    items = fields.List(fields.Nested(WorklistItemSchema))
    next_after = fields.String(allow_none=True)
    next_url = fields.String(allow_none=True)


class OpinionSchema(ma.Schema):
    id = fields.Integer()
    procedure_id = fields.Integer()
    protocol = fields.String()
    company = fields.String()
    type_code = fields.String()
    authority = fields.String()
    question = fields.String()
    requested_at = fields.DateTime()
    due_on = fields.Date()
    late = fields.Boolean()
    answered_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    text = fields.String(allow_none=True)


class OpinionListSchema(ma.Schema):
    items = fields.List(fields.Nested(OpinionSchema))


class OpinionAnswerSchema(ItalianSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(authority.OFFICER_OUTCOMES))
    text = fields.String(load_default="", validate=validate.Length(max=4000))


class AssignSchema(ItalianSchema):
    assignee_id = fields.Integer(
        load_default=None,
        metadata={"description": "a clerk of the same office; the caller if absent"},
    )


class AssignedSchema(ma.Schema):
    id = fields.Integer()
    assignee_id = fields.Integer()


class IntegrationRequestSchema(ItalianSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    documents = fields.List(fields.String(validate=validate.Length(max=300)), load_default=list)


def _clerk() -> User:
    user = current_api_user()
    if not user.has_role(ROLE_CLERK) or user.office_id is None:
        raise ApiError(404, _("Risorsa non trovata."))
    return user


def _officer() -> User:
    user = current_api_user()
    if not user.has_role(ROLE_AUTHORITY_OFFICER) or user.authority_id is None:
        raise ApiError(404, _("Risorsa non trovata."))
    return user


def _item(row: worklist.WorklistRow) -> dict[str, Any]:
    p = row.procedure
    return {
        "id": p.id,
        "protocol": p.protocol_label,
        "type_code": p.type_code,
        "company": p.company.name,
        "municipality": p.municipality,
        "municipality_name": row.municipality_name,
        "state": p.state,
        "submitted_at": p.submitted_at,
        "last_day": row.last_day,
        "days_left": row.days_left,
        "suspended": row.suspended,
        "overdue": row.overdue,
        "assignee_id": p.assignee_id,
        "assignee": row.assignee_name,
    }


@worklist_blp.route("", methods=["GET"])
@worklist_blp.arguments(WorklistQuerySchema, location="query")
@worklist_blp.response(200, WorklistPageSchema)
@worklist_blp.alt_response(404, response="NOT_FOUND")
def get_worklist(args: dict[str, Any]) -> dict[str, Any]:
    """One page of the worklist; pass ``next_after`` back as ``after`` for the next one."""
    user = _clerk()
    try:
        query = worklist.parse_query(args)
    except worklist.InvalidQuery as error:
        raise ApiError(422, _("Parametri non validi."), errors=error.errors) from None
    page = worklist.worklist_page(db.session, user, query)
    next_url = None
    if page.next_after:
        next_url = url_for("api_worklist.get_worklist", **query.args(after=page.next_after))
    return {
        "items": [_item(r) for r in page.rows],
        "next_after": page.next_after,
        "next_url": next_url,
    }


@worklist_blp.route("/<int:procedure_id>/assignee", methods=["POST"])
@worklist_blp.arguments(AssignSchema)
@worklist_blp.response(200, AssignedSchema)
@worklist_blp.alt_response(404, response="NOT_FOUND")
@worklist_blp.alt_response(409, response="CONFLICT")
def assign(data: dict[str, Any], procedure_id: int) -> dict[str, Any]:
    """Take the procedure in charge, or give it to a colleague of the same office."""
    user = _clerk()
    try:
        procedure = worklist.assign(
            db.session, procedure_id, actor=user, assignee_id=data.get("assignee_id")
        )
    except NotFound:
        raise ApiError(404, _("Pratica non trovata.")) from None
    except ActionNotAllowed as error:
        raise ApiError(409, error.message) from None
    return {"id": procedure.id, "assignee_id": procedure.assignee_id}


def _opinion(opinion: Any) -> dict[str, Any]:
    procedure = opinion.procedure
    return {
        "id": opinion.id,
        "procedure_id": procedure.id,
        "protocol": procedure.protocol_label,
        "company": procedure.company.name,
        "type_code": procedure.type_code,
        "authority": opinion.authority.code,
        "question": opinion.question,
        "requested_at": opinion.requested_at,
        "due_on": opinion.due_on,
        "late": opinion.is_late(local_date(utcnow())),
        "answered_at": opinion.answered_at,
        "outcome": opinion.outcome,
        "text": opinion.text,
    }


@authority_blp.route("/opinions", methods=["GET"])
@authority_blp.response(200, OpinionListSchema)
@authority_blp.alt_response(404, response="NOT_FOUND")
def list_opinions() -> dict[str, Any]:
    """Opinions asked of the caller's authority: open ones first, by due day."""
    return {"items": [_opinion(o) for o in authority.opinions_for(db.session, _officer())]}


@authority_blp.route("/opinions/<int:opinion_id>", methods=["POST"])
@authority_blp.arguments(OpinionAnswerSchema)
@authority_blp.response(200, OpinionSchema)
@authority_blp.alt_response(404, response="NOT_FOUND")
@authority_blp.alt_response(409, response="CONFLICT")
@authority_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def give(data: dict[str, Any], opinion_id: int) -> dict[str, Any]:
    """Give the opinion: favourable, favourable with conditions or unfavourable (+ text)."""
    from flask import current_app

    from portale.storage import storage_from_config

    officer = _officer()
    try:
        opinion = authority.answer_opinion(
            db.session,
            storage_from_config(current_app.config),
            officer,
            opinion_id,
            outcome=data["outcome"],
            text=data["text"],
        )
    except NotFound:
        raise ApiError(404, _("Parere non trovato.")) from None
    except authority.OpinionInvalid as error:
        raise ApiError(
            422, _("Dati non validi: controlla i campi indicati."), errors=error.errors
        ) from None
    except ActionNotAllowed as error:
        raise ApiError(409, error.message) from None
    return _opinion(opinion)


@authority_blp.route("/opinions/<int:opinion_id>/integration-request", methods=["POST"])
@authority_blp.arguments(IntegrationRequestSchema)
@authority_blp.response(202)
@authority_blp.alt_response(404, response="NOT_FOUND")
@authority_blp.alt_response(409, response="CONFLICT")
def integration_request(data: dict[str, Any], opinion_id: int) -> tuple[str, int]:
    """Ask, through the office, for documents from the company (the office merges every
    authority's request into one)."""
    officer = _officer()
    try:
        authority.ask_integration(
            db.session, officer, opinion_id, text=data["text"], documents=data["documents"]
        )
    except NotFound:
        raise ApiError(404, _("Parere non trovato.")) from None
    except authority.OpinionInvalid as error:
        raise ApiError(
            422, _("Dati non validi: controlla i campi indicati."), errors=error.errors
        ) from None
    except ActionNotAllowed as error:
        raise ApiError(409, error.message) from None
    return "", 202


def blueprints() -> list[Blueprint]:
    return [worklist_blp, authority_blp]
