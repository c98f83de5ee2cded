"""Locale selection: the user's explicit choice (cookie), then the browser, then Italian."""

from __future__ import annotations

from flask import current_app, request


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]
