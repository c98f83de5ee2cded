"""Locale selection: Italian first. The web pages switch to English only when the person
chooses it (cookie set by the language button); API clients may ask with Accept-Language."""

from __future__ import annotations

from flask import current_app, has_request_context, request


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():  # CLI commands and jobs speak the portal's first language
        return default
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or default
    return default
