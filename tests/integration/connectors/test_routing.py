"""Routing: procedure type x municipality -> office, protocol system, authorities to consult."""

from __future__ import annotations

from portale.cases.routing import DISPATCH_JOB, PROTOCOL_JOB, RoutingRule, route
from tests.factories import AuthorityFactory, MunicipalityFactory, OfficeFactory
from tests.integration.connectors.support import file_with, jobs_of

SPEC = {"authorities": ["ASL_R", "VVF_R"]}


def codes(found):
    return [a.code for a in found.authorities]


def test_without_rules_the_catalogue_decides(session):
    AuthorityFactory(code="ASL_R")
    AuthorityFactory(code="VVF_R")
    office = OfficeFactory()
    found = route(
        session, type_code="T", spec=SPEC, municipality="001272", default_office_id=office.id
    )
    assert codes(found) == ["ASL_R", "VVF_R"] and found.office_id == office.id
    assert found.rule_id is None


def test_a_municipality_rule_wins_over_the_general_rule_of_the_type(session):
    for code in ("ASL_R", "VVF_R", "ARPA_R", "PM_R"):
        AuthorityFactory(code=code)
    MunicipalityFactory()
    MunicipalityFactory(istat_code="001156", name="Moncalieri", cadastral_code="F335")
    other_office = OfficeFactory()
    session.add_all(
        [
            RoutingRule(type_code="T", municipality=None, authorities=["PM_R"]),
            RoutingRule(
                type_code="T",
                municipality="001156",
                authorities=["ARPA_R"],
                office_id=other_office.id,
            ),
        ]
    )
    session.commit()
    torino = route(session, type_code="T", spec=SPEC, municipality="001272", default_office_id=1)
    moncalieri = route(
        session, type_code="T", spec=SPEC, municipality="001156", default_office_id=1
    )
    assert codes(torino) == ["PM_R"] and torino.office_id == 1
    assert codes(moncalieri) == ["ARPA_R"] and moncalieri.office_id == other_office.id
    other_type = route(
        session, type_code="U", spec=SPEC, municipality="001156", default_office_id=1
    )
    assert codes(other_type) == ["ASL_R", "VVF_R"]  # no rule for this type: the catalogue


def test_inactive_authorities_are_not_consulted(session):
    AuthorityFactory(code="ASL_R")
    AuthorityFactory(code="VVF_R", active=False)
    found = route(session, type_code="T", spec=SPEC, municipality="001272", default_office_id=1)
    assert codes(found) == ["ASL_R"]


def test_a_filing_queues_its_dispatches_and_its_protocol_registration(
    session, tmp_path, app, wired
):
    asl = AuthorityFactory(code="ASL_R", channel="pec", pec="asl@pec.esempio.it")
    world, procedure = file_with(session, tmp_path, authorities=[asl], protocol_system="protocol")
    [dispatch] = jobs_of(session, procedure, DISPATCH_JOB)
    [protocol] = jobs_of(session, procedure, PROTOCOL_JOB)
    assert dispatch.payload["authority"] == "ASL_R" and dispatch.connector == "pec"
    assert protocol.connector == "protocol" and procedure.cui_uuid in protocol.idempotency_key


def test_the_demo_puts_the_asl_on_ssu_and_torino_on_the_protocol_system(session, fakes):
    from portale.accounts.models import Authority, Office
    from portale.demo import load_demo, wire_demo_fakes

    load_demo(session)
    wire_demo_fakes(session, fakes)
    asl = session.query(Authority).filter_by(code="ASL_TO").one()
    assert asl.channel == "ssu" and asl.ssu_endpoint == fakes.url("authority")
    assert asl.ssu_public_key == fakes.authority_public_key
    assert session.query(Office).filter_by(code="SUAP_TORINO").one().protocol_system == "protocol"
