"""The SSU interface between the portal (back office) and a third-party authority.

Outbound: ``send_instance``/``notify`` reach the fake authority with a PDND voucher and an
``Agid-JWT-Signature`` it verifies. Inbound: the authority's callbacks and document fetches,
verified the same way, mapped onto opinions and timeline events; forged, unsigned or tampered
calls are refused. Every message is also checked against the specification's own OpenAPI
documents when they are present beside the repository.
"""

from __future__ import annotations

import base64
import json

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from connectors import modi
from connectors.fakes.server import _keypair
from portale.backoffice import consultations
from portale.cases.routing import DISPATCH_JOB
from portale.outbox import services as outbox
from portale.outbox.models import DONE, GIVEN_UP, RETRYING
from tests.factories import AuthorityFactory, UserFactory
from tests.integration.connectors.support import (
    drain,
    file_with,
    jobs_of,
    kinds,
    make_due,
    spec_dir,
    ssu_authority,
)
from tests.integration.test_procedures_support import PDF

PORTAL = "http://localhost"


@pytest.fixture
def filed(session, tmp_path, app, wired):
    authority = ssu_authority(wired)
    world, procedure = file_with(session, tmp_path, authorities=[authority])
    return world, procedure, authority


def portal_client(app):
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=PORTAL)


def voucher(fakes):
    return fakes.authority.vouchers(fakes.url("pdnd") + "/token.oauth2").voucher()


def call(app, fakes, operation, body):
    return fakes.authority.call_back(
        PORTAL, operation, body, voucher=voucher(fakes), client=portal_client(app)
    )


def cui_of(procedure):
    from portale.cases.ssu import instance_descriptor

    return instance_descriptor(procedure)["cui"]


# -- the specification's own documents -----------------------------------------------------------


def spec_validator(document: str, path: str, method: str = "post"):
    root = spec_dir()
    if root is None:
        pytest.skip("SSU specification not present beside the repository (shared/specs/ssu)")
    spec = yaml.safe_load((root / "openAPI" / document).read_text())
    assert spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    pointer = (
        f"/paths/{path.replace('/', '~1')}/{method}/requestBody/content/application~1json/schema"
    )
    # "#/components/..." references resolve against the whole OpenAPI document.
    document = Resource.from_contents(spec, default_specification=DRAFT7)
    registry = Registry().with_resource("urn:ssu-openapi", document)
    return jsonschema.Draft7Validator({"$ref": f"urn:ssu-openapi#{pointer}"}, registry=registry)


def assert_follows_spec(document, path, body):
    errors = [e.message for e in spec_validator(document, path).iter_errors(body)]
    assert errors == [], errors


# -- outbound ----------------------------------------------------------------------------------


def test_send_instance_reaches_the_authority_signed_and_following_the_spec(
    session, app, wired, filed
):
    world, procedure, authority = filed
    drain(app)
    [job] = jobs_of(session, procedure, DISPATCH_JOB)
    assert job.status == DONE, job.last_error
    assert wired.authority.refused == []
    [received] = wired.authority.received
    assert received.operation == "send_instance" and received.key == job.idempotency_key
    assert received.claims["iss"] == "portale-demo"  # signed by the portal's key
    body = received.body
    assert body["cui"]["uuid"] == procedure.cui_uuid
    [item] = body["instance_index"]
    attachment = procedure.attachments[0]
    assert item["resource_id"] == f"att-{attachment.id}" and item["hash"] == attachment.sha256
    assert "dispatch_sent" in kinds(session, procedure)
    assert_follows_spec("et_to_bo.yaml", "/send_instance", body)


def test_notify_follows_the_spec(session, app, wired, filed):
    world, procedure, authority = filed
    outbox.enqueue(
        session,
        DISPATCH_JOB,
        {
            "procedure_id": procedure.id,
            "authority": authority.code,
            "message": "notify",
            "event": {"event": "end_by_submitter_cancel_requested"},
        },
        idempotency_key=f"notify:{procedure.cui_uuid}",
        connector="ssu",
        procedure_id=procedure.id,
    )
    session.commit()
    drain(app)
    [notice] = [r for r in wired.authority.received if r.operation == "notify"]
    assert notice.body["event"] == "end_by_submitter_cancel_requested"
    assert_follows_spec("et_to_bo.yaml", "/notify", notice.body)


def test_the_outcome_notice_names_the_act_and_the_authority_fetches_it(session, app, wired, filed):
    from portale.backoffice import decisions
    from portale.storage import storage_from_config

    world, procedure, authority = filed
    clerk = UserFactory(roles=("clerk",), office_id=world.office.id)
    # A SCIA whose activity the office prohibits within the control window.
    act = decisions.prohibit(
        session,
        storage_from_config(app.config),
        procedure,
        actor=clerk,
        motivation="Requisiti igienico-sanitari non rispettati",
    )
    drain(app)
    [notice] = [r for r in wired.authority.received if r.operation == "notify"]
    assert notice.body["event"] == "end_by_negative_outcome"
    assert notice.body["resource_id"] == f"act-{act.id}" and notice.body["hash"] == act.sha256
    assert_follows_spec("et_to_bo.yaml", "/notify", notice.body)
    fetched = wired.authority.fetch_document(
        PORTAL,
        procedure.cui_uuid,
        notice.body["resource_id"],
        voucher=voucher(wired),
        client=portal_client(app),
        if_match=notice.body["hash"],
    )
    assert fetched.status_code == 200
    assert base64.b64decode(fetched.text) == storage_from_config(app.config).read(act.storage_key)


def test_an_authority_down_makes_the_dispatch_wait_then_complete_on_the_timeline(
    session, app, wired, filed, client, login_as
):
    world, procedure, authority = filed
    wired.stop_service("authority")
    try:
        drain(app)
        [job] = jobs_of(session, procedure, DISPATCH_JOB)
        assert job.status == RETRYING
        assert "dispatch_failed" in kinds(session, procedure)
    finally:
        wired.restart_service("authority")
    make_due(session, job)
    drain(app)
    assert jobs_of(session, procedure, DISPATCH_JOB)[0].status == DONE
    assert len(wired.authority.delivered("send_instance", procedure.cui_uuid)) == 1
    login_as(world.user)
    page = client.get(f"/pratiche/{procedure.id}").get_data(as_text=True)
    assert "Invio all&#39;ente non riuscito" in page and "Inviata all&#39;ente" in page


@pytest.mark.parametrize("mode", ["down", "error", "slow", "malformed"])
def test_authority_failures_are_retried_and_delivered_once(session, app, wired, filed, mode):
    world, procedure, authority = filed
    wired.authority.behaviour.mode = mode
    wired.authority.behaviour.slow_seconds = 1.5
    app.config["CONNECTORS"]["ssu"]["timeout"] = "0.5"
    try:
        drain(app)
        [job] = jobs_of(session, procedure, DISPATCH_JOB)
        # A gateway page instead of the SSU answer: given up, an administrator retries it.
        assert job.status == (GIVEN_UP if mode == "malformed" else RETRYING)
        wired.authority.behaviour.mode = "ok"
        if job.status == GIVEN_UP:
            outbox.retry_now(session, job.id)
        else:
            make_due(session, job)
        drain(app)
        assert jobs_of(session, procedure, DISPATCH_JOB)[0].status == DONE
        assert len(wired.authority.delivered("send_instance", procedure.cui_uuid)) == 1
    finally:
        app.config["CONNECTORS"]["ssu"]["timeout"] = "2"


def test_opinion_request_goes_out_on_ssu_and_by_pec_with_question_and_due_date(
    session, app, wired, filed
):
    world, procedure, authority = filed
    drain(app)
    pec_authority = AuthorityFactory(code="VVF_PEC", channel="pec", pec="vvf@pec.esempio.it")
    session.commit()
    before = len(wired.pec.messages)
    [ssu_request, pec_request] = consultations.request_opinions(
        session,
        procedure,
        [authority.id, pec_authority.id],
        actor_id=None,
        question="La canna fumaria rispetta le distanze?",
    )
    drain(app)
    sent = {j.payload.get("opinion_id"): j for j in jobs_of(session, procedure, DISPATCH_JOB)}
    assert sent[ssu_request.id].status == DONE, sent[ssu_request.id].last_error
    assert sent[pec_request.id].status == DONE, sent[pec_request.id].last_error
    assert len(wired.authority.delivered("send_instance", procedure.cui_uuid)) == 2
    [mail] = wired.pec.messages[before:]
    assert "Richiesta di parere" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    due = pec_request.due_on
    assert "La canna fumaria rispetta le distanze?" in text
    assert f"{due.day:02d}/{due.month:02d}/{due.year}" in text


# -- inbound -----------------------------------------------------------------------------------


def conclusions(procedure, kind):
    body = {"cui": cui_of(procedure), "instance_descriptor_version": "1", "conclusions_type": kind}
    body.update(
        {
            "positive_outcome": {"positive_outcome": "Parere favorevole."},
            "conformation_requested": {
                "conformation_requested": "Adeguare l'aerazione.",
                "date": "2026-12-31",
            },
            "suspension_requested": {"negative_outcome_motivation": "Locale non idoneo."},
        }[kind]
    )
    return body


@pytest.mark.parametrize(
    "kind,outcome",
    [
        ("positive_outcome", "favourable"),
        ("conformation_requested", "conformation_requested"),
        ("suspension_requested", "suspension_requested"),
    ],
)
def test_send_conclusions_answers_the_open_opinion_request(
    session, app, wired, filed, kind, outcome
):
    world, procedure, authority = filed
    [opinion] = consultations.request_opinions(session, procedure, [authority.id], actor_id=None)
    body = conclusions(procedure, kind)
    response = call(app, wired, "send_conclusions", body)
    assert response.status_code == 200, response.text
    session.expire_all()
    opinion = session.get(type(opinion), opinion.id)
    assert opinion.outcome == outcome and opinion.answered_via == "ssu"
    assert "opinion_given" in kinds(session, procedure)
    assert_follows_spec("bo_to_et.yaml", "/send_conclusions", body)


def test_conclusions_without_an_open_request_are_refused(session, app, wired, filed):
    world, procedure, authority = filed
    response = call(app, wired, "send_conclusions", conclusions(procedure, "positive_outcome"))
    assert response.status_code == 400 and response.json()["code"] == "NO_OPEN_REQUEST"


def test_request_integration_and_cdss_become_timeline_events(session, app, wired, filed):
    world, procedure, authority = filed
    integration = {
        "cui": cui_of(procedure),
        "instance_descriptor_version": "1",
        "integration_list": [
            {
                "code": "APERTURA",
                "ref": "planimetria",
                "integration_request": [{"request": "Planimetria quotata in scala 1:100."}],
            }
        ],
        "integration_document_list": [
            {"resource_id": "req-1", "hash": "ab" * 32, "alg_hash": "S256"}
        ],
    }
    assert call(app, wired, "request_integration", integration).status_code == 200
    assert call(app, wired, "request_cdss", cui_of(procedure)).status_code == 200
    session.expire_all()
    events = {e.kind: e.payload for e in session.get(type(procedure), procedure.id).events}
    asked = events["authority_integration_request"]
    assert asked["authority"] == authority.code
    assert asked["text"] == "Planimetria quotata in scala 1:100."
    assert asked["documents"][0]["resource_id"] == "req-1"
    assert events["cdss_requested"]["authority"] == authority.code
    assert_follows_spec("bo_to_et.yaml", "/request_integration", integration)
    assert_follows_spec("bo_to_et.yaml", "/request_cdss", cui_of(procedure))


def test_retry_sends_the_instance_again(session, app, wired, filed):
    world, procedure, authority = filed
    drain(app)
    body = {"cui": cui_of(procedure), "operation": "send_instance"}
    assert call(app, wired, "retry", body).status_code == 200
    drain(app)
    assert len(wired.authority.delivered("send_instance", procedure.cui_uuid)) == 2
    assert kinds(session, procedure).count("dispatch_sent") == 2
    assert_follows_spec("bo_to_et.yaml", "/retry", body)


def test_invalid_body_is_a_bad_request(session, app, wired, filed):
    world, procedure, authority = filed
    response = call(app, wired, "send_conclusions", {"cui": cui_of(procedure)})
    assert response.status_code == 400 and response.json()["code"] == "BAD_REQUEST"


def test_a_cui_the_authority_was_not_asked_about_is_not_found(session, app, wired, filed):
    from portale.outbox.models import OutboxJob

    world, procedure, authority = filed
    # Nothing was sent to this authority about the procedure, and no opinion was asked.
    session.query(OutboxJob).filter_by(procedure_id=procedure.id, handler=DISPATCH_JOB).delete()
    session.commit()
    cui = cui_of(procedure)
    response = call(app, wired, "request_cdss", cui)
    # the callbacks declare no 404 (bo_to_et.yaml): an unknown instance is a bad request
    assert response.status_code == 400 and response.json()["code"] == "UNKNOWN_INSTANCE"
    unknown = call(app, wired, "request_cdss", {**cui, "uuid": "no-such-cui"})
    assert unknown.status_code == 400
    for operation, body in (
        (
            "send_conclusions",
            {
                "cui": {**cui, "uuid": "no-such-cui"},
                "conclusions_type": "positive_outcome",
                "positive_outcome": "ok",
            },
        ),
        ("retry", {"cui": cui, "operation": "send_instance"}),
    ):
        assert call(app, wired, operation, body).status_code == 400, operation
    assert "cdss_requested" not in kinds(session, procedure)


def _post_raw(app, body: bytes, headers):
    return portal_client(app).post("/request_cdss", content=body, headers=headers)


def test_unsigned_forged_or_tampered_callbacks_are_refused(session, app, wired, filed):
    world, procedure, authority = filed
    fake = wired.authority
    body = json.dumps(cui_of(procedure)).encode()
    token = voucher(wired)
    good = fake.signed_headers(body, PORTAL, token)

    unsigned = {k: v for k, v in good.items() if k not in ("Agid-JWT-Signature", "Digest")}
    no_voucher = {k: v for k, v in good.items() if k != "Authorization"}
    original_key = fake.private_key
    fake.private_key = _keypair()[0]  # someone else's key, claiming to be the authority
    try:
        forged = fake.signed_headers(body, PORTAL, token)
    finally:
        fake.private_key = original_key
    tampered_body = json.dumps({**cui_of(procedure), "context": "ALTRO"}).encode()
    other_audience = fake.signed_headers(body, "http://another-portal", token)
    forged_voucher = {**good, "Authorization": "Bearer " + _forged_voucher()}

    for headers, payload in [
        (unsigned, body),
        (no_voucher, body),
        (forged, body),
        (good, tampered_body),
        (other_audience, body),
        (forged_voucher, body),
    ]:
        response = _post_raw(app, payload, headers)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "UNAUTHORIZED"
    assert "cdss_requested" not in kinds(session, procedure)
    assert _post_raw(app, body, good).status_code == 200  # the genuine one passes


def _forged_voucher():
    import time

    import jwt

    from connectors.fakes.services import PdndTokenService

    now = int(time.time())
    claims = {
        "iss": PdndTokenService.ISSUER,
        "client_id": "asl-to-ssu",
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode(claims, _keypair()[0], algorithm="RS256")


# -- documents ---------------------------------------------------------------------------------


def test_authority_fetches_documents_with_hash_precondition_and_ranges(session, app, wired, filed):
    world, procedure, authority = filed
    attachment = procedure.attachments[0]
    fake, token, client = wired.authority, voucher(wired), portal_client(app)

    def fetch(resource=f"att-{attachment.id}", **kwargs):
        kwargs.setdefault("if_match", attachment.sha256)
        return fake.fetch_document(
            PORTAL, procedure.cui_uuid, resource, voucher=token, client=client, **kwargs
        )

    whole = fetch()
    assert whole.status_code == 200 and base64.b64decode(whole.text) == PDF
    # The answer is signed by the portal, for this authority.
    claims = modi.verify(
        whole.content, whole.headers, wired.public_key, audience=authority.ssu_client_id
    )
    assert claims["iss"] == "portale-demo"
    part = fetch(byte_range="bytes=0-3")
    assert part.status_code == 206 and base64.b64decode(part.text) == PDF[:4]
    assert part.headers["Content-Range"] == f"bytes 0-3/{len(PDF)}"
    tail = fetch(byte_range="bytes=-5")
    assert base64.b64decode(tail.text) == PDF[-5:]
    assert fetch(if_match=None).status_code == 428
    assert fetch(if_match="0" * 64).status_code == 412
    unsatisfiable = fetch(byte_range=f"bytes={len(PDF) + 10}-")
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["Content-Range"] == f"bytes */{len(PDF)}"
    assert fetch(resource="att-999999").status_code == 404
    anonymous = client.get(
        f"/instance/{procedure.cui_uuid}/document/att-{attachment.id}",
        headers={"If-Match": attachment.sha256},
    )
    assert anonymous.status_code == 401


def test_without_configuration_the_callbacks_let_nobody_in(session, app, wired, filed, monkeypatch):
    from portale.external import ssu_inbound_from_env

    monkeypatch.setitem(app.config, "SSU_INBOUND", ssu_inbound_from_env(app.config, environ={}))
    world, procedure, authority = filed
    response = call(app, wired, "request_cdss", cui_of(procedure))
    assert response.status_code == 503
    assert "cdss_requested" not in kinds(session, procedure)
