"""Working-day calendar for legal terms (art. 2963 c.c.) and Europe/Rome dates.

A term that ends on a Sunday or a public holiday moves to the next day that is neither.
Public holidays are Italy's national ones (the ``holidays`` package, which knows that
4 October is a national holiday again from 2026) plus the patron saint's day of the office's
municipality; Saturday counts as an ordinary day unless the office says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ROME = ZoneInfo("Europe/Rome")


def local_date(moment: datetime) -> date:
    """The calendar date in Rome of an aware timestamp (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ROME).date()


def today_in_rome(now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC))


@lru_cache(maxsize=64)
def _national(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("IT", years=year).keys())


class HolidayCalendar:
    """Which days a legal term may not end on, for one office's municipality."""

    def __init__(
        self,
        patron_day: tuple[int, int] | None = None,
        *,
        saturday_is_holiday: bool = False,
        extra: frozenset[date] = frozenset(),
    ) -> None:
        self.patron_day = patron_day
        self.saturday_is_holiday = saturday_is_holiday
        self.extra = extra

    def is_non_working(self, day: date) -> bool:
        if day.weekday() == 6 or (self.saturday_is_holiday and day.weekday() == 5):
            return True
        if self.patron_day is not None and (day.month, day.day) == self.patron_day:
            return True
        return day in _national(day.year) or day in self.extra

    def roll_forward(self, day: date) -> date:
        while self.is_non_working(day):
            day += timedelta(days=1)
        return day

    def __repr__(self) -> str:
        return (
            f"HolidayCalendar(patron_day={self.patron_day!r}, "
            f"saturday_is_holiday={self.saturday_is_holiday!r})"
        )


DEFAULT_CALENDAR = HolidayCalendar()
