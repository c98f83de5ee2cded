"""Fees as catalogue data: amounts computed from answers by declarative rules, municipal
overrides, and the loader refusing wrong amounts with the file and the field named."""

from __future__ import annotations

import shutil

import pytest
import yaml

from portale.catalogue.fees import DUE_ACT, DUE_FILING, compute_fees, payable, total_cents
from portale.catalogue.loader import DATA_DIR, CatalogueError, load_catalogue

TORINO = "001272"
MONCALIERI = "001156"


@pytest.fixture(scope="module")
def shipped():
    return {s.code: s.spec for s in load_catalogue()}


def amounts(spec, answers, municipality, due=None):
    return {
        line.code: line.amount_cents for line in compute_fees(spec, answers, municipality, due=due)
    }


def test_outdoor_seating_fee_follows_the_area_band_and_the_historic_centre_flag(shipped):
    dehors = shipped["AUT_DEHORS"]
    assert amounts(dehors, {"superficie": "12"}, MONCALIERI, DUE_FILING) == {
        "bollo_domanda": 1600,
        "diritti_istruttoria": 5000,
    }
    assert amounts(dehors, {"superficie": "20"}, MONCALIERI)["diritti_istruttoria"] == 5000
    assert amounts(dehors, {"superficie": "20,5"}, MONCALIERI)["diritti_istruttoria"] == 8000
    assert amounts(dehors, {"superficie": "300"}, MONCALIERI)["diritti_istruttoria"] == 12000
    centre = {"superficie": "35", "centro_storico": True}
    assert amounts(dehors, centre, MONCALIERI)["diritti_istruttoria"] == 8000 + 3000
    (line,) = [
        x for x in compute_fees(dehors, centre, MONCALIERI) if x.code == "diritti_istruttoria"
    ]
    assert line.basis == (
        "Superficie occupata (m²) 35: fascia fino a 50",
        "Area nel centro storico: + 30,00 €",
    )


def test_a_municipality_overrides_amounts_but_never_the_stamp_duty(shipped):
    dehors = shipped["AUT_DEHORS"]
    torino = amounts(dehors, {"superficie": "35", "centro_storico": True}, TORINO)
    assert torino["diritti_istruttoria"] == 9000 + 4000
    assert torino["bollo_domanda"] == 1600 and torino["bollo_concessione"] == 1600
    assert amounts(shipped["SCIA_VICINATO"], {}, TORINO) == {"diritti_segreteria": 6000}
    assert amounts(shipped["SCIA_VICINATO"], {}, MONCALIERI) == {"diritti_segreteria": 5000}


def test_fees_fall_due_at_filing_on_request_or_on_the_act(shipped):
    dehors = shipped["AUT_DEHORS"]
    lines = compute_fees(dehors, {"superficie": "10"}, MONCALIERI)
    assert {x.code: x.due for x in lines} == {
        "bollo_domanda": "filing",
        "diritti_istruttoria": "filing",
        "bollo_concessione": "act",
        "canone_unico": "request",
    }
    at_filing = payable(compute_fees(dehors, {"superficie": "10"}, MONCALIERI, due=DUE_FILING))
    assert total_cents(at_filing) == 6600
    assert [x.code for x in compute_fees(dehors, {}, MONCALIERI, due=DUE_ACT)] == [
        "bollo_concessione"
    ]
    # The municipal fee of zero is not something to pay.
    assert "canone_unico" not in {x.code for x in payable(lines)}
    assert all(x.legal_basis for x in lines)


def test_a_missing_or_unreadable_answer_keeps_the_base_amount(shipped):
    dehors = shipped["AUT_DEHORS"]
    assert amounts(dehors, {}, MONCALIERI)["diritti_istruttoria"] == 5000
    assert amounts(dehors, {"superficie": "tanti"}, MONCALIERI)["diritti_istruttoria"] == 5000


# --- the loader -------------------------------------------------------------------------------


def _catalogue_with(tmp_path, edit):
    shutil.copy(DATA_DIR / "_defaults.yaml", tmp_path / "_defaults.yaml")
    raw = yaml.safe_load((DATA_DIR / "occupazione_suolo_dehors.yaml").read_text())
    edit(raw)
    (tmp_path / "dehors.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    return tmp_path


def _fee(raw, code):
    return next(f for f in raw["fees"] if f["code"] == code)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda raw: _fee(raw, "diritti_istruttoria").update(amount_cents=50.5),
            "dehors.yaml: fees[1] (diritti_istruttoria).amount_cents: 50.5 is not of type 'integer'",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria").update(amount_cents=-100),
            "fees[1] (diritti_istruttoria).amount_cents: -100 is less than the minimum of 0",
        ),
        (
            lambda raw: _fee(raw, "bollo_domanda").update(amount_cents=0),
            "dehors.yaml: fees[0] (bollo_domanda).amount_cents: the stamp duty must be more than 0",
        ),
        (
            lambda raw: _fee(raw, "bollo_domanda").update(overrides={TORINO: {"amount_cents": 1}}),
            "dehors.yaml: fees[0] (bollo_domanda).overrides: the stamp duty is a state tax",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria")["tiers"].update(field="durata"),
            "fees[1] (diritti_istruttoria).tiers.field: 'durata' is a select field",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria")["tiers"]["brackets"].reverse(),
            "fees[1] (diritti_istruttoria).tiers.brackets: the last band has no up_to",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria")["tiers"]["brackets"][1].update(up_to=10),
            "tiers.brackets: up_to must grow from one band to the next",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria")["surcharges"][0]["when"].update(
                field="nessuno"
            ),
            "surcharges[0].when depends on unknown field 'nessuno'",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria")["overrides"][TORINO]["tiers"]["brackets"][
                0
            ].update(amount_cents="sessanta"),
            "overrides.001272.tiers.brackets[0].amount_cents: 'sessanta' is not of type 'integer'",
        ),
        (
            lambda raw: raw["fees"].append(dict(_fee(raw, "bollo_domanda"))),
            "fees[4] (bollo_domanda).code: duplicate fee code 'bollo_domanda'",
        ),
        (
            lambda raw: _fee(raw, "diritti_istruttoria").update(due="subito"),
            "fees[1] (diritti_istruttoria).due: 'subito' is not one of",
        ),
    ],
)
def test_wrong_fees_are_refused_naming_file_and_field(tmp_path, edit, message):
    with pytest.raises(CatalogueError) as error:
        load_catalogue(_catalogue_with(tmp_path, edit))
    assert message in str(error.value)
