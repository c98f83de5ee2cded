"""Settings of the portal, read in one place from environment variables prefixed ``PORTALE_``.

Embedded defaults (SQLite file and local storage under ``var/``) let a newcomer run the
portal with no configuration; production mode (``PORTALE_ENV=production``) refuses to start
without the secrets that must not have a fallback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR = PROJECT_ROOT / "var"

DEV_SECRET_KEY = "dev-only-secret-key-change-me"


class ConfigError(RuntimeError):
    """A required setting is missing or invalid."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _json_mapping(value: str | None, name: str) -> dict[str, Any]:
    import json

    if not value:
        return {}
    try:
        found = json.loads(value)
    except ValueError as error:
        raise ConfigError(f"PORTALE_{name} is not valid JSON: {error}") from None
    if not isinstance(found, dict):
        raise ConfigError(f"PORTALE_{name} must be a JSON object")
    return found


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = os.environ if environ is None else environ
    mode = env.get("PORTALE_ENV", "development")
    var_dir = Path(env.get("PORTALE_VAR_DIR", str(DEFAULT_VAR)))
    secret = env.get("PORTALE_SECRET_KEY")
    if not secret:
        if mode == "production":
            raise ConfigError("PORTALE_SECRET_KEY must be set when PORTALE_ENV=production")
        secret = DEV_SECRET_KEY
    settings: dict[str, Any] = {
        "ENV_MODE": mode,
        "SECRET_KEY": secret,
        "DATABASE_URL": env.get("PORTALE_DATABASE_URL", f"sqlite:///{var_dir / 'portale.db'}"),
        "VAR_DIR": str(var_dir),
        "STORAGE_PATH": env.get("PORTALE_STORAGE_PATH", str(var_dir / "storage")),
        "STORAGE_BACKEND": env.get("PORTALE_STORAGE_BACKEND", "local"),
        "S3_ENDPOINT_URL": env.get("PORTALE_S3_ENDPOINT_URL"),
        "S3_BUCKET": env.get("PORTALE_S3_BUCKET", "portale"),
        "S3_REGION": env.get("PORTALE_S3_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        # Empty: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile, role).
        "S3_ACCESS_KEY_ID": env.get("PORTALE_S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": env.get("PORTALE_S3_SECRET_ACCESS_KEY"),
        "S3_PREFIX": env.get("PORTALE_S3_PREFIX", ""),
        "S3_ADDRESSING_STYLE": env.get("PORTALE_S3_ADDRESSING_STYLE"),
        "MAIL_BACKEND": env.get("PORTALE_MAIL_BACKEND", "file" if mode != "production" else "smtp"),
        "MAIL_HOST": env.get("PORTALE_MAIL_HOST", "127.0.0.1"),
        "MAIL_PORT": int(env.get("PORTALE_MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("PORTALE_MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("PORTALE_MAIL_PASSWORD"),
        "MAIL_USE_TLS": _bool(env.get("PORTALE_MAIL_USE_TLS")),
        "MAIL_SENDER": env.get("PORTALE_MAIL_SENDER", "noreply@portale-imprese.example"),
        "MAIL_OUTBOX_DIR": env.get("PORTALE_MAIL_OUTBOX_DIR", str(var_dir / "mail")),
        "CELERY_BROKER_URL": env.get("PORTALE_CELERY_BROKER_URL"),
        "RATELIMIT_STORAGE_URI": env.get("PORTALE_RATELIMIT_STORAGE_URI", "memory://"),
        "BASE_URL": env.get("PORTALE_BASE_URL", "http://127.0.0.1:5000"),
        # pagoPA creditors per office code, for installations configured by environment:
        # {"SUAP_TO": {"tax_code": "00514490010", "name": "Comune di Torino", "iban": "IT..."}}.
        # An office's row in the admin pages (payment_creditor) takes precedence.
        "PAGOPA_CREDITORS": _json_mapping(env.get("PORTALE_PAGOPA_CREDITORS"), "PAGOPA_CREDITORS"),
        # Days a payment notice stays payable.
        "PAGOPA_DUE_DAYS": int(env.get("PORTALE_PAGOPA_DUE_DAYS", "30")),
        # The open-data catalogue (DCAT-AP_IT): who publishes it and holds the rights, by their
        # code in the index of public administrations (IPA), and whom a reuser writes to. The
        # IPA codes are development placeholders: an installation sets its own.
        "OPENDATA_PUBLISHER_NAME": env.get(
            "PORTALE_OPENDATA_PUBLISHER_NAME", "Città metropolitana di Torino"
        ),
        "OPENDATA_PUBLISHER_IPA": env.get("PORTALE_OPENDATA_PUBLISHER_IPA", "cmto"),
        "OPENDATA_RIGHTS_HOLDER_NAME": env.get("PORTALE_OPENDATA_RIGHTS_HOLDER_NAME"),
        "OPENDATA_RIGHTS_HOLDER_IPA": env.get("PORTALE_OPENDATA_RIGHTS_HOLDER_IPA"),
        "OPENDATA_CONTACT_NAME": env.get(
            "PORTALE_OPENDATA_CONTACT_NAME", "Portale Unico delle Imprese - dati aperti"
        ),
        "OPENDATA_CONTACT_EMAIL": env.get(
            "PORTALE_OPENDATA_CONTACT_EMAIL", "opendata@portale-imprese.example"
        ),
        # With Celery configured the workers run the outbox; the web process does not.
        "EMBEDDED_WORKER": _bool(
            env.get("PORTALE_EMBEDDED_WORKER"),
            default=mode != "production" and not env.get("PORTALE_CELERY_BROKER_URL"),
        ),
        # Qualified signatures (portale.signatures): the local copy of the trusted list, the
        # office's seal (PEM key and certificate, optional chain), an optional RFC 3161 TSA.
        "SIGNATURE_TRUSTED_LIST": env.get(
            "PORTALE_SIGNATURE_TRUSTED_LIST", str(var_dir / "trust" / "trusted-list.xml")
        ),
        "SIGNATURE_TRUSTED_LIST_TERRITORY": env.get(
            "PORTALE_SIGNATURE_TRUSTED_LIST_TERRITORY", "IT"
        ),
        "SIGNATURE_LOTL_URL": env.get(
            "PORTALE_SIGNATURE_LOTL_URL", "https://ec.europa.eu/tools/lotl/eu-lotl.xml"
        ),
        "SIGNATURE_FETCH_TIMEOUT": float(env.get("PORTALE_SIGNATURE_FETCH_TIMEOUT", "4")),
        # Files larger than this are verified by an outbox job, not within the upload request.
        "SIGNATURE_INLINE_MAX_BYTES": int(
            float(env.get("PORTALE_SIGNATURE_INLINE_MAX_MB", "3")) * 1024 * 1024
        ),
        "SEAL_KEY_PATH": env.get("PORTALE_SEAL_KEY_PATH"),
        "SEAL_CERT_PATH": env.get("PORTALE_SEAL_CERT_PATH"),
        "SEAL_CHAIN_PATH": env.get("PORTALE_SEAL_CHAIN_PATH"),
        "SEAL_KEY_PASSWORD": env.get("PORTALE_SEAL_KEY_PASSWORD"),
        "TSA_URL": env.get("PORTALE_TSA_URL"),
        "LOG_FORMAT": env.get("PORTALE_LOG_FORMAT", "json" if mode == "production" else "text"),
        "LOG_LEVEL": env.get("PORTALE_LOG_LEVEL", "INFO"),
        "BABEL_DEFAULT_LOCALE": "it",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Rome",
        "LANGUAGES": ("it", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production",
        "REMEMBER_COOKIE_SECURE": mode == "production",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("PORTALE_MAX_UPLOAD_MB", "25")) * 1024 * 1024,
        "TESTING": False,
        # flask-smorest / OpenAPI
        "API_TITLE": "Portale Unico delle Imprese API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    settings.update(_identity_settings(env, settings["BASE_URL"]))
    # Connector settings stay raw here; connectors.registry maps PORTALE_CONNECTOR_<ID>_<KEY>.
    settings["CONNECTOR_ENV"] = {k: v for k, v in env.items() if k.startswith("PORTALE_CONNECTOR_")}
    return settings


def _read(env: Mapping[str, str], name: str) -> str | None:
    """``PORTALE_<name>`` or the content of the file ``PORTALE_<name>_PATH``."""
    value = env.get(f"PORTALE_{name}")
    path = env.get(f"PORTALE_{name}_PATH")
    if not value and path:
        value = Path(path).read_text()
    return value or None


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _json(env: Mapping[str, str], name: str, default: Any) -> Any:
    import json

    raw = _read(env, name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"PORTALE_{name} is not valid JSON: {error}") from None


def _identity_settings(env: Mapping[str, str], base_url: str) -> dict[str, Any]:
    """SPID / CIE (OpenID Connect Federation) and the login methods the login page offers.

    The federation is on when at least one trust anchor is configured; the login methods then
    default to SPID, CIE and password, else to password only.
    """
    anchors = _json(env, "OIDC_TRUST_ANCHORS", {})
    oidc = {
        "entity_id": env.get("PORTALE_OIDC_ENTITY_ID") or base_url.rstrip("/"),
        "trust_anchors": anchors,
        "authority_hints": _list(env.get("PORTALE_OIDC_AUTHORITY_HINTS")) or list(anchors),
        "trust_marks": _json(env, "OIDC_TRUST_MARKS", []),
        "federation_key": _read(env, "OIDC_FEDERATION_KEY"),
        "signing_key": _read(env, "OIDC_SIGNING_KEY"),
        "encryption_key": _read(env, "OIDC_ENCRYPTION_KEY"),
        "spid_providers": _list(env.get("PORTALE_OIDC_SPID_PROVIDERS")),
        "cie_provider": env.get("PORTALE_OIDC_CIE_PROVIDER") or None,
        "acr": env.get("PORTALE_OIDC_ACR", "https://www.spid.gov.it/SpidL2"),
        "timeout": float(env.get("PORTALE_OIDC_TIMEOUT", "5")),
        "organization_name": env.get(
            "PORTALE_OIDC_ORGANIZATION_NAME", "Portale Unico delle Imprese"
        ),
        "contacts": _list(env.get("PORTALE_OIDC_CONTACTS")),
    }
    methods = _list(env.get("PORTALE_LOGIN_METHODS")) or (
        ["spid", "cie", "password"] if anchors else ["password"]
    )
    unknown = set(methods) - {"spid", "cie", "password"}
    if unknown:
        raise ConfigError(f"PORTALE_LOGIN_METHODS: unknown methods {sorted(unknown)}")
    return {"OIDC": oidc, "LOGIN_METHODS": tuple(methods)}
