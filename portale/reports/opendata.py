"""Open data: procedure times per procedure type, municipality and period, with their metadata.

For each group (type x municipality x period of filing) the data set gives the procedures
filed and closed, the median and 90th percentile of the net days of the closed ones
(suspensions excluded, :func:`portale.reports.stats.grouped_percentiles`) and the share
closed within the legal term. The figures come from :class:`ProcedureSummary` in SQL.

No personal data: the groups name no company and no person, and a group with fewer than
:data:`MIN_GROUP` procedures filed is left out altogether (its figures could point at one
business); the percentiles and the share are also left empty when fewer than
:data:`MIN_GROUP` procedures of the group are closed. The metadata record says so and counts
the groups left out. The metadata follows the spirit of DCAT-AP_IT (title, description,
publisher, licence, temporal coverage, distribution fields with description and unit).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, case, cast, extract, func, select
from sqlalchemy.orm import Session

from portale.cases.models import ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.reference.models import Municipality
from portale.reports.filters import ReportFilter
from portale.reports.spreadsheet import neutralise_row
from portale.reports.stats import grouped_percentiles

MIN_GROUP = 5
GRANULARITIES = ("year", "quarter", "month", "period")
DEFAULT_PUBLISHER = "Città metropolitana di Torino"
LICENCE = {
    "name": "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)",
    "identifier": "CC-BY-4.0",
    "uri": "https://creativecommons.org/licenses/by/4.0/",
}

# (name, description, type, unit): the columns of the CSV and the keys of the JSON rows
FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "periodo",
        "Periodo di presentazione delle pratiche: anno (2026), trimestre (2026-T1), mese "
        "(2026-01) o intervallo di date (2025-07-01/2026-06-30).",
        "string",
        None,
    ),
    ("codice_tipo", "Codice del tipo di procedimento nel catalogo del portale.", "string", None),
    ("tipo", "Denominazione del tipo di procedimento.", "string", None),
    ("codice_istat_comune", "Codice ISTAT del comune della sede dell'attività.", "string", None),
    ("comune", "Denominazione del comune.", "string", None),
    ("presentate", "Pratiche presentate nel periodo.", "integer", "pratiche"),
    (
        "concluse",
        "Pratiche presentate nel periodo e già concluse con un provvedimento o un esito.",
        "integer",
        "pratiche",
    ),
    (
        "giorni_netti_mediana",
        "Mediana dei giorni netti delle pratiche concluse: giorni di calendario dalla "
        "ricezione alla conclusione, esclusi i periodi di sospensione. Vuoto se le pratiche "
        "concluse sono meno di 5.",
        "number",
        "giorni",
    ),
    (
        "giorni_netti_p90",
        "90° percentile dei giorni netti delle pratiche concluse (nove pratiche su dieci si "
        "concludono entro questo numero di giorni). Vuoto se le concluse sono meno di 5.",
        "number",
        "giorni",
    ),
    (
        "quota_entro_termine",
        "Quota delle pratiche concluse entro il termine di legge, tra quelle concluse che "
        "hanno un termine (da 0 a 1). Vuoto se le concluse sono meno di 5.",
        "number",
        "rapporto (0-1)",
    ),
)
FIELD_NAMES = tuple(f[0] for f in FIELDS)


@dataclass(frozen=True)
class OpenDataRow:
    periodo: str
    codice_tipo: str
    tipo: str
    codice_istat_comune: str
    comune: str
    presentate: int
    concluse: int
    giorni_netti_mediana: float | None
    giorni_netti_p90: float | None
    quota_entro_termine: float | None


@dataclass(frozen=True)
class OpenDataSet:
    rows: list[OpenDataRow]
    metadata: dict[str, Any]

    @property
    def suppressed_groups(self) -> int:
        return int(self.metadata["suppression"]["suppressed_groups"])


def _period_columns(granularity: str) -> list[Any]:
    received = ProcedureSummary.received_on
    year = cast(extract("year", received), Integer)
    month = cast(extract("month", received), Integer)
    if granularity == "year":
        return [year]
    if granularity == "quarter":
        return [year, (month + 2) // 3]
    if granularity == "month":
        return [year, month]
    return []


def _period_label(granularity: str, period: tuple[Any, ...], flt: ReportFilter) -> str:
    if granularity == "year":
        return str(period[0])
    if granularity == "quarter":
        return f"{period[0]}-T{period[1]}"
    if granularity == "month":
        return f"{period[0]}-{int(period[1]):02d}"
    return f"{flt.start.isoformat()}/{flt.end.isoformat()}"


def aggregate(
    session: Session,
    flt: ReportFilter,
    *,
    granularity: str = "quarter",
    min_group: int = MIN_GROUP,
    now: datetime | None = None,
    publisher: str = DEFAULT_PUBLISHER,
) -> OpenDataSet:
    """The open-data rows of the procedures ``flt`` selects, grouped by type, municipality and
    ``granularity`` (``year``, ``quarter``, ``month``, or ``period`` for the whole filter)."""
    if granularity not in GRANULARITIES:
        raise ValueError(granularity)
    s = ProcedureSummary
    groups = [s.type_code, s.municipality, *_period_columns(granularity)]
    closed = s.decided_on.is_not(None)
    counts = session.execute(
        select(
            *groups,
            func.count(),
            func.count(s.decided_on),
            func.sum(case((s.within_term.is_(True), 1), else_=0)),
            func.count(s.within_term),
        )
        .where(*flt.conditions())
        .group_by(*groups)
    ).all()
    percentiles = grouped_percentiles(
        session, s.days_net, group_by=groups, where=[*flt.conditions(), closed]
    )
    types = dict(session.execute(select(ProcedureType.code, ProcedureType.title)).all())
    towns = _municipality_names(session, {row[1] for row in counts})
    rows: list[OpenDataRow] = []
    suppressed = 0
    width = len(groups)
    for row in counts:
        key = tuple(row[:width])
        type_code, town, period = key[0], key[1], key[2:]
        filed, n_closed, within, with_term = row[width:]
        if filed < min_group:
            suppressed += 1
            continue
        median, p90 = percentiles.get(key, (None, None))
        publish = n_closed >= min_group
        rows.append(
            OpenDataRow(
                periodo=_period_label(granularity, period, flt),
                codice_tipo=type_code,
                tipo=types.get(type_code, type_code),
                codice_istat_comune=town,
                comune=towns.get(town, town),
                presentate=int(filed),
                concluse=int(n_closed),
                giorni_netti_mediana=_round(median) if publish else None,
                giorni_netti_p90=_round(p90) if publish else None,
                quota_entro_termine=(
                    round(int(within or 0) / with_term, 3) if publish and with_term else None
                ),
            )
        )
    rows.sort(key=lambda r: (r.periodo, r.tipo, r.comune))
    metadata = _metadata(
        flt,
        granularity=granularity,
        min_group=min_group,
        suppressed=suppressed,
        now=now or datetime.now(UTC),
        publisher=publisher,
    )
    return OpenDataSet(rows=rows, metadata=metadata)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _municipality_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    query = select(Municipality.istat_code, Municipality.name).where(
        Municipality.istat_code.in_(codes)
    )
    return dict(session.execute(query).all())


def _metadata(
    flt: ReportFilter,
    *,
    granularity: str,
    min_group: int,
    suppressed: int,
    now: datetime,
    publisher: str,
) -> dict[str, Any]:
    filters = {
        key: value
        for key, value in (
            ("codice_tipo", flt.type_code),
            ("codice_istat_comune", flt.municipality),
            ("sportello", flt.office_id),
            ("ente", flt.authority_id),
        )
        if value is not None
    }
    return {
        "title": "Tempi dei procedimenti SUAP nei comuni della Città metropolitana di Torino",
        "description": (
            "Pratiche presentate allo Sportello unico per le attività produttive (SUAP) "
            "attraverso il Portale Unico delle Imprese, per tipo di procedimento, comune e "
            "periodo di presentazione: pratiche presentate e concluse, mediana e 90° "
            "percentile dei giorni netti (sospensioni escluse) e quota concluse entro il "
            "termine di legge. Dati aggregati, senza dati personali."
        ),
        "publisher": {"name": publisher},
        "rightsHolder": {"name": publisher},
        "license": LICENCE,
        "language": "ita",
        "theme": "GOVE",
        "keywords": ["SUAP", "procedimenti amministrativi", "tempi", "trasparenza"],
        "temporal": {"startDate": flt.start.isoformat(), "endDate": flt.end.isoformat()},
        "granularity": granularity,
        "filters": filters,
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "personal_data": False,
        "suppression": {
            "min_procedures": min_group,
            "suppressed_groups": suppressed,
            "rule": (
                f"I gruppi con meno di {min_group} pratiche presentate non sono pubblicati; "
                f"mediana, 90° percentile e quota entro il termine sono vuoti quando le "
                f"pratiche concluse del gruppo sono meno di {min_group}."
            ),
        },
        "distributions": [
            {"format": "CSV", "mediaType": "text/csv", "encoding": "UTF-8", "separator": ","},
            {"format": "JSON", "mediaType": "application/json", "encoding": "UTF-8"},
        ],
        "fields": [
            {"name": name, "description": description, "type": kind, "unit": unit}
            for name, description, kind, unit in FIELDS
        ],
    }


def to_csv(dataset: OpenDataSet) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELD_NAMES)
    for row in dataset.rows:
        writer.writerow(neutralise_row("" if v is None else v for v in _values(row)))
    return out.getvalue()


def _values(row: OpenDataRow) -> Sequence[Any]:
    return [getattr(row, name) for name in FIELD_NAMES]


def to_json(dataset: OpenDataSet) -> str:
    return json.dumps(
        {"metadata": dataset.metadata, "data": [asdict(r) for r in dataset.rows]},
        ensure_ascii=False,
        indent=1,
    )


@dataclass(frozen=True)
class PublicTimes:
    """What the public "Tempi dei procedimenti" page shows."""

    rows: list[OpenDataRow]  # the published groups the person asked for
    types: list[tuple[str, str]]  # (code, title) of every published group, for the filter
    municipalities: list[tuple[str, str]]  # (ISTAT code, name)
    dataset: OpenDataSet  # every published group of the period (with its metadata)


def public_times(
    session: Session,
    flt: ReportFilter,
    *,
    type_code: str | None = None,
    municipality: str | None = None,
    now: datetime | None = None,
) -> PublicTimes:
    """Median and p90 per type and municipality over the period of ``flt`` (the page asks the
    last 12 months), narrowed to ``type_code`` and ``municipality`` if given. The choices of
    the filter come from the published groups, so a suppressed group is never offered."""
    dataset = aggregate(session, flt, granularity="period", now=now)
    rows = [
        r
        for r in dataset.rows
        if (not type_code or r.codice_tipo == type_code)
        and (not municipality or r.codice_istat_comune == municipality)
    ]
    types = sorted({(r.codice_tipo, r.tipo) for r in dataset.rows}, key=lambda t: t[1])
    towns = sorted({(r.codice_istat_comune, r.comune) for r in dataset.rows}, key=lambda t: t[1])
    return PublicTimes(rows=rows, types=types, municipalities=towns, dataset=dataset)
