"""A strict check of an XES document against IEEE 1849-2016, for the event-log tests.

It checks what the standard's XML schema checks (element order in ``log``, ``trace`` and
``event``; attribute elements with a ``key`` and a ``value`` of the right XML Schema type:
xs:string, xs:dateTime, xs:long, xs:double, xs:boolean; extensions and classifiers with
their required attributes) and what the standard's text adds: every prefixed key belongs to
a declared extension, global attributes are present in every trace or event, classifier keys
are global event attributes, and the standard extensions' keys have their declared types.
Raises AssertionError with the first problem found. No tests here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

ATTRIBUTE_TAGS = ("string", "date", "int", "float", "boolean", "id", "list")
NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
NAME = re.compile(r"^[A-Za-z_:][\w.\-:]*$")
LONG = re.compile(r"^[+-]?\d+$")
DOUBLE = re.compile(r"^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN)$")
DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# keys of the standard extensions used here, with their types (IEEE 1849-2016, clause 7)
STANDARD_KEYS = {
    "concept:name": "string",
    "concept:instance": "string",
    "time:timestamp": "date",
    "lifecycle:model": "string",
    "lifecycle:transition": "string",
    "org:resource": "string",
    "org:role": "string",
    "org:group": "string",
}
LIFECYCLE_STANDARD = {
    "schedule",
    "assign",
    "withdraw",
    "reassign",
    "start",
    "suspend",
    "resume",
    "pi_abort",
    "ate_abort",
    "complete",
    "autoskip",
    "manualskip",
    "unknown",
}


def _check_value(tag: str, value: str | None, where: str) -> None:
    assert value is not None, f"{where}: attribute without value"
    if tag == "date":
        assert DATETIME.match(value), f"{where}: {value!r} is not an xs:dateTime"
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif tag == "int":
        assert LONG.match(value) and -(2**63) <= int(value) < 2**63, f"{where}: not xs:long"
    elif tag == "float":
        assert DOUBLE.match(value), f"{where}: {value!r} is not an xs:double"
    elif tag == "boolean":
        assert value in ("true", "false", "1", "0"), f"{where}: {value!r} is not xs:boolean"


def check_attributes(element: ET.Element, prefixes: set[str], where: str) -> dict[str, str]:
    """Check the attribute children of ``element``; ``{key: tag}`` of those found."""
    found: dict[str, str] = {}
    for child in element:
        if child.tag not in ATTRIBUTE_TAGS:
            continue
        key = child.get("key")
        assert key and NAME.match(key), f"{where}: attribute key {key!r} is not an xs:Name"
        assert set(child.attrib) <= {"key", "value"}, f"{where}/{key}: unknown XML attributes"
        if ":" in key:
            prefix = key.split(":", 1)[0]
            assert prefix in prefixes, f"{where}/{key}: extension {prefix!r} not declared"
        if key in STANDARD_KEYS:
            assert child.tag == STANDARD_KEYS[key], f"{where}/{key}: must be a {child.tag}"
        if child.tag == "list":
            assert "value" not in child.attrib, f"{where}/{key}: a list has no value"
        else:
            _check_value(child.tag, child.get("value"), f"{where}/{key}")
        check_attributes(child, prefixes, f"{where}/{key}")  # nested attributes
        found[key] = child.tag
    return found


def _order(element: ET.Element, allowed: tuple[tuple[str, ...], ...], where: str) -> None:
    """Children appear in the order of the groups of ``allowed`` (each group repeatable)."""
    position = 0
    for child in element:
        while position < len(allowed) and child.tag not in allowed[position]:
            position += 1
        assert position < len(allowed), f"{where}: <{child.tag}> out of place"


XES_NAMESPACE = "http://www.xes-standard.org/"
XES_FEATURES = {"nested-attributes"}  # the optional features IEEE 1849-2016 names


def check_xes(text: str) -> ET.Element:
    """Parse and check an XES document; returns the ``log`` element, its tags stripped of the
    standard's namespace (which every element must be in) so callers can say ``iter("trace")``."""
    log = ET.fromstring(text)
    assert log.tag == f"{{{XES_NAMESPACE}}}log", "the root must be <log> in the XES namespace"
    for element in log.iter():
        assert element.tag.startswith(f"{{{XES_NAMESPACE}}}"), f"{element.tag} not in XES ns"
        element.tag = element.tag[len(XES_NAMESPACE) + 2 :]
    assert "xes.features" in log.attrib, "xes.features must be declared"
    assert set(log.get("xes.features", "").split()) <= XES_FEATURES, "unknown xes.features"
    assert DECIMAL.match(log.get("xes.version", "")), "xes.version must be an xs:decimal"
    assert set(log.attrib) <= {"xes.version", "xes.features"}, "unknown <log> attributes"
    _order(
        log,
        (("extension",), ("global",), ("classifier",), ATTRIBUTE_TAGS, ("trace",), ("event",)),
        "log",
    )
    prefixes = set()
    for ext in log.findall("extension"):
        assert set(ext.attrib) == {"name", "prefix", "uri"}, "extension attributes"
        assert NCNAME.match(ext.get("name", "")) and NCNAME.match(ext.get("prefix", ""))
        assert ext.get("uri", "").startswith("http"), "extension uri"
        prefixes.add(ext.get("prefix"))
    globals_: dict[str, dict[str, str]] = {"trace": {}, "event": {}}
    for glob in log.findall("global"):
        scope = glob.get("scope", "event")
        assert scope in globals_, f"global scope {scope!r}"
        assert all(c.tag in ATTRIBUTE_TAGS for c in glob), "only attributes in <global>"
        globals_[scope].update(check_attributes(glob, prefixes, f"global[{scope}]"))
    for classifier in log.findall("classifier"):
        assert NCNAME.match(classifier.get("name", "")), "classifier name is an xs:NCName"
        for key in classifier.get("keys", "").split():
            assert key in globals_["event"], f"classifier key {key!r} is not a global"
    check_attributes(log, prefixes, "log")
    for t, trace in enumerate(log.findall("trace")):
        _order(trace, (ATTRIBUTE_TAGS, ("event",)), f"trace {t}")
        attrs = check_attributes(trace, prefixes, f"trace {t}")
        for key, tag in globals_["trace"].items():
            assert attrs.get(key) == tag, f"trace {t}: global {key} missing"
        for e, event in enumerate(trace.findall("event")):
            assert all(c.tag in ATTRIBUTE_TAGS for c in event), "only attributes in <event>"
            attrs = check_attributes(event, prefixes, f"trace {t} event {e}")
            for key, tag in globals_["event"].items():
                assert attrs.get(key) == tag, f"trace {t} event {e}: global {key} missing"
            transition = event.find("string[@key='lifecycle:transition']")
            if transition is not None:
                assert transition.get("value") in LIFECYCLE_STANDARD, "lifecycle transition"
    return log


def attribute(element: ET.Element, key: str) -> str | None:
    for child in element:
        if child.get("key") == key:
            return child.get("value")
    return None
