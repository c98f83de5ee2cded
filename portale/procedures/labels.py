"""How states and events of a procedure are named to people (Italian, translated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "started": _l("In compilazione"),
    "presented": _l("Presentata"),
    "correction_requested": _l("Richiesta di regolarizzazione"),
    "corrected": _l("Regolarizzata"),
    "refused": _l("Irricevibile"),
    "integration_requested": _l("Richiesta di integrazione"),
    "integrated": _l("Integrata"),
    "ended_by_integration_times_expired": _l("Conclusa: integrazione non pervenuta nei termini"),
    "cdss_convened": _l("Conferenza di servizi indetta"),
    "ended_by_suspension_requested": _l("Conclusa: sospensione dell'attività"),
    "ended_by_conformation_requested": _l("Conclusa: richiesta di conformazione"),
    "ended_by_proceeding_time_expired": _l(
        "Conclusa per decorrenza dei termini (silenzio assenso)"
    ),
    "ended_by_positive_outcome": _l("Conclusa con esito positivo"),
    "ended_by_negative_outcome": _l("Conclusa con esito negativo"),
    "ended_by_submitter_cancel_requested": _l("Ritirata dall'impresa"),
}
EVENT_LABELS = {
    "started": _l("Bozza creata"),
    "presented": _l("Pratica presentata e protocollata"),
    "dispatch_queued": _l("Invio all'ente in coda"),
    "dispatch_sent": _l("Inviata all'ente"),
    "dispatch_acknowledged": _l("Ricevuta dall'ente"),
    "dispatch_failed": _l("Invio all'ente non riuscito: nuovo tentativo programmato"),
    "dispatch_given_up": _l("Invio all'ente abbandonato: se ne occupa il SUAP"),
    "assigned": _l("Presa in carico"),
    "opinion_requested": _l("Parere richiesto all'ente"),
    "opinion_given": _l("Parere espresso dall'ente"),
    "durc_checked": _l("DURC acquisito"),
    "protocol_registered": _l("Registrata nel protocollo del Comune"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, STATE_LABELS.get(kind, kind)))
