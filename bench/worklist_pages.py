"""Worklist pages at scale: time one page of the clerk worklist with N procedures.

    python bench/worklist_pages.py postgresql+psycopg://postgres@127.0.0.1:5432/<scratch db> \
        [--procedures 300000] [--offices 3] [--runs 20]

DROPS AND RECREATES every table of the given database: point it at a scratch database only.
Procedures are generated in SQL (``generate_series``, PostgreSQL only): one in ten open, the
rest closed, filed over three years, each with its ``presented`` event. Prints the median and
worst time of :func:`portale.backoffice.worklist.worklist_page` for the first page and for a
page deep in the list (keyset cursor), per sort and filter, and the plan of the default query.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from portale.accounts.models import Office, User, UserRole
from portale.backoffice import worklist as wl
from portale.catalogue.models import ProcedureType, ProcedureTypeVersion
from portale.db import make_engine
from portale.dossier.models import Company
from portale.models import import_all_models
from portale.reference.models import Municipality

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)

PROCEDURES_SQL = """
INSERT INTO procedure (company_id, municipality, office_id, type_code, type_version_id, regime,
    submitter_id, idempotency_key, answers, dossier_snapshot, cui_context, cui_date, cui_year,
    cui_progressive, cui_uuid, protocol_year, protocol_number, submitted_at, state, received_on,
    last_day)
SELECT :company, '001272', o.id, 'BENCH', :version, 'AUTORIZZAZIONE', :user, 'bench-' || i,
    '{}', '{}', 'SUAP', d::date, extract(year from d)::int, i, md5(i::text)::uuid::text,
    extract(year from d)::int, i, d,
    CASE WHEN i % 20 = 0 THEN 'presented' WHEN i % 20 = 1 THEN 'integration_requested'
         ELSE 'ended_by_positive_outcome' END,
    d::date, d::date + 60
FROM generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT timestamp with time zone '2026-06-15 09:00+00'
                    - ((i % 1100) || ' days')::interval - ((i % 7) || ' hours')::interval AS d) AS t
JOIN LATERAL (SELECT id FROM office ORDER BY id OFFSET (i % :offices) LIMIT 1) AS o ON true
"""
EVENTS_SQL = """
INSERT INTO procedure_event (procedure_id, kind, at, payload)
SELECT id, 'presented', submitted_at, '{}' FROM procedure
"""


def build(session: Session, procedures: int, offices: int) -> User:
    torino = Municipality(
        istat_code="001272",
        name="Torino",
        cadastral_code="L219",
        province_code="001",
        supra_code="201",
        province_abbr="TO",
        is_capital=True,
        patron_month=6,
        patron_day=24,
    )
    session.add(torino)
    rows = [
        Office(code=f"SUAP{n}", name=f"SUAP {n}", municipalities=[torino]) for n in range(offices)
    ]
    session.add_all(rows)
    session.flush()
    clerk = User(email="clerk@bench", password_hash="x", full_name="Clerk", office_id=rows[0].id)
    clerk.roles.append(UserRole(role="clerk"))
    company = Company(tax_code="01234567890", vat_number="01234567890", name="Bench S.r.l.")
    ptype = ProcedureType(code="BENCH", title="Bench")
    session.add_all([clerk, company, ptype])
    session.flush()
    version = ProcedureTypeVersion(
        type_id=ptype.id,
        code="BENCH",
        version=1,
        title="Bench",
        regime="AUTORIZZAZIONE",
        term_days=60,
        spec={},
        content_hash="x",
        status="published",
    )
    session.add(version)
    session.flush()
    params = {
        "company": company.id,
        "version": version.id,
        "user": clerk.id,
        "n": procedures,
        "offices": offices,
    }
    session.execute(text(PROCEDURES_SQL), params)
    session.execute(text(EVENTS_SQL))
    session.commit()
    analyse(session)
    return clerk


def analyse(session: Session) -> None:
    # Outside a transaction: statistics gathered in one that is rolled back are lost.
    with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def timed(
    session: Session, clerk: User, query: wl.WorklistQuery, runs: int
) -> tuple[float, float, int]:
    times = []
    for _ in range(runs):
        session.expunge_all()
        start = time.perf_counter()
        page = wl.worklist_page(session, clerk, query, now=NOW)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), len(page.rows)


def deep_cursor(session: Session, clerk: User, query: wl.WorklistQuery, depth: int) -> str:
    """The cursor after ``depth`` rows, walked page by page as a clerk would."""
    after = ""
    for _ in range(depth // 200):
        page = wl.worklist_page(
            session,
            clerk,
            wl.WorklistQuery(**{**query.args(), "after": after, "limit": 200}),
            now=NOW,
        )
        if page.next_after is None:
            break
        after = page.next_after
    return after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--procedures", type=int, default=300_000)
    parser.add_argument("--offices", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    args = parser.parse_args()
    engine = make_engine(args.url)
    metadata = import_all_models().metadata
    if not args.reuse:
        metadata.drop_all(engine)
        metadata.create_all(engine)
    with Session(engine) as session:
        if args.reuse:
            clerk_id = session.scalar(
                text("SELECT id FROM user_account WHERE email = 'clerk@bench'")
            )
        else:
            started = time.perf_counter()
            clerk_id = build(session, args.procedures, args.offices).id
            print(f"built in {time.perf_counter() - started:.0f} s")
        total = session.scalar(text("SELECT count(*) FROM procedure"))
        print(f"{total} procedures in {args.offices} offices")
        clerk = session.get(User, clerk_id)
        cases = {
            "open, by deadline": wl.WorklistQuery(),
            "open, by filing date desc": wl.WorklistQuery(sort="filed", order="desc"),
            "open, by protocol": wl.WorklistQuery(sort="protocol"),
            "all states, by deadline desc": wl.WorklistQuery(state="all", order="desc"),
            "integration requested": wl.WorklistQuery(state="integration_requested"),
            "overdue": wl.WorklistQuery(due="overdue"),
            "due this week": wl.WorklistQuery(due="week"),
            "unassigned": wl.WorklistQuery(assignee="none"),
        }
        print(f"{'case':34} {'first page':>18} {'after 2,000 rows':>18}")
        for name, query in cases.items():
            first = timed(session, clerk, query, args.runs)
            after = deep_cursor(session, clerk, query, 2000)
            deep = (
                timed(
                    session, clerk, wl.WorklistQuery(**{**query.args(), "after": after}), args.runs
                )
                if after
                else None
            )
            deep_text = f"{deep[0]:6.1f} / {deep[1]:6.1f} ms" if deep else "(fewer rows)"
            print(
                f"{name:34} {first[0]:6.1f} / {first[1]:6.1f} ms {deep_text:>18}   ({first[2]} rows)"
            )
        statement = wl.page_statement(clerk, wl.WorklistQuery(), date(2026, 6, 15))
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
        print("\n".join(plan))


if __name__ == "__main__":
    main()
