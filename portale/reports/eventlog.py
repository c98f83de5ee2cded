"""The raw event log for process-mining tools: XES (IEEE 1849-2016) and OCEL 2.0 JSON.

One trace per filed procedure, named by its CUI, with its type, municipality (ISTAT code),
regime, office and protocol label; one event per :class:`ProcedureEvent`, named by its kind,
with its time, the lifecycle transition ``complete`` (events are instants) and who acted as
``org:resource``: ``company``, ``office``, ``dispatch`` or the code of the authority. The log
never carries personal data: no names, tax codes, e-mails, actors or event payloads; only the
authority code is read from the payload.

Both writers are generators of text chunks over one ordered query read with ``yield_per``
(a server-side cursor on PostgreSQL), so a log of ten million events streams in constant
memory; the web layer hands them to a streamed response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import groupby
from types import SimpleNamespace
from xml.sax.saxutils import escape

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import Office
from portale.cases.models import Procedure, ProcedureEvent
from portale.clock import lifecycle as lc
from portale.reports.filters import ReportFilter

XES_MIMETYPE = "application/xml"
XES_NAMESPACE = "http://www.xes-standard.org/"
XES_FEATURES = ""
OCEL_MIMETYPE = "application/json"
CHUNK_CHARS = 64 * 1024
ROWS_PER_FETCH = 5000

# Who acts when an event of this kind happens; any other kind is the office's.
_COMPANY_KINDS = frozenset(
    {
        lc.PRESENTED,
        "started",
        lc.CORRECTED,
        lc.INTEGRATED,
        lc.REFUSAL_OBSERVATIONS_RECEIVED,
        lc.CONFORMATION_ANSWERED,
        lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED,
    }
)
_AUTHORITY_KINDS = frozenset(
    {lc.OPINION_GIVEN, lc.CDSS_OUTCOME, "authority_integration_request", "cdss_requested"}
)
_DISPATCH_KINDS = frozenset(
    {
        lc.DISPATCH_QUEUED,
        lc.DISPATCH_SENT,
        lc.DISPATCH_ACKNOWLEDGED,
        lc.DISPATCH_FAILED,
        lc.DISPATCH_GIVEN_UP,
    }
)
ROLE_AUTHORITY = lc.BALL_AUTHORITY


def resource_of(kind: str, authority: str | None) -> tuple[str, str]:
    """``(org:resource, org:role)`` of an event: who acted, never a person. ``authority`` is
    the code in the event's payload, if any."""
    if kind in _COMPANY_KINDS:
        return lc.BALL_COMPANY, lc.BALL_COMPANY
    if kind in _DISPATCH_KINDS:
        return lc.BALL_DISPATCH, lc.BALL_DISPATCH
    if kind in _AUTHORITY_KINDS:
        return (authority or ROLE_AUTHORITY), ROLE_AUTHORITY
    return lc.BALL_OFFICE, lc.BALL_OFFICE


@dataclass(frozen=True)
class LogEvent:
    case: str  # the CUI
    protocol: str
    type_code: str
    municipality: str
    regime: str
    office: str
    procedure_id: int
    kind: str
    at: datetime
    resource: str
    role: str


def _procedure_columns() -> SimpleNamespace:
    # ReportFilter speaks of summary columns; the log reads the procedure itself, so that
    # procedures without a summary row yet are not left out.
    return SimpleNamespace(
        received_on=Procedure.received_on,
        type_code=Procedure.type_code,
        municipality=Procedure.municipality,
        office_id=Procedure.office_id,
        procedure_id=Procedure.id,
    )


def iter_events(session: Session, flt: ReportFilter) -> Iterator[LogEvent]:
    """The events of the procedures ``flt`` selects, by procedure then time, streamed."""
    query = (
        select(
            Procedure.id,
            Procedure.type_code,
            Procedure.municipality,
            Procedure.regime,
            Office.code,
            ProcedureEvent.kind,
            ProcedureEvent.at,
            # only the authority's code is read from the payload, and only where it acts
            sql_case(
                (
                    ProcedureEvent.kind.in_(sorted(_AUTHORITY_KINDS)),
                    ProcedureEvent.payload["authority"].as_string(),
                ),
                else_=None,
            ),
            Procedure.cui_context,
            Procedure.cui_date,
            Procedure.cui_progressive,
            Procedure.cui_uuid,
            Procedure.protocol_year,
            Procedure.protocol_number,
        )
        .join(ProcedureEvent, ProcedureEvent.procedure_id == Procedure.id)
        .join(Office, Office.id == Procedure.office_id)
        .where(flt.clause(_procedure_columns()))
        .order_by(Procedure.id, ProcedureEvent.at, ProcedureEvent.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    last_pid = None
    case = protocol = ""
    for row in session.execute(query):
        pid, type_code, municipality, regime, office, kind, at, authority = row[:8]
        if pid != last_pid:  # the trace's names are built once, not per event
            last_pid = pid
            context, cui_date, progressive, uuid, year, number = row[8:]
            case = _cui(context, cui_date, progressive, uuid)
            protocol = f"{office}/{year}/{number:06d}"
        resource, role = resource_of(kind, authority)
        yield LogEvent(
            case=case,
            protocol=protocol,
            type_code=type_code,
            municipality=municipality,
            regime=regime,
            office=office,
            procedure_id=pid,
            kind=kind,
            at=at,
            resource=resource,
            role=role,
        )


def _chunked(parts: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    size = 0
    for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


# --- XES ------------------------------------------------------------------------------------

XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)


def xes_timestamp(moment: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as XES tools write it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _attr(kind: str, key: str, value: str) -> str:
    return f'<{kind} key="{key}" value="{escape(value, {chr(34): "&quot;"})}"/>'


def _xes_head(flt: ReportFilter, generated_at: datetime) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    # The IEEE 1849-2016 schema types xes.version as a decimal: the standard is XES 2.0. Its
    # elements live in the standard's namespace, and xes.features lists the optional features
    # the log uses: the only one the standard names is nested-attributes, which we do not use.
    lines.append(f'<log xmlns="{XES_NAMESPACE}" xes.version="2.0" xes.features="{XES_FEATURES}">\n')
    for name, prefix, uri in XES_EXTENSIONS:
        lines.append(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    lines.append('  <global scope="trace">\n    ' + _attr("string", "concept:name", "") + "\n")
    lines.append("  </global>\n")
    lines.append('  <global scope="event">\n')
    for part in (
        _attr("string", "concept:name", ""),
        _attr("date", "time:timestamp", "1970-01-01T00:00:00.000+00:00"),
        _attr("string", "lifecycle:transition", "complete"),
        _attr("string", "org:resource", ""),
        _attr("string", "org:role", ""),
    ):
        lines.append(f"    {part}\n")
    lines.append("  </global>\n")
    lines.append('  <classifier name="Activity" keys="concept:name"/>\n')
    lines.append('  <classifier name="Resource" keys="org:resource"/>\n')
    for kind, key, value in (
        ("string", "concept:name", "Portale Unico delle Imprese: registro eventi delle pratiche"),
        ("string", "lifecycle:model", "standard"),
        ("date", "period_start", f"{flt.start.isoformat()}T00:00:00.000+00:00"),
        ("date", "period_end", f"{flt.end.isoformat()}T23:59:59.999+00:00"),
        ("date", "generated_at", xes_timestamp(generated_at)),
    ):
        lines.append(f"  {_attr(kind, key, value)}\n")
    for key, value in (
        ("filter_type", flt.type_code),
        ("filter_municipality", flt.municipality),
        ("filter_office", flt.office_id),
        ("filter_authority", flt.authority_id),
    ):
        if value is not None:
            lines.append(f"  {_attr('string', key, str(value))}\n")
    return "".join(lines)


@lru_cache(maxsize=4096)
def _event_xml(kind: str, resource: str, role: str) -> tuple[str, str]:
    """An event's element around its timestamp: the rest repeats, so it is escaped once."""
    head = (
        "    <event>" + _attr("string", "concept:name", kind) + '<date key="time:timestamp" value="'
    )
    tail = (
        '"/>'
        + _attr("string", "lifecycle:transition", "complete")
        + _attr("string", "org:resource", resource)
        + _attr("string", "org:role", role)
        + "</event>\n"
    )
    return head, tail


def _xes_parts(events: Iterator[LogEvent], flt: ReportFilter, now: datetime) -> Iterator[str]:
    yield _xes_head(flt, now)
    for _pid, trace in groupby(events, key=lambda e: e.procedure_id):
        first = next(trace)
        yield "  <trace>\n"
        for key, value in (
            ("concept:name", first.case),
            ("protocol", first.protocol),
            ("procedure_type", first.type_code),
            ("municipality", first.municipality),
            ("regime", first.regime),
            ("office", first.office),
        ):
            yield f"    {_attr('string', key, value)}\n"
        for event in _chain(first, trace):
            head, tail = _event_xml(event.kind, event.resource, event.role)
            yield head + xes_timestamp(event.at) + tail
        yield "  </trace>\n"
    yield "</log>\n"


def _chain(first: LogEvent, rest: Iterator[LogEvent]) -> Iterator[LogEvent]:
    yield first
    yield from rest


def write_xes(session: Session, flt: ReportFilter, *, now: datetime | None = None) -> Iterator[str]:
    """The XES document of the procedures ``flt`` selects, as chunks of text."""
    now = now or datetime.now(UTC)
    return _chunked(_xes_parts(iter_events(session, flt), flt, now))


# --- OCEL 2.0 (JSON) ------------------------------------------------------------------------

OCEL_PROCEDURE_ATTRIBUTES = ("procedure_type", "municipality", "regime", "office", "protocol")


def _ocel_parts(session: Session, flt: ReportFilter, kinds: list[str]) -> Iterator[str]:
    dump = json.dumps
    epoch = "1970-01-01T00:00:00Z"
    object_types = [
        {
            "name": "procedure",
            "attributes": [{"name": n, "type": "string"} for n in OCEL_PROCEDURE_ATTRIBUTES],
        },
        {"name": "authority", "attributes": []},
    ]
    event_types = [
        {"name": k, "attributes": [{"name": "resource", "type": "string"}]} for k in kinds
    ]
    yield '{"objectTypes": ' + dump(object_types) + ', "eventTypes": ' + dump(event_types)
    yield ', "events": ['
    n = 0
    authorities: set[str] = set()
    for n, event in enumerate(iter_events(session, flt), start=1):
        relationships = [{"objectId": event.case, "qualifier": "procedure"}]
        if event.role == ROLE_AUTHORITY and event.resource != ROLE_AUTHORITY:
            authorities.add(event.resource)
            relationships.append({"objectId": event.resource, "qualifier": "authority"})
        item = {
            "id": f"e{n}",
            "type": event.kind,
            "time": xes_timestamp(event.at),
            "attributes": [{"name": "resource", "value": event.resource}],
            "relationships": relationships,
        }
        yield ("," if n > 1 else "") + dump(item)
    yield '], "objects": ['
    first = True
    for case, values in _procedure_objects(session, flt):
        item = {
            "id": case,
            "type": "procedure",
            "attributes": [
                {"name": name, "time": epoch, "value": value}
                for name, value in zip(OCEL_PROCEDURE_ATTRIBUTES, values, strict=True)
            ],
        }
        yield ("" if first else ",") + dump(item)
        first = False
    for code in sorted(authorities):
        yield ("" if first else ",") + dump({"id": code, "type": "authority", "attributes": []})
        first = False
    yield "]}\n"


def _procedure_objects(
    session: Session, flt: ReportFilter
) -> Iterator[tuple[str, tuple[str, ...]]]:
    query = (
        select(
            Procedure.cui_context,
            Procedure.cui_date,
            Procedure.cui_progressive,
            Procedure.cui_uuid,
            Procedure.protocol_year,
            Procedure.protocol_number,
            Procedure.type_code,
            Procedure.municipality,
            Procedure.regime,
            Office.code,
        )
        .join(Office, Office.id == Procedure.office_id)
        .where(flt.clause(_procedure_columns()))
        .order_by(Procedure.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for (
        context,
        cui_date,
        progressive,
        uuid,
        year,
        number,
        type_code,
        town,
        regime,
        office,
    ) in session.execute(query):
        yield (
            _cui(context, cui_date, progressive, uuid),
            (type_code, town, regime, office, f"{office}/{year}/{number:06d}"),
        )


def _cui(context: str, on: date, progressive: int, uuid: str) -> str:
    # the text of portale.cases.cui.Cui, built from columns rather than an ORM object
    return f"{context}-{on.isoformat()}-{progressive:08d}-{uuid}"


def event_kinds(session: Session, flt: ReportFilter) -> list[str]:
    query = (
        select(ProcedureEvent.kind)
        .join(Procedure, Procedure.id == ProcedureEvent.procedure_id)
        .where(flt.clause(_procedure_columns()))
        .distinct()
        .order_by(ProcedureEvent.kind)
    )
    return list(session.scalars(query))


def write_ocel(
    session: Session, flt: ReportFilter, *, now: datetime | None = None
) -> Iterator[str]:
    """The OCEL 2.0 JSON document of the procedures ``flt`` selects, as chunks of text.

    Objects are the procedures (with type, municipality, regime, office and protocol) and the
    authorities that acted; each event relates to its procedure and, if any, its authority.
    """
    del now  # the format has no place for it; the signature matches write_xes
    return _chunked(_ocel_parts(session, flt, event_kinds(session, flt)))


def export_filename(flt: ReportFilter, extension: str) -> str:
    return f"registro-eventi-{flt.start.isoformat()}-{flt.end.isoformat()}.{extension}"
