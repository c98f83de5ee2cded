"""Local storage never writes outside its root, whatever the key."""

from __future__ import annotations

import io

import pytest

from portale.storage import LocalStorage, StorageError, new_key


def test_put_open_exists_delete(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    key = new_key("attachments/2026")
    assert storage.put(key, b"abc") == 3
    assert storage.exists(key) and storage.read(key) == b"abc"
    assert storage.put(key + "x", io.BytesIO(b"stream")) == 6
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is fine


@pytest.mark.parametrize(
    "key", ["../evil", "a/../../evil", "/etc/passwd", "a//b", "a/.hidden/..", ""]
)
def test_keys_that_escape_or_are_malformed_are_refused(tmp_path, key):
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(StorageError):
        storage.put(key, b"x")
    assert not (tmp_path / "evil").exists()
