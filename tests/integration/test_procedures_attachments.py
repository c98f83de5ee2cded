"""Attachments of a draft: checked by content and size, stored by hash under generated keys."""

from __future__ import annotations

import hashlib

import pytest

from portale.procedures import services
from portale.storage import LocalStorage
from tests.integration.test_procedures_support import P7M_B64, PDF, PNG, make_world


@pytest.fixture
def draft_world(session):
    world = make_world(session)
    draft = services.start_draft(
        session,
        actor=world.user,
        company_id=world.company.id,
        local_unit_id=world.unit.id,
        type_code=world.version.code,
    )
    return world, draft


def test_pdf_that_is_really_a_png_is_rejected_naming_the_slot(session, tmp_path, draft_world):
    world, draft = draft_world
    storage = LocalStorage(tmp_path)
    with pytest.raises(services.AttachmentRejected) as error:
        services.add_attachment(
            session,
            storage,
            draft.id,
            actor=world.user,
            slot="planimetria",
            filename="planimetria.pdf",
            data=PNG,
        )
    assert "Planimetria dei locali" in error.value.message
    # the photo slot accepts PNG, but not a PNG dressed up as a PDF
    with pytest.raises(services.AttachmentRejected) as error:
        services.add_attachment(
            session,
            storage,
            draft.id,
            actor=world.user,
            slot="foto",
            filename="insegna.pdf",
            data=PNG,
        )
    assert "Fotografia dell'insegna" in error.value.message and ".pdf" in error.value.message
    assert list(tmp_path.rglob("*")) == [] or all(p.is_dir() for p in tmp_path.rglob("*"))


def test_oversize_file_is_rejected(session, tmp_path, draft_world):
    world, draft = draft_world
    big = PDF + b"0" * (60 * 1024)  # the slot allows 0.05 MB
    with pytest.raises(services.AttachmentRejected) as error:
        services.add_attachment(
            session,
            LocalStorage(tmp_path),
            draft.id,
            actor=world.user,
            slot="planimetria",
            filename="p.pdf",
            data=big,
        )
    assert (
        "supera il limite" in error.value.message
        and "Planimetria dei locali" in error.value.message
    )


def test_signed_p7m_in_base64_is_accepted_and_hashed(session, tmp_path, draft_world):
    world, draft = draft_world
    storage = LocalStorage(tmp_path)
    attachment = services.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="planimetria.pdf.p7m",
        data=P7M_B64,
    )
    assert attachment.kind == "p7m"
    assert attachment.sha256 == hashlib.sha256(P7M_B64).hexdigest()
    assert storage.read(attachment.storage_key) == P7M_B64


def test_path_traversal_filename_is_stored_safely(session, tmp_path, draft_world):
    world, draft = draft_world
    root = tmp_path / "storage"
    storage = LocalStorage(root)
    attachment = services.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="../../../../tmp/evil.pdf",
        data=PDF,
    )
    assert attachment.filename == "evil.pdf"
    assert "evil" not in attachment.storage_key
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored and all(root in p.parents for p in stored)


def test_a_new_file_replaces_the_old_one_in_its_slot(session, tmp_path, draft_world):
    world, draft = draft_world
    storage = LocalStorage(tmp_path)
    first = services.add_attachment(
        session, storage, draft.id, actor=world.user, slot="planimetria", filename="a.pdf", data=PDF
    )
    second = services.add_attachment(
        session,
        storage,
        draft.id,
        actor=world.user,
        slot="planimetria",
        filename="b.pdf",
        data=PDF + b"%v2",
    )
    assert [a.filename for a in draft.attachments] == ["b.pdf"]
    assert not storage.exists(first.storage_key) and storage.exists(second.storage_key)
