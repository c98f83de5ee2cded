"""Template globals: the navigation menu by role, date formatting, and field rendering helpers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str | tuple[str, ...]  # the first endpoint that exists is linked
    label: object
    roles: frozenset[str] | None  # None: any logged-in user


# Areas add their entry here; an entry whose endpoint does not exist yet is not shown.
NAV_ITEMS = (
    NavItem("dossier.index", _l("Le mie imprese"), frozenset({"entrepreneur", "intermediary"})),
    NavItem("catalogue.index", _l("Catalogo procedimenti"), None),
    NavItem("procedures.index", _l("Le mie pratiche"), frozenset({"entrepreneur", "intermediary"})),
    NavItem("worklist.index", _l("Scrivania"), frozenset({"clerk"})),
    NavItem("authority.index", _l("Ente"), frozenset({"authority_officer"})),
    NavItem(("reports.index", "reports.dashboard"), _l("Report"), frozenset({"analyst", "admin"})),
    NavItem("admin.index", _l("Amministrazione"), frozenset({"admin"})),
)


def navigation() -> list[tuple[str, object]]:
    if not current_user.is_authenticated:
        return []
    roles = current_user.role_names
    items = []
    for item in NAV_ITEMS:
        candidates = (item.endpoint,) if isinstance(item.endpoint, str) else item.endpoint
        endpoint = next((e for e in candidates if e in current_app.view_functions), None)
        if endpoint is None:
            continue
        if item.roles is None or roles & item.roles:
            items.append((url_for(endpoint), item.label))
    return items


CONNECTOR_LABELS = {
    "business_register": _l("Registro delle Imprese"),
    "vies": _l("VIES (registro IVA europeo)"),
    "durc": _l("DURC"),
}


def connector_label(identifier: str | None) -> str:
    return str(CONNECTOR_LABELS.get(identifier or "", identifier or ""))


def init_app(app: Flask) -> None:
    from flask_babel import format_currency, format_date, format_datetime, get_locale

    app.jinja_env.globals.update(navigation=navigation, get_locale=get_locale)
    app.jinja_env.filters["connector_label"] = connector_label
    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="short": format_datetime(d, fmt) if d else ""
    # Amounts are kept in cents; shown in the reader's locale ("50,00 €" in Italian).
    app.jinja_env.filters["euro"] = lambda cents: format_currency((cents or 0) / 100, "EUR")
