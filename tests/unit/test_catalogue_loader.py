"""The catalogue files: every shipped type loads; a bad file is refused with a clear message."""

from __future__ import annotations

import shutil

import pytest

from portale.catalogue.loader import DATA_DIR, CatalogueError, load_catalogue

REQUIRED_TYPES = {
    "SCIA_VICINATO": "SCIA",
    "SCIA_SOMMINISTRAZIONE": "SCIA",
    "AUT_MEDIA_STRUTTURA": "SILENZIO-ASSENSO",
    "NOTIFICA_SANITARIA": "SCIA",
    "AUT_DEHORS": "AUTORIZZAZIONE",
    "AUT_INSEGNA": "AUTORIZZAZIONE",
    "SCIA_SUBINGRESSO": "SCIA",
    "COM_CESSAZIONE": "COMUNICAZIONE",
}


def test_every_shipped_type_loads_with_its_regime_and_legal_basis():
    specs = {s.code: s for s in load_catalogue()}
    assert {code: specs[code].regime for code in REQUIRED_TYPES} == REQUIRED_TYPES
    for spec in specs.values():
        assert spec.spec["legal_basis"] and spec.title_it and spec.title_en
    assert (
        specs["AUT_MEDIA_STRUTTURA"].term_days == 90 and specs["AUT_MEDIA_STRUTTURA"].silent_assent
    )
    assert specs["SCIA_VICINATO"].control_window_days == 60
    assert specs["COM_CESSAZIONE"].term_days is None
    assert "n. 114, art. 7" in " ".join(specs["SCIA_VICINATO"].spec["legal_basis"])


def test_labels_are_flattened_for_the_form_with_english_beside():
    spec = {s.code: s for s in load_catalogue()}["SCIA_VICINATO"].spec
    field = next(f for f in spec["fields"] if f["name"] == "settore")
    assert field["label"] == "Settore merceologico" and field["label_en"] == "Product sector"
    assert spec["times"]["max_gg_int_resp"] == 30  # regime default merged in


@pytest.fixture
def catalogue_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_regime_is_refused_naming_the_file(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "regime: COMUNICAZIONE", "regime: DENUNCIA")
    with pytest.raises(CatalogueError, match=r"cessazione.yaml: regime: 'DENUNCIA' is not one of"):
        load_catalogue(catalogue_copy)


def test_condition_on_a_missing_field_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "subingresso.yaml",
        "show_if: {field: tipo_atto",
        "show_if: {field: tipo_contratto",
    )
    with pytest.raises(CatalogueError, match="depends on unknown field 'tipo_contratto'"):
        load_catalogue(catalogue_copy)


def test_unknown_dossier_path_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "cessazione.yaml",
        "dossier_path: company.name",
        "dossier_path: company.nome",
    )
    with pytest.raises(CatalogueError, match="unknown dossier path 'company.nome'"):
        load_catalogue(catalogue_copy)


def test_duplicate_codes_are_refused(catalogue_copy):
    shutil.copy(catalogue_copy / "cessazione.yaml", catalogue_copy / "cessazione_copia.yaml")
    with pytest.raises(CatalogueError, match="duplicate procedure codes: COM_CESSAZIONE"):
        load_catalogue(catalogue_copy)


def test_broken_yaml_is_refused(catalogue_copy):
    (catalogue_copy / "rotto.yaml").write_text("code: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError, match="rotto.yaml: not valid YAML"):
        load_catalogue(catalogue_copy)
