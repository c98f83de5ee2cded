"""Security headers on every response, and the one check for redirect targets.

The Content-Security-Policy allows scripts from the portal's own origin only: templates carry
no inline script (page scripts live under ``static/js``). Styles may be inline because
Bootstrap Italia injects its ``@font-face`` rules and sets element styles from its scripts.
HSTS is sent in production only (a development server on plain HTTP must stay reachable).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"

STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask) -> None:
    production = app.config.get("ENV_MODE") == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def safe_redirect_target(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so ``/\\t/evil`` or
    ``/\\evil`` become ``//evil``, another site: any control character, backslash, scheme or
    host refuses the target, also once percent-decoded.
    """
    if not target:
        return default
    for candidate in (target, unquote(target)):
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in candidate):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
        if not candidate.startswith("/") or candidate.startswith("//"):
            return default
    return target
