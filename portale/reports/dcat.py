"""The open-data catalogue as DCAT-AP_IT RDF, the profile dati.gov.it harvests.

DCAT-AP_IT (AgID, the Italian profile of the European DCAT-AP) describes a catalogue, its
datasets and their distributions. This module builds that graph with rdflib and serialises it
as Turtle or JSON-LD; ``/tempi/catalogo.ttl`` and ``/tempi/catalogo.jsonld`` publish it at a
stable address built from ``BASE_URL`` (never from the request's host, so a harvester always
sees the same identifiers).

What the profile makes mandatory, and where it comes from here:

- catalogue (``dcatapit:Catalog``): title, description, publisher, modified date, homepage,
  language and its datasets;
- dataset (``dcatapit:Dataset``): identifier (``<IPA code>:<name>``, as the profile asks),
  title, description, modified date, theme, update frequency, rights holder, contact point,
  publisher, language, keywords, temporal coverage and distributions;
- distribution (``dcatapit:Distribution``): format, access and download URL, licence, title;
- publisher and rights holder (``dcatapit:Agent``) carry the administration's IPA code
  (``dct:identifier``) and name; the contact point is a ``dcatapit:Organization`` (vCard);
- theme, language, format, frequency and licence are URIs of the EU vocabularies
  (publications.europa.eu authority tables); the licence is also typed with ADMS's licence
  type, as DCAT-AP_IT's ``dcatapit:LicenseDocument`` asks.

Each distribution's own response links back here (``Link: <...>; rel="describedby"``), and
the JSON distribution names its dataset's URI in its ``metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
THEME_GOVERNMENT = URIRef(EU + "data-theme/GOVE")
LANGUAGE_ITALIAN = URIRef(EU + "language/ITA")
FREQUENCY_CONTINUOUS = URIRef(EU + "frequency/CONT")
LICENCE_CC_BY_4 = URIRef(EU + "licence/CC_BY_4_0")
LICENCE_TYPE_ATTRIBUTION = URIRef("http://purl.org/adms/licencetype/Attribution")
FILE_TYPES = {"CSV": URIRef(EU + "file-type/CSV"), "JSON": URIRef(EU + "file-type/JSON")}
IANA = "https://www.iana.org/assignments/media-types/"

TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
CATALOGUE_PATH = "/tempi/catalogo"


@dataclass(frozen=True)
class Organisation:
    """An administration as DCAT-AP_IT names it: its IPA code and its name."""

    ipa_code: str
    name: str


@dataclass(frozen=True)
class CatalogueSettings:
    base_url: str  # the portal's public address, without a trailing slash
    publisher: Organisation
    rights_holder: Organisation
    contact_name: str
    contact_email: str

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class DistributionInfo:
    format: str  # a key of FILE_TYPES
    media_type: str  # e.g. text/csv
    path: str  # the download's path on the portal
    title: str
    description: str


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # the dataset's short name, stable: part of its URI and identifier
    title: str
    description: str
    keywords: tuple[str, ...]
    distributions: tuple[DistributionInfo, ...]
    landing_path: str  # the page a person reads it on


@dataclass(frozen=True)
class CatalogueContent:
    title: str
    description: str
    datasets: tuple[DatasetInfo, ...]
    issued: date  # the first day the portal published data
    modified: date  # the last day the figures changed
    coverage: tuple[date, date] | None  # the first and last day of filing covered


def dataset_uri(settings: CatalogueSettings, name: str) -> str:
    return settings.url(f"{CATALOGUE_PATH}/{name}")


def catalogue_uri(settings: CatalogueSettings) -> str:
    return settings.url(CATALOGUE_PATH)


def agent_uri(settings: CatalogueSettings, who: Organisation) -> str:
    return settings.url(f"{CATALOGUE_PATH}/ente/{who.ipa_code}")


def _agent(graph: Graph, settings: CatalogueSettings, who: Organisation) -> URIRef:
    # An IRI, as DCAT-AP asks of publishers; the IPA code is its dct:identifier.
    node = URIRef(agent_uri(settings, who))
    graph.add((node, RDF.type, DCATAPIT.Agent))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, DCTERMS.identifier, Literal(who.ipa_code)))
    graph.add((node, FOAF.name, Literal(who.name, lang="it")))
    return node


def _contact(graph: Graph, settings: CatalogueSettings) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, DCATAPIT.Organization))
    graph.add((node, RDF.type, VCARD.Organization))
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, VCARD.fn, Literal(settings.contact_name, lang="it")))
    graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{settings.contact_email}")))
    return node


def _licence(graph: Graph) -> URIRef:
    graph.add((LICENCE_CC_BY_4, RDF.type, DCATAPIT.LicenseDocument))
    graph.add((LICENCE_CC_BY_4, RDF.type, DCTERMS.LicenseDocument))
    graph.add((LICENCE_CC_BY_4, DCTERMS.type, LICENCE_TYPE_ATTRIBUTION))
    graph.add(
        (
            LICENCE_CC_BY_4,
            FOAF.name,
            Literal("Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)", lang="it"),
        )
    )
    return LICENCE_CC_BY_4


def _vocabulary_terms(graph: Graph) -> None:
    graph.add((THEME_GOVERNMENT, RDF.type, SKOS.Concept))
    graph.add((LANGUAGE_ITALIAN, RDF.type, DCTERMS.LinguisticSystem))
    graph.add((FREQUENCY_CONTINUOUS, RDF.type, DCTERMS.Frequency))
    for uri in FILE_TYPES.values():
        graph.add((uri, RDF.type, DCTERMS.MediaTypeOrExtent))


def _page(graph: Graph, url: str) -> URIRef:
    node = URIRef(url)
    graph.add((node, RDF.type, FOAF.Document))
    return node


def _media_type(graph: Graph, media_type: str) -> URIRef:
    node = URIRef(IANA + media_type)
    graph.add((node, RDF.type, DCTERMS.MediaType))
    graph.add((node, RDF.type, DCTERMS.MediaTypeOrExtent))
    return node


def _period(graph: Graph, start: date, end: date) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, DCTERMS.PeriodOfTime))
    graph.add((node, DCAT.startDate, Literal(start, datatype=XSD.date)))
    graph.add((node, DCAT.endDate, Literal(end, datatype=XSD.date)))
    return node


def catalogue_graph(settings: CatalogueSettings, content: CatalogueContent) -> Graph:
    """The DCAT-AP_IT graph of the catalogue ``content`` describes."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("dcatapit", DCATAPIT)
    g.bind("foaf", FOAF)
    g.bind("vcard", VCARD)
    _vocabulary_terms(g)
    licence = _licence(g)
    modified = Literal(content.modified, datatype=XSD.date)

    catalogue = URIRef(catalogue_uri(settings))
    g.add((catalogue, RDF.type, DCATAPIT.Catalog))
    g.add((catalogue, RDF.type, DCAT.Catalog))
    g.add((catalogue, DCTERMS.title, Literal(content.title, lang="it")))
    g.add((catalogue, DCTERMS.description, Literal(content.description, lang="it")))
    g.add((catalogue, DCTERMS.publisher, _agent(g, settings, settings.publisher)))
    g.add((catalogue, DCTERMS.modified, modified))
    g.add((catalogue, DCTERMS.issued, Literal(content.issued, datatype=XSD.date)))
    g.add((catalogue, DCTERMS.language, LANGUAGE_ITALIAN))
    g.add((catalogue, FOAF.homepage, _page(g, settings.url("/tempi/"))))
    g.add((catalogue, DCAT.themeTaxonomy, URIRef(EU + "data-theme")))

    for info in content.datasets:
        dataset = URIRef(dataset_uri(settings, info.name))
        g.add((catalogue, DCAT.dataset, dataset))
        g.add((dataset, RDF.type, DCATAPIT.Dataset))
        g.add((dataset, RDF.type, DCAT.Dataset))
        g.add((dataset, DCTERMS.identifier, Literal(f"{settings.publisher.ipa_code}:{info.name}")))
        g.add((dataset, DCTERMS.title, Literal(info.title, lang="it")))
        g.add((dataset, DCTERMS.description, Literal(info.description, lang="it")))
        g.add((dataset, DCTERMS.modified, modified))
        g.add((dataset, DCTERMS.issued, Literal(content.issued, datatype=XSD.date)))
        g.add((dataset, DCAT.theme, THEME_GOVERNMENT))
        g.add((dataset, DCTERMS.accrualPeriodicity, FREQUENCY_CONTINUOUS))
        g.add((dataset, DCTERMS.language, LANGUAGE_ITALIAN))
        g.add((dataset, DCTERMS.rightsHolder, _agent(g, settings, settings.rights_holder)))
        g.add((dataset, DCTERMS.publisher, _agent(g, settings, settings.publisher)))
        g.add((dataset, DCAT.contactPoint, _contact(g, settings)))
        g.add((dataset, DCAT.landingPage, _page(g, settings.url(info.landing_path))))
        for keyword in info.keywords:
            g.add((dataset, DCAT.keyword, Literal(keyword, lang="it")))
        if content.coverage:
            g.add((dataset, DCTERMS.temporal, _period(g, *content.coverage)))
        for dist in info.distributions:
            node = URIRef(f"{dataset}/{dist.format.lower()}")
            url = URIRef(settings.url(dist.path))
            g.add((dataset, DCAT.distribution, node))
            g.add((node, RDF.type, DCATAPIT.Distribution))
            g.add((node, RDF.type, DCAT.Distribution))
            g.add((node, DCTERMS.title, Literal(dist.title, lang="it")))
            g.add((node, DCTERMS.description, Literal(dist.description, lang="it")))
            g.add((node, DCTERMS.format, FILE_TYPES[dist.format]))
            g.add((node, DCAT.mediaType, _media_type(g, dist.media_type)))
            g.add((node, DCAT.accessURL, url))
            g.add((node, DCAT.downloadURL, url))
            g.add((node, DCTERMS.license, licence))
            g.add((node, DCTERMS.modified, modified))
    return g


def serialise(graph: Graph, media_type: str) -> str:
    if media_type == JSON_LD:
        return graph.serialize(format="json-ld", indent=1)
    return graph.serialize(format="turtle")
