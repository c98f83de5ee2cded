"""A period read from the roll-up is its whole months, the whole pieces of weeks at its ends
and at most six loose days at each end: every day exactly once, nothing outside."""

from __future__ import annotations

import random
from datetime import date, timedelta

from portale.reports.rollups import (
    EPOCH,
    day_number,
    decompose,
    month_key,
    piece_end,
    piece_start,
)


def days_of(start, end):
    return {start + timedelta(days=i) for i in range((end - start).days + 1)}


def covered(part, start, end):
    days = []
    if part.months:
        for day in days_of(start - timedelta(days=40), end + timedelta(days=40)):
            if part.months[0] <= month_key(day) <= part.months[1]:
                days.append(day)
    for low, high in part.pieces:
        for number in range(low, high + 1):
            last = EPOCH + timedelta(days=number)
            if piece_end(last) == last:  # a piece's own last day names it
                days += sorted(days_of(piece_start(last), last))
    for low, high in part.days:
        days += sorted(days_of(low, high))
    return days


def test_every_day_of_any_period_is_read_exactly_once():
    rng = random.Random(5)
    cases = [
        (date(2025, 12, 3), date(2026, 12, 2)),  # the default 12 months
        (date(2026, 1, 1), date(2026, 12, 31)),  # whole months only
        (date(2026, 3, 2), date(2026, 3, 6)),  # inside one week
        (date(2026, 1, 28), date(2026, 2, 3)),  # across a month's end inside a week
    ]
    cases += [
        (start, start + timedelta(days=rng.randint(0, 800)))
        for start in (date(2024, 1, 1) + timedelta(days=rng.randint(0, 900)) for _ in range(300))
    ]
    for start, end in cases:
        part = decompose(start, end)
        days = covered(part, start, end)
        assert sorted(days) == sorted(days_of(start, end)), (start, end)
        assert len(days) == len(set(days)), (start, end)
        assert sum((b - a).days + 1 for a, b in part.days) <= 6 * 2 * 2  # at most a few days
        for a, b in part.days:
            assert (b - a).days < 6


def test_pieces_never_cross_a_month_or_a_week():
    for offset in range(0, 800):
        day = date(2024, 1, 1) + timedelta(days=offset)
        first, last = piece_start(day), piece_end(day)
        assert first <= day <= last
        assert first.month == last.month and (last - first).days < 7
        assert day_number(last) - day_number(first) == (last - first).days
