"""The embedded worker: a thread inside the portal process that drains the outbox.

Used by the one-command demo and small installations; at scale the same jobs run on Celery
workers (:mod:`portale.outbox.celery_app`) and this thread stays off.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from portale.outbox import services

log = logging.getLogger(__name__)


def worker_name(prefix: str = "embedded") -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class EmbeddedWorker(threading.Thread):
    def __init__(self, session_factory: Any, config: dict[str, Any], interval: float = 2.0) -> None:
        super().__init__(name="outbox-worker", daemon=True)
        self.session_factory = session_factory
        self.config = config
        self.interval = interval
        self.stopping = threading.Event()
        # Periodic work besides the outbox (the back office's scheduled jobs), every
        # ``tick_interval`` seconds: callables taking no argument.
        self.periodic: list[Any] = []
        self.tick_interval = float(config.get("BACKOFFICE_TICK_SECONDS", 300))
        self._last_tick: float | None = None

    def run(self) -> None:
        name = worker_name()
        while not self.stopping.is_set():
            try:
                services.drain(self.session_factory, worker=name, config=self.config, max_jobs=50)
            except Exception:  # noqa: BLE001 - a bad round must not kill the worker
                log.exception("outbox worker round failed")
            self._run_periodic()
            self.stopping.wait(self.interval)

    def _run_periodic(self) -> None:
        if not self.periodic:
            return
        if self._last_tick is not None and time.monotonic() - self._last_tick < self.tick_interval:
            return
        self._last_tick = time.monotonic()
        for job in self.periodic:
            try:
                job()
            except Exception:  # noqa: BLE001 - a bad round must not kill the worker
                log.exception("periodic job failed")

    def stop(self) -> None:
        self.stopping.set()


def start_embedded_worker(app: Any) -> EmbeddedWorker:
    from portale.extensions import db

    worker = EmbeddedWorker(db.session_factory, dict(app.config))
    from portale.backoffice.jobs import periodic_tick

    worker.periodic.append(lambda: periodic_tick(app))
    worker.start()
    app.extensions["outbox_worker"] = worker
    return worker
