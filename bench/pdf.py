"""PDF rendering in one process, as a worker renders them: the receipt of a filed procedure
and (when the decisions branch is merged) the decision act; median and p95 after a warm-up."""

from __future__ import annotations

import ctypes.util
import importlib.util
import time
from typing import Any

from sqlalchemy import select, text

from bench.common import Target, env_for, save, timings, verdict

RUNS = 30
TARGET_RECEIPT_MS = 300.0


def _procedure_id(session: Any) -> int | None:
    # A procedure filed through the API (answers, attachments) if the filing bench ran; else
    # the procedure of the generated set with the most answers.
    found = session.execute(
        text("SELECT max(id) FROM procedure WHERE idempotency_key LIKE 'api:%'")
    ).scalar()
    return found or session.execute(text("SELECT max(id) FROM procedure")).scalar()


def run(target: Target, runs: int = RUNS) -> dict[str, Any]:
    import os

    from portale import create_app
    from portale.extensions import db
    from portale.procedures.models import Procedure
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
            f"-> {verdict(f['median_ms'], TARGET_RECEIPT_MS)} (median <= 300 ms)"
        )
        payload["receipt"] = {
            "procedure_id": procedure.id,
            "bytes": size,
            "cold_ms": cold * 1000,
            **f,
        }
    if importlib.util.find_spec("portale.decisions") is None:
        print("  decision act PDF: not available on this branch (built on branch decisions)")
        payload["decision"] = "not available"
    else:
        print("  decision act PDF: module present, no renderer known to this bench yet")
        payload["decision"] = "not measured"
    save("pdf", target, payload)
    return payload
