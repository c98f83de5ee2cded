"""Report dashboard and exports over the last full year, against the bare SQL aggregate they
run (``grouped_percentiles`` on procedure_summary) and the anonymous home page, with the
ratios measured in the same run.

The dashboard is measured twice: *computed* (each request carries its own ``istante``, so the
rendered-dashboard cache never answers: the figures come from the roll-ups every time) and
*kept* (the same URL again: the cache answers until the next summary change)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from bench.common import ANALYST, Server, Target, engine_for, save, timings, verdict
from bench.pages import PAGES_FILE

RUNS = 5
HOME_RUNS = 30
TARGET_S = {"postgres": 0.2, "sqlite": 0.4}  # issue 16: <= 200 ms at 1M on PostgreSQL
BARE_RATIO = 1.3  # issue 16: the dashboard <= 1.3x one bare SQL pass with the same filter
ONE_PASS = "net days by type"


def period() -> dict[str, str]:
    end = date.today()
    return {"year_start": (end - timedelta(days=365)).isoformat(), "year_end": end.isoformat()}


def bare_sql(target: Target, runs: int = RUNS) -> dict[str, Any]:
    """Median and p90 of net and gross days and days with each ball-holder, per type, office and
    municipality, over the year: the aggregates a dashboard shows, straight from SQL."""
    from portale.cases.models import ProcedureSummary as S
    from portale.reports.stats import grouped_percentiles

    bounds = period()
    where = [
        S.received_on >= date.fromisoformat(bounds["year_start"]),
        S.received_on <= date.fromisoformat(bounds["year_end"]),
    ]
    engine = engine_for(target)
    queries = {
        "net days by type": (S.days_net, [S.type_code]),
        "gross days by type": (S.days_gross, [S.type_code]),
        "net days by office": (S.days_net, [S.office_id]),
        "net days by municipality": (S.days_net, [S.municipality]),
        "authority days by type": (S.days_authority, [S.type_code]),
    }
    figures: dict[str, Any] = {}
    totals: list[float] = []
    with Session(engine) as session:
        for _ in range(runs + 1):  # the first run warms the cache and is not counted
            total = 0.0
            for name, (value, groups) in queries.items():
                started = time.perf_counter()
                rows = grouped_percentiles(session, value, group_by=groups, where=where)
                elapsed = time.perf_counter() - started
                total += elapsed
                figures.setdefault(name, {"times": [], "groups": len(rows)})["times"].append(
                    elapsed
                )
            totals.append(total)
    engine.dispose()
    result = {
        name: {**timings(f["times"][1:]), "groups": f["groups"]} for name, f in figures.items()
    }
    return {"queries": result, "total": timings(totals[1:])}


def service_sql(target: Target, runs: int = RUNS) -> dict[str, Any]:
    """The SQL the dashboard runs, without rendering: the report service's ``dashboard``
    (overview and ranking from one read of the roll-ups) over the same year, and the PDF report
    rendered from its rows (what the export job does)."""
    from portale.reports import exports, services
    from portale.reports.filters import ReportFilter

    bounds = period()
    flt = ReportFilter(
        date.fromisoformat(bounds["year_start"]), date.fromisoformat(bounds["year_end"])
    )
    now = datetime.now(UTC)
    engine = engine_for(target)
    sql_times, pdf_times = [], []
    with Session(engine) as session:
        for attempt in range(runs + 1):  # the first run warms the cache and is not counted
            started = time.perf_counter()
            services.dashboard(session, flt, as_of=now)
            elapsed = time.perf_counter() - started
            report = exports.build_report(session, flt, now)
            started = time.perf_counter()
            exports.to_pdf(report)
            rendered = time.perf_counter() - started
            if attempt:
                sql_times.append(elapsed)
                pdf_times.append(rendered)
    engine.dispose()
    return {"service_sql": timings(sql_times), "pdf_report": timings(pdf_times)}


def run(target: Target) -> dict[str, Any]:
    print(f"reports, {target.db} {target.scale}: last 12 months, {RUNS} runs each")
    service = service_sql(target)
    print(
        f"  report service (roll-ups, both periods)      median "
        f"{service['service_sql']['median_ms']:8.1f} ms  p95 {service['service_sql']['p95_ms']:8.1f} ms"
    )
    print(
        f"  PDF report rendering (from those rows)        median "
        f"{service['pdf_report']['median_ms']:8.1f} ms  p95 {service['pdf_report']['p95_ms']:8.1f} ms"
    )
    bare = bare_sql(target)
    for name, f in bare["queries"].items():
        print(f"  bare SQL {name:<26} median {f['median_ms']:8.1f} ms  p95 {f['p95_ms']:8.1f} ms")
    print(f"  bare SQL, all five aggregates   median {bare['total']['median_ms']:8.1f} ms")
    spec = json.loads(PAGES_FILE.read_text())
    pages: list[dict[str, Any]] = []
    with Server(target) as server:
        home = _home(server)
        print(
            f"  calibration: anonymous home page median {home['median_ms']:8.1f} ms  "
            f"p95 {home['p95_ms']:8.1f} ms"
        )
        client = server.login(ANALYST)
        for report in spec["reports"]:
            if report["name"] == "dashboard":
                pages.append(_measure(server, client, report, home, computed=True))
            pages.append(_measure(server, client, report, home))
    computed = next((p for p in pages if p["name"] == "dashboard (computed)"), None)
    limit = TARGET_S[target.db]
    one_pass = bare["queries"][ONE_PASS]["median_ms"]
    if computed and "median_ms" in computed:
        ratio = computed["median_ms"] / one_pass
        computed["ratio_to_one_bare_pass"] = round(ratio, 2)
        computed["ratio_to_service_sql"] = round(
            computed["median_ms"] / service["service_sql"]["median_ms"], 2
        )
        print(
            f"  dashboard (computed) / one bare SQL pass ({ONE_PASS}) = {ratio:.2f} "
            f"({verdict(ratio, BARE_RATIO)}, <= {BARE_RATIO}); / its own SQL = "
            f"{computed['ratio_to_service_sql']:.2f}; median "
            f"{verdict(computed['median_ms'] / 1000, limit)} (<= {limit * 1000:g} ms)"
        )
    try:
        import pm4py  # noqa: F401
    except ImportError:
        print("  pm4py is not installed: the process-mining comparison is skipped (optional)")
    payload = {
        "period": period(),
        "service": service,
        "bare_sql": bare,
        "home": home,
        "pages": pages,
    }
    save("reports", target, payload)
    return payload


def _home(server: Server) -> dict[str, Any]:
    """The calibration: the anonymous home page, measured in the same run."""
    import requests

    url = server.base + "/"
    requests.get(url, timeout=60).raise_for_status()
    times = []
    for _ in range(HOME_RUNS):
        started = time.perf_counter()
        requests.get(url, timeout=60).raise_for_status()
        times.append(time.perf_counter() - started)
    return timings(times)


def _measure(
    server: Server,
    client: Any,
    report: dict[str, Any],
    home: dict[str, Any],
    *,
    computed: bool = False,
) -> dict[str, Any]:
    name = report["name"] + (
        " (computed)" if computed else " (kept)" if report["name"] == "dashboard" else ""
    )
    if client is None:
        return {"name": name, "status": "no login"}
    url = server.base + report["path"].format(**period())
    first = client.get(url, timeout=600)
    if first.status_code == 404:
        print(f"  {name:<30} not available on this branch (404)")
        return {"name": name, "status": "not available"}
    if first.status_code != 200:
        print(f"  {name:<30} answers {first.status_code}: not measured")
        return {"name": name, "status": f"http {first.status_code}"}
    times = []
    for i in range(RUNS):
        # its own instant: the rendered-dashboard cache cannot answer
        moment = (datetime.now(UTC) - timedelta(seconds=i + 1)).isoformat()
        pinned = "&istante=" + quote(moment)
        started = time.perf_counter()
        client.get(url + (pinned if computed else ""), timeout=600).raise_for_status()
        times.append(time.perf_counter() - started)
    f = timings(times)
    ratio = f["median_ms"] / home["median_ms"]
    print(
        f"  {name:<30} median {f['median_ms']:8.1f} ms  p95 {f['p95_ms']:8.1f} ms  "
        f"{ratio:6.1f}x home"
    )
    return {
        "name": name,
        "status": "measured",
        "bytes": len(first.content),
        "ratio_to_home": round(ratio, 2),
        **f,
    }
