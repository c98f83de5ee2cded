"""The filter every report takes: a period and optional type, municipality, office, authority.

One :class:`ReportFilter` is parsed from the query string of the dashboard, an export or the
API, and turned into SQL conditions on :class:`~portale.cases.models.ProcedureSummary`,
so every view of a report shows exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, select

from portale.cases.models import OpinionRequest, ProcedureSummary


class InvalidFilter(ValueError):
    """``errors`` maps a parameter to a message for the person."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class ReportFilter:
    start: date  # first day of the period, inclusive (filing date)
    end: date  # last day of the period, inclusive
    type_code: str | None = None
    municipality: str | None = None  # ISTAT code
    office_id: int | None = None
    authority_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilter:
        """The period of the same length just before this one (for trends)."""
        return replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1)
        )

    def as_params(self) -> dict[str, str]:
        """Query-string parameters that parse back to this filter (for export links)."""
        params = {"dal": self.start.isoformat(), "al": self.end.isoformat()}
        for name, value in (
            ("tipo", self.type_code),
            ("comune", self.municipality),
            ("sportello", self.office_id),
            ("ente", self.authority_id),
        ):
            if value not in (None, ""):
                params[name] = str(value)
        return params

    def conditions(self, summary: Any = ProcedureSummary) -> list[ColumnElement[bool]]:
        """WHERE conditions on the summary table (or an alias of it)."""
        where = [summary.received_on >= self.start, summary.received_on <= self.end]
        if self.type_code:
            where.append(summary.type_code == self.type_code)
        if self.municipality:
            where.append(summary.municipality == self.municipality)
        if self.office_id is not None:
            where.append(summary.office_id == self.office_id)
        if self.authority_id is not None:
            where.append(
                exists(
                    select(OpinionRequest.id).where(
                        OpinionRequest.procedure_id == summary.procedure_id,
                        OpinionRequest.authority_id == self.authority_id,
                    )
                )
            )
        return where

    def clause(self, summary: Any = ProcedureSummary) -> ColumnElement[bool]:
        return and_(*self.conditions(summary))


def _date(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = str(_l("Data non valida: usa il formato AAAA-MM-GG."))
        return None


def _int(value: str | None, name: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        errors[name] = str(_l("Valore non valido."))
        return None


def parse_filter(args: Mapping[str, str], *, today: date) -> ReportFilter:
    """Parse ``dal``, ``al``, ``tipo``, ``comune``, ``sportello``, ``ente``; the period defaults
    to the last 12 months up to ``today``. Raises :class:`InvalidFilter`."""
    errors: dict[str, str] = {}
    end = _date(args.get("al"), "al", errors) or today
    start = _date(args.get("dal"), "dal", errors) or (end - timedelta(days=365) + timedelta(days=1))
    office_id = _int(args.get("sportello"), "sportello", errors)
    authority_id = _int(args.get("ente"), "ente", errors)
    if not errors and start > end:
        errors["dal"] = str(_l("L'inizio del periodo è successivo alla fine."))
    if errors:
        raise InvalidFilter(errors)
    return ReportFilter(
        start=start,
        end=end,
        type_code=(args.get("tipo") or None),
        municipality=(args.get("comune") or None),
        office_id=office_id,
        authority_id=authority_id,
    )
