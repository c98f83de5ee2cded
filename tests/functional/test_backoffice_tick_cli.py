"""``portale backoffice tick`` from cron, and the embedded worker's periodic call."""

from __future__ import annotations

from datetime import UTC, datetime

from portale.cases.models import Procedure
from portale.clock import lifecycle as lc
from portale.extensions import db
from portale.outbox.worker import EmbeddedWorker
from tests.backoffice_support import file_procedure


def test_tick_command_applies_silent_assent_once(app, session):
    filed = file_procedure(
        session,
        app.config["STORAGE_PATH"],
        regime="SILENZIO-ASSENSO",
        term_days=30,
        silent_assent=True,
        now=datetime(2026, 5, 25, 8, tzinfo=UTC),
    )
    pid = filed.procedure.id
    runner = app.test_cli_runner()
    before = runner.invoke(args=["backoffice", "tick", "--now", "2026-06-25T23:30:00+02:00"])
    assert before.exit_code == 0 and "silent_assent: 0" in before.output
    first = runner.invoke(args=["backoffice", "tick", "--now", "2026-06-26T00:30:00+02:00"])
    assert "silent_assent: 1" in first.output
    second = runner.invoke(args=["backoffice", "tick", "--now", "2026-06-26T00:30:00+02:00"])
    assert "silent_assent: 0" in second.output
    db.session.expire_all()
    assert db.session.get(Procedure, pid).state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED
    bad = runner.invoke(args=["backoffice", "tick", "--now", "ieri"])
    assert bad.exit_code != 0 and "--now" in bad.output


def test_embedded_worker_runs_periodic_jobs_at_its_interval():
    calls = []
    worker = EmbeddedWorker(session_factory=None, config={"BACKOFFICE_TICK_SECONDS": 3600})
    worker.periodic.append(lambda: calls.append(1))
    worker._run_periodic()
    worker._run_periodic()
    assert calls == [1]
    worker.tick_interval = 0
    worker._run_periodic()
    assert calls == [1, 1]
