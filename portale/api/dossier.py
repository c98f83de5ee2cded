"""Dossier endpoints: list, read, create and update companies, and read their history.

Access goes through mandates exactly as on the web: a company the caller holds no mandate
for is "not found" (404), never "forbidden", so ids cannot be probed. Updates use the
dossier's ``version`` for optimistic locking (``If-Match`` or ``version`` in the body): a
stale version answers 409 with the changes made since, so the client can merge, and a
missing one 428, so no client overwrites blindly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import User
from portale.api import schemas
from portale.api.auth import ApiError, TokenBlueprint, current_api_user
from portale.dossier import access, services
from portale.dossier.models import SOURCE_USER, Company, DossierChange
from portale.extensions import db

blp = TokenBlueprint(
    "api_companies",
    __name__,
    url_prefix="/api/v1/companies",
    description="Company dossiers (fascicolo d'impresa) the caller holds a mandate for.",
)

CREATOR_ROLES = ("entrepreneur", "intermediary")
VERSION_DOC = {"ETag": {"description": "the dossier version", "schema": {"type": "string"}}}
IF_MATCH_PARAM = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "the dossier version read (ETag); required unless `version` is in the body",
    "schema": {"type": "string"},
}


# --- helpers ------------------------------------------------------------------------------


def _etag(version: int) -> str:
    return f'"{version}"'


def _parse_tag(raw: str) -> int | None:
    tag = raw.strip()
    tag = tag.removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else None


def _company_or_404(session: Session, user: User, company_id: int, need: str) -> Company:
    try:
        return access.get_company_for(session, user, company_id, need=need)
    except access.NoAccess:
        raise ApiError(404, _("Impresa non trovata.")) from None


def _actors(session: Session, changes: Iterable[DossierChange]) -> dict[int, User]:
    ids = {c.actor_id for c in changes if c.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _provenance(change: DossierChange, actors: Mapping[int, User]) -> dict[str, Any]:
    actor = actors.get(change.actor_id) if change.actor_id is not None else None
    return {
        "source": change.source,
        "source_ref": change.source_ref,
        "actor": {"id": actor.id, "name": actor.full_name} if actor else None,
        "at": change.changed_at,
        "version": change.company_version,
    }


def _change(change: DossierChange, actors: Mapping[int, User]) -> dict[str, Any]:
    return {
        "id": change.id,
        "field": change.field_path,
        "old_value": change.old_value,
        "new_value": change.new_value,
        **_provenance(change, actors),
    }


def _changes(session: Session, changes: list[DossierChange]) -> list[dict[str, Any]]:
    actors = _actors(session, changes)
    return [_change(c, actors) for c in changes]


def _dossier(session: Session, company: Company) -> dict[str, Any]:
    provenance = services.field_provenance(session, company.id)
    actors = _actors(session, provenance.values())
    return {
        **services.serialise_company(company),
        "provenance": {path: _provenance(c, actors) for path, c in provenance.items()},
    }


def _dossier_response(session: Session, company: Company, status: int = 200) -> Any:
    headers = {"ETag": _etag(company.version)}
    if status == 201:
        headers["Location"] = url_for("api_companies.get_company", company_id=company.id)
    return _dossier(session, company), status, headers


def _expected_version(body: dict[str, Any]) -> int:
    from_body = body.pop("version", None)
    header = request.headers.get("If-Match")
    if header is None and from_body is None:
        raise ApiError(
            428,
            _(
                "Indica la versione del fascicolo che hai letto (intestazione If-Match o "
                "campo version): serve a non sovrascrivere le modifiche di altri."
            ),
        )
    if header is None:
        return int(from_body)
    version = _parse_tag(header)
    if version is None:
        raise ApiError(400, _("Intestazione If-Match non valida: deve contenere la versione."))
    if from_body is not None and from_body != version:
        raise ApiError(400, _("La versione in If-Match e quella nel corpo non coincidono."))
    return version


def _refuse_invalid(errors: Mapping[str, Any]) -> ApiError:
    return ApiError(422, _("Dati non validi: controlla i campi indicati."), errors=errors)


# --- endpoints ----------------------------------------------------------------------------


@blp.route("", methods=["GET"])
@blp.response(200, schemas.CompanyListSchema)
def list_companies() -> dict[str, Any]:
    """Companies the caller holds an active mandate for."""
    companies = access.accessible_companies(db.session, current_api_user())
    return {"items": companies}


@blp.route("", methods=["POST"])
@blp.arguments(schemas.CompanyCreateSchema)
@blp.response(201, schemas.DossierSchema, headers=VERSION_DOC)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_company(data: dict[str, Any]) -> Any:
    """Create a dossier; the caller becomes its legal representative with an owner mandate."""
    user = current_api_user()
    if not user.has_role(*CREATOR_ROLES):
        raise ApiError(403, _("Solo imprenditori e intermediari possono creare un fascicolo."))
    try:
        company = services.create_company(db.session, actor=user, data=data, source=SOURCE_USER)
    except services.DossierValidationError as error:
        raise _refuse_invalid(error.errors) from None
    return _dossier_response(db.session, company, status=201)


@blp.route("/<int:company_id>", methods=["GET"])
@blp.response(200, schemas.DossierSchema, headers=VERSION_DOC)
@blp.alt_response(304, response="NOT_MODIFIED")
@blp.alt_response(404, response="NOT_FOUND")
def get_company(company_id: int) -> Any:
    """The whole dossier with each field's provenance; the ETag is the dossier version."""
    company = _company_or_404(db.session, current_api_user(), company_id, "read")
    cached = request.headers.get("If-None-Match")
    if cached is not None and _parse_tag(cached) == company.version:
        return "", 304, {"ETag": _etag(company.version)}
    return _dossier_response(db.session, company)


@blp.route("/<int:company_id>", methods=["PATCH"])
@blp.doc(parameters=[IF_MATCH_PARAM])
@blp.arguments(schemas.CompanyPatchSchema)
@blp.response(200, schemas.DossierSchema, headers=VERSION_DOC)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, schema=schemas.ConflictSchema, description="The version is stale")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(428, response="PRECONDITION_REQUIRED")
def update_company(data: dict[str, Any], company_id: int) -> Any:
    """Change some fields of the company; send the version read as ``If-Match``."""
    user = current_api_user()
    _company_or_404(db.session, user, company_id, "edit")
    expected = _expected_version(data)
    if not data:
        raise _refuse_invalid({"_schema": [_("Nessun campo da modificare.")]})
    try:
        company = services.update_company(
            db.session,
            company_id,
            actor=user,
            expected_version=expected,
            changes=data,
            source=SOURCE_USER,
        )
    except services.DossierConflict as conflict:
        raise ApiError(
            409,
            _(
                "Il fascicolo è stato modificato da altri dopo la versione %(version)s: "
                "rileggilo e riapplica le tue modifiche.",
                version=expected,
            ),
            current_version=conflict.current_version,
            changes_since=_changes(db.session, list(conflict.changes_since)),
            headers={"ETag": _etag(conflict.current_version)},
        ) from None
    except services.DossierValidationError as error:
        raise _refuse_invalid(error.errors) from None
    return _dossier_response(db.session, company)


@blp.route("/<int:company_id>/history", methods=["GET"])
@blp.arguments(schemas.HistoryQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.HistoryPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def company_history(company_id: int, limit: int, offset: int) -> dict[str, Any]:
    """Every change to the dossier, newest first: who or what, when, old and new value."""
    _company_or_404(db.session, current_api_user(), company_id, "read")
    items = services.company_history(db.session, company_id, limit=limit, offset=offset)
    return {
        "items": _changes(db.session, items),
        "limit": limit,
        "offset": offset,
        "total": services.count_history(db.session, company_id),
    }
