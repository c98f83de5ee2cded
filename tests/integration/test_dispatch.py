"""Routing a filed procedure to authorities: jobs queued with the filing, sent through the
authority's channel adapter with the job's idempotency key, and visible on the timeline."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from connectors.base import AuthorityDispatch, ConnectorUnavailable, DispatchReceipt
from connectors.registry import ConnectorRegistry
from portale.cases.routing import RoutingRule
from portale.extensions import db
from portale.outbox import services as outbox
from portale.outbox.models import DONE, RETRYING
from portale.procedures import jobs
from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.factories import AuthorityFactory, MunicipalityFactory
from tests.integration.test_procedures_support import PDF, SPEC, VALID_ANSWERS, make_world

SSU_SCHEMAS = Path(__file__).resolve().parents[3] / "shared/specs/ssu/json-schema"


class RecordingPec(AuthorityDispatch):
    identifier = "pec"
    label = "PEC (test)"
    sent: list[tuple[dict, str]] = []
    down = False

    def send_instance(self, instance, *, idempotency_key):
        if RecordingPec.down:
            raise ConnectorUnavailable("smtp refused")
        RecordingPec.sent.append((instance, idempotency_key))
        return DispatchReceipt(accepted=True, reference=f"pec-{len(RecordingPec.sent)}")

    def notify(self, cui, event, *, idempotency_key):
        return DispatchReceipt(accepted=True)


@pytest.fixture(autouse=True)
def storage_here(app, tmp_path, monkeypatch):
    # The dispatch job reads the attachments back from the configured storage.
    monkeypatch.setitem(app.config, "STORAGE_PATH", str(tmp_path))


@pytest.fixture
def pec_registry(monkeypatch):
    registry = ConnectorRegistry()
    registry.register(RecordingPec)
    registry.configure({"pec": {"base_url": "smtp://127.0.0.1"}})
    RecordingPec.sent, RecordingPec.down = [], False
    monkeypatch.setattr(jobs, "registry_for", lambda config: registry)
    outbox.reset_breakers()
    return registry


def file_with_authorities(session, tmp_path, codes):
    for code in codes:
        AuthorityFactory(
            code=code, name=f"Ente {code}", channel="pec", pec=f"{code.lower()}@pec.it"
        )
    world = make_world(session)
    world.version.spec = {**SPEC, "authorities": codes}
    session.commit()
    storage = LocalStorage(tmp_path)
    draft = filing.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    filing.save_draft(session, draft.id, actor=world.user, answers=VALID_ANSWERS)
    filing.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="p.pdf", data=PDF
    )
    procedure = filing.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key="d"
    )
    return world, procedure


def dispatch_jobs(session, procedure):
    return [
        j
        for j in outbox.jobs_for_procedure(session, procedure.id)
        if j.handler == "dispatch.authority"
    ]


def drain(app):
    return outbox.drain(db.session_factory, worker="t", config=dict(app.config))


def test_filing_queues_one_dispatch_per_authority_and_shows_it(
    session, tmp_path, app, pec_registry
):
    world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST", "VVF_TST"])
    assert sorted(j.payload["authority"] for j in dispatch_jobs(session, procedure)) == [
        "ASL_TST",
        "VVF_TST",
    ]
    assert [e.kind for e in procedure.events].count("dispatch_queued") == 2
    drain(app)
    session.expire_all()
    assert {j.status for j in dispatch_jobs(session, procedure)} == {DONE}
    keys = {key for _instance, key in RecordingPec.sent}
    assert keys == {j.idempotency_key for j in dispatch_jobs(session, procedure)}
    assert [e.kind for e in session.get(type(procedure), procedure.id).events].count(
        "dispatch_sent"
    ) == 2


def test_authority_down_retries_and_the_submission_stands(session, tmp_path, app, pec_registry):
    RecordingPec.down = True
    world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST"])
    assert procedure.protocol_number  # filed whatever the authority's state
    drain(app)
    session.expire_all()
    [job] = dispatch_jobs(session, procedure)
    assert job.status == RETRYING and "smtp refused" in job.last_error
    assert "dispatch_failed" in [e.kind for e in session.get(type(procedure), procedure.id).events]
    RecordingPec.down = False
    outbox.retry_now(session, job.id)
    drain(app)
    session.expire_all()
    assert session.get(type(job), job.id).status == DONE and len(RecordingPec.sent) == 1


def test_unconfigured_channel_waits_instead_of_failing_silently(
    session, tmp_path, app, monkeypatch
):
    monkeypatch.setattr(jobs, "registry_for", lambda config: ConnectorRegistry())
    outbox.reset_breakers()
    world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST"])
    drain(app)
    session.expire_all()
    [job] = dispatch_jobs(session, procedure)
    assert job.status == RETRYING and "not configured" in job.last_error


def test_routing_rule_overrides_the_catalogue_authorities(session, tmp_path, app, pec_registry):
    AuthorityFactory(code="ARPA_TST", name="ARPA test", channel="pec", pec="arpa@pec.it")
    MunicipalityFactory()
    session.add(
        RoutingRule(type_code="ESERCIZIO_VICINATO", municipality="001272", authorities=["ARPA_TST"])
    )
    session.commit()
    world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST"])
    assert [j.payload["authority"] for j in dispatch_jobs(session, procedure)] == ["ARPA_TST"]


def _ssu_validator(name):
    schema = yaml.safe_load((SSU_SCHEMAS / name).read_text())
    store = {}
    for path in SSU_SCHEMAS.glob("*.yaml"):
        loaded = yaml.safe_load(path.read_text())
        store[
            f"https://raw.githubusercontent.com/AgID/specifiche-tecniche-DPR-160-2010/json-schema/{path.name}"
        ] = loaded
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    return jsonschema.Draft7Validator(schema, resolver=resolver)


def test_the_instance_descriptor_sent_follows_the_ssu_schema(session, tmp_path, app, pec_registry):
    if not SSU_SCHEMAS.exists():
        pytest.skip("SSU specification not present beside the repository")
    world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST"])
    drain(app)
    [(instance, _key)] = RecordingPec.sent
    descriptor = json.loads(json.dumps(instance["descriptor"]))
    errors = list(_ssu_validator("instance-descriptor-schema.yaml").iter_errors(descriptor))
    assert errors == [], [e.message for e in errors]
    assert descriptor["instance_status"][-1]["state"] == "presented"
    assert descriptor["times"]["max_gg_proc"] == 60


def test_dispatch_by_pec_reaches_the_fake_server_with_the_documents(
    session, tmp_path, app, monkeypatch
):
    from connectors.fakes.server import start_fake_services
    from connectors.pec import parse_manifest

    fakes = start_fake_services()
    try:
        registry = ConnectorRegistry()
        registry.load_entry_points()
        registry.configure(fakes.connector_settings())
        monkeypatch.setattr(jobs, "registry_for", lambda config: registry)
        outbox.reset_breakers()
        world, procedure = file_with_authorities(session, tmp_path, ["ASL_TST"])
        drain(app)
        [message] = fakes.pec.messages
        assert message["To"] == "asl_tst@pec.it"
        manifest = next(p for p in message.iter_attachments() if p.get_filename() == "manifest.xml")
        content = manifest.get_content()
        parsed = parse_manifest(content.encode() if isinstance(content, str) else content)
        assert parsed["protocol"] == procedure.protocol_label
        assert [a["filename"] for a in parsed["attachments"]] == ["p.pdf"]
    finally:
        fakes.stop()
