"""Attachment checks by content: what a file really is, whatever its name says."""

from __future__ import annotations

import pytest

from portale.uploads import detect_kind, safe_filename
from tests.integration.test_procedures_support import JPEG, P7M_B64, P7M_DER, PDF, PNG


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "pdf"),
        (PNG, "png"),
        (JPEG, "jpeg"),
        (P7M_DER, "p7m"),
        (P7M_B64, "p7m"),
        (b"-----BEGIN PKCS7-----\n" + P7M_B64 + b"-----END PKCS7-----\n", "p7m"),
        (b"MZ\x90\x00 not a document", None),
        (b"hello world", None),
        # DER, but the OID is pkcs7-data (1.2.840.113549.1.7.1), not SignedData
        (bytes.fromhex("301106092a864886f70d010701a0043002020000"), None),
    ],
)
def test_detect_kind(data, kind):
    assert detect_kind(data) == kind


def test_safe_filename_keeps_only_the_last_component():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\pianta.pdf") == "pianta.pdf"
    assert safe_filename("..") == "allegato"
    assert safe_filename("a\x00b.pdf") == "ab.pdf"
