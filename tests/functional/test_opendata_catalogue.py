"""Open data a catalogue can harvest: the DCAT-AP_IT catalogue, validated with pyshacl, and
the downloads that link back to it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SH

from tests.eventlog_support import build_log

SHAPES = Path(__file__).parents[1] / "shapes" / "dcat-ap-it-mandatory.shapes.ttl"
EU = "http://publications.europa.eu/resource/authority/"
BASE = "http://127.0.0.1:5000"  # the test app's BASE_URL: identifiers never follow the host
VOCABULARIES = ("http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/", "http://xmlns.com/foaf/")
TODAY = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session, tmp_path):
    return build_log(session, tmp_path)


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def catalogue(client, extension="ttl") -> Graph:
    response = client.get(f"/tempi/catalogo.{extension}")
    assert response.status_code == 200
    fmt = {"ttl": "turtle", "jsonld": "json-ld"}[extension]
    return Graph().parse(data=response.get_data(as_text=True), format=fmt)


def shacl(graph: Graph, shapes: Path) -> tuple[bool, str]:
    shapes_graph = Graph().parse(shapes)
    # DCAT-AP's shapes are named after the classes they check (``dcat:Dataset a
    # sh:NodeShape``): SHACL targets a class implicitly only when the shape is also an
    # rdfs:Class, which the shapes leave to their owl:imports of the vocabularies.
    for shape in set(shapes_graph.subjects(RDF.type, SH.NodeShape)):
        if isinstance(shape, URIRef) and str(shape).startswith(VOCABULARIES):
            shapes_graph.add((shape, RDF.type, RDFS.Class))
    conforms, _graph, text = validate(
        graph, shacl_graph=shapes_graph, inference="none", advanced=True
    )
    return conforms, text


def test_the_catalogue_validates_against_the_dcat_ap_it_shapes(client, app, world, frozen):
    assert app.config["BASE_URL"] == BASE
    turtle, jsonld = catalogue(client, "ttl"), catalogue(client, "jsonld")
    assert isomorphic(turtle, jsonld)
    conforms, report = shacl(turtle, SHAPES)
    assert conforms, report
    external = os.environ.get("DCAT_AP_SHAPES")  # e.g. SEMICeu's dcat-ap.shapes.ttl
    if external:
        conforms, report = shacl(turtle, Path(external))
        assert conforms, report


def test_the_shapes_refuse_a_catalogue_missing_a_mandatory_element(client, world, frozen):
    graph = catalogue(client)
    graph.remove((None, DCAT.contactPoint, None))
    graph.remove((None, DCTERMS.license, None))
    conforms, report = shacl(graph, SHAPES)
    assert not conforms
    assert "contactPoint" in report and "license" in report
    external = os.environ.get("DCAT_AP_SHAPES")
    if external:
        graph.remove((None, DCTERMS.title, None))  # mandatory in DCAT-AP itself
        assert not shacl(graph, Path(external))[0]


def test_the_catalogue_names_datasets_publisher_and_vocabularies(client, world, frozen):
    g = catalogue(client)
    (cat,) = g.subjects(RDF.type, DCAT.Catalog)
    assert cat == URIRef(f"{BASE}/tempi/catalogo")
    datasets = set(g.objects(cat, DCAT.dataset))
    identifiers = {str(g.value(d, DCTERMS.identifier)) for d in datasets}
    assert identifiers == {"cmto:tempi-per-comune", "cmto:tempi-di-conclusione"}
    publisher = g.value(cat, DCTERMS.publisher)
    assert str(g.value(publisher, DCTERMS.identifier)) == "cmto"
    assert str(g.value(publisher, FOAF.name)) == "Città metropolitana di Torino"
    # modified on the last day the figures changed: the log's last conclusion or filing
    assert str(g.value(cat, DCTERMS.modified)) >= "2026-03-01"
    for dataset in datasets:
        assert g.value(dataset, DCAT.theme) == URIRef(EU + "data-theme/GOVE")
        assert g.value(dataset, DCTERMS.language) == URIRef(EU + "language/ITA")
        assert str(g.value(dataset, DCTERMS.accrualPeriodicity)).startswith(EU + "frequency/")
        distributions = list(g.objects(dataset, DCAT.distribution))
        formats = {g.value(d, DCTERMS.format) for d in distributions}
        assert formats == {URIRef(EU + "file-type/CSV"), URIRef(EU + "file-type/JSON")}
        for dist in distributions:
            assert g.value(dist, DCTERMS.license) == URIRef(EU + "licence/CC_BY_4_0")
            url = str(g.value(dist, DCAT.accessURL))
            assert url.startswith(BASE)
            download = client.get(url.removeprefix(BASE))  # every access URL answers
            assert download.status_code == 200, url
            # ...and links back to the catalogue that describes it
            assert f'<{BASE}/tempi/catalogo.ttl>; rel="describedby"' in download.headers["Link"]
            if "json" in download.mimetype:
                described = json.loads(download.get_data(as_text=True))["metadata"]["describedBy"]
                assert described["dataset"] == str(dataset)


def test_the_catalogue_answers_by_content_negotiation_and_says_no_to_other_formats(
    client, world, frozen
):
    assert client.get("/tempi/catalogo").mimetype == "text/turtle"
    response = client.get("/tempi/catalogo", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    assert json.loads(response.get_data(as_text=True))
    assert client.get("/tempi/catalogo.xml").status_code == 404


def test_an_installation_names_its_own_publisher(app, client, world, frozen):
    app.config.update(
        OPENDATA_PUBLISHER_IPA="c_l219",
        OPENDATA_PUBLISHER_NAME="Comune di Torino",
        BASE_URL="https://imprese.example.it",
    )
    g = catalogue(client)
    (cat,) = g.subjects(RDF.type, DCAT.Catalog)
    assert cat == URIRef("https://imprese.example.it/tempi/catalogo")
    ids = {str(o) for d in g.objects(cat, DCAT.dataset) for o in g.objects(d, DCTERMS.identifier)}
    assert ids == {"c_l219:tempi-per-comune", "c_l219:tempi-di-conclusione"}
    assert shacl(g, SHAPES)[0]
