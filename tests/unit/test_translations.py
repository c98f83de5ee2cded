"""Every Italian text shown to users has its English translation, and the catalogue is current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "portale/translations/en/LC_MESSAGES/messages.po"


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_every_message_has_an_english_translation():
    catalog = read_po(PO.open("rb"))
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    assert untranslated == []


def test_catalogue_contains_every_text_in_the_code():
    from tools.missing_messages import missing_ids

    missing = missing_ids()
    assert not missing, f"translate them (tools/missing_messages.py): {missing[:10]}"
