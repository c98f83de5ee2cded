"""The catalogue files: every shipped type loads with the terms of the law; a bad file is refused
with a message that names the file and the problem."""

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


@pytest.fixture(scope="module")
def shipped():
    return {s.code: s for s in load_catalogue()}


def test_every_shipped_type_loads_with_its_regime_and_legal_basis(shipped):
    assert {code: shipped[code].regime for code in REQUIRED_TYPES} == REQUIRED_TYPES
    for spec in shipped.values():
        assert spec.spec["legal_basis"] and spec.title_it and spec.title_en
        assert spec.spec["description"] and spec.spec["description_en"]
    laws = {code: " ".join(s.spec["legal_basis"]) for code, s in shipped.items()}
    assert "n. 114, art. 4 c. 1 lett. d (soglie) e art. 7" in laws["SCIA_VICINATO"]
    assert (
        "art. 64 c. 1" in laws["SCIA_SOMMINISTRAZIONE"]
        and "n. 287" in laws["SCIA_SOMMINISTRAZIONE"]
    )
    assert "n. 114, art. 8" in laws["AUT_MEDIA_STRUTTURA"]
    assert "852/2004, art. 6" in laws["NOTIFICA_SANITARIA"]
    assert "n. 285 (Codice della strada), art. 23" in laws["AUT_INSEGNA"]


def test_terms_are_those_of_the_law(shipped):
    media = shipped["AUT_MEDIA_STRUTTURA"]
    assert (media.term_days, media.silent_assent) == (90, True)  # D.Lgs. 114/1998 art. 8 c. 4
    for code in ("SCIA_VICINATO", "SCIA_SOMMINISTRAZIONE", "SCIA_SUBINGRESSO"):
        # L. 241/1990 art. 19 c. 3: effective at filing, 60 days to check
        assert shipped[code].control_window_days == 60 and not shipped[code].silent_assent
    assert shipped["AUT_INSEGNA"].term_days == 60  # D.P.R. 495/1992 art. 53
    assert not shipped["AUT_INSEGNA"].silent_assent
    assert shipped["COM_CESSAZIONE"].term_days is None
    # The term of the outdoor seating depends on the municipal regulation: the file says so.
    assert "regolamento" in shipped["AUT_DEHORS"].spec["local_rules"]


def test_fees_are_in_cents_and_municipal_ones_are_marked(shipped):
    insegna = shipped["AUT_INSEGNA"].spec["fees"]
    assert [f["amount_cents"] for f in insegna if "bollo" in f["label"].lower()] == [1600, 1600]
    for spec in shipped.values():
        for fee in spec.spec["fees"]:
            if "segreteria" in fee["label"].lower():
                assert fee["set_by_municipality"], (spec.code, fee)


def test_authorities_are_referenced_by_the_seeded_codes(shipped):
    used = {code for s in shipped.values() for code in s.spec["authorities"]}
    assert used <= {"ASL_TO", "VVF_TO", "ARPA_PIE", "PM_TO"}
    assert shipped["NOTIFICA_SANITARIA"].spec["authorities"] == ["ASL_TO"]
    assert shipped["NOTIFICA_SANITARIA"].spec["ssu"]["competent_administration"] == "ASL"


def test_labels_are_flattened_for_the_form_with_english_beside(shipped):
    spec = shipped["SCIA_VICINATO"].spec
    field = next(f for f in spec["fields"] if f["name"] == "settore")
    assert field["label"] == "Settore merceologico" and field["label_en"] == "Product sector"
    assert field["options"][0] == {"value": "alimentare", "label": "Alimentare", "label_en": "Food"}
    assert spec["times"]["max_gg_int_resp"] == 30  # regime default merged in
    assert spec["times"]["max_gg_proc"] == 60


def test_type_times_override_the_regime_defaults(shipped):
    times = shipped["AUT_MEDIA_STRUTTURA"].spec["times"]
    assert times["max_gg_proc"] == 90 and times["max_gg_correction"] == 10


def test_image_attachments_accept_the_image_formats(shipped):
    insegna = {a["code"]: a for a in shipped["AUT_INSEGNA"].spec["attachments"]}
    assert insegna["fotografie"]["accept"] == ["png", "jpeg", "pdf"]


def test_conditional_attachment_keeps_its_condition(shipped):
    slots = {a["code"]: a for a in shipped["NOTIFICA_SANITARIA"].spec["attachments"]}
    report = slots["referto_potabilita"]
    assert report["required"] is False
    assert report["required_if"] == {"field": "fonte_autonoma", "equals": True}


# --- invalid files ---------------------------------------------------------------------------


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


def test_schema_error_says_which_field(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "type: date", "type: datetime")
    with pytest.raises(
        CatalogueError, match=r"cessazione.yaml: fields\[3\] \(data_cessazione\)\.type: 'datetime'"
    ):
        load_catalogue(catalogue_copy)


def test_several_schema_errors_are_reported_together(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "version: 1", "version: 0")
    _edit(catalogue_copy / "cessazione.yaml", "valid_from: 2025-04-01", "valid_from: domani")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(catalogue_copy)
    assert "valid_from: 'domani' is not a 'date'" in str(caught.value)
    assert "version: 0 is less than the minimum of 1" in str(caught.value)


def test_impossible_date_is_refused(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "valid_from: 2025-04-01", "valid_from: 2025-02-30")
    with pytest.raises(CatalogueError, match="cessazione.yaml: not valid YAML"):
        load_catalogue(catalogue_copy)


def test_options_on_a_field_that_is_not_a_select_are_refused(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "    type: select\n", "    type: text\n")
    with pytest.raises(CatalogueError, match="field 'motivo' has options but is of type 'text'"):
        load_catalogue(catalogue_copy)


def test_condition_on_a_missing_field_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "subingresso.yaml",
        "show_if: {field: tipo_atto",
        "show_if: {field: tipo_contratto",
    )
    with pytest.raises(CatalogueError, match="depends on unknown field 'tipo_contratto'"):
        load_catalogue(catalogue_copy)


def test_condition_on_an_option_that_does_not_exist_is_refused(catalogue_copy):
    # A typo here would hide the field for ever: the loader catches it.
    _edit(
        catalogue_copy / "subingresso.yaml",
        "show_if: {field: tipo_atto, equals: affitto}",
        "show_if: {field: tipo_atto, equals: affito}",
    )
    with pytest.raises(CatalogueError, match="'tipo_atto' has no option 'affito'"):
        load_catalogue(catalogue_copy)


def test_checkbox_condition_must_compare_with_a_boolean(catalogue_copy):
    _edit(
        catalogue_copy / "scia_somministrazione.yaml",
        "show_if: {field: superalcolici, equals: true}",
        "show_if: {field: superalcolici, equals: 'si'}",
    )
    with pytest.raises(CatalogueError, match="'superalcolici' is a checkbox"):
        load_catalogue(catalogue_copy)


def test_condition_needs_exactly_one_comparison(catalogue_copy):
    _edit(
        catalogue_copy / "subingresso.yaml",
        "show_if: {field: tipo_atto, equals: affitto}",
        "show_if: {field: tipo_atto}",
    )
    with pytest.raises(CatalogueError, match="give exactly one of 'equals' or 'in'"):
        load_catalogue(catalogue_copy)


def test_conditions_in_a_loop_are_refused(catalogue_copy):
    path = catalogue_copy / "scia_somministrazione.yaml"
    _edit(
        path,
        "{name: superalcolici, type: checkbox, required: false,",
        "{name: superalcolici, type: checkbox, required: false, "
        "show_if: {field: orario_superalcolici, equals: x},",
    )
    with pytest.raises(CatalogueError, match="show_if conditions form a loop"):
        load_catalogue(catalogue_copy)


def test_attachment_condition_on_a_missing_field_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "notifica_sanitaria.yaml",
        "required_if: {field: fonte_autonoma",
        "required_if: {field: pozzo",
    )
    with pytest.raises(
        CatalogueError,
        match="attachment 'referto_potabilita' required_if depends on unknown field 'pozzo'",
    ):
        load_catalogue(catalogue_copy)


def test_duplicate_field_names_are_refused(catalogue_copy):
    _edit(catalogue_copy / "cessazione.yaml", "{name: note,", "{name: motivo,")
    with pytest.raises(CatalogueError, match="cessazione.yaml: duplicate field names: motivo"):
        load_catalogue(catalogue_copy)


def test_unknown_dossier_path_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "cessazione.yaml",
        "dossier_path: company.name",
        "dossier_path: company.nome",
    )
    with pytest.raises(CatalogueError, match="unknown dossier path 'company.nome'"):
        load_catalogue(catalogue_copy)


def test_silent_assent_outside_its_regime_is_refused(catalogue_copy):
    _edit(
        catalogue_copy / "autorizzazione_insegna.yaml",
        "silent_assent: false",
        "silent_assent: true",
    )
    with pytest.raises(CatalogueError, match="has regime SILENZIO-ASSENSO"):
        load_catalogue(catalogue_copy)


def test_control_window_only_for_scia(catalogue_copy):
    _edit(
        catalogue_copy / "autorizzazione_insegna.yaml",
        "silent_assent: false",
        "silent_assent: false\ncontrol_window_days: 60",
    )
    with pytest.raises(CatalogueError, match="control_window_days is only for regime SCIA"):
        load_catalogue(catalogue_copy)


def test_scia_window_and_term_must_agree(catalogue_copy):
    _edit(
        catalogue_copy / "scia_vicinato.yaml",
        "control_window_days: 60",
        "control_window_days: 60\ntimes: {max_gg_proc: 30}",
    )
    with pytest.raises(CatalogueError, match=r"control_window_days \(60\) differs"):
        load_catalogue(catalogue_copy)


def test_a_typo_in_the_regime_defaults_is_refused(catalogue_copy):
    _edit(catalogue_copy / "_defaults.yaml", "max_gg_concl_send: 45", "max_gg_conclusion: 45")
    with pytest.raises(CatalogueError, match="_defaults.yaml: AUTORIZZAZIONE: Additional prop"):
        load_catalogue(catalogue_copy)


def test_an_authorisation_with_no_term_anywhere_is_refused(catalogue_copy):
    _edit(catalogue_copy / "_defaults.yaml", "  max_gg_proc: 60            # D.P.R.", "  # D.P.R.")
    _edit(catalogue_copy / "autorizzazione_insegna.yaml", "times: {max_gg_proc: 60}\n", "")
    with pytest.raises(CatalogueError, match="regime AUTORIZZAZIONE needs a term"):
        load_catalogue(catalogue_copy)


def test_duplicate_codes_are_refused_naming_both_files(catalogue_copy):
    shutil.copy(catalogue_copy / "cessazione.yaml", catalogue_copy / "cessazione_copia.yaml")
    with pytest.raises(
        CatalogueError,
        match=r"duplicate procedure codes: COM_CESSAZIONE \(cessazione.yaml, cessazione_copia.yaml\)",
    ):
        load_catalogue(catalogue_copy)


def test_broken_yaml_is_refused(catalogue_copy):
    (catalogue_copy / "rotto.yaml").write_text("code: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError, match="rotto.yaml: not valid YAML"):
        load_catalogue(catalogue_copy)


def test_a_file_that_is_not_a_mapping_is_refused(catalogue_copy):
    (catalogue_copy / "lista.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="lista.yaml: expected a mapping"):
        load_catalogue(catalogue_copy)


def test_an_empty_directory_is_refused(tmp_path):
    with pytest.raises(CatalogueError, match="no procedure type files"):
        load_catalogue(tmp_path)
