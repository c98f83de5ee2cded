"""A realistic data set for reports and benchmarks, written through bulk inserts.

``portale data generate --companies N --procedures N --seed S`` fills the database with
companies (local units across the metropolitan municipalities, more in Torino), filed
procedures of the shipped catalogue types and their whole event log: dispatches with retries,
assignment, corrections, integration requests, opinions with per-authority delays (ASL and
the fire brigade are slow: the bottlenecks the reports must find), decisions, silent
approvals and SCIA control windows.

Every procedure is written as the back office would have left it: its events follow
:data:`portale.clock.lifecycle.TRANSITIONS`, its ``opinion_request`` rows match the opinion
events, and its ``procedure_summary`` row, ``state`` and ``last_day`` come from
:func:`portale.clock.summary.summarise` (what :func:`portale.cases.services.refresh`
runs). CUI and protocol numbers continue the ``sequence_counter`` rows, gapless per office
and year, and the counters are moved on so later filings continue the sequence.

Nothing goes through the ORM unit of work: small tables are inserted with SQLAlchemy Core
``executemany`` in big batches, and on PostgreSQL the four big tables (procedure,
procedure_event, procedure_summary, opinion_request) are loaded with ``COPY``. The same seed
and ``now`` give the same data.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from portale.accounts.models import (
    ApiToken,
    Authority,
    Notification,
    Office,
    User,
    UserRole,
    office_municipality,
)
from portale.cases.counters import SequenceCounter
from portale.cases.models import OpinionRequest, Procedure, ProcedureEvent, ProcedureSummary
from portale.cases.protocol import office_scope
from portale.cases.terms import calendar_of, rules_for
from portale.catalogue.models import PUBLISHED, ProcedureTypeVersion
from portale.clock import lifecycle as lc
from portale.clock.calendar import HolidayCalendar, local_date
from portale.clock.summary import SUMMARY_FIELDS, TimedEvent, summarise
from portale.dossier.models import MANDATE_OWNER, Company, LocalUnit, Mandate
from portale.reference.models import Municipality
from portale.reports import rollups

ROME = ZoneInfo("Europe/Rome")
TORINO = "001272"
GENERATED_DOMAIN = "dati-generati.example"
GENERATED_OFFICE_PREFIX = "SUAP_GEN_"
CHUNK = 20_000  # procedures written (and committed) per batch

# Share of filings per catalogue type (types not listed share what is left equally).
TYPE_WEIGHTS = {
    "SCIA_VICINATO": 0.22,
    "NOTIFICA_SANITARIA": 0.18,
    "SCIA_SOMMINISTRAZIONE": 0.14,
    "COM_CESSAZIONE": 0.14,
    "SCIA_SUBINGRESSO": 0.12,
    "AUT_DEHORS": 0.09,
    "AUT_INSEGNA": 0.08,
    "AUT_MEDIA_STRUTTURA": 0.03,
}
# Filings per month relative to the average: August is the low, spring and autumn the highs.
MONTH_WEIGHTS = (0.85, 1.0, 1.1, 1.1, 1.15, 1.05, 0.95, 0.4, 1.1, 1.15, 1.05, 0.8)
# Days an authority takes to give its opinion: (median, log-normal sigma). Opinions are due in
# 30 days: the fire brigade and the ASL are the slow ones the bottleneck ranking must name.
AUTHORITY_DELAYS = {"VVF_TO": (38.0, 0.45), "ASL_TO": (24.0, 0.55), "ARPA_PIE": (14.0, 0.5)}
DEFAULT_AUTHORITY_DELAY = (6.0, 0.5)
# Days an office takes to decide once it has what it needs: (median, sigma).
OFFICE_DELAYS = {"SUAP_TORINO": (14.0, 0.7)}
DEFAULT_OFFICE_DELAY = (7.0, 0.7)
INTEGRATION_SHARE = {lc.REGIME_SCIA: 0.10, lc.REGIME_AUTHORISATION: 0.22}
INTEGRATION_SHARE[lc.REGIME_SILENT_ASSENT] = 0.18
ATECO_OF_TYPE = {
    "SCIA_SOMMINISTRAZIONE": "56.30.01",
    "NOTIFICA_SANITARIA": "56.10.11",
    "AUT_MEDIA_STRUTTURA": "47.11.01",
}
NAMES = ("Aurora", "Mole", "Po", "Dora", "Superga", "Valentino", "Crocetta", "Lingotto", "Stura")
KINDS = ("Bar", "Bottega", "Caffè", "Forneria", "Emporio", "Trattoria", "Studio", "Market")
FORMS = ("S.r.l.", "S.n.c.", "S.a.s.", "di {} {}")
STREETS = ("Via Roma", "Corso Francia", "Via Garibaldi", "Via Po", "Corso Vittorio Emanuele II")


@dataclass(frozen=True)
class GeneratorConfig:
    companies: int
    procedures: int
    seed: int = 1
    years: int = 3
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    chunk: int = CHUNK


@dataclass
class GenerationStats:
    companies: int = 0
    local_units: int = 0
    users: int = 0
    procedures: int = 0
    events: int = 0
    opinions: int = 0
    seconds: float = 0.0

    @property
    def procedures_per_second(self) -> float:
        return self.procedures / self.seconds if self.seconds else 0.0


Progress = Callable[[str], None]


# --- bulk writing -----------------------------------------------------------------------------

COPY_TABLES = {"procedure", "procedure_event", "procedure_summary", "opinion_request"}


class BulkWriter:
    """Buffers rows per table and writes them in dependency order (foreign keys hold)."""

    def __init__(self, session: Session, columns: dict[Table, Sequence[str]]) -> None:
        self.session = session
        self.columns = columns
        self.rows: dict[Table, list[tuple[Any, ...]]] = {t: [] for t in columns}
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.skip_fk_checks = _is_superuser(session)

    def add(self, table: Table, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        self.write(self.take())

    def take(self) -> dict[Table, list[tuple[Any, ...]]]:
        """The buffered rows, leaving the buffers empty (to be written by :meth:`write`)."""
        taken = self.rows
        self.rows = {t: [] for t in self.columns}
        return taken

    def write(self, batch: dict[Table, list[tuple[Any, ...]]]) -> None:
        for table, rows in batch.items():
            if not rows:
                continue
            names = self.columns[table]
            if self.postgres and table.name in COPY_TABLES:
                self._copy(table, names, rows)
            else:
                conn = self.session.connection()
                for start in range(0, len(rows), 10_000):
                    chunk = rows[start : start + 10_000]
                    conn.execute(insert(table), [dict(zip(names, r, strict=True)) for r in chunk])

    def _copy(self, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        raw = self.session.connection().connection.driver_connection
        json_at = [
            i for i, n in enumerate(names) if n in ("payload", "answers", "dossier_snapshot")
        ]
        quoted = ", ".join(f'"{n}"' for n in names)
        if self.skip_fk_checks:
            # The rows are consistent by construction (the tests check them with foreign keys
            # on): a superuser may skip the per-row foreign-key triggers, the bulk of COPY's
            # cost, for this transaction only.
            self.session.execute(text("SET LOCAL session_replication_role = replica"))
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], separators=(",", ":"))
                copy.write_row(row)


PROCEDURE_COLUMNS = [
    "id",
    "company_id",
    "local_unit_id",
    "municipality",
    "office_id",
    "type_code",
    "type_version_id",
    "regime",
    "submitter_id",
    "idempotency_key",
    "answers",
    "dossier_snapshot",
    "cui_context",
    "cui_date",
    "cui_year",
    "cui_progressive",
    "cui_uuid",
    "protocol_year",
    "protocol_number",
    "submitted_at",
    "receipt_key",
    "assignee_id",
    "state",
    "received_on",
    "last_day",
]
EVENT_COLUMNS = ("id", "procedure_id", "kind", "actor_id", "at", "payload")
OPINION_COLUMNS = [
    "id",
    "procedure_id",
    "authority_id",
    "requested_by_id",
    "requested_at",
    "term_days",
    "due_on",
    "question",
    "answered_at",
    "answered_by_id",
    "outcome",
    "text",
    "answered_via",
]
SUMMARY_COLUMNS = (
    "procedure_id",
    "type_code",
    "municipality",
    "office_id",
    "regime",
    *SUMMARY_FIELDS,
    "refreshed_at",
)


# --- reference data and the people ------------------------------------------------------------


@dataclass
class TypeInfo:
    code: str
    version_id: int
    regime: str
    rules: Any
    authorities: tuple[str, ...]
    weight: float


@dataclass
class World:
    municipalities: list[str]
    office_of: dict[str, int]
    office_code: dict[int, str]
    calendars: dict[str, HolidayCalendar]
    types: list[TypeInfo]
    authority_ids: dict[str, int]
    clerks: dict[int, list[int]]
    officers: dict[str, int]


def ensure_reference(session: Session, progress: Progress) -> None:
    """Reference data, catalogue and demo logins (as ``portale demo load``), then a generated
    office for the municipalities no seed office serves, so that every one can file."""
    from portale.demo import load_demo

    load_demo(session)
    served = set(session.scalars(select(office_municipality.c.istat_code)))
    missing = [m for m in session.scalars(select(Municipality.istat_code).order_by("istat_code"))]
    missing = [m for m in missing if m not in served]
    if not missing:
        return
    size = math.ceil(len(missing) / 10)
    for n in range(0, len(missing), size):
        zone = n // size + 1
        office = Office(
            code=f"{GENERATED_OFFICE_PREFIX}{zone:02d}",
            name=f"SUAP associato zona {zone} (dati generati)",
            email=f"suap.zona{zone}@{GENERATED_DOMAIN}",
        )
        session.add(office)
        session.flush()
        session.execute(
            insert(office_municipality),
            [{"office_id": office.id, "istat_code": m} for m in missing[n : n + size]],
        )
    session.commit()
    progress(f"created generated offices for {len(missing)} municipalities without a SUAP")


def load_world(session: Session) -> World:
    offices = {o.id: o for o in session.scalars(select(Office))}
    office_of = {
        m: o
        for m, o in session.execute(
            select(office_municipality.c.istat_code, office_municipality.c.office_id).order_by(
                office_municipality.c.office_id
            )
        )
        if offices[o].active
    }
    municipalities = {m.istat_code: m for m in session.scalars(select(Municipality))}
    calendars = {
        code: calendar_of(municipalities[code], offices[o]) for code, o in office_of.items()
    }
    versions = session.scalars(
        select(ProcedureTypeVersion)
        .where(ProcedureTypeVersion.status == PUBLISHED)
        .order_by(ProcedureTypeVersion.code)
    ).all()
    rest = max(0.0, 1.0 - sum(TYPE_WEIGHTS.values()))
    unknown = [v for v in versions if v.code not in TYPE_WEIGHTS]
    types = [
        TypeInfo(
            code=v.code,
            version_id=v.id,
            regime=v.regime,
            rules=rules_for(SimpleNamespace(type_version=v, regime=v.regime)),  # type: ignore[arg-type]
            authorities=tuple((v.spec or {}).get("authorities") or ()),
            weight=TYPE_WEIGHTS.get(v.code, (rest / len(unknown)) if unknown else 0.0) or 0.01,
        )
        for v in versions
    ]
    authority_ids = {
        code: aid for code, aid in session.execute(select(Authority.code, Authority.id))
    }
    officers = {
        code: uid
        for uid, code in session.execute(
            select(User.id, Authority.code).join(Authority, User.authority_id == Authority.id)
        )
    }
    return World(
        municipalities=sorted(municipalities),
        office_of=office_of,
        office_code={o.id: o.code for o in offices.values()},
        calendars=calendars,
        types=types,
        authority_ids=authority_ids,
        clerks={},
        officers=officers,
    )


def _next_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


def _vat(number: int) -> str:
    from stdnum import luhn

    first_ten = f"{number:07d}001"
    return first_ten + luhn.calc_check_digit(first_ten)


def _company_name(rng: random.Random, n: int) -> str:
    form = rng.choice(FORMS)
    if "{}" in form:
        form = form.format(rng.choice(("Mario", "Anna", "Luca", "Sara")), rng.choice(NAMES))
    return f"{rng.choice(KINDS)} {rng.choice(NAMES)} {n} {form}"


def _write_people(
    session: Session, config: GeneratorConfig, world: World, rng: random.Random
) -> tuple[list[tuple[int, int, str]], dict[int, int]]:
    """Companies, units, owners (with mandates) and clerks; returns units and company owners."""
    from portale.accounts.passwords import hash_password
    from portale.demo import DEMO_PASSWORD

    password = hash_password(DEMO_PASSWORD)
    created = config.now
    user_id = _next_id(session, User)
    users: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    existing = {
        email: uid
        for uid, email in session.execute(
            select(User.id, User.email).where(User.email.like(f"%@{GENERATED_DOMAIN}"))
        )
    }
    for office_id in sorted(world.office_code):
        code = world.office_code[office_id].lower()
        world.clerks[office_id] = []
        for n in range(1, 4):
            email = f"sportello{n}.{code}@{GENERATED_DOMAIN}"
            if email in existing:  # a second run adds to the data set: same clerks
                world.clerks[office_id].append(existing[email])
                continue
            users.append(_user(user_id, f"sportello{n}.{code}@{GENERATED_DOMAIN}", password))
            users[-1].update(office_id=office_id, full_name=f"Operatore {n} {code.upper()}")
            roles.append({"user_id": user_id, "role": "clerk"})
            world.clerks[office_id].append(user_id)
            user_id += 1
    demo_clerk = session.scalar(select(User.id).where(User.email == "suap@demo.it"))
    torino_office = world.office_of.get(TORINO)
    if demo_clerk and torino_office in world.clerks:
        world.clerks[torino_office].append(demo_clerk)
    owners = max(1, config.companies // 4)
    first_owner = user_id
    # numbers go on from an earlier run: e-mails and tax codes stay unique
    done_owners = sum(1 for e in existing if e.startswith("impresa"))
    done_companies = session.scalar(
        select(func.count()).where(Company.pec.like(f"%@pec.{GENERATED_DOMAIN}"))
    )
    for n in range(done_owners + 1, done_owners + owners + 1):
        users.append(_user(user_id, f"impresa{n}@{GENERATED_DOMAIN}", password))
        roles.append({"user_id": user_id, "role": "entrepreneur"})
        user_id += 1
    conn = session.connection()
    for start in range(0, len(users), 10_000):
        conn.execute(insert(User.__table__), users[start : start + 10_000])
        conn.execute(insert(UserRole.__table__), roles[start : start + 10_000])

    # Torino has the most premises; the other municipalities vary around a common level.
    others = [m for m in world.municipalities if m != TORINO and m in world.office_of]
    weights = [rng.lognormvariate(0, 1.0) for _ in others]
    cum = list(itertools.accumulate(weights))
    company_id = _next_id(session, Company)
    unit_id = _next_id(session, LocalUnit)
    companies, units_rows, mandates = [], [], []
    units: list[tuple[int, int, str]] = []
    owner_of: dict[int, int] = {}
    for n in range(config.companies):
        owner = first_owner + n % owners
        vat = _vat(5_000_000 + (done_companies or 0) + n)
        count = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.75 else rng.randint(3, 5))
        places = [
            TORINO if rng.random() < 0.42 else others[bisect.bisect(cum, rng.random() * cum[-1])]
            for _ in range(count)
        ]
        name = _company_name(rng, n + 1)
        companies.append(
            {
                "id": company_id,
                "tax_code": vat,
                "vat_number": vat,
                "name": name,
                "legal_form": "Società",
                "pec": f"impresa{company_id}@pec.{GENERATED_DOMAIN}",
                "office_street": f"{rng.choice(STREETS)} {rng.randint(1, 200)}",
                "office_municipality": places[0],
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        for k, place in enumerate(places):
            units_rows.append(
                {
                    "id": unit_id,
                    "company_id": company_id,
                    "name": f"{name.split(' ')[0]} {k + 1}",
                    "street": f"{rng.choice(STREETS)} {rng.randint(1, 200)}",
                    "municipality": place,
                    "ateco_code": "47.19.10",
                    "active": True,
                }
            )
            units.append((unit_id, company_id, place))
            unit_id += 1
        mandates.append(
            {
                "company_id": company_id,
                "grantee_id": owner,
                "kind": MANDATE_OWNER,
                "scope": "full",
                "granted_by_id": owner,
                "granted_at": created,
            }
        )
        owner_of[company_id] = owner
        company_id += 1
    for rows, table in (
        (companies, Company.__table__),
        (units_rows, LocalUnit.__table__),
        (mandates, Mandate.__table__),
    ):
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(table), rows[start : start + 10_000])
    session.commit()
    return units, owner_of


def _user(user_id: int, email: str, password: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": email,
        "password_hash": password,
        "full_name": email.split("@")[0].replace(".", " ").title(),
        "active": True,
        "locale": "it",
        "office_id": None,
        "authority_id": None,
    }


# --- filing dates -----------------------------------------------------------------------------


def filing_times(rng: random.Random, config: GeneratorConfig) -> list[datetime]:
    """``config.procedures`` sorted filing instants over the last ``years`` years, with fewer
    filings in August and at weekends, in office hours (Rome)."""
    end = local_date(config.now)
    start = end - timedelta(days=365 * config.years)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    weights = [
        MONTH_WEIGHTS[d.month - 1] * (0.05 if d.weekday() == 6 else 0.3 if d.weekday() == 5 else 1)
        for d in days
    ]
    chosen = rng.choices(days, weights=weights, k=config.procedures)
    moments = []
    for d in chosen:
        minute = rng.randint(8 * 60, 18 * 60)
        local = datetime(d.year, d.month, d.day, minute // 60, minute % 60, rng.randint(0, 59))
        moments.append(min(local.replace(tzinfo=ROME).astimezone(UTC), config.now))
    moments.sort()
    return moments


# --- one procedure's life ---------------------------------------------------------------------


@dataclass
class Life:
    """Events of one procedure as (kind, at, actor id, payload), and its opinions."""

    events: list[tuple[str, datetime, int | None, dict[str, Any]]] = field(default_factory=list)
    opinions: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, at: datetime, actor: int | None, payload: dict[str, Any]) -> None:
        self.events.append((kind, at, actor, payload))


def _days(rng: random.Random, median: float, sigma: float) -> timedelta:
    return timedelta(days=min(rng.lognormvariate(math.log(median), sigma), 400))


def _dispatch(
    life: Life, rng: random.Random, at: datetime, authority: str | None, message: str
) -> None:
    payload = {"authority": authority, "message": message, "channel": "pec"}
    life.add(lc.DISPATCH_QUEUED, at, None, {**payload, "attempt": 0, "error": None})
    wait = timedelta(minutes=rng.randint(1, 5))
    attempt = 1
    while rng.random() < (0.12 if attempt == 1 else 0.5) and attempt <= 4:
        at += wait
        life.add(
            lc.DISPATCH_FAILED, at, None, {**payload, "attempt": attempt, "error": "timeout PEC"}
        )
        wait *= 4
        attempt += 1
    life.add(lc.DISPATCH_SENT, at + wait, None, {**payload, "attempt": attempt, "error": None})


class Simulator:
    """Writes the life of a procedure step by step, as the back office actions would."""

    def __init__(self, rng: random.Random, world: World, next_opinion_id: int) -> None:
        self.rng = rng
        self.world = world
        self.next_opinion_id = next_opinion_id

    def life(
        self, t0: datetime, kind: TypeInfo, office_id: int, calendar: HolidayCalendar, people: Any
    ) -> Life:
        rng, life = self.rng, Life()
        submitter, clerk = people
        life.add(lc.STARTED, t0 - timedelta(minutes=rng.randint(5, 600)), submitter, {})
        life.add(lc.PRESENTED, t0, submitter, {"received_on": local_date(t0).isoformat()})
        life.add("protocol_registered", t0 + timedelta(seconds=2), None, {"system": "portale"})
        for code in kind.authorities:
            _dispatch(life, rng, t0 + timedelta(seconds=5), code, "send_instance")
        at = t0 + timedelta(days=rng.uniform(0.05, 2.5))
        if clerk is not None:
            life.add(lc.ASSIGNED, at, clerk, {"assignee_id": clerk})
        if kind.regime == lc.REGIME_NOTICE:
            return self._notice(life, at, clerk)
        if rng.random() < 0.03:
            at = self._correction(life, at, clerk, submitter)
            if at is None:
                return life
        suspended = 0
        if rng.random() < INTEGRATION_SHARE.get(kind.regime, 0.15):
            outcome = self._integration(life, at, clerk, submitter)
            if outcome is None:
                return life
            at, suspended = outcome
        at = self._opinions(life, at, kind, calendar, clerk)
        term = kind.rules.term_days or kind.rules.control_window_days
        deadline = t0 + timedelta(days=term + suspended)
        if kind.regime == lc.REGIME_SCIA:
            self._scia(life, at, deadline, clerk, submitter)
        else:
            self._decide(life, at, deadline, kind, office_id, clerk)
        if rng.random() < 0.015:
            self._withdraw(life, submitter, kind.regime)
        return life

    def _notice(self, life: Life, at: datetime, clerk: int | None) -> Life:
        at += timedelta(days=self.rng.uniform(0.1, 6))
        kind = lc.REFUSED if self.rng.random() < 0.01 else lc.ENDED_BY_POSITIVE_OUTCOME
        life.add(kind, at, clerk, {})
        _dispatch(life, self.rng, at + timedelta(minutes=1), None, "registro_imprese")
        return life

    def _correction(
        self, life: Life, at: datetime, clerk: int | None, submitter: int
    ) -> datetime | None:
        at += timedelta(days=self.rng.uniform(0.5, 4))
        life.add(lc.CORRECTION_REQUESTED, at, clerk, {"text": "Dati da correggere"})
        if self.rng.random() < 0.2:
            life.add(lc.REFUSED, at + timedelta(days=15), clerk, {})
            return None
        at += _days(self.rng, 4, 0.6)
        life.add(lc.CORRECTED, at, submitter, {})
        return at

    def _integration(
        self, life: Life, at: datetime, clerk: int | None, submitter: int
    ) -> tuple[datetime, int] | None:
        at += timedelta(days=self.rng.uniform(2, 15))
        life.add(lc.INTEGRATION_REQUESTED, at, clerk, {"documents": ["planimetria"]})
        if self.rng.random() < 0.06:
            life.add(lc.ENDED_BY_INTEGRATION_TIMES_EXPIRED, at + timedelta(days=31), clerk, {})
            return None
        answer = _days(self.rng, 11, 0.6)
        life.add(lc.INTEGRATED, at + answer, submitter, {})
        return at + answer, min(answer.days, 30)

    def _opinions(
        self, life: Life, at: datetime, kind: TypeInfo, calendar: HolidayCalendar, clerk: int | None
    ) -> datetime:
        if not kind.authorities:
            return at
        asked = at + timedelta(days=self.rng.uniform(0.2, 3))
        latest = asked
        for code in kind.authorities:
            oid = self.next_opinion_id
            self.next_opinion_id += 1
            due = calendar.roll_forward(local_date(asked) + timedelta(days=30))
            payload = {"authority": code, "opinion_id": oid, "due_on": due.isoformat()}
            life.add(lc.OPINION_REQUESTED, asked, clerk, payload)
            _dispatch(life, self.rng, asked + timedelta(seconds=3), code, "opinion_request")
            median, sigma = AUTHORITY_DELAYS.get(code, DEFAULT_AUTHORITY_DELAY)
            given = asked + _days(self.rng, median, sigma)
            roll = self.rng.random()
            outcome = (
                "favourable"
                if roll < 0.82
                else "favourable_with_conditions"
                if roll < 0.95
                else "unfavourable"
            )
            life.opinions.append(
                {"id": oid, "authority": code, "asked": asked, "due": due, "clerk": clerk}
            )
            life.add(
                lc.OPINION_GIVEN,
                given,
                self.world.officers.get(code),
                {
                    "authority": code,
                    "opinion_id": oid,
                    "outcome": outcome,
                    "late": local_date(given) > due,
                },
            )
            latest = max(latest, given)
        return latest

    def _decide(
        self,
        life: Life,
        at: datetime,
        deadline: datetime,
        kind: TypeInfo,
        office_id: int,
        clerk: int | None,
    ) -> None:
        median, sigma = OFFICE_DELAYS.get(self.world.office_code[office_id], DEFAULT_OFFICE_DELAY)
        decided = at + _days(self.rng, median, sigma)
        if kind.regime == lc.REGIME_SILENT_ASSENT and decided > deadline:
            life.add(lc.ENDED_BY_PROCEEDING_TIME_EXPIRED, deadline + timedelta(days=1), None, {})
            return
        unfavourable = any(
            e[0] == lc.OPINION_GIVEN and e[3]["outcome"] == "unfavourable" for e in life.events
        )
        if unfavourable or self.rng.random() < 0.03:
            outcome = lc.ENDED_BY_NEGATIVE_OUTCOME
        else:
            outcome = lc.ENDED_BY_POSITIVE_OUTCOME
        life.add(outcome, decided, clerk, {})
        act = {"kind": "provvedimento", "protocol": None, "act_id": None}
        life.add("act_issued", decided + timedelta(minutes=2), clerk, act)

    def _scia(
        self, life: Life, at: datetime, deadline: datetime, clerk: int | None, submitter: int
    ) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.04 and at < deadline:
            asked = at + timedelta(days=rng.uniform(1, 10))
            life.add(lc.CONFORMATION_REQUESTED, asked, clerk, {"text": "Conformare l'attività"})
            if rng.random() < 0.2:
                life.add(lc.ENDED_BY_NEGATIVE_OUTCOME, asked + timedelta(days=40), clerk, {})
                return
            answered = asked + _days(rng, 15, 0.4)
            life.add(lc.CONFORMATION_ANSWERED, answered, submitter, {})
            deadline = answered + timedelta(days=60)
        elif roll < 0.06:
            kind = lc.ENDED_BY_NEGATIVE_OUTCOME if roll < 0.05 else lc.ENDED_BY_SUSPENSION_REQUESTED
            life.add(kind, max(at, deadline - timedelta(days=rng.uniform(5, 30))), clerk, {})
            return
        closed = max(at, deadline) + timedelta(days=rng.uniform(0, 1.5))
        life.add(lc.ENDED_BY_POSITIVE_OUTCOME, closed, clerk, {})
        _dispatch(life, rng, closed + timedelta(minutes=1), None, "registro_imprese")

    def _withdraw(self, life: Life, submitter: int, regime: str) -> None:
        presented = life.events[1][1]
        end = next((e[1] for e in life.events if e[0] in lc.FINAL_STATES), presented)
        if end <= presented:
            return
        at = presented + (end - presented) * self.rng.uniform(0.1, 0.9)
        kept = [e for e in life.events if e[1] < at]
        state = lc.derive_state(e[0] for e in sorted(kept, key=lambda e: e[1]))
        if (state, "withdraw") in lc.TRANSITIONS[regime]:
            life.events[:] = kept
            life.add(lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED, at, submitter, {})


def settle(life: Life, now: datetime) -> list[tuple[str, datetime, int | None, dict[str, Any]]]:
    """Events as of ``now``, in order; nothing recorded after the final state but dispatches and
    the act (as the back office allows)."""
    ordered = sorted((e for e in life.events if e[1] <= now), key=lambda e: e[1])
    result = []
    ended = False
    for event in ordered:
        if ended and event[0] not in _AFTER_END:
            continue
        result.append(event)
        if event[0] in lc.FINAL_STATES:
            ended = True
    return result


_AFTER_END = {lc.DISPATCH_QUEUED, lc.DISPATCH_FAILED, lc.DISPATCH_SENT, "act_issued"}


# --- the whole run ----------------------------------------------------------------------------


def _truncate(session: Session, progress: Progress) -> None:
    """Remove every procedure (and what refers to one) and the generated companies and users."""
    from portale.models import import_all_models

    metadata = import_all_models().metadata
    dependent = _dependents(metadata, "procedure")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text('TRUNCATE "procedure" CASCADE'))
    else:
        for table in reversed(metadata.sorted_tables):
            if table.name in dependent:
                session.execute(delete(table))
    session.execute(delete(SequenceCounter))
    users = select(User.id).where(User.email.like(f"%@{GENERATED_DOMAIN}"))
    session.execute(delete(ApiToken).where(ApiToken.user_id.in_(users)))
    session.execute(delete(Notification).where(Notification.user_id.in_(users)))
    if _is_superuser(session):
        # What refers to the generated rows is gone (truncated or deleted above): skip the
        # per-row foreign-key checks, which scan tables without an index on "by" columns.
        session.execute(text("SET LOCAL session_replication_role = replica"))
    generated = select(Company.id).where(Company.pec.like(f"%@pec.{GENERATED_DOMAIN}"))
    session.execute(delete(Mandate).where(Mandate.company_id.in_(generated)))
    session.execute(delete(LocalUnit).where(LocalUnit.company_id.in_(generated)))
    session.execute(delete(Company).where(Company.id.in_(generated)))
    session.execute(delete(Mandate).where(Mandate.grantee_id.in_(users)))
    session.execute(delete(UserRole).where(UserRole.user_id.in_(users)))
    session.execute(delete(User).where(User.id.in_(users)))
    session.commit()
    progress("removed existing procedures and generated companies and users")


def _is_superuser(session: Session) -> bool:
    """May this PostgreSQL role skip foreign-key triggers for a bulk load?
    (``PORTALE_GENERATOR_FK_CHECKS=1`` keeps them.)"""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if os.environ.get("PORTALE_GENERATOR_FK_CHECKS", "") == "1":
        return False
    return session.execute(text("SELECT current_setting('is_superuser')")).scalar() == "on"


def _dependents(metadata: Any, name: str) -> set[str]:
    found = {name}
    changed = True
    while changed:
        changed = False
        for table in metadata.sorted_tables:
            if table.name in found:
                continue
            if any(fk.column.table.name in found for fk in table.foreign_keys):
                found.add(table.name)
                changed = True
    return found


def generate(
    session: Session,
    config: GeneratorConfig,
    *,
    truncate: bool = False,
    progress: Progress = lambda _message: None,
) -> GenerationStats:
    """Generate the data set described by ``config``; commits in batches."""
    started = time.perf_counter()
    if truncate:
        _truncate(session, progress)
    ensure_reference(session, progress)
    world = load_world(session)
    rng = random.Random(config.seed)
    units, owner_of = _write_people(session, config, world, rng)
    stats = GenerationStats(
        companies=config.companies,
        local_units=len(units),
        users=len(set(owner_of.values())) + sum(len(c) for c in world.clerks.values()),
    )
    progress(f"{config.companies} companies, {len(units)} local units written")
    fileable = [u for u in units if u[2] in world.office_of]
    moments = filing_times(rng, config)
    counters = {
        (scope, year): value
        for scope, year, value in session.execute(
            select(SequenceCounter.scope, SequenceCounter.year, SequenceCounter.value)
        )
    }
    ids = {
        "procedure": _next_id(session, Procedure),
        "event": _next_id(session, ProcedureEvent),
    }
    simulator = Simulator(rng, world, _next_id(session, OpinionRequest))
    writer = BulkWriter(
        session,
        {
            Procedure.__table__: PROCEDURE_COLUMNS,
            ProcedureEvent.__table__: EVENT_COLUMNS,
            OpinionRequest.__table__: OPINION_COLUMNS,
            ProcedureSummary.__table__: SUMMARY_COLUMNS,
        },
    )
    type_cum = list(itertools.accumulate(t.weight for t in world.types))
    # One thread writes and commits a batch while this one simulates the next: the database
    # (another process) and Python use the two cores at once. Only one thread at a time uses
    # the session: the next batch waits for the previous write to finish.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[None] | None = None
        for n, t0 in enumerate(moments, start=1):
            unit = fileable[rng.randrange(len(fileable))]
            kind = world.types[bisect.bisect(type_cum, rng.random() * type_cum[-1])]
            stats.events += _write_procedure(
                writer, world, simulator, counters, ids, config, t0, unit, owner_of, kind, stats
            )
            if n % config.chunk == 0 or n == len(moments):
                if pending is not None:
                    pending.result()
                batch, line = writer.take(), _progress_line(n, stats.events, started)
                pending = pool.submit(_write_batch, session, writer, batch, progress, line)
        if pending is not None:
            pending.result()
    _save_counters(session, counters)
    _reset_sequences(session)
    rows = rollups.rebuild(session)
    session.commit()
    progress(f"report roll-ups rebuilt from the summaries ({rows} rows)")
    _analyze(session, progress)
    stats.procedures = len(moments)
    stats.seconds = time.perf_counter() - started
    return stats


def _progress_line(n: int, events: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    return (
        f"{n:>9} procedures, {events:>10} events, "
        f"{n / elapsed:,.0f} procedures/s, {events / elapsed:,.0f} events/s"
    )


def _write_batch(
    session: Session,
    writer: BulkWriter,
    batch: dict[Table, list[tuple[Any, ...]]],
    progress: Progress,
    line: str,
) -> None:
    writer.write(batch)
    session.commit()
    progress(line)


def _write_procedure(
    writer: BulkWriter,
    world: World,
    simulator: Simulator,
    counters: dict[tuple[str, int], int],
    ids: dict[str, int],
    config: GeneratorConfig,
    t0: datetime,
    unit: tuple[int, int, str],
    owner_of: dict[int, int],
    kind: TypeInfo,
    stats: GenerationStats,
) -> int:
    rng = simulator.rng
    unit_id, company_id, municipality = unit
    office_id = world.office_of[municipality]
    calendar = world.calendars[municipality]
    submitter = owner_of[company_id]
    clerks = world.clerks.get(office_id) or [None]
    clerk = clerks[rng.randrange(len(clerks))]
    life = simulator.life(t0, kind, office_id, calendar, (submitter, clerk))
    events = settle(life, config.now)
    pid = ids["procedure"]
    ids["procedure"] += 1
    received = local_date(t0)
    cui = counters[("cui:SUAP", received.year)] = counters.get(("cui:SUAP", received.year), 0) + 1
    scope = (office_scope(office_id), received.year)
    number = counters[scope] = counters.get(scope, 0) + 1
    summary = summarise(
        [TimedEvent(k, at, payload) for k, at, _a, payload in events],
        kind.rules,
        config.now,
        calendar,
    )
    assigned = any(e[0] == lc.ASSIGNED for e in events)
    last_day = summary.last_day
    if last_day is None and summary.decided_on is not None and kind.rules.term_days:
        last_day = calendar.roll_forward(received + timedelta(days=kind.rules.term_days))
    writer.add(
        Procedure.__table__,
        (
            pid,
            company_id,
            unit_id,
            municipality,
            office_id,
            kind.code,
            kind.version_id,
            kind.regime,
            submitter,
            f"generated:{config.seed}:{pid}",
            {},
            {},
            "SUAP",
            received,
            received.year,
            cui,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            received.year,
            number,
            t0,
            None,
            clerk if assigned else None,
            summary.state,
            received,
            last_day,
        ),
    )
    event_id = ids["event"]
    for k, _at, _actor, payload in events:
        if k == "protocol_registered":
            payload.update(number=f"{number:06d}", date=received.isoformat())
    for k, at, actor, payload in events:
        writer.add(ProcedureEvent.__table__, (event_id, pid, k, actor, at, payload))
        event_id += 1
    ids["event"] = event_id
    _write_opinions(writer, world, pid, life, events)
    stats.opinions += len(life.opinions)
    writer.add(
        ProcedureSummary.__table__,
        (
            pid,
            kind.code,
            municipality,
            office_id,
            kind.regime,
            *(getattr(summary, name) for name in SUMMARY_FIELDS),
            config.now,
        ),
    )
    return len(events)


def _write_opinions(
    writer: BulkWriter, world: World, pid: int, life: Life, events: Iterable[tuple[Any, ...]]
) -> None:
    asked = {e[3]["opinion_id"] for e in events if e[0] == lc.OPINION_REQUESTED}
    given = {e[3]["opinion_id"]: e for e in events if e[0] == lc.OPINION_GIVEN}
    for opinion in life.opinions:
        if opinion["id"] not in asked:
            continue
        answer = given.get(opinion["id"])
        writer.add(
            OpinionRequest.__table__,
            (
                opinion["id"],
                pid,
                world.authority_ids[opinion["authority"]],
                opinion["clerk"],
                opinion["asked"],
                30,
                opinion["due"],
                "",
                answer[1] if answer else None,
                answer[2] if answer else None,
                answer[3]["outcome"] if answer else None,
                "Parere espresso (dati generati)" if answer else None,
                "portal" if answer else None,
            ),
        )
    # opinions of a procedure that ended before they were asked are not written
    life.opinions = [o for o in life.opinions if o["id"] in asked]


def _save_counters(session: Session, counters: dict[tuple[str, int], int]) -> None:
    existing = {
        (s, y) for s, y in session.execute(select(SequenceCounter.scope, SequenceCounter.year))
    }
    table = SequenceCounter.__table__
    for (scope, year), value in counters.items():
        if (scope, year) in existing:
            session.execute(
                table.update()
                .where(table.c.scope == scope, table.c.year == year)
                .values(value=value)
            )
        else:
            session.execute(insert(table).values(scope=scope, year=year, value=value))


def _analyze(session: Session, progress: Progress) -> None:
    """Fresh planner statistics on PostgreSQL: the pages and reports read these tables next."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "ANALYZE procedure, procedure_event, procedure_summary, procedure_rollup, "
            "opinion_request, company, local_unit, mandate, user_account"
        )
    )
    session.commit()
    progress("planner statistics updated (ANALYZE)")


def _reset_sequences(session: Session) -> None:
    """Explicit ids were written: move PostgreSQL's id sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("procedure", "procedure_event", "opinion_request", "company", "local_unit"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
            )
        )
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('user_account', 'id'), "
            "(SELECT coalesce(max(id), 0) + 1 FROM user_account), false)"
        )
    )
