"""Reference data: ISTAT municipalities, ATECO 2025 codes and seed organisations."""

from __future__ import annotations

from sqlalchemy import func, select

from portale.accounts.models import Authority, Office
from portale.reference.models import AtecoCode, Municipality
from portale.reference.services import load_reference_data


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_load_gives_the_metro_area_codes_and_organisations_and_is_idempotent(session) -> None:  # type: ignore[no-untyped-def]
    first = load_reference_data(session)

    assert _count(session, Municipality) == 312
    torino = session.get(Municipality, "001272")
    assert (torino.name, torino.cadastral_code, torino.province_abbr) == ("Torino", "L219", "TO")
    assert torino.is_capital
    assert (torino.patron_month, torino.patron_day) == (6, 24)
    moncalieri = session.get(Municipality, "001156")
    assert moncalieri.name == "Moncalieri"
    # Patron days ISTAT does not publish stay unknown rather than invented.
    assert (moncalieri.patron_month, moncalieri.patron_day) == (None, None)
    assert "ISTAT" in first[0].source

    # ATECO 2025: sections, divisions and the codes of the demo (retail, bars).
    bar = session.get(AtecoCode, "56.30.01")
    assert bar is not None and "bar" in bar.title_it.lower()
    assert bar.edition == "2025" and bar.parent_code == "56.30.0"
    assert session.get(AtecoCode, "G").level == "section"
    assert session.get(AtecoCode, "47").level == "division"
    assert session.get(AtecoCode, "47.11.02") is not None
    # 56.30.00 was a 2007 code; the 2025 edition split it.
    assert session.get(AtecoCode, "56.30.00") is None

    codes = {a.code: a.kind for a in session.scalars(select(Authority))}
    assert codes == {"ASL_TO": "ASL", "VVF_TO": "VVF", "ARPA_PIE": "ARPA", "PM_TO": "PM"}
    torino_office = session.scalar(select(Office).where(Office.code == "SUAP_TORINO"))
    assert [m.istat_code for m in torino_office.municipalities] == ["001272"]
    south = session.scalar(select(Office).where(Office.code == "SUAP_ASSOCIATO_SUD"))
    assert sorted(m.name for m in south.municipalities) == ["Moncalieri", "Nichelino", "Trofarello"]

    counts = (_count(session, Municipality), _count(session, AtecoCode), _count(session, Office))
    again = load_reference_data(session)
    assert (
        _count(session, Municipality),
        _count(session, AtecoCode),
        _count(session, Office),
    ) == counts
    assert [r.inserted for r in again] == [0, 0, 0]


def test_reload_keeps_an_administrators_changes(session) -> None:  # type: ignore[no-untyped-def]
    load_reference_data(session)
    office = session.scalar(select(Office).where(Office.code == "SUAP_TORINO"))
    office.name = "Sportello imprese Torino"
    torino = session.get(Municipality, "001272")
    torino.name = "Torino (modificato)"
    session.commit()

    load_reference_data(session)
    session.expire_all()
    # Offices belong to the administrators once loaded; ISTAT names are refreshed from ISTAT.
    assert session.get(Office, office.id).name == "Sportello imprese Torino"
    assert session.get(Municipality, "001272").name == "Torino"
