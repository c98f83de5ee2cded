"""Messages of one CUI to one authority arrive in the order they were queued; other
instances, and other recipients of the same one, never wait for them."""

from __future__ import annotations

from portale.cases import services as backoffice
from portale.cases.routing import DISPATCH_JOB
from portale.outbox import services as outbox
from portale.outbox.models import DONE, GIVEN_UP, QUEUED, RETRYING, OutboxJob
from portale.procedures import services as filing
from portale.storage import LocalStorage
from tests.integration.connectors.support import drain, file_with, jobs_of, make_due, ssu_authority
from tests.integration.test_procedures_support import PDF, VALID_ANSWERS


def conclude(session, procedure):
    backoffice.queue_conclusion_notices(session, procedure, "ended_by_submitter_cancel_requested")
    session.commit()


def test_a_notice_never_overtakes_the_instance_it_is_about(session, app, wired, tmp_path):
    authority = ssu_authority(wired)
    _world, procedure = file_with(session, tmp_path, authorities=[authority], key="one")
    wired.authority.behaviour.mode = "down"
    drain(app)
    [send] = jobs_of(session, procedure, DISPATCH_JOB)
    assert send.status == RETRYING
    conclude(session, procedure)  # the notice is queued while send_instance still waits
    wired.authority.behaviour.mode = "ok"
    drain(app)  # the notice is due, but its instance is not delivered yet
    notice = [j for j in jobs_of(session, procedure, DISPATCH_JOB) if j.id != send.id][0]
    assert notice.status == QUEUED and notice.attempts == 0
    assert wired.authority.received == []
    make_due(session, session.get(OutboxJob, send.id))
    drain(app)
    assert [r.operation for r in wired.authority.received] == ["send_instance", "notify"]
    assert {j.status for j in jobs_of(session, procedure, DISPATCH_JOB)} == {DONE}


def file_again(session, tmp_path, world, key):
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
    return filing.submit_procedure(
        session, storage, draft.id, actor=world.user, idempotency_key=key
    )


def test_unrelated_instances_do_not_wait(session, app, wired, tmp_path):
    authority = ssu_authority(wired)
    world, stuck = file_with(session, tmp_path, authorities=[authority], key="stuck")
    wired.authority.behaviour.mode = "down"
    drain(app)
    [blocked] = jobs_of(session, stuck, DISPATCH_JOB)
    assert blocked.status == RETRYING
    wired.authority.behaviour.mode = "ok"
    other = file_again(session, tmp_path, world, "other")
    drain(app)  # the stuck one's retry is not due yet; the other instance goes at once
    assert jobs_of(session, other, DISPATCH_JOB)[0].status == DONE
    assert [r.body["cui"]["uuid"] for r in wired.authority.received] == [other.cui_uuid]
    assert blocked.ordering_key != jobs_of(session, other, DISPATCH_JOB)[0].ordering_key


def test_a_given_up_message_does_not_block_the_next_forever(session, app, wired, tmp_path):
    authority = ssu_authority(wired)
    _world, procedure = file_with(session, tmp_path, authorities=[authority], key="two")
    [send] = jobs_of(session, procedure, DISPATCH_JOB)
    assert send.ordering_key == f"dispatch:{procedure.cui_uuid}:{authority.code}"
    send.status = GIVEN_UP  # the clerk sees it among the failures and may resend it
    session.commit()
    conclude(session, procedure)
    drain(app)
    assert [r.operation for r in wired.authority.received] == ["notify"]
    assert outbox.PENDING == (QUEUED, "running", RETRYING)
