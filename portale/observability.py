"""Operations: request ids, structured logs, health and readiness probes, Prometheus metrics.

- Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token, a fresh one
  otherwise; it is returned in the response header and carried by every log line.
- ``PORTALE_LOG_FORMAT=json`` (the default in production) writes one JSON object per line.
- ``/healthz``: the process answers. ``/readyz``: database, broker (when configured) and
  storage answer; ``503`` naming what failed.
- ``/metrics``: request latency by endpoint (a histogram, shared between gunicorn workers through
  ``PROMETHEUS_MULTIPROC_DIR``) and gauges read from the database at scrape time with indexed
  queries: outbox depth and age of the oldest waiting job, failing dispatch jobs by connector,
  overdue open procedures.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "portale_request_id", default=None
)
GAUGE_CACHE_SECONDS = 5.0
OPS_ENDPOINTS = {"ops.healthz", "ops.readyz", "ops.metrics", "static"}

bp = Blueprint("ops", __name__)


# -- request id and logs ----------------------------------------------------------------------


def current_request_id() -> str | None:
    return _request_id.get()


def accept_request_id(value: str | None) -> str:
    """The caller's id if it is a safe token (it ends up in logs), else a new one."""
    if value and _SAFE_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if _plain(value) else repr(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Send the root logger to stderr, as JSON or text, with the request id on every line."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_portale", False):
            return  # configured already (several apps in one process)
    handler = logging.StreamHandler(sys.stderr)
    handler._portale = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level.upper())
    # WeasyPrint narrates every rendering step at INFO: seven lines per receipt or act.
    for chatty in ("weasyprint.progress", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


# -- metrics ------------------------------------------------------------------------------------

_metrics: dict[str, Any] = {}
_metrics_lock = threading.Lock()


def metrics_available() -> bool:
    """prometheus-client is a dependency; a stripped install without it still serves pages."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def _request_histogram() -> Any:
    with _metrics_lock:
        if "latency" not in _metrics:
            if not metrics_available():
                return None
            from prometheus_client import Histogram

            # Created once per process; under PROMETHEUS_MULTIPROC_DIR its samples go to a file
            # per worker that /metrics sums.
            _metrics["latency"] = Histogram(
                "portale_http_request_duration_seconds",
                "Time to answer a request, by Flask endpoint, method and status class.",
                ["endpoint", "method", "status"],
                buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
            )
        return _metrics["latency"]


class PortalCollector:
    """Gauges read from the database at scrape time, cached for a few seconds per process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._cache: tuple[float, list[Any]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] > GAUGE_CACHE_SECONDS:
                self._cache = (now, self._families())
            yield from self._cache[1]

    def _families(self) -> list[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from portale.extensions import db

        with db.session_factory() as session:
            figures = portal_figures(session)
        depth = GaugeMetricFamily(
            "portale_outbox_jobs", "Outbox jobs not finished, by status.", labels=["status"]
        )
        for status, count in figures["outbox"].items():
            depth.add_metric([status], count)
        age = GaugeMetricFamily(
            "portale_outbox_oldest_waiting_seconds",
            "Age of the oldest queued or retrying outbox job (0 when none waits).",
        )
        age.add_metric([], figures["oldest_waiting_seconds"])
        failures = GaugeMetricFamily(
            "portale_dispatch_failures",
            "Outbox jobs of a connector that failed and are retrying or given up.",
            labels=["connector", "status"],
        )
        for (connector, status), count in figures["failures"].items():
            failures.add_metric([connector, status], count)
        overdue = GaugeMetricFamily(
            "portale_procedures_overdue",
            "Open procedures whose last day (term) is before today.",
        )
        overdue.add_metric([], figures["overdue"])
        return [depth, age, failures, overdue]


def portal_figures(session: Any, today: date | None = None) -> dict[str, Any]:
    """The scrape-time figures, each one query on an index (status, connector, state)."""
    from sqlalchemy import func, select

    from portale.cases.models import Procedure
    from portale.clock.lifecycle import FINAL_STATES, STATES
    from portale.db import utcnow
    from portale.outbox.models import GIVEN_UP, QUEUED, RETRYING, RUNNING, OutboxJob

    waiting = (QUEUED, RETRYING, RUNNING)
    counts = dict(
        session.execute(
            select(OutboxJob.status, func.count())
            .where(OutboxJob.status.in_(waiting))
            .group_by(OutboxJob.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(OutboxJob.created_at)).where(OutboxJob.status.in_((QUEUED, RETRYING)))
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    failures = {
        (connector, status): count
        for connector, status, count in session.execute(
            select(OutboxJob.connector, OutboxJob.status, func.count())
            .where(OutboxJob.status.in_((RETRYING, GIVEN_UP)), OutboxJob.connector.is_not(None))
            .group_by(OutboxJob.connector, OutboxJob.status)
        )
    }
    open_states = [state for state in STATES if state not in FINAL_STATES]
    overdue = session.scalar(
        select(func.count())
        .select_from(Procedure)
        .where(Procedure.state.in_(open_states), Procedure.last_day < (today or date.today()))
    )
    return {
        "outbox": {status: counts.get(status, 0) for status in waiting},
        "oldest_waiting_seconds": max((utcnow() - oldest).total_seconds(), 0.0) if oldest else 0.0,
        "failures": failures,
        "overdue": overdue or 0,
    }


def metrics_payload(app: Flask) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    collector = app.extensions["portale_collector"]
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for family in REGISTRY.collect():
            if family.name.startswith("portale_"):
                registry.register(_Static(family))
    registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Static:
    def __init__(self, family: Any) -> None:
        self.family = family

    def collect(self) -> Iterator[Any]:
        yield self.family


# -- probes and hooks --------------------------------------------------------------------------


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = readiness_checks(current_app)
    failed = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    return jsonify(body), 503 if failed else 200


def readiness_checks(app: Flask) -> dict[str, str]:
    checks: dict[str, str] = {"database": _check(_database_ok)}
    broker = app.config.get("CELERY_BROKER_URL")
    if broker:
        from portale.outbox.celery_app import broker_reachable

        checks["broker"] = _check(lambda: broker_reachable(broker))
    checks["storage"] = _check(lambda: _storage_ok(app))
    return checks


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - any failure makes the instance not ready
        log.warning("readiness check failed: %s", error)
        return f"{type(error).__name__}: {error}"[:300]
    return "ok"


def _database_ok() -> None:
    from sqlalchemy import text

    from portale.extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _storage_ok(app: Flask) -> None:
    from portale.storage import storage_from_config

    storage_from_config(app.config).ping()


@bp.get("/metrics")
def metrics() -> Response:
    if not metrics_available():
        return Response("prometheus-client is not installed\n", status=503, mimetype="text/plain")
    payload, content_type = metrics_payload(current_app)
    return Response(payload, content_type=content_type)


def _before() -> None:
    g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()
    g.request_id_token = _request_id.set(g.request_id)


def _after(response: Response) -> Response:
    request_id = getattr(g, "request_id", None)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = getattr(g, "request_started", None)
    endpoint = request.endpoint or "unmatched"
    histogram = _request_histogram() if endpoint not in OPS_ENDPOINTS else None
    if started is not None and histogram is not None:
        elapsed = time.perf_counter() - started
        histogram.labels(endpoint, request.method, f"{response.status_code // 100}xx").observe(
            elapsed
        )
    return response


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (streamed response): just clear it
            _request_id.set(None)


def init_app(app: Flask) -> None:
    if not app.config.get("TESTING"):  # pytest captures logs its own way
        configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
    app.register_blueprint(bp)
    app.extensions["portale_collector"] = PortalCollector(app)
