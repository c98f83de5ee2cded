"""The simplification programme through the API (``/api/v1/programme/...``).

Targets with their computed status, offices compared for a procedure type, proposals with their
lifecycle and comments. The access rules are the pages' own: analysts and stakeholders only
(404 for anyone else); only analysts set targets and change a proposal's status; stakeholders
get the public comparison, with small groups left out.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from marshmallow import fields, validate

from portale.accounts.models import ROLE_ANALYST, ROLE_STAKEHOLDER
from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.api.schemas import ItalianSchema
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.extensions import db
from portale.programme import proposals, ranking, targets
from portale.programme.models import MEASURES, PROPOSAL_STATUSES, STEPS, Proposal, Target

blp = TokenBlueprint(
    "api_programme",
    __name__,
    url_prefix="/api/v1/programme",
    description="Simplification programme: targets, offices compared, proposals.",
)

MAX_ID = 2**31 - 1


def _member() -> Any:
    user = current_api_user()
    if not user.has_role(ROLE_ANALYST, ROLE_STAKEHOLDER):
        raise ApiError(404, _("Risorsa non trovata."))
    return user


def _analyst() -> Any:
    user = _member()
    if not user.has_role(ROLE_ANALYST):
        raise ApiError(404, _("Risorsa non trovata."))
    return user


def _today() -> date:
    return local_date(utcnow())


# --- schemas -----------------------------------------------------------------------------


class PointSchema(ItalianSchema):
    label = fields.String()
    start = fields.Date()
    end = fields.Date()
    value = fields.Float(allow_none=True)
    n = fields.Integer()


class ProgressSchema(ItalianSchema):
    office_id = fields.Integer(allow_none=True)
    office_name = fields.String()
    baseline = fields.Nested(PointSchema)
    points = fields.List(fields.Nested(PointSchema))
    now = fields.Nested(PointSchema, allow_none=True)
    slope_per_year = fields.Float(allow_none=True)
    projection = fields.Float(allow_none=True)
    status = fields.String(metadata={"description": "on_track, at_risk, missed, achieved, no_data"})


class TargetSchema(ItalianSchema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    type_code = fields.String(allow_none=True, load_default=None)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    threshold = fields.Float(
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "days, or a share from 0 to 1 for within_term"},
    )
    each_office = fields.Boolean(load_default=False)
    office_ids = fields.List(fields.Integer(validate=validate.Range(1, MAX_ID)), load_default=list)
    baseline_start = fields.Date(required=True)
    baseline_end = fields.Date(required=True)
    due_on = fields.Date(required=True)
    notes = fields.String(allow_none=True, load_default=None)


class TargetWithProgressSchema(TargetSchema):
    status = fields.String(dump_only=True)
    overall = fields.Nested(ProgressSchema, dump_only=True)
    offices = fields.List(fields.Nested(ProgressSchema), dump_only=True)


class TargetListSchema(ItalianSchema):
    targets = fields.List(fields.Nested(TargetWithProgressSchema))


class RankingQuerySchema(ItalianSchema):
    tipo = fields.String(required=True, metadata={"description": "procedure type code"})
    misura = fields.String(load_default="median_net", validate=validate.OneOf(MEASURES))
    dal = fields.Date(load_default=None)
    al = fields.Date(load_default=None)


class RankedOfficeSchema(ItalianSchema):
    office_id = fields.Integer()
    name = fields.String()
    filed = fields.Integer()
    measured = fields.Integer()
    value = fields.Float(allow_none=True)
    band = fields.List(fields.Float(), allow_none=True)
    rank_low = fields.Integer(allow_none=True, metadata={"description": "null: too few"})
    rank_high = fields.Integer(allow_none=True)
    integrations_per_procedure = fields.Float(allow_none=True)
    first_time_right_share = fields.Float(allow_none=True)
    days_office = fields.Float(allow_none=True)
    days_authority = fields.Float(allow_none=True)
    days_company = fields.Float(allow_none=True)


class RankingSchema(ItalianSchema):
    type_code = fields.String()
    measure = fields.String()
    start = fields.Date()
    end = fields.Date()
    public = fields.Boolean()
    offices = fields.List(fields.Nested(RankedOfficeSchema))


class ProposalCreateSchema(ItalianSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    type_codes = fields.List(fields.String(), load_default=list)
    steps = fields.List(fields.String(validate=validate.OneOf(STEPS)), load_default=list)
    office_ids = fields.List(fields.Integer(validate=validate.Range(1, MAX_ID)), load_default=list)
    measure = fields.String(load_default="median_net", validate=validate.OneOf(MEASURES))


class CommentSchema(ItalianSchema):
    id = fields.Integer(dump_only=True)
    author = fields.String(dump_only=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    created_at = fields.DateTime(dump_only=True)


class ProposalChangeSchema(ItalianSchema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    note = fields.String(allow_none=True)
    at = fields.DateTime()


class EffectSchema(ItalianSchema):
    measure = fields.String()
    window_days = fields.Integer()
    before_value = fields.Float(allow_none=True)
    after_value = fields.Float(allow_none=True)
    before_n = fields.Integer()
    after_n = fields.Integer()
    change = fields.Float(allow_none=True)


class ProposalSchema(ProposalCreateSchema):
    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    in_force_on = fields.Date(dump_only=True, allow_none=True)
    author = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    comments = fields.List(fields.Nested(CommentSchema), dump_only=True)
    changes = fields.List(fields.Nested(ProposalChangeSchema), dump_only=True)
    effect = fields.Nested(EffectSchema, dump_only=True, allow_none=True)


class ProposalListSchema(ItalianSchema):
    proposals = fields.List(fields.Nested(ProposalSchema))


class StatusChangeSchema(ItalianSchema):
    status = fields.String(required=True, validate=validate.OneOf(PROPOSAL_STATUSES))
    note = fields.String(load_default="")
    in_force_on = fields.Date(load_default=None)


# --- helpers -----------------------------------------------------------------------------


def _progress(p: targets.Progress) -> dict[str, Any]:
    return {**p.__dict__, "now": p.now.__dict__ if p.now else None}


def _target(target: Target) -> dict[str, Any]:
    found = targets.progress(db.session, target, today=_today())
    return {
        "id": target.id,
        "title": target.title,
        "type_code": target.type_code,
        "measure": target.measure,
        "threshold": target.threshold,
        "each_office": target.each_office,
        "office_ids": target.office_ids,
        "baseline_start": target.baseline_start,
        "baseline_end": target.baseline_end,
        "due_on": target.due_on,
        "notes": target.notes,
        "status": found.status,
        "overall": _progress(found.overall),
        "offices": [_progress(p) for p in found.offices],
    }


def _proposal(proposal: Proposal) -> dict[str, Any]:
    effect = proposals.effect(db.session, proposal, today=_today())
    return {
        "id": proposal.id,
        "title": proposal.title,
        "body": proposal.body,
        "type_codes": proposal.type_codes,
        "steps": proposal.steps,
        "office_ids": proposal.office_ids,
        "measure": proposal.measure,
        "status": proposal.status,
        "in_force_on": proposal.in_force_on,
        "author": proposal.author.full_name if proposal.author else "",
        "created_at": proposal.created_at,
        "comments": [
            {
                "id": c.id,
                "author": c.author.full_name if c.author else "",
                "body": c.body,
                "created_at": c.created_at,
            }
            for c in proposal.comments
        ],
        "changes": [c.__dict__ for c in proposal.changes],
        "effect": {**effect.__dict__, "change": effect.change} if effect else None,
    }


def _invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, _("Dati non validi: controlla i campi indicati."), errors=errors)


def _get_proposal(proposal_id: int) -> Proposal:
    found = db.session.get(Proposal, proposal_id) if proposal_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, _("Proposta non trovata."))
    return found


# --- targets -----------------------------------------------------------------------------


@blp.route("/targets", methods=["GET"])
@blp.response(200, TargetListSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_targets() -> dict[str, Any]:
    """Every target of the pact with its baseline, now, trend, projection and status."""
    _member()
    return {"targets": [_target(t) for t in targets.all_targets(db.session)]}


@blp.route("/targets", methods=["POST"])
@blp.arguments(TargetSchema)
@blp.response(201, TargetWithProgressSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_target(data: dict[str, Any]) -> Any:
    """Set a target (analysts)."""
    user = _analyst()
    if data["baseline_end"] < data["baseline_start"]:
        raise _invalid({"baseline_end": _("La fine del periodo precede l'inizio.")})
    if data["due_on"] <= data["baseline_end"]:
        raise _invalid({"due_on": _("La scadenza deve seguire il periodo di riferimento.")})
    if data["measure"] == "within_term" and data["threshold"] > 1:
        raise _invalid({"threshold": _("Una quota va da 0 a 1.")})
    target = targets.save_target(db.session, None, actor_id=user.id, **data)
    return _target(target), 201


@blp.route("/targets/<int:target_id>", methods=["GET"])
@blp.response(200, TargetWithProgressSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_target(target_id: int) -> dict[str, Any]:
    """One target with its progress."""
    _member()
    target = db.session.get(Target, target_id) if target_id <= MAX_ID else None
    if target is None:
        raise ApiError(404, _("Obiettivo non trovato."))
    return _target(target)


# --- offices compared --------------------------------------------------------------------


@blp.route("/rankings", methods=["GET"])
@blp.arguments(RankingQuerySchema, location="query")
@blp.response(200, RankingSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def get_ranking(args: dict[str, Any]) -> dict[str, Any]:
    """Offices ranked for one procedure type, with 95% bands; stakeholders get the public
    version (offices with fewer than five procedures left out)."""
    user = _member()
    end = args["al"] or _today()
    start = args["dal"] or end - timedelta(days=364)
    if start > end:
        raise _invalid({"dal": _("L'inizio del periodo è successivo alla fine.")})
    result = ranking.rank_offices(
        db.session,
        type_code=args["tipo"],
        measure=args["misura"],
        start=start,
        end=end,
        public=not user.has_role(ROLE_ANALYST),
    )
    return {
        "type_code": args["tipo"],
        "measure": args["misura"],
        "start": start,
        "end": end,
        "public": result.public,
        "offices": [
            {**o.__dict__, "band": list(o.band) if o.band else None} for o in result.offices
        ],
    }


# --- proposals ---------------------------------------------------------------------------


@blp.route("/proposals", methods=["GET"])
@blp.response(200, ProposalListSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_proposals() -> dict[str, Any]:
    """Every proposal, most recently changed first."""
    _member()
    return {"proposals": [_proposal(p) for p in proposals.list_proposals(db.session)]}


@blp.route("/proposals", methods=["POST"])
@blp.arguments(ProposalCreateSchema)
@blp.response(201, ProposalSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_proposal(data: dict[str, Any]) -> Any:
    """File a proposal (stakeholders and analysts); its author follows it."""
    user = _member()
    try:
        proposal = proposals.file_proposal(db.session, user, **data)
    except proposals.ProposalError as error:
        raise _invalid(error.errors) from None
    return _proposal(proposal), 201


@blp.route("/proposals/<int:proposal_id>", methods=["GET"])
@blp.response(200, ProposalSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_proposal(proposal_id: int) -> dict[str, Any]:
    """One proposal with its comments, status changes and measured effect."""
    _member()
    return _proposal(_get_proposal(proposal_id))


@blp.route("/proposals/<int:proposal_id>/status", methods=["POST"])
@blp.arguments(StatusChangeSchema)
@blp.response(200, ProposalSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def change_status(data: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Move a proposal along its lifecycle (analysts); followers are told."""
    user = _analyst()
    proposal = _get_proposal(proposal_id)
    try:
        proposals.change_status(
            db.session,
            proposal,
            user,
            data["status"],
            note=data["note"],
            in_force_on=data["in_force_on"],
            today=_today(),
        )
    except proposals.ProposalError as error:
        raise _invalid(error.errors) from None
    return _proposal(proposal)


@blp.route("/proposals/<int:proposal_id>/comments", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(201, ProposalSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def add_comment(data: dict[str, Any], proposal_id: int) -> Any:
    """Comment on a proposal; the commenter follows it and the other followers are told."""
    user = _member()
    proposal = _get_proposal(proposal_id)
    try:
        proposals.add_comment(db.session, proposal, user, data["body"])
    except proposals.ProposalError as error:
        raise _invalid(error.errors) from None
    return _proposal(proposal), 201
