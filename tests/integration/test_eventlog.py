"""The event log for process mining: standard XES and OCEL 2.0, filtered, streamed, anonymous."""

from __future__ import annotations

import json
from datetime import date, datetime
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from portale.cases.models import ProcedureEvent
from portale.reports import eventlog
from portale.reports.filters import ReportFilter
from tests.eventlog_support import MONCALIERI, SCIA, TORINO, build_log, personal_data
from tests.xes_check import attribute, check_xes

YEAR = ReportFilter(date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


def xes_of(session, flt=YEAR):
    return "".join(eventlog.write_xes(session, flt))


def ocel_of(session, flt=YEAR):
    return json.loads("".join(eventlog.write_ocel(session, flt)))


def test_xes_has_one_trace_per_procedure_with_every_event_in_order(session, world):
    log = check_xes(xes_of(session))
    traces = log.findall("trace")
    procedures = {p.cui_label: p for p in world.procedures}
    assert {attribute(t, "concept:name") for t in traces} == set(procedures)
    assert len(traces) == 9
    for trace in traces:
        procedure = procedures[attribute(trace, "concept:name")]
        assert attribute(trace, "procedure_type") == procedure.type_code
        assert attribute(trace, "municipality") == procedure.municipality
        assert attribute(trace, "regime") == procedure.regime
        assert attribute(trace, "protocol") == procedure.protocol_label
        events = trace.findall("event")
        stored = session.scalars(
            select(ProcedureEvent.kind)
            .where(ProcedureEvent.procedure_id == procedure.id)
            .order_by(ProcedureEvent.at, ProcedureEvent.id)
        ).all()
        assert [attribute(e, "concept:name") for e in events] == stored
        times = [datetime.fromisoformat(attribute(e, "time:timestamp")) for e in events]
        assert all(a <= b for a, b in pairwise(times))
    total = session.scalar(select(func.count()).select_from(ProcedureEvent))
    assert len(log.findall("trace/event")) == total


def test_the_resource_is_who_acted_never_a_person(session, world):
    text = xes_of(session)
    log = check_xes(text)
    resources = {}
    for event in log.iter("event"):
        resources.setdefault(attribute(event, "concept:name"), set()).add(
            attribute(event, "org:resource")
        )
    assert resources["presented"] == {"company"}
    assert resources["integrated"] == {"company"}
    assert resources["integration_requested"] == {"office"}
    assert resources["ended_by_positive_outcome"] == {"office"}
    assert resources["opinion_given"] == {world.authority.code}
    assert resources["dispatch_queued"] == {"dispatch"}
    ocel = json.dumps(ocel_of(session), ensure_ascii=False)
    for value in personal_data(world):
        assert value not in text, value
        assert value not in ocel, value


def test_the_log_follows_the_dashboard_filter(session, world):
    def cases(flt):
        return {attribute(t, "municipality") for t in check_xes(xes_of(session, flt)).iter("trace")}

    assert cases(ReportFilter(YEAR.start, YEAR.end, municipality=MONCALIERI)) == {MONCALIERI}
    only_scia = check_xes(xes_of(session, ReportFilter(YEAR.start, YEAR.end, type_code=SCIA)))
    assert [attribute(t, "procedure_type") for t in only_scia.iter("trace")] == [SCIA]
    by_authority = ReportFilter(YEAR.start, YEAR.end, authority_id=world.authority.id)
    (trace,) = check_xes(xes_of(session, by_authority)).iter("trace")
    assert "opinion_requested" in {attribute(e, "concept:name") for e in trace.iter("event")}
    # filed from 12 January every 7 days: only the first two fall before 20 January
    january = ReportFilter(date(2026, 1, 1), date(2026, 1, 20), municipality=TORINO)
    assert len(check_xes(xes_of(session, january)).findall("trace")) == 3  # + the SCIA one
    empty = check_xes(xes_of(session, ReportFilter(date(2020, 1, 1), date(2020, 12, 31))))
    assert empty.findall("trace") == []


def test_chunk_and_fetch_sizes_do_not_change_the_file(session, world, monkeypatch):
    now = datetime(2026, 6, 1, 12, 0).astimezone()
    whole = list(eventlog.write_xes(session, YEAR, now=now))
    monkeypatch.setattr(eventlog, "CHUNK_CHARS", 100)
    monkeypatch.setattr(eventlog, "ROWS_PER_FETCH", 3)
    chunks = eventlog.write_xes(session, YEAR, now=now)
    assert not isinstance(chunks, list | str)  # a generator: written as it is read
    small = list(chunks)
    assert len(small) > 20 * len(whole)
    assert "".join(small) == "".join(whole)
    assert max(len(c) for c in small[1:]) < 1000  # the head is written in one piece


def test_ocel_relates_every_event_to_its_procedure_and_authority(session, world):
    ocel = ocel_of(session)
    assert set(ocel) == {"objectTypes", "eventTypes", "objects", "events"}
    objects = {o["id"]: o for o in ocel["objects"]}
    declared_types = {t["name"] for t in ocel["objectTypes"]}
    declared_events = {t["name"] for t in ocel["eventTypes"]}
    assert {o["type"] for o in objects.values()} <= declared_types
    assert sum(o["type"] == "procedure" for o in objects.values()) == 9
    assert objects[world.authority.code]["type"] == "authority"
    total = session.scalar(select(func.count()).select_from(ProcedureEvent))
    assert len(ocel["events"]) == total == len({e["id"] for e in ocel["events"]})
    for event in ocel["events"]:
        assert event["type"] in declared_events
        datetime.fromisoformat(event["time"])
        related = {r["qualifier"]: r["objectId"] for r in event["relationships"]}
        assert objects[related["procedure"]]["type"] == "procedure"
        if event["type"] == "opinion_given":
            assert related["authority"] == world.authority.code


def test_pm4py_reads_the_files(session, world, tmp_path):
    pm4py = pytest.importorskip("pm4py")
    xes = tmp_path / "log.xes"
    xes.write_text(xes_of(session), encoding="utf-8")
    frame = pm4py.read_xes(str(xes))
    total = session.scalar(select(func.count()).select_from(ProcedureEvent))
    assert len(frame) == total
    assert frame["case:concept:name"].nunique() == 9
    assert set(frame["org:resource"]) >= {"company", "office", "dispatch", world.authority.code}
    ocel_file = tmp_path / "log.jsonocel"
    ocel_file.write_text("".join(eventlog.write_ocel(session, YEAR)), encoding="utf-8")
    ocel = pm4py.read_ocel2_json(str(ocel_file))
    assert len(ocel.events) == total
    assert (ocel.objects["ocel:type"] == "procedure").sum() == 9


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        (
            '<date key="time:timestamp" value="2026-01-12T',
            '<date key="time:timestamp" value="12/01/',
        ),
        ('<string key="org:resource"', '<string key="staff:resource"'),
        ('<string key="org:role" value="company"/></event>', "</event>"),
        ("<trace>", '<trace><int key="n" value="1.5"/>'),
        ('<classifier name="Activity"', '<string key="x" value=""/><classifier name="Activity"'),
    ],
    ids=["bad date", "undeclared extension", "missing global", "bad int", "out of order"],
)
def test_the_structural_check_rejects_what_the_standard_forbids(session, world, broken, fixed):
    text = xes_of(session)
    assert broken in text
    with pytest.raises(AssertionError):
        check_xes(text.replace(broken, fixed, 1))
