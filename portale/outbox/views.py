"""Administrator's view of the outbox: jobs failing or waiting, with retry and cancel."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portale.extensions import db
from portale.outbox import services

bp = Blueprint("outbox", __name__, url_prefix="/admin/coda")


@bp.before_request
@login_required
def _admins_only() -> None:
    if not current_user.has_role("admin"):
        abort(404)


@bp.get("/")
def index() -> str:
    return render_template(
        "outbox/index.html",
        stats=services.stats(db.session),
        jobs=services.problem_jobs(db.session),
        form=FlaskForm(),
    )


@bp.post("/<int:job_id>/riprova")
def retry(job_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    if services.retry_now(db.session, job_id) is None:
        flash(_("Questo invio non può essere ritentato."), "warning")
    else:
        flash(_("Invio rimesso in coda."), "success")
    return redirect(url_for("outbox.index"))


@bp.post("/<int:job_id>/annulla")
def cancel(job_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    if services.cancel(db.session, job_id) is None:
        flash(_("Questo invio non può essere annullato."), "warning")
    else:
        flash(_("Invio annullato."), "success")
    return redirect(url_for("outbox.index"))
