"""Probes, metrics and request ids, as an operator and a load balancer see them."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest

from portale import observability
from portale.outbox import services
from portale.outbox.models import GIVEN_UP, RETRYING
from tests.production_support import free_port


@pytest.fixture(autouse=True)
def fresh_gauges(monkeypatch):
    monkeypatch.setattr(observability, "GAUGE_CACHE_SECONDS", -1.0)


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_is_ok_when_database_and_storage_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_names_the_storage_when_it_is_unreachable(client, app, monkeypatch):
    for key, value in {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "S3_ACCESS_KEY_ID": "x",
        "S3_SECRET_ACCESS_KEY": "y",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["storage"]
    assert response.json["checks"]["database"] == "ok"


def test_readyz_names_the_broker_when_it_is_unreachable(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/5")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["broker"]


def test_readyz_checks_the_broker_when_configured(client, app, monkeypatch):
    from tests.production_support import redis_db_for_worker, redis_up

    if not redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    monkeypatch.setitem(
        app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:6379/{redis_db_for_worker()}"
    )
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["broker"] == "ok"


def test_request_id_is_returned_generated_or_replaced(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123.4"})
    assert given.headers["X-Request-ID"] == "abc-123.4"
    fresh = client.get("/healthz")
    assert len(fresh.headers["X-Request-ID"]) == 32
    assert fresh.headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]
    hostile = client.get("/healthz", headers={"X-Request-ID": 'x", "level": "fake'})
    assert len(hostile.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id(app):
    formatter = observability.JsonFormatter()
    with app.test_request_context("/"):
        app.preprocess_request()
        record = logging.LogRecord(
            "portale.x", logging.WARNING, __file__, 1, "pratica %s", (7,), None
        )
        record.procedure_id = 7
        observability.RequestIdFilter().filter(record)
        line = json.loads(formatter.format(record))
    assert line["message"] == "pratica 7" and line["level"] == "WARNING"
    assert line["request_id"] and line["request_id"] == record.request_id
    assert line["procedure_id"] == 7


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    return None


def test_metrics_count_request_latency_by_endpoint(client):
    before = _metric(
        client.get("/metrics").get_data(as_text=True),
        "portale_http_request_duration_seconds_count",
        endpoint="web.home",
        method="GET",
        status="2xx",
    )
    assert client.get("/").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    after = _metric(
        text,
        "portale_http_request_duration_seconds_count",
        endpoint="web.home",
        method="GET",
        status="2xx",
    )
    assert after == (before or 0) + 1
    assert "portale_http_request_duration_seconds_bucket" in text


def test_metrics_show_outbox_depth_age_and_failures_by_connector(client, session):
    services.enqueue(session, "test.x", {}, idempotency_key="m-1")
    services.enqueue(session, "test.x", {}, idempotency_key="m-2")
    failing = services.enqueue(session, "test.x", {}, idempotency_key="m-3", connector="pec")
    failing.status = RETRYING
    given_up = services.enqueue(session, "test.x", {}, idempotency_key="m-4", connector="pec")
    given_up.status = GIVEN_UP
    session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, "portale_outbox_jobs", status="queued") == 2
    assert _metric(text, "portale_outbox_jobs", status="retrying") == 1
    assert _metric(text, "portale_outbox_oldest_waiting_seconds") >= 0
    assert _metric(text, "portale_dispatch_failures", connector="pec", status="retrying") == 1
    assert _metric(text, "portale_dispatch_failures", connector="pec", status="given_up") == 1


def test_metrics_count_open_procedures_past_their_last_day(client, session, tmp_path):
    from portale.cases.models import Procedure
    from portale.clock.lifecycle import FINAL_STATES
    from tests.backoffice_support import file_procedure

    procedure_id = file_procedure(session, tmp_path).procedure.id

    def overdue_after(last_day, state=None):
        procedure = session.get(Procedure, procedure_id)  # each request closes the session
        procedure.last_day = last_day
        procedure.state = state or procedure.state
        session.commit()
        return _metric(client.get("/metrics").get_data(as_text=True), "portale_procedures_overdue")

    assert overdue_after(date.today() + timedelta(days=3)) == 0
    assert overdue_after(date.today()) == 0
    assert overdue_after(date.today() - timedelta(days=3)) == 1
    assert overdue_after(date.today() - timedelta(days=3), sorted(FINAL_STATES)[0]) == 0
