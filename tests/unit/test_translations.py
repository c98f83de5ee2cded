"""Every Italian text shown to users has its English translation, and the catalogue is current."""

from __future__ import annotations

import subprocess
import sys
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


def test_catalogue_contains_every_text_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    missing = _ids(read_po(pot.open("rb"))) - _ids(read_po(PO.open("rb")))
    assert not missing, f"run `make extract-messages` and translate: {sorted(missing)[:10]}"
