"""``portale demo load``: one login per role and a demo company, loaded idempotently."""

from __future__ import annotations

from sqlalchemy import func, select
from stdnum.it import codicefiscale, iva

from portale.accounts.models import User
from portale.cases import acts
from portale.demo import DEMO_PASSWORD, load_demo
from portale.dossier.access import accessible_companies
from portale.dossier.models import Company, DossierChange, Mandate
from portale.reference.models import AtecoCode


def _counts(session) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (User, Company, Mandate, DossierChange)
    )


def test_demo_load_twice_gives_one_of_everything_and_every_demo_user_logs_in(
    client, session
) -> None:  # type: ignore[no-untyped-def]
    logins = load_demo(session)
    first = _counts(session)
    assert load_demo(session) == logins
    assert _counts(session) == first

    assert {role for _e, _p, role in logins} == {
        "entrepreneur",
        "intermediary",
        "clerk",
        "authority_officer",
        "analyst",
        "admin",
        "stakeholder",
    }
    for email, password, _role in logins:
        assert password == DEMO_PASSWORD
        response = client.post("/account/accedi", data={"email": email, "password": password})
        assert response.status_code == 302, email
        client.post("/account/esci")

    clerk = session.scalar(select(User).where(User.email == "suap@demo.it"))
    assert clerk.office.code == "SUAP_TORINO"
    officer = session.scalar(select(User).where(User.email == "asl@demo.it"))
    assert officer.authority.code == "ASL_TO"


def test_demo_company_is_valid_and_reachable_by_owner_and_intermediary(session) -> None:  # type: ignore[no-untyped-def]
    load_demo(session)
    owner = session.scalar(select(User).where(User.email == "impresa@demo.it"))
    intermediary = session.scalar(select(User).where(User.email == "intermediario@demo.it"))
    [company] = accessible_companies(session, owner)
    assert accessible_companies(session, intermediary) == [company]

    assert iva.is_valid(company.vat_number)
    assert codicefiscale.is_valid(company.representatives[0].tax_code)
    assert company.office_municipality == "001272"
    assert sorted(u.municipality for u in company.local_units) == ["001156", "001272"]
    for unit in company.local_units:  # the codes exist in the ATECO 2025 edition
        assert session.get(AtecoCode, unit.ateco_code).edition == "2025"

    # Provenance: every initial value shows as typed by the entrepreneur.
    name_change = session.scalar(
        select(DossierChange).where(
            DossierChange.company_id == company.id, DossierChange.field_path == "name"
        )
    )
    assert (name_change.source, name_change.actor_id) == ("user", owner.id)
    assert name_change.new_value == company.name


def test_demo_procedures_approved_after_integration_and_by_silent_assent(app, session) -> None:  # type: ignore[no-untyped-def]
    from portale.cases.models import Procedure
    from portale.clock import lifecycle as lc
    from portale.seed.procedures import load_demo_procedures
    from portale.storage import storage_from_config

    load_demo(session)
    users = {u.email: u for u in session.scalars(select(User))}
    by_role = {"entrepreneur": users["impresa@demo.it"], "clerk": users["suap@demo.it"]}
    company = session.scalar(select(Company).where(Company.name.like("Bottega%")))
    storage = storage_from_config(app.config)
    load_demo_procedures(session, storage, by_role, company)
    filed = session.scalar(select(func.count()).select_from(Procedure))
    load_demo_procedures(session, storage, by_role, company)
    assert session.scalar(select(func.count()).select_from(Procedure)) == filed
    sign = session.scalar(select(Procedure).where(Procedure.idempotency_key == "demo:aut-insegna"))
    shop = session.scalar(
        select(Procedure).where(Procedure.idempotency_key == "demo:media-struttura")
    )
    assert sign.state == lc.ENDED_BY_POSITIVE_OUTCOME
    assert [a.kind for a in acts.acts_of(session, sign.id)] == ["approval"]
    assert shop.state == lc.ENDED_BY_PROCEEDING_TIME_EXPIRED
