"""SQL percentiles agree with percentile_cont computed by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import literal, select, union_all

from portale.reports.filters import InvalidFilter, ReportFilter, parse_filter
from portale.reports.stats import grouped_percentiles


def percentile_cont(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def test_grouped_percentiles_match_percentile_cont(session):
    rng = random.Random(7)
    # groups of one, two and many values: the edge cases of the interpolation
    expected = {
        g: [float(rng.randint(0, 200)) for _ in range(n)]
        for g, n in (("A", 1), ("B", 2), ("C", 37))
    }
    rows = [v for values in expected.values() for v in values]
    parts = [
        select(literal(group).label("grp"), literal(v).label("val"))
        for group, values in expected.items()
        for v in values
    ]
    table = union_all(*parts).subquery()
    got = grouped_percentiles(
        session, table.c.val, group_by=[table.c.grp], fractions=(0.5, 0.9), select_from=table
    )
    for group, values in expected.items():
        median, p90 = got[(group,)]
        assert abs(median - percentile_cont(values, 0.5)) < 1e-9
        assert abs(p90 - percentile_cont(values, 0.9)) < 1e-9
    overall = grouped_percentiles(session, table.c.val, select_from=table, fractions=(0.5,))
    assert abs(overall[()][0] - percentile_cont(rows, 0.5)) < 1e-9


def test_filter_parses_the_query_string_and_says_what_is_wrong():
    f = parse_filter(
        {"dal": "2026-01-01", "al": "2026-06-30", "tipo": "SCIA_VICINATO"}, today=date(2026, 11, 25)
    )
    assert f.days == 181 and f.previous() == ReportFilter(
        date(2025, 7, 4), date(2025, 12, 31), type_code="SCIA_VICINATO"
    )
    assert parse_filter(f.as_params(), today=date(2026, 11, 25)) == f
    default = parse_filter({}, today=date(2026, 11, 25))
    assert (default.start, default.end) == (date(2025, 11, 26), date(2026, 11, 25))
    try:
        parse_filter({"dal": "31/12/2026", "sportello": "x"}, today=date(2026, 11, 25))
    except InvalidFilter as error:
        assert set(error.errors) == {"dal", "sportello"}
    else:
        raise AssertionError("invalid filter accepted")
