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
    "payment_requested": _l("Pagamento richiesto all'impresa (pagoPA)"),
    "payment_published": _l("Avviso di pagamento pagoPA emesso"),
    "payment_received": _l("Pagamento ricevuto (pagoPA)"),
    "payment_cancelled": _l("Avviso di pagamento annullato"),
    "payment_expired": _l("Avviso di pagamento scaduto senza pagamento"),
    "payment_refund_due": _l("Pagamento in eccesso: da rimborsare"),
    "opinion_requested": _l("Parere richiesto all'ente"),
    "opinion_given": _l("Parere espresso dall'ente"),
    # decisions (branch decisions)
    "refusal_notice_sent": _l("Preavviso di diniego inviato (art. 10-bis)"),
    "refusal_observations_received": _l("Osservazioni dell'impresa al preavviso di diniego"),
    "conformation_requested": _l("Richiesta di conformazione (termine interrotto)"),
    "conformation_answered": _l("Conformazione dell'impresa: riparte il periodo di controllo"),
    "prohibition_ordered": _l("Divieto di prosecuzione dell'attività"),
    "scia_window_closed": _l("Periodo di controllo della SCIA concluso"),
    "act_issued": _l("Atto emesso"),
    # connectors (DURC, municipal protocol, authorities on SSU)
    "durc_checked": _l("DURC acquisito"),
    "protocol_registered": _l("Registrata nel protocollo del Comune"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, STATE_LABELS.get(kind, kind)))


# Worklist and consultations (branch worklist).
EVENT_LABELS.update(
    {
        "authority_integration_request": _l("Integrazione chiesta dall'ente"),
        "cdss_requested": _l("Conferenza di servizi chiesta dall'ente"),
        "cdss_outcome": _l("Esito della conferenza di servizi"),
    }
)
OPINION_OUTCOME_LABELS = {
    "favourable": _l("Favorevole"),
    "favourable_with_conditions": _l("Favorevole con condizioni"),
    "unfavourable": _l("Sfavorevole"),
    "conformation_requested": _l("Richiesta di conformazione"),
    "suspension_requested": _l("Richiesta di sospensione"),
}


def opinion_outcome_label(outcome: str | None) -> str:
    return str(OPINION_OUTCOME_LABELS.get(outcome or "", outcome or ""))


# Break-glass reading by an administrator (portale.admin.break_glass).
EVENT_LABELS["break_glass_access"] = _l("Accesso straordinario di un amministratore (sola lettura)")
