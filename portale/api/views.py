"""Registers the API blueprints under /api/v1, and the caller's own resource (/me)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from portale.api import schemas
from portale.api.auth import TokenBlueprint, current_api_user

me_blp = TokenBlueprint(
    "api_me", __name__, url_prefix="/api/v1/me", description="The account the token belongs to."
)


@me_blp.route("", methods=["GET"])
@me_blp.response(200, schemas.MeSchema)
def me() -> dict[str, Any]:
    """The token's user and roles."""
    user = current_api_user()
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "tax_code": user.tax_code,
        "roles": sorted(user.role_names),
        "locale": user.locale,
    }


def blueprints() -> list[Blueprint]:
    from portale.api import backoffice, procedures
    from portale.api.dossier import blp as companies
    from portale.api.programme import blp as programme
    from portale.api.reports import blp as reports

    return [
        me_blp,
        companies,
        *procedures.blueprints(),
        *backoffice.blueprints(),
        reports,
        programme,
    ]
