"""Home page and language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portale.web.security import safe_redirect_target

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    return render_template("home.html")


@bp.post("/lingua")
def set_language() -> Response:
    lang = request.form.get("lang", "it")
    target = safe_redirect_target(request.form.get("next"), url_for("web.home"))
    response = redirect(target)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response
