"""Catalogue pages as an entrepreneur and an administrator see them."""

from __future__ import annotations

import shutil

import pytest

from portale.catalogue import services
from portale.catalogue.loader import DATA_DIR, load_catalogue
from tests.factories import MunicipalityFactory, UserFactory


@pytest.fixture
def catalogue(session):
    MunicipalityFactory()
    services.sync_catalogue(session, load_catalogue())


def test_search_and_read_a_procedure(client, catalogue):
    page = client.get("/catalogo/?q=insegna&comune=001272").get_data(as_text=True)
    assert "Autorizzazione per l&#39;installazione di un&#39;insegna di esercizio" in page
    assert "Apertura di un esercizio di vicinato" not in page
    detail = client.get("/catalogo/AUT_INSEGNA").get_data(as_text=True)
    assert "D.P.R. 16 dicembre 1992, n. 495, art. 53" in detail
    assert "60 giorni dal ricevimento" in detail
    assert "Imposta di bollo sulla domanda: 16,00\xa0€" in detail
    assert "Bozzetto a colori con dimensioni" in detail
    assert "/pratiche/nuova?tipo=AUT_INSEGNA" in detail


def test_scia_and_silent_assent_are_explained(client, catalogue):
    scia = client.get("/catalogo/SCIA_VICINATO").get_data(as_text=True)
    assert "Puoi iniziare dal giorno della presentazione" in scia
    silent = client.get("/catalogo/AUT_MEDIA_STRUTTURA").get_data(as_text=True)
    assert "la domanda è accolta" in silent and "90 giorni" in silent


def test_unknown_procedure_is_404(client, catalogue):
    assert client.get("/catalogo/NON_ESISTE").status_code == 404


def test_english_titles_when_english_is_chosen(client, catalogue):
    client.post("/lingua", data={"lang": "en"})
    assert "Opening a neighbourhood shop" in client.get("/catalogo/").get_data(as_text=True)


def test_only_administrators_manage_versions(client, session, catalogue, login_as):
    login_as(UserFactory(roles=["clerk"]))
    assert client.get("/catalogo/gestione").status_code == 404


def test_administrator_publishes_a_new_version(client, session, catalogue, login_as, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    path = copy / "autorizzazione_insegna.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("amount_cents: 5000", "amount_cents: 6000"),
        encoding="utf-8",
    )
    services.sync_catalogue(session, load_catalogue(copy))
    login_as(UserFactory(roles=["admin"]))
    page = client.get("/catalogo/gestione/AUT_INSEGNA").get_data(as_text=True)
    assert "Differenze rispetto alla versione pubblicata" in page and "6000" in page
    draft = next(v for v in services.list_versions(session, "AUT_INSEGNA") if v.version == 2)
    client.post(f"/catalogo/gestione/versione/{draft.id}/pubblica")
    assert services.current_version(session, "AUT_INSEGNA").version == 2


def test_fees_show_when_they_fall_due_their_bands_and_the_municipalities_own(client, catalogue):
    page = client.get("/catalogo/AUT_DEHORS").get_data(as_text=True)
    assert "Diritti di istruttoria: 50,00\xa0€" in page
    assert "da pagare alla presentazione" in page
    assert "da pagare prima del rilascio dell'atto" in page
    assert "Importo per fasce" in page and "fino a 20" in page and "oltre 50" in page
    assert "Area nel centro storico" in page
    assert "Importi propri in: Torino" in page
