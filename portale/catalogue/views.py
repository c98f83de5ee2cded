"""Catalogue pages: search and read procedure types; administrators review and publish versions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from portale.accounts.models import Authority
from portale.catalogue import services
from portale.catalogue.models import PUBLISHED, ProcedureTypeVersion
from portale.extensions import db
from portale.reference.models import Municipality

bp = Blueprint("catalogue", __name__, url_prefix="/catalogo")


def _locale() -> str:
    return str(get_locale() or "it")


@bp.get("/")
def index() -> str:
    text = request.args.get("q", "").strip()[:200]
    municipality = request.args.get("comune", "").strip()[:6]
    results = services.search_catalogue(db.session, text or None, municipality or None, _locale())
    municipalities = db.session.execute(
        select(Municipality.istat_code, Municipality.name).order_by(Municipality.name)
    ).all()
    return render_template(
        "catalogue/index.html",
        results=results,
        q=text,
        comune=municipality,
        municipalities=municipalities,
        locale=_locale(),
    )


@bp.get("/<code>")
def detail(code: str) -> str:
    version = services.current_version(db.session, code)
    if version is None:
        abort(404)
    codes = version.spec.get("authorities", [])
    authorities = db.session.scalars(select(Authority).where(Authority.code.in_(codes))).all()
    return render_template(
        "catalogue/detail.html",
        version=version,
        spec=version.spec,
        locale=_locale(),
        authorities=authorities,
        municipality_names=_override_names(version.spec),
    )


def _override_names(spec: dict) -> dict[str, str]:
    """Names of the municipalities that set their own fees (ISTAT codes are not for people)."""
    codes = {c for fee in spec.get("fees") or [] for c in (fee.get("overrides") or {})}
    if not codes:
        return {}
    rows = db.session.execute(
        select(Municipality.istat_code, Municipality.name).where(Municipality.istat_code.in_(codes))
    ).all()
    return {code: name for code, name in rows} | {c: c for c in codes - {r[0] for r in rows}}


def _admin() -> None:
    if not current_user.is_authenticated or not current_user.has_role("admin"):
        abort(404)


@bp.get("/gestione")
@login_required
def admin_index() -> str:
    _admin()
    return render_template("catalogue/admin_index.html", types=services.list_types(db.session))


@bp.get("/gestione/<code>")
@login_required
def admin_versions(code: str) -> str:
    _admin()
    versions = services.list_versions(db.session, code)
    if not versions:
        abort(404)
    published = next((v for v in versions if v.status == PUBLISHED), None)
    diffs = {
        v.id: services.spec_diff(published.spec if published else None, v.spec)
        for v in versions
        if published is not None and v.id != published.id
    }
    return render_template(
        "catalogue/admin_versions.html",
        code=code,
        versions=versions,
        published=published,
        diffs=diffs,
        form=FlaskForm(),
    )


@bp.post("/gestione/versione/<int:version_id>/pubblica")
@login_required
def publish(version_id: int) -> Response:
    _admin()
    if not FlaskForm().validate_on_submit():
        abort(400)
    version = db.session.get(ProcedureTypeVersion, version_id)
    if version is None:
        abort(404)
    services.publish_version(db.session, version_id, current_user)
    flash(
        _(
            "Versione %(v)d pubblicata: le nuove pratiche useranno questa versione.",
            v=version.version,
        ),
        "success",
    )
    return redirect(url_for("catalogue.admin_versions", code=version.code))
