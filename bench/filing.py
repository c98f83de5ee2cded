"""Filing throughput: 8 concurrent API clients file procedures (draft, answers, submit with an
Idempotency-Key) against gunicorn with 2 workers; then protocol numbers are checked unique
and gapless per office and year, and the counters equal the highest number."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import requests
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.common import Server, Target, engine_for, save, timings, verdict

TARGET_PER_SECOND = 100.0
CLIENTS = 8
TYPE = "COM_CESSAZIONE"  # a notice with no attachments: the filing itself is what is measured


def clients(target: Target, count: int = CLIENTS) -> list[dict[str, Any]]:
    """Generated company users with premises in Torino (one office, one counter: the worst
    case for the protocol row lock), each with an API token."""
    from portale.accounts.models import User
    from portale.accounts.services import issue_api_token

    engine = engine_for(target)
    found = []
    with Session(engine) as session:
        rows = session.execute(
            text(
                "SELECT u.id, min(m.company_id), min(lu.id) FROM user_account u "
                "JOIN mandate m ON m.grantee_id = u.id "
                "JOIN local_unit lu ON lu.company_id = m.company_id "
                "WHERE u.email LIKE 'impresa%@dati-generati.example' "
                "AND lu.municipality = '001272' GROUP BY u.id ORDER BY u.id LIMIT :n"
            ),
            {"n": count},
        ).all()
        for user_id, company_id, unit_id in rows:
            user = session.scalar(select(User).where(User.id == user_id))
            token = issue_api_token(session, user, "bench")
            found.append({"token": token.secret, "company_id": company_id, "unit_id": unit_id})
    engine.dispose()
    return found


def prepare(base: str, client: dict[str, Any], http: requests.Session) -> int:
    """A complete draft (created and answered through the API), ready to submit."""
    headers = {"Authorization": f"Bearer {client['token']}"}
    draft = http.post(
        f"{base}/api/v1/drafts",
        json={
            "company_id": client["company_id"],
            "local_unit_id": client["unit_id"],
            "type_code": TYPE,
        },
        headers=headers,
        timeout=60,
    )
    draft.raise_for_status()
    draft_id = int(draft.json()["id"])
    closing = (date.today() + timedelta(days=30)).isoformat()
    answers = {"data_cessazione": closing, "motivo": "chiusura"}
    http.patch(
        f"{base}/api/v1/drafts/{draft_id}", json={"answers": answers}, headers=headers, timeout=60
    ).raise_for_status()
    return draft_id


def submit(base: str, client: dict[str, Any], draft_id: int, http: requests.Session) -> float:
    started = time.perf_counter()
    filed = http.post(
        f"{base}/api/v1/drafts/{draft_id}/submit",
        headers={
            "Authorization": f"Bearer {client['token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=60,
    )
    if filed.status_code != 201:
        raise RuntimeError(f"submit answered {filed.status_code}: {filed.text[:200]}")
    return time.perf_counter() - started


def check_protocols(target: Target) -> dict[str, Any]:
    """Unique and gapless protocol numbers per office and year; counters at the maximum."""
    engine = engine_for(target)
    with engine.connect() as conn:
        groups = conn.execute(
            text(
                "SELECT office_id, protocol_year, count(*), count(DISTINCT protocol_number), "
                "min(protocol_number), max(protocol_number) FROM procedure "
                "GROUP BY office_id, protocol_year"
            )
        ).all()
        counters = {
            (scope, year): value
            for scope, year, value in conn.execute(
                text("SELECT scope, year, value FROM sequence_counter")
            )
        }
    engine.dispose()
    bad = []
    for office, year, n, distinct, low, high in groups:
        counter = counters.get((f"protocol:office:{office}", year))
        if not (n == distinct == high and low == 1 and counter == high):
            bad.append(
                {"office": office, "year": year, "count": n, "max": high, "counter": counter}
            )
    return {"groups": len(groups), "bad_groups": bad, "ok": not bad}


def run(target: Target, filings: int = 400) -> dict[str, Any]:
    per_client = max(1, filings // CLIENTS)
    print(
        f"filing throughput, {target.db} {target.scale}: {CLIENTS} API clients, "
        f"{per_client * CLIENTS} submissions of drafts prepared first"
    )
    people = clients(target)
    if len(people) < CLIENTS:
        print("  not enough generated company users in Torino: generate data first")
        return {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    with Server(target) as server:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            drafts = list(
                pool.map(
                    lambda c: [
                        prepare(server.base, c, requests.Session()) for _ in range(per_client)
                    ],
                    people,
                )
            )
        prepared = time.perf_counter() - started
        print(
            f"  {per_client * CLIENTS} drafts created and answered in {prepared:.1f} s "
            f"({per_client * CLIENTS / prepared:.1f} drafts/s, 2 requests each)"
        )

        def worker(job: tuple[dict[str, Any], list[int]]) -> None:
            client, ids = job
            http = requests.Session()
            for draft_id in ids:
                try:
                    elapsed = submit(server.base, client, draft_id, http)
                except (requests.RequestException, RuntimeError) as error:
                    with lock:
                        errors.append(str(error)[:200])
                    continue
                with lock:
                    latencies.append(elapsed)

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(worker, zip(people, drafts, strict=True)))
        wall = time.perf_counter() - started
        peaks = server.sample_memory()
    rate = len(latencies) / wall
    figures = timings(latencies) if latencies else {}
    check = check_protocols(target)
    print(
        f"  {len(latencies)} submissions in {wall:.1f} s: {rate:.1f} filings/s "
        f"-> {verdict(-rate, -TARGET_PER_SECOND)} (>= 100/s); errors {len(errors)}"
    )
    if figures:
        print(f"  one submission: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms")
    print(
        f"  protocol numbers: {check['groups']} office-years, "
        f"{'unique and gapless' if check['ok'] else 'PROBLEMS: ' + str(check['bad_groups'][:3])}"
    )
    payload = {
        "clients": CLIENTS,
        "drafts_per_second": round(per_client * CLIENTS / prepared, 2),
        "seconds": round(wall, 2),
        "filings": len(latencies),
        "filings_per_second": round(rate, 2),
        "latency": figures,
        "errors": len(errors),
        "error_samples": errors[:5],
        "protocols": check,
        "peak_rss_mb": {str(p): round(b / 2**20, 1) for p, b in peaks.items()},
    }
    save("filing", target, payload)
    return payload
