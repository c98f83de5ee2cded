"""Times of conclusion per office and procedure type, as the transparency law asks.

Art. 35 c. 1 lett. b) and c. 2 of D.Lgs. 33/2013 and art. 2 c. 4-bis of L. 241/1990 ask every
administration to publish, for each type of procedure, its legal term and the times actually
taken to conclude it. For each SUAP (office) and procedure type, per year and per quarter of
*conclusion*, this module gives:

- the legal term (days, ``term_days`` of the procedures: a type whose term changed between
  catalogue versions gives one row per term, so a row never mixes two terms);
- the number of procedures concluded in the period;
- the median and the mean of their net days: calendar days from receipt to conclusion, the
  days the term was suspended left out (integration requests, notice of reasons for refusal);
- the share concluded within the legal term (of those with a term).

Periods are of conclusion, not of filing, so that a quarter's figures are final once the
quarter is over. Every figure is one grouped SQL query over ``procedure_summary`` (plus the
shared percentile helper for the median). Groups with fewer than :data:`MIN_GROUP` concluded
procedures are left out, as in :mod:`portale.reports.opendata`: their figures could point at
one business.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, case, cast, extract, func, select
from sqlalchemy.orm import Session

from portale.accounts.models import Office
from portale.cases.models import ProcedureSummary
from portale.catalogue.models import ProcedureType
from portale.reports.opendata import MIN_GROUP
from portale.reports.stats import grouped_percentiles

S = ProcedureSummary
YEAR = "year"
QUARTER = "quarter"

# (name, description, type, unit): the columns of the CSV and the keys of the JSON rows
FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("anno", "Anno di conclusione delle pratiche.", "integer", None),
    (
        "trimestre",
        "Trimestre di conclusione (1-4); vuoto nella riga che riassume l'anno intero.",
        "integer",
        None,
    ),
    ("codice_sportello", "Codice dello sportello unico (SUAP) competente.", "string", None),
    ("sportello", "Denominazione dello sportello unico (SUAP).", "string", None),
    ("codice_tipo", "Codice del tipo di procedimento nel catalogo del portale.", "string", None),
    ("tipo", "Denominazione del tipo di procedimento.", "string", None),
    (
        "termine_legale_giorni",
        "Termine di conclusione fissato dalla legge o dal regolamento, in giorni; vuoto se il "
        "procedimento non ne ha.",
        "integer",
        "giorni",
    ),
    ("pratiche_concluse", "Pratiche concluse nel periodo.", "integer", "pratiche"),
    (
        "giorni_netti_mediana",
        "Mediana dei giorni netti: metà delle pratiche si è conclusa in meno giorni. Giorni di "
        "calendario dal ricevimento alla conclusione, esclusi i periodi di sospensione del "
        "termine.",
        "number",
        "giorni",
    ),
    ("giorni_netti_media", "Media dei giorni netti delle pratiche concluse.", "number", "giorni"),
    (
        "quota_entro_termine",
        "Quota delle pratiche concluse entro il termine di legge, tra quelle che ne hanno uno "
        "(da 0 a 1); vuoto se il procedimento non ha un termine.",
        "number",
        "rapporto (0-1)",
    ),
)
FIELD_NAMES = tuple(f[0] for f in FIELDS)


@dataclass(frozen=True)
class LegalTimesRow:
    anno: int
    trimestre: int | None
    codice_sportello: str
    sportello: str
    codice_tipo: str
    tipo: str
    termine_legale_giorni: int | None
    pratiche_concluse: int
    giorni_netti_mediana: float | None
    giorni_netti_media: float | None
    quota_entro_termine: float | None

    @property
    def period_label(self) -> str:
        return str(self.anno) if self.trimestre is None else f"{self.anno}-T{self.trimestre}"


@dataclass(frozen=True)
class LegalTimes:
    rows: list[LegalTimesRow]
    suppressed_groups: int
    years: list[int]  # the years with any published row, newest first


def _period_columns(granularity: str) -> list[Any]:
    year = cast(extract("year", S.decided_on), Integer)
    if granularity == YEAR:
        return [year]
    return [year, (cast(extract("month", S.decided_on), Integer) + 2) // 3]


def _rows(
    session: Session,
    granularity: str,
    where: list[Any],
    min_group: int,
    names: tuple[dict[Any, str], dict[Any, str], dict[int, str]],
) -> tuple[list[LegalTimesRow], int]:
    groups = [S.office_id, S.type_code, S.term_days, *_period_columns(granularity)]
    counts = session.execute(
        select(
            *groups,
            func.count(),
            func.avg(S.days_net),
            func.sum(case((S.within_term.is_(True), 1), else_=0)),
            func.count(S.within_term),
        )
        .where(*where)
        .group_by(*groups)
    ).all()
    medians = grouped_percentiles(
        session, S.days_net, group_by=groups, where=where, fractions=(0.5,)
    )
    office_codes, office_names, types = names
    rows: list[LegalTimesRow] = []
    suppressed = 0
    width = len(groups)
    for row in counts:
        key = tuple(row[:width])
        office_id, type_code, term, year = key[:4]
        quarter = key[4] if granularity == QUARTER else None
        closed, mean, within, with_term = row[width:]
        if closed < min_group:
            suppressed += 1
            continue
        (median,) = medians.get(key, (None,))
        rows.append(
            LegalTimesRow(
                anno=int(year),
                trimestre=None if quarter is None else int(quarter),
                codice_sportello=office_codes.get(office_id, str(office_id)),
                sportello=office_names.get(office_id, str(office_id)),
                codice_tipo=type_code,
                tipo=types.get(type_code, type_code),
                termine_legale_giorni=term,
                pratiche_concluse=int(closed),
                giorni_netti_mediana=_round(median),
                giorni_netti_media=_round(None if mean is None else float(mean)),
                quota_entro_termine=round(int(within or 0) / with_term, 3) if with_term else None,
            )
        )
    return rows, suppressed


def legal_times(
    session: Session,
    *,
    start: date | None = None,
    end: date | None = None,
    office_id: int | None = None,
    type_code: str | None = None,
    min_group: int = MIN_GROUP,
) -> LegalTimes:
    """Per office, type and legal term, per year and per quarter of conclusion between
    ``start`` and ``end`` (inclusive, both optional): the published rows, years first."""
    where: list[Any] = [S.decided_on.is_not(None), S.received_on.is_not(None)]
    if start is not None:
        where.append(S.decided_on >= start)
    if end is not None:
        where.append(S.decided_on <= end)
    if office_id is not None:
        where.append(S.office_id == office_id)
    if type_code:
        where.append(S.type_code == type_code)
    offices = session.execute(select(Office.id, Office.code, Office.name)).all()
    names = (
        {o.id: o.code for o in offices},
        {o.id: o.name for o in offices},
        dict(session.execute(select(ProcedureType.code, ProcedureType.title)).all()),
    )
    years, suppressed_y = _rows(session, YEAR, where, min_group, names)
    quarters, suppressed_q = _rows(session, QUARTER, where, min_group, names)
    rows = sorted(
        years + quarters,
        key=lambda r: (
            -r.anno,
            r.sportello,
            r.tipo,
            r.termine_legale_giorni or 0,
            r.trimestre or 0,
        ),
    )
    return LegalTimes(
        rows=rows,
        suppressed_groups=suppressed_y + suppressed_q,
        years=sorted({r.anno for r in rows}, reverse=True),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def to_csv(times: LegalTimes) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELD_NAMES)
    for row in times.rows:
        writer.writerow(["" if (v := getattr(row, n)) is None else v for n in FIELD_NAMES])
    return out.getvalue()


def to_json(times: LegalTimes, metadata: dict[str, Any]) -> str:
    return json.dumps(
        {"metadata": metadata, "data": [asdict(r) for r in times.rows]},
        ensure_ascii=False,
        indent=1,
    )


def field_descriptions() -> list[dict[str, str | None]]:
    return [
        {"name": name, "description": description, "type": kind, "unit": unit}
        for name, description, kind, unit in FIELDS
    ]
