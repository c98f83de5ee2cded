"""Production settings come from the environment: gunicorn's file, Celery's switch, logs."""

from __future__ import annotations

import runpy
from pathlib import Path

from portale.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    for key, value in {
        "PORTALE_BIND": "127.0.0.1:8001,127.0.0.1:8002",
        "PORTALE_WORKERS": "3",
        "PORTALE_THREADS": "4",
        "PORTALE_TIMEOUT": "45",
        "PORTALE_PRELOAD": "0",
    }.items():
        monkeypatch.setenv(key, value)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == ["127.0.0.1:8001", "127.0.0.1:8002"]
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 4, "gthread")
    assert conf["timeout"] == 45 and conf["preload_app"] is False
    assert "%({x-request-id}o)s" in conf["access_log_format"]


def test_gunicorn_defaults_are_sane_without_environment(monkeypatch):
    for key in ("PORTALE_BIND", "PORTALE_WORKERS", "PORTALE_THREADS", "PORTALE_PRELOAD"):
        monkeypatch.delenv(key, raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == ["127.0.0.1:8000"] and conf["workers"] >= 2
    assert conf["worker_class"] == "sync" and conf["preload_app"] is True


def test_with_a_broker_the_web_process_runs_no_outbox_worker():
    assert load_settings({})["EMBEDDED_WORKER"] is True
    with_broker = load_settings({"PORTALE_CELERY_BROKER_URL": "redis://127.0.0.1:6379/5"})
    assert with_broker["EMBEDDED_WORKER"] is False
    forced = load_settings(
        {"PORTALE_CELERY_BROKER_URL": "redis://x/5", "PORTALE_EMBEDDED_WORKER": "1"}
    )
    assert forced["EMBEDDED_WORKER"] is True


def test_logs_are_json_in_production_and_text_in_development():
    production = load_settings({"PORTALE_ENV": "production", "PORTALE_SECRET_KEY": "s"})
    assert production["LOG_FORMAT"] == "json"
    assert load_settings({})["LOG_FORMAT"] == "text"
    assert load_settings({"PORTALE_LOG_FORMAT": "json"})["LOG_FORMAT"] == "json"
