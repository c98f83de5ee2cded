"""SPID / CIE pages: the Entity Configuration, the redirect to the provider, the callback, the
first login (create or link an account), and the login methods offered on the login page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user, login_user, user_logged_out
from werkzeug.wrappers import Response

from connectors import oidc as protocol
from portale.accounts import oidc
from portale.extensions import db, limiter

bp = Blueprint("oidc", __name__)

STATES_KEY = "oidc_states"
PENDING_KEY = "oidc_pending"
LOGIN_KEY = "oidc_login"
EXTENSION = "portale_oidc"


def configure(app: Flask, settings: dict[str, Any] | None = None, transport: Any = None) -> None:
    """(Re)build the relying party from ``settings`` (default: ``app.config["OIDC"]``)."""
    if settings is not None:
        app.config["OIDC"] = settings
    app.extensions[EXTENSION] = oidc.build_federation(app.config.get("OIDC") or {}, transport)


def federation() -> oidc.Federation | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if EXTENSION not in app.extensions:
        configure(app)
    return app.extensions[EXTENSION]


def login_methods() -> tuple[str, ...]:
    methods = tuple(current_app.config.get("LOGIN_METHODS") or ("password",))
    if federation() is None:
        methods = tuple(m for m in methods if m == "password") or ("password",)
    return methods


def _next_target(value: str | None) -> str | None:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def _ip() -> str | None:
    return request.remote_addr


def _failure_page(failure: oidc.LoginFailure) -> tuple[str, int]:
    status = 503 if failure.kind == "unavailable" else 400
    return (
        render_template("accounts/oidc_error.html", failure=failure),
        status,
    )


@bp.get("/.well-known/openid-federation")
def entity_configuration() -> Response:
    fed = federation()
    if fed is None:
        abort(404)
    return Response(
        fed.rp.entity_configuration(), content_type=protocol.ENTITY_STATEMENT_MEDIA_TYPE
    )


@bp.get("/oidc/accedi/<flavour>")
@limiter.limit("30/minute")
def start(flavour: str) -> Response | tuple[str, int]:
    fed = federation()
    if flavour not in ("spid", "cie") or flavour not in login_methods() or fed is None:
        abort(404)
    provider = request.args.get("op") or (fed.cie_provider if flavour == "cie" else "") or ""
    try:
        url, state = oidc.begin(
            db.session,
            fed,
            provider=provider,
            flavour=flavour,
            next_url=_next_target(request.args.get("next")),
            ip=_ip(),
            ui_locales=str(get_locale() or "it"),
        )
    except oidc.LoginFailure as failure:
        return _failure_page(failure)
    states = [s for s in session.get(STATES_KEY, []) if s != state][-4:] + [state]
    session[STATES_KEY] = states
    return redirect(url)


@bp.get("/oidc/callback")
@limiter.limit("30/minute")
def callback() -> Response | tuple[str, int]:
    fed = federation()
    if fed is None:
        abort(404)
    try:
        done = oidc.complete(
            db.session,
            fed,
            args=request.args.to_dict(),
            browser_states=list(session.get(STATES_KEY, [])),
            ip=_ip(),
        )
    except oidc.LoginFailure as failure:
        db.session.rollback()
        return _failure_page(failure)
    finally:
        state = request.args.get("state")
        session[STATES_KEY] = [s for s in session.get(STATES_KEY, []) if s != state]
    if done.user is None:
        session[PENDING_KEY] = done.attempt.id
        return redirect(url_for("oidc.first_login"))
    return _log_in(done.user, done.attempt)


def _log_in(user: Any, attempt: Any) -> Response:
    if current_user.is_authenticated:
        from flask_login import logout_user

        logout_user()
    session.pop(PENDING_KEY, None)
    login_user(user)
    session[LOGIN_KEY] = attempt.id
    return redirect(attempt.next_url or url_for("web.home"))


@bp.route("/oidc/primo-accesso", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def first_login() -> Response | str:
    attempt = oidc.pending_attempt(db.session, session.get(PENDING_KEY))
    if attempt is None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("accounts.login"))
    error = field = None
    email = (request.form.get("email") or "").strip()
    if request.method == "POST":
        try:
            if request.form.get("action") == "link":
                user = oidc.link_account(
                    db.session,
                    attempt,
                    email=email,
                    password=request.form.get("password") or "",
                    ip=_ip(),
                )
            else:
                user = oidc.create_account(
                    db.session, attempt, intermediary=bool(request.form.get("intermediary"))
                )
        except oidc.LinkError as failure:
            error, field = failure.message, failure.field
        else:
            return _log_in(user, attempt)
    return render_template(
        "accounts/first_login.html",
        identity=attempt.identity,
        error=error,
        field=field,
        email=email,
        password_login="password" in login_methods(),
    )


@bp.app_context_processor
def _login_page_context() -> dict[str, Any]:
    def providers() -> list[dict[str, str]]:
        fed = federation()
        if fed is None:
            return []
        found = []
        for entity_id in fed.spid_providers:
            try:
                resolved = fed.resolver.resolve(entity_id)
            except protocol.OidcError as error:
                current_app.logger.warning("SPID provider %s not offered: %s", entity_id, error)
                continue
            found.append({"id": entity_id, "name": resolved.organization_name})
        return found

    return {"login_methods": login_methods, "spid_providers": providers}


@bp.before_app_request
def _password_login_enabled() -> None:
    # With PORTALE_LOGIN_METHODS without "password" the password form is not offered nor taken.
    if (
        request.endpoint in ("accounts.login", "accounts.register")
        and request.method == "POST"
        and "password" not in login_methods()
    ):
        abort(404)


def _on_logout(app: Flask, user: Any = None) -> None:
    attempt_id = session.pop(LOGIN_KEY, None)
    session.pop(PENDING_KEY, None)
    if attempt_id:
        oidc.end_provider_session(db.session, federation(), int(attempt_id))


user_logged_out.connect(_on_logout)
