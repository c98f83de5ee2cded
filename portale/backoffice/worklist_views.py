"""The clerk's desk (*scrivania*): the worklist, taking in charge, and consulting authorities.

The procedure page itself (``backoffice.procedure``) belongs to the ``backoffice`` blueprint;
it includes ``backoffice/_opinions.html`` and ``backoffice/_cdss.html``, whose forms post here.
Everything answers 404 to anyone who is not a clerk of the procedure's office.
"""

from __future__ import annotations

from datetime import date
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

from portale.accounts.models import ROLE_CLERK
from portale.backoffice import consultations, worklist
from portale.cases.labels import opinion_outcome_label
from portale.cases.models import OpinionRequest
from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date
from portale.db import utcnow
from portale.errors import ActionNotAllowed, NotFound
from portale.extensions import db
from portale.storage import storage_from_config
from portale.web.security import safe_redirect_target

bp = Blueprint("worklist", __name__, url_prefix="/scrivania")


def _clerk() -> Any:
    if not current_user.has_role(ROLE_CLERK) or current_user.office_id is None:
        abort(404)
    return current_user


def _procedure(procedure_id: int) -> Any:
    try:
        return worklist.procedure_of_office(db.session, _clerk(), procedure_id)
    except NotFound:
        abort(404)


def procedure_url(procedure_id: int) -> str:
    """The clerk's procedure page when it exists (branch decisions), else the worklist."""
    if "backoffice.procedure" in current_app.view_functions:
        return url_for("backoffice.procedure", procedure_id=procedure_id)
    return url_for("worklist.index")


# --- template helpers for the partials included by the procedure page -------------------------


@bp.app_template_global()
def clerk_procedure_url(procedure_id: int) -> str:
    return procedure_url(procedure_id)


@bp.app_template_global()
def opinions_of(procedure: Any) -> list[OpinionRequest]:
    return consultations.opinions_of(db.session, procedure.id)


@bp.app_template_global()
def consultable_authorities() -> list[Any]:
    return consultations.active_authorities(db.session)


@bp.app_template_global()
def cdss_status_of(procedure: Any) -> consultations.CdssStatus:
    return consultations.cdss_status(db.session, procedure)


@bp.app_template_global()
def final_states() -> frozenset[str]:
    return lc.FINAL_STATES


bp.add_app_template_global(opinion_outcome_label, "opinion_outcome_label")


@bp.app_template_global()
def today_in_rome() -> date:
    return local_date(utcnow())


# --- the worklist -----------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> tuple[str, int] | str:
    user = _clerk()
    errors: dict[str, str] = {}
    try:
        query = worklist.parse_query(request.args)
    except worklist.InvalidQuery as error:
        errors = error.errors
        query = worklist.WorklistQuery()
    page = worklist.worklist_page(db.session, user, query)
    html = render_template(
        "backoffice/worklist.html",
        page=page,
        query=query,
        choices=worklist.worklist_choices(db.session, user),
        errors=errors,
        states=lc.STATES,
    )
    return (html, 400) if errors else html


@bp.post("/pratiche/<int:procedure_id>/presa-in-carico")
@login_required
def take(procedure_id: int) -> Response:
    return _assign(procedure_id, None)


@bp.post("/pratiche/<int:procedure_id>/assegna")
@login_required
def assign(procedure_id: int) -> Response:
    try:
        assignee_id = int(request.form.get("assignee_id") or 0)
    except ValueError:
        assignee_id = 0
    if not assignee_id:
        flash(_("Scegli il collega a cui assegnare la pratica."), "danger")
        return redirect(_back())
    return _assign(procedure_id, assignee_id)


def _assign(procedure_id: int, assignee_id: int | None) -> Response:
    procedure = _procedure(procedure_id)
    try:
        worklist.assign(
            db.session,
            procedure.id,
            actor=current_user,
            assignee_id=assignee_id,
            link=procedure_url(procedure.id),
        )
    except ActionNotAllowed as error:
        flash(error.message, "danger")
        return redirect(_back())
    if assignee_id in (None, current_user.id):
        flash(_("Hai preso in carico la pratica %(p)s.", p=procedure.protocol_label), "success")
    else:
        flash(_("Pratica %(p)s assegnata.", p=procedure.protocol_label), "success")
    return redirect(_back())


def _back() -> str:
    # Back to the list the clerk was looking at (same filters and page), never off-site.
    return safe_redirect_target(request.form.get("next"), url_for("worklist.index"))


# --- opinions and the services conference -------------------------------------------------------


def _asks() -> tuple[list[consultations.OpinionAsk], dict[str, str]]:
    asks: list[consultations.OpinionAsk] = []
    errors: dict[str, str] = {}
    for raw in request.form.getlist("authority"):
        try:
            authority_id = int(raw)
        except ValueError:
            continue
        term_raw = (request.form.get(f"term_{authority_id}") or "").strip()
        try:
            asks.append(consultations.OpinionAsk(authority_id, int(term_raw) if term_raw else 30))
        except ValueError:
            errors[f"term_{authority_id}"] = _("Indica il termine in giorni.")
    return asks, errors


@bp.post("/pratiche/<int:procedure_id>/pareri")
@login_required
def request_opinion(procedure_id: int) -> Response:
    procedure = _procedure(procedure_id)
    asks, errors = _asks()
    if errors:
        for message in errors.values():
            flash(message, "danger")
        return redirect(procedure_url(procedure.id))
    try:
        created = consultations.ask_opinions(
            db.session,
            procedure,
            asks,
            actor=current_user,
            question=(request.form.get("question") or "").strip()[:4000],
            link_for=lambda o: url_for("authority.opinion", opinion_id=o.id),
        )
    except ActionNotAllowed as error:
        flash(error.message, "danger")
    else:
        flash(_("Parere richiesto a %(n)s enti.", n=len(created)), "success")
    return redirect(procedure_url(procedure.id))


@bp.post("/pratiche/<int:procedure_id>/cdss")
@login_required
def convene_cdss(procedure_id: int) -> Response:
    procedure = _procedure(procedure_id)
    try:
        on = date.fromisoformat(request.form.get("date") or "")
    except ValueError:
        flash(_("Indica la data della conferenza (gg/mm/aaaa)."), "danger")
        return redirect(procedure_url(procedure.id))
    try:
        consultations.convene_cdss(
            db.session,
            procedure,
            actor=current_user,
            on=on,
            participants=request.form.getlist("participants"),
        )
    except ActionNotAllowed as error:
        flash(error.message, "danger")
    else:
        flash(
            _("Conferenza di servizi indetta per il %(d)s.", d=on.strftime("%d/%m/%Y")), "success"
        )
    return redirect(procedure_url(procedure.id))


@bp.post("/pratiche/<int:procedure_id>/cdss/esito")
@login_required
def cdss_outcome(procedure_id: int) -> Response:
    procedure = _procedure(procedure_id)
    try:
        consultations.record_cdss_outcome(
            db.session,
            procedure,
            actor=current_user,
            outcome=request.form.get("outcome") or "",
            text=(request.form.get("text") or "")[:4000],
        )
    except ActionNotAllowed as error:
        flash(error.message, "danger")
    else:
        flash(_("Esito della conferenza registrato."), "success")
    return redirect(procedure_url(procedure.id))


@bp.get("/pareri/<int:opinion_id>/documento")
@login_required
def opinion_document(opinion_id: int) -> Any:
    opinion = db.session.get(OpinionRequest, opinion_id)
    if opinion is None or not opinion.document_key:
        abort(404)
    _procedure(opinion.procedure_id)
    storage = storage_from_config(current_app.config)
    try:
        handle = storage.open(opinion.document_key)
    except FileNotFoundError:
        abort(404)
    return send_file(
        handle,
        as_attachment=True,
        download_name=opinion.document_name or "parere",
        mimetype="application/octet-stream",
    )
