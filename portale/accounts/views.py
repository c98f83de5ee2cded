"""Login, logout, registration, notifications and API tokens of the logged-in user."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portale.accounts import services
from portale.accounts.forms import LoginForm, RegistrationForm
from portale.extensions import db, limiter
from portale.web.security import safe_redirect_target

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(default: str) -> str:
    return safe_redirect_target(request.args.get("next"), default)


@bp.route("/accedi", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(url_for("web.home")))
        form.password.errors.append(_("E-mail o password non corretti."))
    return render_template("accounts/login.html", form=form)


@bp.post("/esci")
@login_required
def logout() -> Response:
    logout_user()
    flash(_("Sei uscito dal portale."), "info")
    return redirect(url_for("web.home"))


@bp.route("/registrati", methods=["GET", "POST"])
@limiter.limit("5/minute", methods=["POST"])
def register() -> str | Response:
    form = RegistrationForm()
    if form.validate_on_submit():
        roles = ("intermediary",) if form.is_intermediary.data else ("entrepreneur",)
        try:
            user = services.register_user(
                db.session,
                email=form.email.data,
                password=form.password.data,
                full_name=form.full_name.data,
                tax_code=form.tax_code.data or None,
                roles=roles,
            )
        except services.AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            login_user(user)
            flash(_("Benvenuto! Il tuo account è stato creato."), "success")
            return redirect(url_for("web.home"))
    return render_template("accounts/register.html", form=form)


@bp.get("/notifiche")
@login_required
def notifications() -> str:
    items = services.unread_notifications(db.session, current_user.id, limit=100)
    return render_template("accounts/notifications.html", items=items)


@bp.route("/token", methods=["GET", "POST"])
@login_required
def tokens() -> str:
    from sqlalchemy import select

    from portale.accounts.models import ApiToken

    issued = None
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf

        validate_csrf(request.form.get("csrf_token"))
        if request.form.get("revoke"):
            services.revoke_api_token(db.session, current_user, int(request.form["revoke"]))
            flash(_("Token revocato."), "info")
        else:
            name = (request.form.get("name") or "").strip()[:100] or _("Token API")
            issued = services.issue_api_token(db.session, current_user, name)
    items = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template("accounts/tokens.html", items=items, issued=issued)
