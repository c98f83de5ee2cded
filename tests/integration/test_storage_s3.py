"""S3Storage against a real S3 server (moto's server mode on a local port): same contract as
LocalStorage, and attachments and receipts of a filing land in the bucket when configured."""

from __future__ import annotations

import io
import uuid

import pytest

from portale.storage import S3Storage, StorageError, new_key, storage_from_config
from tests.production_support import free_port, moto_s3_server


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_config(s3_endpoint):
    bucket = f"portale-{uuid.uuid4().hex[:10]}"
    config = {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET": bucket,
        "S3_REGION": "eu-south-1",
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
    }
    storage = storage_from_config(config)
    storage.ensure_bucket()
    return config


def test_put_read_exists_delete_round_trip(s3_config):
    storage = storage_from_config(s3_config)
    key = new_key("attachments/2026/11")
    assert not storage.exists(key)
    assert storage.put(key, b"%PDF-1.4 contenuto") == len(b"%PDF-1.4 contenuto")
    assert storage.exists(key)
    assert storage.read(key) == b"%PDF-1.4 contenuto"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting a missing key is not an error
    with pytest.raises(FileNotFoundError):
        storage.open(key)


def test_streams_are_stored_whole_with_their_size(s3_config):
    storage = storage_from_config(s3_config)
    data = bytes(range(256)) * 40_000  # 10 MB: above boto3's multipart threshold
    key = new_key("attachments/big")
    assert storage.put(key, io.BytesIO(data)) == len(data)
    assert storage.read(key) == data


def test_keys_that_could_escape_are_refused(s3_config):
    storage = storage_from_config(s3_config)
    for bad in ("../x", "a//b", "", "/abs", "a/../b"):
        with pytest.raises(StorageError):
            storage.put(bad, b"x")


def test_prefix_keeps_objects_apart_in_a_shared_bucket(s3_config):
    plain = storage_from_config(s3_config)
    prefixed = storage_from_config({**s3_config, "S3_PREFIX": "comune-torino"})
    key = new_key("receipts")
    prefixed.put(key, b"ricevuta")
    assert prefixed.exists(key) and not plain.exists(key)
    assert plain.read(f"comune-torino/{key}") == b"ricevuta"


def test_one_client_per_setting_is_reused(s3_config):
    assert storage_from_config(s3_config) is storage_from_config(dict(s3_config))
    assert storage_from_config(s3_config) is not storage_from_config(
        {**s3_config, "S3_BUCKET": "altro"}
    )


def test_standard_aws_variables_are_used_without_portal_keys(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aws-env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-env-secret")
    storage = S3Storage(f"b-{uuid.uuid4().hex[:8]}", endpoint_url=s3_endpoint, region="eu-south-1")
    storage.ensure_bucket()
    storage.put("k/1", b"ok")
    assert storage.client._request_signer._credentials.access_key == "aws-env-key"
    assert storage.read("k/1") == b"ok"


def test_settings_come_from_the_environment():
    from portale.config import load_settings

    settings = load_settings(
        {
            "PORTALE_STORAGE_BACKEND": "s3",
            "PORTALE_S3_ENDPOINT_URL": "http://minio:9000",
            "PORTALE_S3_BUCKET": "pui",
            "PORTALE_S3_ACCESS_KEY_ID": "id",
            "PORTALE_S3_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings["STORAGE_BACKEND"] == "s3" and settings["S3_BUCKET"] == "pui"
    assert settings["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert (settings["S3_ACCESS_KEY_ID"], settings["S3_SECRET_ACCESS_KEY"]) == ("id", "secret")
    assert settings["S3_REGION"] == "eu-west-1"


def test_unreachable_server_fails_the_ping():
    storage = S3Storage(
        "portale",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="x",
        secret_access_key="y",
        timeout=1,
    )
    with pytest.raises(Exception):  # noqa: B017 - botocore's connection error
        storage.ping()


def test_filing_puts_attachments_and_the_receipt_in_the_bucket(session, app, s3_config):
    from portale.cases.models import Attachment
    from portale.extensions import db
    from portale.outbox import services
    from portale.procedures import services as filing
    from portale.procedures.receipt import receipt_key
    from tests.integration.test_procedures_support import PDF, VALID_ANSWERS, make_world

    world = make_world(session)
    storage = storage_from_config(s3_config)
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
        session, storage, draft.id, actor=world.user, idempotency_key=f"s3-{uuid.uuid4().hex}"
    )
    [attachment] = session.query(Attachment).filter_by(procedure_id=procedure.id).all()
    assert storage.read(attachment.storage_key) == PDF
    services.drain(db.session_factory, worker="t", config={**app.config, **s3_config})
    assert storage.read(receipt_key(procedure)).startswith(b"%PDF")
