"""gunicorn settings for the portal, every one from an environment variable.

    gunicorn -c gunicorn.conf.py wsgi:app

Prometheus metrics of all workers are summed through PROMETHEUS_MULTIPROC_DIR (emptied at
start); the access log is one JSON object per request, with the request id.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("PORTALE_BIND", "127.0.0.1:8000").split(",")
workers = _int("PORTALE_WORKERS", max(2, multiprocessing.cpu_count()))
threads = _int("PORTALE_THREADS", 1)
worker_class = os.environ.get("PORTALE_WORKER_CLASS", "gthread" if threads > 1 else "sync")
timeout = _int("PORTALE_TIMEOUT", 60)
graceful_timeout = _int("PORTALE_GRACEFUL_TIMEOUT", 30)
keepalive = _int("PORTALE_KEEPALIVE", 5)
# Recycle workers now and then: bounds memory growth of long-lived processes.
max_requests = _int("PORTALE_MAX_REQUESTS", 2000)
max_requests_jitter = _int("PORTALE_MAX_REQUESTS_JITTER", 200)
# Load the app once in the master and fork: faster start, shared read-only memory. The engine
# and storage clients are created lazily, so no connection crosses the fork.
preload_app = os.environ.get("PORTALE_PRELOAD", "1").lower() in {"1", "true", "yes", "on"}
forwarded_allow_ips = os.environ.get("PORTALE_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27's control socket defaults to one path per user: off, or instances would collide.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None

accesslog = os.environ.get("PORTALE_ACCESS_LOG", "-") or None
errorlog = os.environ.get("PORTALE_ERROR_LOG", "-")
loglevel = os.environ.get("PORTALE_LOG_LEVEL", "info").lower()
access_log_format = (
    '{"ts": "%(t)s", "log": "access", "request_id": "%({x-request-id}o)s", '
    '"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "query": "%(q)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "agent": "%(a)s"}'
)


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # Files of a previous run would be summed into this one's counters.
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def post_fork(server, worker):  # noqa: ANN001
    # Connections opened in the master (preload) must not be shared by the workers.
    from portale.extensions import db

    if db.engine is not None:
        db.engine.dispose(close=False)


def child_exit(server, worker):  # noqa: ANN001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
