"""Portale Unico delle Imprese: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from portale.config import PROJECT_ROOT, load_settings

# Each area owns one blueprint; the factory registers them in this order.
BLUEPRINTS = (
    "portale.web.views:bp",
    "portale.accounts.views:bp",
    "portale.accounts.oidc_views:bp",
    "portale.dossier.views:bp",
    "portale.admin.views:bp",
    "portale.catalogue.views:bp",
    "portale.procedures.routes:bp",
    "portale.backoffice.views:bp",
    "portale.backoffice.worklist_views:bp",
    "portale.backoffice.authority_views:bp",
    "portale.reports.views:bp",
    "portale.reports.export_views:bp",
    "portale.reports.public_views:bp",
    "portale.programme.views:bp",
    "portale.programme.views:public_bp",
    "portale.outbox.views:bp",
)
API_BLUEPRINTS = ("portale.api.views:blueprints", "portale.api.worklist:blueprints")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    register_extensions(app)
    register_blueprints(app)
    from portale import observability

    observability.init_app(app)
    from portale.web import security

    security.init_app(app)
    register_errorhandlers(app)
    register_commands(app)
    warn_about_missing_system_libraries(app)
    return app


def warn_about_missing_system_libraries(app: Flask) -> None:
    # Without HarfBuzz's subsetter WeasyPrint subsets fonts in pure Python: PDFs take ~4x longer.
    import ctypes.util

    if ctypes.util.find_library("harfbuzz-subset") is None:
        app.logger.warning(
            "libharfbuzz-subset0 is not installed: PDF receipts and acts will render about 4x "
            "slower (apt-get install libharfbuzz-subset0)"
        )


def register_extensions(app: Flask) -> None:
    from portale.extensions import babel, csrf, db, limiter, login_manager
    from portale.web import i18n

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Europe/Rome")
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING"))
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    from portale.accounts.services import load_user_for_session

    @login_manager.user_loader
    def _load_user(user_id: str) -> Any:
        return load_user_for_session(db.session, user_id)

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Accedi per continuare.")
    from portale import integrations
    from portale.web import templating

    templating.init_app(app)
    integrations.init_app(app)
    from portale.procedures import jobs as procedure_jobs

    procedure_jobs.register()
    from portale.payments import jobs as payment_jobs

    payment_jobs.register()
    from portale.procedures import payment_filing

    payment_filing.register()
    from portale.reports import exports as report_exports

    report_exports.register()
    from portale.programme import report as programme_report

    programme_report.register()
    from portale.cases import notify

    notify.register()
    from portale.signatures import services as signature_services

    signature_services.register()
    from portale import external

    external.init_app(app)
    if app.config.get("CELERY_BROKER_URL"):
        from portale.outbox.celery_app import install_publisher, make_celery

        install_publisher(make_celery(app.config["CELERY_BROKER_URL"]))


def _import(path: str) -> Any:
    import importlib

    module_name, attr = path.split(":")
    return getattr(importlib.import_module(module_name), attr)


def register_blueprints(app: Flask) -> None:
    for path in BLUEPRINTS:
        app.register_blueprint(_import(path))
    from portale.extensions import api, csrf

    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}}
        },
    )
    for path in API_BLUEPRINTS:
        for blueprint in _import(path)():
            api.register_blueprint(blueprint)
    # The API authenticates with bearer tokens, not cookies: CSRF does not apply to it.
    for name, blueprint in app.blueprints.items():
        if name.startswith("api_"):
            csrf.exempt(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from portale.web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from portale.cli import register

    register(app)
