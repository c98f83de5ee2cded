"""Rendered dashboards kept per filter until the next summary change.

The dashboard's figures change only when a procedure's summary is rewritten (every event does
that, opinions included), so the rendered figures of a filter are kept in the process and
served again while ``max(procedure_summary.refreshed_at)`` (one index lookup) and the day in
Rome stay the same. What is personal on the page (the export form's token, the person's recent
exports) is rendered around the kept fragment, never inside it. The page says the instant its
figures were computed at, and export links carry that instant, so a file holds exactly what
was on screen.

Each worker keeps its own few entries (least recently used first out), each for at most
:data:`MAX_AGE_SECONDS`: a refresh run "as of" an earlier instant (``portale backoffice tick
--now``) does not move the latest instant, and the age bounds how long such a page is kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portale.cases.models import ProcedureSummary

T = TypeVar("T")
MAX_ENTRIES = 64
MAX_AGE_SECONDS = 600


def summary_version(session: Session) -> datetime | None:
    """The instant of the latest summary rewrite: the figures change only when it does."""
    return session.scalar(select(func.max(ProcedureSummary.refreshed_at)))


class RenderedCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE_SECONDS) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._max = max_entries
        self._max_age = max_age
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self._max_age:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            self.misses += 1
        value = compute()  # outside the lock: two threads may compute the same entry once
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


dashboards = RenderedCache()
