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
    hint: object = ""  # one line on the home page saying what the area is for


# Areas add their entry here; an entry whose endpoint does not exist yet is not shown.
NAV_ITEMS = (
    NavItem(
        "dossier.index",
        _l("Le mie imprese"),
        frozenset({"entrepreneur", "intermediary"}),
        _l("Il fascicolo d'impresa: i dati inseriti una volta sola, con la loro provenienza."),
    ),
    NavItem(
        "catalogue.index",
        _l("Catalogo procedimenti"),
        None,
        _l("Cosa serve per aprire, modificare o chiudere un'attività: norme, tempi, costi."),
    ),
    NavItem(
        "procedures.index",
        _l("Le mie pratiche"),
        frozenset({"entrepreneur", "intermediary"}),
        _l("Bozze, pratiche presentate, richieste del SUAP, ricevute e atti."),
    ),
    NavItem(
        "worklist.index",
        _l("Scrivania"),
        frozenset({"clerk"}),
        _l("Le pratiche del tuo SUAP, le più urgenti per prime."),
    ),
    NavItem(
        "authority.index",
        _l("Ente"),
        frozenset({"authority_officer"}),
        _l("Le pratiche su cui il tuo ente deve esprimere un parere."),
    ),
    NavItem(
        ("reports.index", "reports.dashboard"),
        _l("Report"),
        frozenset({"analyst", "admin"}),
        _l("Tempi dei procedimenti e colli di bottiglia, con le esportazioni."),
    ),
    NavItem(
        "programme.index",
        _l("Semplificazione"),
        frozenset({"analyst", "stakeholder"}),
        _l("Obiettivi del patto, sportelli a confronto e proposte di semplificazione."),
    ),
    NavItem(
        "admin.index",
        _l("Amministrazione"),
        frozenset({"admin"}),
        _l("Utenti e ruoli, sportelli, enti, catalogo e coda degli invii."),
    ),
)


def _visible_items() -> list[tuple[str, NavItem]]:
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
            items.append((url_for(endpoint), item))
    return items


def navigation() -> list[tuple[str, object]]:
    """(URL, label) of the areas the logged-in person may use, for the menu."""
    return [(href, item.label) for href, item in _visible_items()]


def home_cards() -> list[tuple[str, object, object]]:
    """(URL, label, what it is for) of the same areas, for the home page."""
    return [(href, item.label, item.hint) for href, item in _visible_items()]


CONNECTOR_LABELS = {
    "business_register": _l("Registro delle Imprese"),
    "vies": _l("VIES (registro IVA europeo)"),
    "durc": _l("DURC"),
}


def connector_label(identifier: str | None) -> str:
    return str(CONNECTOR_LABELS.get(identifier or "", identifier or ""))


def init_app(app: Flask) -> None:
    from flask_babel import format_currency, format_date, format_datetime, get_locale

    app.jinja_env.globals.update(
        navigation=navigation, home_cards=home_cards, get_locale=get_locale
    )
    app.jinja_env.filters["connector_label"] = connector_label
    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="short": format_datetime(d, fmt) if d else ""
    # Amounts are kept in cents; shown in the reader's locale ("50,00 €" in Italian).
    app.jinja_env.filters["euro"] = lambda cents: format_currency((cents or 0) / 100, "EUR")
