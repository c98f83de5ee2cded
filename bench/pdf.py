"""PDF rendering in one process, as a worker renders them: the receipt of a filed procedure
and the decision act of the same procedure; median and p95 after a warm-up."""

from __future__ import annotations

import ctypes.util
import time
from typing import Any

from sqlalchemy import select, text

from bench.common import Target, env_for, save, timings, verdict

RUNS = 30
TARGET_RECEIPT_MS = 100.0  # issue 16


def _procedure_id(session: Any) -> int | None:
    # A procedure filed through the API (answers, attachments) if the filing bench ran; else
    # the procedure of the generated set with the most answers.
    found = session.execute(
        text("SELECT max(id) FROM procedure WHERE idempotency_key LIKE 'api:%'")
    ).scalar()
    return found or session.execute(text("SELECT max(id) FROM procedure")).scalar()


def _decision_act(session: Any, procedure: Any, runs: int) -> dict[str, Any]:
    """The approval act of the same procedure, rendered as the clerk's approval renders it
    (an unsaved act: rendering reads its fields only)."""
    from datetime import UTC, datetime

    from portale.cases.act_models import ACT_APPROVAL, Act
    from portale.cases.acts import render_act_pdf

    act = Act(
        procedure_id=procedure.id,
        kind=ACT_APPROVAL,
        protocol_year=2026,
        protocol_number=1,
        protocol_label=f"{procedure.office.code}/2026/000001",
        issued_at=datetime.now(UTC),
        motivation="Istruttoria favorevole: requisiti verificati, pareri acquisiti.",
    )
    render_act_pdf(session, procedure, act)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        size = len(render_act_pdf(session, procedure, act))
        times.append(time.perf_counter() - started)
    f = timings(times)
    print(
        f"  decision act ({size} bytes): median {f['median_ms']} ms, p95 {f['p95_ms']} ms "
        f"-> {verdict(f['median_ms'], TARGET_RECEIPT_MS)} (median <= 100 ms, as the receipt)"
    )
    return {"bytes": size, **f}


def run(target: Target, runs: int = RUNS) -> dict[str, Any]:
    import os

    from portale import create_app
    from portale.cases.models import Procedure
    from portale.extensions import db
    from portale.procedures.receipt import render_receipt_pdf

    harfbuzz = ctypes.util.find_library("harfbuzz-subset") is not None
    print(f"PDF rendering, {target.db} {target.scale}: {runs} runs after one cold render")
    if not harfbuzz:
        print("  WARNING: libharfbuzz-subset0 is missing (apt-get install libharfbuzz-subset0)")
    os.environ.update(env_for(target))
    app = create_app()
    payload: dict[str, Any] = {"harfbuzz_subset": harfbuzz}
    with app.app_context(), app.test_request_context():
        procedure = db.session.scalar(
            select(Procedure).where(Procedure.id == _procedure_id(db.session))
        )
        if procedure is None:
            print("  no procedure in the database: generate data first")
            return payload
        started = time.perf_counter()
        size = len(render_receipt_pdf(db.session, procedure))
        cold = time.perf_counter() - started
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            render_receipt_pdf(db.session, procedure)
            times.append(time.perf_counter() - started)
        f = timings(times)
        print(
            f"  receipt (procedure {procedure.id}, {size} bytes): cold {cold * 1000:.0f} ms, "
            f"median {f['median_ms']} ms, p95 {f['p95_ms']} ms "
            f"-> {verdict(f['median_ms'], TARGET_RECEIPT_MS)} (median <= 100 ms)"
        )
        payload["receipt"] = {
            "procedure_id": procedure.id,
            "bytes": size,
            "cold_ms": cold * 1000,
            **f,
        }
        payload["decision"] = _decision_act(db.session, procedure, runs)
    save("pdf", target, payload)
    return payload
