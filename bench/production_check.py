"""Two portal instances under load at once, sharing PostgreSQL, Redis and one S3 server.

    .venv/bin/python bench/production_check.py [--filings 80] [--threads 8]

Starts, on ports of 5500-5599 (``PORTALE_CHECK_PORTS=5540-5599``): a moto S3 server, a Celery
worker (prefork, 2 processes, with beat sweeping every 2 s) and two gunicorn instances (2
workers each, Prometheus multiprocess mode), all on a fresh PostgreSQL database
``<test database>_prodcheck`` migrated with ``portale db upgrade``. Then several threads file
procedures through the JSON API against both instances at once: draft, answers, an upload
with unique content, submission with an ``Idempotency-Key``, the same submission repeated on
the other instance. It asserts, and exits non-zero otherwise:

- every filing got one procedure, protocol numbers are unique and gapless;
- every upload is in S3 with the bytes sent (SHA-256), every receipt PDF is in S3;
- every outbox job is done and each ran exactly once (handlers counted in Redis);
- both instances are ready, and their /metrics sum the requests of all their workers.

It prints the figures (filings per second) but is a check, not a benchmark.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ANSWERS = {"data_inizio": "2026-12-01", "superficie": "85.5", "settore": "non_alimentare"}


def port_range() -> range:
    low, _, high = os.environ.get("PORTALE_CHECK_PORTS", "5540-5599").partition("-")
    return range(int(low), int(high) + 1)


def free_ports(count: int) -> list[int]:
    import socket

    found = []
    for port in port_range():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise SystemExit("not enough free ports in the range")


def wait_http(url: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def call(
    base: str, method: str, path: str, token: str, body: Any = None, headers: dict | None = None
) -> tuple[int, Any]:
    data, content_type = None, None
    if isinstance(body, tuple):  # (field, filename, bytes): one multipart file
        boundary = uuid.uuid4().hex
        field, filename, content = body
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data, content_type = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Stack:
    """The processes of the check, each stopped by its own handle."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def log_tail(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]


def fresh_database(base_url: str) -> str:
    from sqlalchemy.engine import make_url

    from portale.db import make_engine

    url = make_url(base_url)
    name = f"{url.database}_prodcheck"
    admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def seed(database_url: str) -> dict[str, Any]:
    """Migrate, then a company with premises, a user holding its mandate, a published type."""
    from portale import create_app, migrate
    from portale.accounts.passwords import use_fast_hashing

    use_fast_hashing()
    migrate.upgrade(database_url, "head")
    app = create_app({"DATABASE_URL": database_url, "EMBEDDED_WORKER": False, "TESTING": True})
    from portale.accounts.services import issue_api_token
    from portale.extensions import db
    from tests import factories
    from tests.integration.test_procedures_support import make_world

    with app.app_context():
        session = db.session()
        factories.bind(session)
        world = make_world(session)
        token = issue_api_token(session, world.user, "production-check").secret
        session.commit()
        seeded = {
            "token": token,
            "company_id": world.company.id,
            "local_unit_id": world.unit.id,
            "type_code": world.version.code,
        }
    db.engine.dispose()
    return seeded


def file_one(bases: list[str], n: int, seeded: dict[str, Any]) -> dict[str, Any]:
    """One filing, alternating instances between its steps."""
    token = seeded["token"]
    first, second = bases[n % 2], bases[(n + 1) % 2]
    status, draft = call(
        first,
        "POST",
        "/api/v1/drafts",
        token,
        {k: seeded[k] for k in ("company_id", "local_unit_id", "type_code")},
    )
    assert status == 201, (status, draft)
    status, body = call(
        second, "PATCH", f"/api/v1/drafts/{draft['id']}", token, {"answers": ANSWERS}
    )
    assert status == 200, (status, body)
    content = PDF + f"% filing {n} {uuid.uuid4().hex}\n".encode()
    status, attachment = call(
        first,
        "POST",
        f"/api/v1/drafts/{draft['id']}/attachments/planimetria",
        token,
        ("file", f"planimetria-{n}.pdf", content),
    )
    assert status == 201, (status, attachment)
    key = {"Idempotency-Key": f"check-{n}-{uuid.uuid4().hex}"}
    path = f"/api/v1/drafts/{draft['id']}/submit"
    # The same submission sent to both instances at once, then once more: one procedure.
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda base: call(base, "POST", path, token, None, key), bases))
    again = call(second, "POST", path, token, None, key)
    statuses = sorted(s for s, _ in answers)
    ids = {body["id"] for _, body in [*answers, again] if isinstance(body, dict) and "id" in body}
    # One of the two files it (201); the other answers with the same procedure (200, or 201
    # when it lost the race inside the database) or, at worst, a clear 422 to retry.
    assert 201 in statuses and set(statuses) <= {200, 201, 422}, answers
    assert again[0] == 200 and len(ids) == 1, (answers, again)
    return {
        "procedure_id": ids.pop(),
        "sha256": hashlib.sha256(content).hexdigest(),
        "requests": 3 + len(answers) + 1,
    }


def metric_sum(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def verify(database_url: str, s3: Any, bucket: str, filings: list[dict], store: Any, prefix: str):
    from sqlalchemy import select

    from portale.cases.models import Attachment, Procedure
    from portale.db import make_engine
    from portale.outbox.models import DONE, OutboxJob

    engine = make_engine(database_url)
    problems: list[str] = []
    with engine.connect() as conn:
        procedures = conn.execute(
            select(
                Procedure.id,
                Procedure.office_id,
                Procedure.protocol_year,
                Procedure.protocol_number,
                Procedure.receipt_key,
            )
        ).all()
        numbers = sorted(p.protocol_number for p in procedures)
        if len(procedures) != len(filings):
            problems.append(f"{len(procedures)} procedures for {len(filings)} filings")
        if numbers != list(range(1, len(numbers) + 1)):
            duplicates = [n for n, c in Counter(numbers).items() if c > 1]
            problems.append(f"protocol numbers not unique and gapless (duplicates {duplicates})")
        attachments = {
            row.procedure_id: row
            for row in conn.execute(
                select(Attachment.procedure_id, Attachment.storage_key, Attachment.sha256)
            )
        }
        jobs = conn.execute(select(OutboxJob.idempotency_key, OutboxJob.status)).all()
    engine.dispose()
    from portale.storage import S3Storage

    storage: S3Storage = s3
    for filing in filings:
        row = attachments.get(filing["procedure_id"])
        if row is None:
            problems.append(f"procedure {filing['procedure_id']} has no attachment")
            continue
        stored = hashlib.sha256(storage.read(row.storage_key)).hexdigest()
        if not (stored == row.sha256 == filing["sha256"]):
            problems.append(f"upload of procedure {filing['procedure_id']} differs in S3")
    for procedure in procedures:
        # the key the receipt job recorded once it stored the PDF
        if not procedure.receipt_key or not storage.exists(procedure.receipt_key):
            problems.append(f"no receipt PDF in S3 for procedure {procedure.id}")
    not_done = [k for k, status in jobs if status != DONE]
    if not_done:
        problems.append(f"{len(not_done)} outbox jobs not done: {not_done[:5]}")
    runs = {k: int(store.get(f"{prefix}:runs:{k}") or 0) for k, _ in jobs}
    twice = {k: n for k, n in runs.items() if n > 1}
    never = [k for k, n in runs.items() if n == 0]
    if twice:
        problems.append(f"jobs run more than once: {twice}")
    if never:
        problems.append(f"jobs never run: {never[:5]}")
    return problems, len(procedures), len(jobs)


def wait_for_outbox(database_url: str, timeout: float) -> None:
    from sqlalchemy import func, select

    from portale.db import make_engine
    from portale.outbox.models import DONE, OutboxJob

    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = conn.scalar(
                    select(func.count()).select_from(OutboxJob).where(OutboxJob.status != DONE)
                )
            if not pending:
                return
            time.sleep(0.3)
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filings", type=int, default=32)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PORTALE_CHECK_DATABASE_URL")
        or os.environ.get("PORTALE_TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("PORTALE_CHECK_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    args = parser.parse_args()
    import redis

    started = time.monotonic()
    database_url = fresh_database(args.database_url)
    seeded = seed(database_url)
    print(f"database migrated and seeded in {time.monotonic() - started:.1f} s", flush=True)
    store = redis.Redis.from_url(args.redis_url)
    prefix = f"prodcheck-{uuid.uuid4().hex[:8]}"
    s3_port, web_a, web_b = free_ports(3)
    workdir = Path(tempfile.mkdtemp(prefix="portale-prodcheck-"))
    bucket = f"portale-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PORTALE_ENV": "production",
        "PORTALE_SECRET_KEY": uuid.uuid4().hex,
        "PORTALE_DATABASE_URL": database_url,
        "PORTALE_CELERY_BROKER_URL": args.redis_url,
        "PORTALE_CELERY_QUEUE": prefix,
        "PORTALE_CELERY_SWEEP_SECONDS": "2",
        "PORTALE_RATELIMIT_STORAGE_URI": args.redis_url,
        "PORTALE_STORAGE_BACKEND": "s3",
        "PORTALE_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "PORTALE_S3_BUCKET": bucket,
        "PORTALE_S3_ACCESS_KEY_ID": "check",
        "PORTALE_S3_SECRET_ACCESS_KEY": "check",
        "PORTALE_MAIL_BACKEND": "file",
        "PORTALE_VAR_DIR": str(workdir / "var"),
        "PORTALE_WORKERS": "2",
        "CHECK_PREFIX": prefix,
    }
    env.pop("PORTALE_TEST_DATABASE_URL", None)
    stack = Stack(workdir)
    try:
        stack.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], env)
        wait_http(f"http://127.0.0.1:{s3_port}/")
        from portale.storage import S3Storage

        s3 = S3Storage(
            bucket,
            endpoint_url=env["PORTALE_S3_ENDPOINT_URL"],
            access_key_id="check",
            secret_access_key="check",
            region="us-east-1",
        )
        s3.ensure_bucket()
        stack.start(
            "celery",
            [sys.executable, "-m", "celery", "-A", "bench.production_worker", "worker", "-B",
             "-c", "2", "-Q", prefix, "-n", f"{prefix}@%h", "-s", str(workdir / "beat"),
             "--without-mingle", "--without-gossip", "-l", "warning"],
            env,
        )  # fmt: skip
        bases = []
        for name, port in (("web-a", web_a), ("web-b", web_b)):
            instance_env = {
                **env,
                "PORTALE_BIND": f"127.0.0.1:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"metrics-{name}"),
                "PORTALE_ACCESS_LOG": str(workdir / f"{name}-access.log"),
            }
            stack.start(
                name,
                [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                instance_env,
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_http(base + "/healthz")
        ready = time.monotonic()
        print(f"S3, Celery and two gunicorn instances up at {ready - started:.1f} s", flush=True)
        lock = threading.Lock()
        filings: list[dict] = []

        def one(n: int) -> None:
            result = file_one(bases, n, seeded)
            with lock:
                filings.append(result)

        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(one, range(args.filings)))
        load_seconds = time.monotonic() - ready
        wait_for_outbox(database_url, timeout=40)
        problems, procedures, jobs = verify(database_url, s3, bucket, filings, store, prefix)
        requests_sent = sum(f["requests"] for f in filings)
        counted = 0.0
        for base in bases:
            status, body = call(base, "GET", "/readyz", seeded["token"])
            if status != 200:
                problems.append(f"{base}/readyz answered {status}: {body}")
            with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
                counted += metric_sum(
                    response.read().decode(), "portale_http_request_duration_seconds_count"
                )
        if counted != requests_sent:
            problems.append(f"/metrics counted {counted:.0f} requests, {requests_sent} were sent")
        with (workdir / "web-a-access.log").open() as access:
            line = json.loads(access.readline())
            if not line.get("request_id"):
                problems.append("access log lines carry no request id")
        print(
            f"production check: {len(filings)} filings by {args.threads} threads on 2 instances "
            f"in {load_seconds:.1f} s ({len(filings) / load_seconds:.1f} filings/s, "
            f"{requests_sent} requests); {procedures} procedures, {jobs} outbox jobs; "
            f"total {time.monotonic() - started:.1f} s"
        )
        for problem in problems:
            print("FAIL:", problem)
        if problems:
            for name, _process in stack.processes:
                print(f"--- {name} log ---\n{stack.log_tail(name)}")
        else:
            print("OK: no duplicate or missing protocol number, no job run twice, no lost upload")
        return 1 if problems else 0
    finally:
        stack.stop()
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


if __name__ == "__main__":
    raise SystemExit(main())
