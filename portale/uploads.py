"""What an uploaded file really is, read from its bytes (never from its name or MIME type).

PDF, PNG and JPEG by their magic numbers; a signed file (``.p7m``) as a DER/BER PKCS#7
SignedData ContentInfo, raw or Base64/PEM-armoured as some signing tools write it.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from pathlib import PurePosixPath

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "pdf": _l("PDF"),
    "p7m": _l("file firmato digitalmente (.p7m)"),
    "png": _l("immagine PNG"),
    "jpeg": _l("immagine JPEG"),
}


MIME_TYPES = {
    "pdf": "application/pdf",
    "p7m": "application/pkcs7-mime",
    "png": "image/png",
    "jpeg": "image/jpeg",
}


EXTENSIONS = {"pdf": "pdf", "p7m": "p7m", "png": "png", "jpg": "jpeg", "jpeg": "jpeg"}


SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2


def _der_length(data: bytes, pos: int) -> tuple[int, int] | None:
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:  # indefinite length (BER, used by some signing tools)
        return -1, pos + 1
    if count > 4 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def is_pkcs7_signed_data(data: bytes) -> bool:
    """A DER/BER ContentInfo whose contentType is the PKCS#7 SignedData OID."""
    if len(data) < 15 or data[0] != 0x30:
        return False
    header = _der_length(data, 1)
    if header is None:
        return False
    length, pos = header
    if length > 0 and pos + length > len(data):
        return False
    if data[pos : pos + 1] != b"\x06":
        return False
    oid = _der_length(data, pos + 1)
    if oid is None:
        return False
    oid_length, oid_pos = oid
    return data[oid_pos : oid_pos + oid_length] == SIGNED_DATA_OID


def _base64_body(data: bytes) -> bytes | None:
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        lines = [ln for ln in text.splitlines() if not ln.startswith(b"-----")]
        text = b"".join(lines)
    compact = re.sub(rb"\s+", b"", text)
    if not compact or not re.fullmatch(rb"[A-Za-z0-9+/=]+", compact[:4096]):
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def detect_kind(data: bytes) -> str | None:
    """What the bytes really are: ``pdf``, ``p7m``, ``png``, ``jpeg``, or ``None``."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if is_pkcs7_signed_data(data):
        return "p7m"
    decoded = _base64_body(data)
    if decoded is not None and is_pkcs7_signed_data(decoded):
        return "p7m"
    return None


def safe_filename(filename: str) -> str:
    """The last component of the name the user gave, for display only (never a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C"
    )
    name = name.strip().lstrip(".") or "allegato"
    return name[-200:]
