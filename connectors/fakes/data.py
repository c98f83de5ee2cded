"""Demo companies of the Turin area as the fake business register returns them.

Tax codes and VAT numbers carry valid check digits; municipalities are real ISTAT codes
(Torino 001272, Moncalieri 001156, Chieri 001078, Nichelino 001164); ATECO 2025 codes exist.
The names and people are invented.
"""

from __future__ import annotations

from typing import Any


def _office(street: str, postcode: str, istat: str) -> dict[str, Any]:
    return {"indirizzo": street, "cap": postcode, "codiceComuneIstat": istat}


COMPANIES: dict[str, dict[str, Any]] = {
    "11850440014": {
        "codiceFiscale": "11850440014",
        "partitaIva": "11850440014",
        "denominazione": "Sartoria Bianchi S.n.c.",
        "formaGiuridica": {"codice": "SN", "descrizione": "Società in nome collettivo"},
        "rea": {"provincia": "TO", "numero": "1301122"},
        "pec": "sartoria.bianchi@pec.esempio.it",
        "sedeLegale": _office("Via Garibaldi 21", "10122", "001272"),
        "unitaLocali": [
            {
                "denominazione": "Negozio Garibaldi",
                "indirizzo": _office("Via Garibaldi 21", "10122", "001272"),
                "codiceAteco": "47.71.10",
            }
        ],
        "attivita": [{"codiceAteco": "47.71.10", "prevalente": True}],
        "persone": [
            {
                "nome": "Laura",
                "cognome": "Bianchi",
                "codiceFiscale": "BNCLRA79D45L219V",
                "carica": "Socia amministratrice",
            }
        ],
    },
    "11850450013": {
        "codiceFiscale": "11850450013",
        "partitaIva": "11850450013",
        "denominazione": "Pasticceria Rossi S.r.l.",
        "formaGiuridica": {"codice": "SR", "descrizione": "Società a responsabilità limitata"},
        "rea": {"provincia": "TO", "numero": "1301133"},
        "pec": "pasticceria.rossi@pec.esempio.it",
        "sedeLegale": _office("Via Cavour 5", "10024", "001156"),
        "unitaLocali": [
            {
                "denominazione": "Laboratorio e negozio",
                "indirizzo": _office("Via Cavour 5", "10024", "001156"),
                "codiceAteco": "10.71.20",
            }
        ],
        "attivita": [
            {"codiceAteco": "10.71.20", "prevalente": True},
            {"codiceAteco": "47.24.20", "prevalente": False},
        ],
        "persone": [
            {
                "nome": "Marco",
                "cognome": "Rossi",
                "codiceFiscale": "RSSMRC70C12F335M",
                "carica": "Amministratore unico",
            }
        ],
    },
    "11850460012": {
        "codiceFiscale": "11850460012",
        "partitaIva": "11850460012",
        "denominazione": "Barberia Verdi di Paolo Verdi",
        "formaGiuridica": {"codice": "DI", "descrizione": "Impresa individuale"},
        "rea": {"provincia": "TO", "numero": "1301144"},
        "pec": "barberia.verdi@pec.esempio.it",
        "sedeLegale": _office("Via Vittorio Emanuele II 12", "10023", "001078"),
        "unitaLocali": [
            {
                "denominazione": "Barberia",
                "indirizzo": _office("Via Vittorio Emanuele II 12", "10023", "001078"),
                "codiceAteco": "96.21.00",
            }
        ],
        "attivita": [{"codiceAteco": "96.21.00", "prevalente": True}],
        "persone": [
            {
                "nome": "Paolo",
                "cognome": "Verdi",
                "codiceFiscale": "VRDPLA82T10C627W",
                "carica": "Titolare",
            }
        ],
    },
    "11850470011": {
        "codiceFiscale": "11850470011",
        "partitaIva": "11850470011",
        "denominazione": "Caffè Galli S.r.l.s.",
        "formaGiuridica": {
            "codice": "SS",
            "descrizione": "Società a responsabilità limitata semplificata",
        },
        "rea": {"provincia": "TO", "numero": "1301155"},
        "pec": "caffe.galli@pec.esempio.it",
        "sedeLegale": _office("Piazza Aldo Moro 3", "10042", "001164"),
        "unitaLocali": [
            {
                "denominazione": "Bar Galli",
                "indirizzo": _office("Piazza Aldo Moro 3", "10042", "001164"),
                "codiceAteco": "56.30.01",
            }
        ],
        "attivita": [{"codiceAteco": "56.30.01", "prevalente": True}],
        "persone": [
            {
                "nome": "Francesca",
                "cognome": "Galli",
                "codiceFiscale": "GLLFNC90E50L219B",
                "carica": "Amministratrice unica",
            }
        ],
    },
    # The demo dossier's company: the register has a newer PEC, so "refresh" shows a difference.
    "11850430015": {
        "codiceFiscale": "11850430015",
        "partitaIva": "11850430015",
        "denominazione": "Bottega e Caffè Aurora S.r.l.",
        "formaGiuridica": {"codice": "SR", "descrizione": "Società a responsabilità limitata"},
        "rea": {"provincia": "TO", "numero": "1298734"},
        "pec": "aurora@pec.registroimprese.esempio.it",
        "sedeLegale": _office("Via Po 18", "10123", "001272"),
        "unitaLocali": [],
        "attivita": [{"codiceAteco": "47.11.02", "prevalente": True}],
        "persone": [
            {
                "nome": "Giulia",
                "cognome": "Ferrero",
                "codiceFiscale": "FRRGLI85M52L219Q",
                "carica": "Amministratrice unica",
            }
        ],
    },
}
