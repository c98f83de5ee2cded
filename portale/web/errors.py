"""Error pages in the user's language; API paths answer JSON.

While the database is unreachable (a restart, a failover) a request answers ``503`` with
``Retry-After`` and a page that reads nothing from the database, never a stack trace; the
engine's ``pool_pre_ping`` replaces dead pooled connections, so requests after the restart
succeed without one.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (not that a query is wrong)."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return render_template("errors/error.html", code=400, csrf=True), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return jsonify(
                code=error.code, status=error.name, message=error.description
            ), error.code
        return render_template("errors/error.html", code=error.code), error.code or 500

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):  # type: ignore[no-untyped-def]
        if not database_unavailable(error):
            raise error
        log.warning("database unavailable: %s", error.orig)
        from portale.extensions import db

        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - the connection is gone already
            log.debug("session cleanup after a database error failed", exc_info=True)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if request.path.startswith("/api/"):
            body = jsonify(
                code=503,
                status="Service Unavailable",
                message=_("Servizio momentaneamente non disponibile: riprova tra poco."),
            )
            return body, 503, headers
        page = render_template("errors/unavailable.html", retry_after=RETRY_AFTER_SECONDS)
        return page, 503, headers
