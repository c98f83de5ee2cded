"""What the portal publishes as open data: its two datasets, their downloads and catalogue.

- ``tempi-per-comune``: procedure times per type, municipality and period of filing
  (:mod:`portale.reports.opendata`);
- ``tempi-di-conclusione``: the times of conclusion per office and type, per year and
  quarter, against the legal term, as art. 35 D.Lgs. 33/2013 asks
  (:mod:`portale.reports.legal_times`).

:func:`catalogue` describes both in DCAT-AP_IT (:mod:`portale.reports.dcat`); every download
names its dataset's URI and the catalogue's address, so a file found alone leads back to
its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.cases.models import ProcedureSummary
from portale.reports import dcat

BY_MUNICIPALITY = "tempi-per-comune"
CONCLUSION_TIMES = "tempi-di-conclusione"
KEYWORDS = ("SUAP", "procedimenti amministrativi", "tempi", "trasparenza")

DATASETS = (
    dcat.DatasetInfo(
        name=BY_MUNICIPALITY,
        title="Tempi dei procedimenti SUAP per tipo e comune",
        description=(
            "Pratiche presentate allo Sportello unico per le attività produttive (SUAP) "
            "attraverso il Portale Unico delle Imprese, per tipo di procedimento, comune e "
            "trimestre di presentazione: pratiche presentate e concluse, mediana e 90° "
            "percentile dei giorni netti (sospensioni escluse) e quota concluse entro il "
            "termine di legge. Dati aggregati, senza dati personali: i gruppi con meno di 5 "
            "pratiche non sono pubblicati."
        ),
        keywords=KEYWORDS,
        landing_path="/tempi/",
        distributions=(
            dcat.DistributionInfo(
                "CSV",
                "text/csv",
                "/tempi/opendata.csv",
                "Tempi per tipo e comune (CSV)",
                "Una riga per tipo di procedimento, comune e trimestre di presentazione.",
            ),
            dcat.DistributionInfo(
                "JSON",
                "application/json",
                "/tempi/opendata.json",
                "Tempi per tipo e comune (JSON)",
                "Le stesse righe del CSV, con i metadati e la descrizione dei campi.",
            ),
        ),
    ),
    dcat.DatasetInfo(
        name=CONCLUSION_TIMES,
        title="Tempi di conclusione dei procedimenti SUAP rispetto al termine di legge",
        description=(
            "Per ogni sportello unico (SUAP) e tipo di procedimento, per anno e trimestre di "
            "conclusione: termine di legge, numero di pratiche concluse, mediana e media dei "
            "giorni netti (esclusi i periodi di sospensione) e quota concluse entro il "
            "termine, come chiedono l'art. 35 del D.Lgs. 33/2013 e l'art. 2, comma 4-bis, "
            "della L. 241/1990. I gruppi con meno di 5 pratiche concluse non sono pubblicati."
        ),
        keywords=(*KEYWORDS, "amministrazione trasparente"),
        landing_path="/tempi/",
        distributions=(
            dcat.DistributionInfo(
                "CSV",
                "text/csv",
                "/tempi/tempi-conclusione.csv",
                "Tempi di conclusione per sportello e tipo (CSV)",
                "Una riga per sportello, tipo, termine di legge e anno o trimestre.",
            ),
            dcat.DistributionInfo(
                "JSON",
                "application/json",
                "/tempi/tempi-conclusione.json",
                "Tempi di conclusione per sportello e tipo (JSON)",
                "Le stesse righe del CSV, con i metadati e la descrizione dei campi.",
            ),
        ),
    ),
)


def settings_from_config(config: Mapping[str, Any]) -> dcat.CatalogueSettings:
    publisher = dcat.Organisation(
        ipa_code=config["OPENDATA_PUBLISHER_IPA"], name=config["OPENDATA_PUBLISHER_NAME"]
    )
    holder = dcat.Organisation(
        ipa_code=config.get("OPENDATA_RIGHTS_HOLDER_IPA") or publisher.ipa_code,
        name=config.get("OPENDATA_RIGHTS_HOLDER_NAME") or publisher.name,
    )
    return dcat.CatalogueSettings(
        base_url=config["BASE_URL"],
        publisher=publisher,
        rights_holder=holder,
        contact_name=config["OPENDATA_CONTACT_NAME"],
        contact_email=config["OPENDATA_CONTACT_EMAIL"],
    )


def catalogue(session: Session, settings: dcat.CatalogueSettings, *, today: date) -> Any:
    """The DCAT-AP_IT graph of the portal's open data as of ``today``: modified on the last
    day a procedure was concluded, covering the first filing to the last conclusion."""
    first, last_filed, last_decided = session.execute(
        select(
            func.min(ProcedureSummary.received_on),
            func.max(ProcedureSummary.received_on),
            func.max(ProcedureSummary.decided_on),
        )
    ).one()
    modified = max(d for d in (last_filed, last_decided) if d) if first else today
    content = dcat.CatalogueContent(
        title="Dati aperti del Portale Unico delle Imprese",
        description=(
            "I dati aperti del Portale Unico delle Imprese dei comuni della Città "
            "metropolitana di Torino: i tempi dei procedimenti degli sportelli unici per le "
            "attività produttive (SUAP), aggregati e senza dati personali."
        ),
        datasets=DATASETS,
        issued=first or today,
        modified=modified,
        coverage=(first, modified) if first else None,
    )
    return dcat.catalogue_graph(settings, content)


def describedby(settings: dcat.CatalogueSettings, dataset: str) -> dict[str, str]:
    """What a download says of its metadata: its dataset's URI and the catalogue's."""
    return {
        "dataset": dcat.dataset_uri(settings, dataset),
        "catalogue": settings.url(dcat.CATALOGUE_PATH + ".ttl"),
        "catalogue_jsonld": settings.url(dcat.CATALOGUE_PATH + ".jsonld"),
    }


def link_header(settings: dcat.CatalogueSettings) -> str:
    """The HTTP ``Link`` of a download (RFC 8288): its DCAT-AP_IT description."""
    return ", ".join(
        (
            f'<{settings.url(dcat.CATALOGUE_PATH + ".ttl")}>; rel="describedby"; '
            f'type="{dcat.TURTLE}"',
            f'<{settings.url(dcat.CATALOGUE_PATH + ".jsonld")}>; rel="describedby"; '
            f'type="{dcat.JSON_LD}"',
        )
    )
