"""Page latency under load: wrk (2 threads, 8 connections) against gunicorn with 2 workers,
with a logged-in session cookie, one page at a time; peak RSS of the workers."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from bench.common import (
    CLERK,
    COMPANY_USER,
    ROOT,
    Server,
    Target,
    cookie_header,
    engine_for,
    ensure_wrk,
    save,
    timings,
    verdict,
)

PAGES_FILE = ROOT / "bench" / "pages.json"
TARGET_MEDIAN_MS, TARGET_P95_MS, TARGET_RSS_MB = 20.0, 50.0, 200.0

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d," ..
    "\\"p50_us\\":%d,\\"p95_us\\":%d,\\"p99_us\\":%d,\\"mean_us\\":%f}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


def placeholders(target: Target) -> dict[str, Any]:
    """Ids the page paths need, read from the generated data."""
    engine = engine_for(target)
    try:
        with engine.connect() as conn:
            clerk_office = conn.execute(
                text("SELECT office_id FROM user_account WHERE email = :e"), {"e": CLERK}
            ).scalar()
            office_procedure = conn.execute(
                text(
                    "SELECT id FROM procedure WHERE office_id = :o AND state = 'presented' "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"o": clerk_office},
            ).scalar()
            company = conn.execute(
                text(
                    "SELECT m.company_id FROM mandate m JOIN user_account u ON u.id = m.grantee_id "
                    "WHERE u.email = :e ORDER BY m.company_id LIMIT 1"
                ),
                {"e": COMPANY_USER},
            ).scalar()
            own = conn.execute(
                text("SELECT max(id) FROM procedure WHERE company_id = :c"), {"c": company}
            ).scalar()
    finally:
        engine.dispose()
    return {
        "office_procedure_id": office_procedure,
        "company_id": company,
        "own_procedure_id": own,
    }


def wrk(binary: str, url: str, cookie: str, seconds: int, connections: int = 8) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    command = [
        binary,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        script.name,
        *(["-H", f"Cookie: {cookie}"] if cookie else []),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    Path(script.name).unlink(missing_ok=True)
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        return {"error": out[-500:]}
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return {
        "requests": data["requests"],
        "rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "median_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"],
        "non2xx": data["non2xx"],
    }


def run(target: Target, seconds: int = 10) -> dict[str, Any]:
    binary = ensure_wrk()
    spec = json.loads(PAGES_FILE.read_text())
    values = placeholders(target)
    results: list[dict[str, Any]] = []
    print(f"page latency, {target.db} {target.scale}: wrk -t2 -c8 -d{seconds}s, gunicorn -w 2")
    with Server(target) as server:
        clients = {
            "anonymous": requests.Session(),
            "clerk": server.login(CLERK),
            "company": server.login(COMPANY_USER),
        }
        for page in spec["pages"]:
            results.append(_measure(server, binary, clients, page, values, seconds))
            server.sample_memory()
        peaks = server.sample_memory()
    rss = {str(pid): round(b / 2**20, 1) for pid, b in peaks.items()}
    worst = max(rss.values(), default=0.0)
    print(f"  peak RSS per worker: {rss} MB -> {verdict(worst, TARGET_RSS_MB)} (<= 200 MB)")
    payload = {"seconds": seconds, "pages": results, "peak_rss_mb": rss, "placeholders": values}
    save("pages", target, payload)
    return payload


def _measure(
    server: Server,
    binary: str | None,
    clients: dict[str, Any],
    page: dict[str, Any],
    values: dict[str, Any],
    seconds: int,
) -> dict[str, Any]:
    name = page["name"]
    client = clients.get(page["user"])
    try:
        path = page["path"].format(**values)
    except (KeyError, IndexError):
        path = None
    if client is None or path is None or "None" in path:
        print(f"  {name:<24} not measured (no login or no data for {page['path']})")
        return {"name": name, "status": "no data"}
    url = server.base + path
    probe = client.get(url, allow_redirects=False, timeout=60)
    if probe.status_code == 404:
        print(f"  {name:<24} not available on this branch ({path} answers 404)")
        return {"name": name, "path": path, "status": "not available"}
    if probe.status_code != 200:
        print(f"  {name:<24} answers {probe.status_code}: not measured")
        return {"name": name, "path": path, "status": f"http {probe.status_code}"}
    if binary is None:
        return {"name": name, "path": path, "status": "no wrk"}
    single = []
    for _ in range(20):  # one client alone: the service time without queueing
        started = time.perf_counter()
        client.get(url, allow_redirects=False, timeout=60)
        single.append(time.perf_counter() - started)
    figures = wrk(binary, url, cookie_header(client), seconds)
    if "error" in figures:
        print(f"  {name:<24} wrk failed: {figures['error']}")
        return {"name": name, "path": path, "status": "wrk failed"}
    mark = ""
    if page.get("target"):
        ok = figures["median_ms"] <= TARGET_MEDIAN_MS and figures["p95_ms"] <= TARGET_P95_MS
        mark = "OK" if ok else "MISSED (target median <= 20 ms, p95 <= 50 ms)"
    print(
        f"  {name:<24} median {figures['median_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
        f"{figures['rps']:7.1f} req/s  non-2xx {figures['non2xx']}  {mark}"
    )
    alone = timings(single)
    print(f"  {'':<24} one client alone: median {alone['median_ms']} ms, p95 {alone['p95_ms']} ms")
    return {
        "name": name,
        "path": path,
        "status": "measured",
        **figures,
        "verdict": mark,
        "single_client": alone,
    }
