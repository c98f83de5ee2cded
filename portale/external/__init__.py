"""What the portal keeps from external systems (DURC certificates), the outbox jobs that fetch
or register things there (DURC, municipal protocol), and the SSU endpoints on which third-party
authorities call back."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    from portale.external import jobs, ssu_views
    from portale.external.durc import durc_for

    jobs.register()
    app.register_blueprint(ssu_views.bp)
    from portale.extensions import csrf

    # Authorities authenticate with a PDND voucher and a signed body, not with cookies.
    csrf.exempt(ssu_views.bp)
    app.jinja_env.globals["durc_for"] = durc_for
