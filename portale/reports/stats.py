"""Percentiles in SQL on PostgreSQL and SQLite alike.

PostgreSQL has ``percentile_cont``; SQLite (before its percentile extension) has not, so there
the same continuous percentile is computed with window functions: rank the values of each group
(``ROW_NUMBER``), take the two around ``p * (n - 1)`` and interpolate. Both give the result of
``percentile_cont``: linear interpolation between the closest ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def grouped_percentiles(
    session: Session,
    value: ColumnElement[Any],
    *,
    group_by: Sequence[ColumnElement[Any]] = (),
    where: Sequence[ColumnElement[bool]] = (),
    fractions: Sequence[float] = (0.5, 0.9),
    select_from: Any = None,
) -> dict[tuple[Any, ...], tuple[float | None, ...]]:
    """``{group key: (percentile for each fraction)}`` of the non-null ``value`` per group.

    The key is the tuple of the ``group_by`` values (``()`` with no grouping). Groups with no
    value are absent.
    """
    base = select(*[col.label(f"g{i}") for i, col in enumerate(group_by)], value.label("v")).where(
        value.is_not(None), *where
    )
    if select_from is not None:
        base = base.select_from(select_from)
    sub = base.subquery()
    keys = [sub.c[f"g{i}"] for i in range(len(group_by))]
    if session.get_bind().dialect.name == "postgresql":
        query = select(
            *keys, *[func.percentile_cont(p).within_group(sub.c.v) for p in fractions]
        ).group_by(*keys)
    else:
        query = _window_percentiles(sub, keys, fractions)
    result: dict[tuple[Any, ...], tuple[float | None, ...]] = {}
    for row in session.execute(query):
        key = tuple(row[: len(keys)])
        result[key] = tuple(None if v is None else float(v) for v in row[len(keys) :])
    return result


def _window_percentiles(sub: Any, keys: list[Any], fractions: Sequence[float]) -> Any:
    ranked = select(
        *keys,
        sub.c.v,
        (func.row_number().over(partition_by=keys or None, order_by=sub.c.v) - 1).label("rn"),
        func.count().over(partition_by=keys or None).label("n"),
    ).subquery()
    rk = [ranked.c[k.key] for k in keys]
    columns = []
    for p in fractions:
        position = literal(p) * (ranked.c.n - 1)
        low = cast(position, Integer)  # truncation is floor for non-negative ranks
        high = low + case((position > low, 1), else_=0)
        low_value = func.max(case((ranked.c.rn == low, ranked.c.v)))
        high_value = func.max(case((ranked.c.rn == high, ranked.c.v)))
        weight = func.max(position - low)
        columns.append(low_value + weight * (high_value - low_value))
    query = select(*rk, *columns)
    return query.group_by(*rk) if rk else query
