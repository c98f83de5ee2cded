"""Words for the programme's codes: measures, statuses and steps, in one place."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portale.programme.models import (
    ACCEPTED,
    IN_FORCE,
    MEASURE_MEDIAN,
    MEASURE_P90,
    MEASURE_WITHIN_TERM,
    PROPOSED,
    REJECTED,
    UNDER_REVIEW,
)

MEASURE_LABELS = {
    MEASURE_MEDIAN: _l("Mediana dei giorni netti"),
    MEASURE_P90: _l("90° percentile dei giorni netti"),
    MEASURE_WITHIN_TERM: _l("Quota conclusa entro il termine"),
    "days_company": _l("Giorni medi in attesa dell'impresa"),
    "days_office": _l("Giorni medi in carico allo sportello"),
    "days_authority": _l("Giorni medi in attesa degli enti"),
    "days_dispatch": _l("Giorni medi di trasmissione"),
}
STATUS_LABELS = {
    PROPOSED: _l("Proposta"),
    UNDER_REVIEW: _l("In esame"),
    ACCEPTED: _l("Accolta"),
    IN_FORCE: _l("In vigore"),
    REJECTED: _l("Respinta"),
}
TARGET_STATUS_LABELS = {
    "on_track": _l("In linea"),
    "at_risk": _l("A rischio"),
    "missed": _l("Mancato"),
    "achieved": _l("Raggiunto"),
    "no_data": _l("Dati insufficienti"),
}
# Bootstrap Italia badge colours; the word is always shown too (never colour alone)
TARGET_STATUS_BADGES = {
    "on_track": "success",
    "at_risk": "warning",
    "missed": "danger",
    "achieved": "success",
    "no_data": "secondary",
}
STEP_LABELS = {
    "company": _l("Impresa (integrazioni)"),
    "office": _l("Sportello"),
    "authority": _l("Enti terzi (pareri)"),
    "dispatch": _l("Trasmissione"),
}


def format_measure(measure: str, value: float | None) -> str:
    """A measure's value for people: "12,5 giorni" or "87%" in the reader's locale."""
    from flask_babel import format_decimal, format_percent

    if value is None:
        return "–"
    if measure == MEASURE_WITHIN_TERM:
        return format_percent(value, "#,##0%")
    return str(_l("%(days)s giorni", days=format_decimal(round(value, 1), "#,##0.#")))
