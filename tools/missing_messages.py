"""Print the user-facing texts in the code that the English catalogue lacks, as PO entries
with an empty msgstr, ready to translate and append to messages.po.

Appending (rather than re-running ``pybabel update``) keeps concurrent branches mergeable:
``.gitattributes`` merges messages.po with the union driver. ``make extract-messages``
rewrites the whole catalogue in order when no branch is open.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "portale/translations/en/LC_MESSAGES/messages.po"


def _ids(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(handle) if m.id}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def missing_ids() -> list[str]:
    """Texts marked for translation in the code that the English catalogue lacks."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
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
        found = _ids(pot)
    return sorted(set(found) - set(_ids(PO)))


def main() -> int:
    for msgid in missing_ids():
        print(f'msgid {_quote(msgid)}\nmsgstr ""\n')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
