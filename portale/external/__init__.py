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
    app.config.setdefault("SSU_INBOUND", ssu_inbound_from_env(app.config))


def ssu_inbound_from_env(config: Any, environ: Any = None) -> dict[str, Any]:
    """How the SSU callbacks are verified, from ``PORTALE_SSU_VOUCHER_PUBLIC_KEY_PATH`` (PEM of
    the PDND key that signs vouchers), ``PORTALE_SSU_VOUCHER_ISSUER`` and
    ``PORTALE_SSU_AUDIENCE`` (the portal's URL authorities sign for; default ``BASE_URL``).
    Without a key the endpoints answer 503: nobody is let in by default."""
    import os

    env = os.environ if environ is None else environ
    key = None
    path = env.get("PORTALE_SSU_VOUCHER_PUBLIC_KEY_PATH")
    if path:
        with open(path, encoding="ascii") as handle:
            key = handle.read()
    return {
        "voucher_public_key": key,
        "voucher_issuer": env.get("PORTALE_SSU_VOUCHER_ISSUER") or None,
        "audience": env.get("PORTALE_SSU_AUDIENCE") or config.get("BASE_URL"),
    }
