"""A worker process killed in the middle of a job loses nothing and sends nothing twice.

A real child process drains an outbox (in a database file) of SSU notices to the fake
authority, which answers slowly; the child is killed (SIGKILL) while the first call is on the
wire. When the leases run out a second worker process finishes every job, and the authority,
which keys deliveries by ``Idempotency-Key``, has each notice exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from portale.db import make_engine, utcnow
from portale.models import import_all_models
from portale.outbox import services
from portale.outbox.models import DONE, RUNNING, OutboxJob
from tests.integration.connectors.worker_child import HANDLER

ROOT = Path(__file__).resolve().parents[3]


def _wait(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _child(url, settings):
    env = {**os.environ, "CHILD_SSU_SETTINGS": json.dumps(settings)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.connectors.worker_child", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_worker_killed_mid_job_loses_nothing_and_sends_nothing_twice(tmp_path, fakes):
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    import_all_models().metadata.create_all(engine)
    factory = sessionmaker(bind=engine)
    keys = [f"kill-notice-{n}" for n in range(3)]
    cui = {"context": "SUAP", "data": "2026-11-25", "progressive": "7", "uuid": "kill-test-cui"}
    event = {
        "event": "end_by_positive_outcome",
        **{k: v for k, v in fakes.authority_record().items() if k != "channel"},
    }
    event["endpoint"], event["public_key"] = event.pop("ssu_endpoint"), event.pop("ssu_public_key")
    event["client_id"] = event.pop("ssu_client_id")
    with factory() as session:
        for key in keys:
            services.enqueue(session, HANDLER, {"cui": cui, "event": event}, idempotency_key=key)
        session.commit()
    settings = {**fakes.connector_settings()["ssu"], "timeout": "10"}
    authority = fakes.authority
    authority.behaviour.mode, authority.behaviour.slow_seconds = "slow", 2.0
    requests_before = authority.behaviour.requests

    first = _child(url, settings)
    try:
        called = _wait(
            lambda: authority.behaviour.requests > requests_before or first.poll() is not None,
            60,
        )
        assert called and first.poll() is None, first.communicate(timeout=5)[1].decode()[-2000:]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    with factory() as session:
        statuses = set(session.scalars(select(OutboxJob.status)))
    assert statuses == {RUNNING}  # claimed under a lease, nothing recorded as done

    # The first notice arrives anyway (the authority was slow, not the network).
    assert _wait(lambda: keys[0] in authority.deliveries, 6)
    authority.behaviour.mode = "ok"
    with factory() as session:  # the leases run out
        session.execute(update(OutboxJob).values(locked_until=utcnow() - timedelta(seconds=1)))
        session.commit()

    second = _child(url, settings)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()[-2000:]
    with factory() as session:
        jobs = session.scalars(select(OutboxJob)).all()
    assert {j.status for j in jobs} == {DONE}
    received = [r.key for r in authority.received if r.key in keys]
    assert sorted(set(received)) == sorted(keys)  # nothing lost
    assert received.count(keys[0]) == 2  # sent again after the crash...
    assert len(authority.delivered("notify", "kill-test-cui")) == 3  # ...and delivered once
    engine.dispose()
