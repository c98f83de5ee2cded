"""Administration services called directly, without a request."""

from __future__ import annotations

import pytest

from portale.admin import services
from portale.reference.services import load_municipalities
from tests.factories import OfficeFactory, UserFactory


def test_list_users_filters_by_role_and_pages(session) -> None:  # type: ignore[no-untyped-def]
    for n in range(7):
        UserFactory(roles=["analyst"], email=f"analista{n}@esempio.it")
    UserFactory(roles=["entrepreneur"], email="impresa@esempio.it")

    page = services.list_users(session, role="analyst", page=2, per_page=5)
    assert page.total == 7 and page.pages == 2 and not page.has_next
    assert [u.email for u in page.items] == ["analista5@esempio.it", "analista6@esempio.it"]


def test_saving_an_office_refuses_a_municipality_served_elsewhere(session) -> None:  # type: ignore[no-untyped-def]
    load_municipalities(session)
    first = services.save_office(
        session,
        office_id=None,
        data=services.OfficeData(code="a", name="A", municipalities=["001272"]),
    )
    assert services.served_by(session) == {"001272": "A"}
    assert services.served_by(session, except_office=first.id) == {}

    with pytest.raises(services.AdminError) as refused:
        services.save_office(
            session,
            office_id=None,
            data=services.OfficeData(code="B", name="B", municipalities=["001272"]),
        )
    assert refused.value.field == "municipalities"
    assert "Torino (A)" in str(refused.value)
    # re-saving the office that already serves it is fine
    services.save_office(
        session,
        office_id=first.id,
        data=services.OfficeData(code="A", name="A1", municipalities=["001272"]),
    )


def test_deactivating_oneself_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(roles=["admin"])
    with pytest.raises(services.AdminError) as refused:
        services.update_account(
            session,
            actor=admin,
            user_id=admin.id,
            data=services.AccountData(full_name="A", roles={"admin"}, active=False),
        )
    assert refused.value.field == "active"
    clerk = UserFactory()
    office = OfficeFactory()
    services.update_account(
        session,
        actor=admin,
        user_id=clerk.id,
        data=services.AccountData(
            full_name="C", roles={"clerk"}, office_id=office.id, authority_id=99
        ),
    )
    # an authority only belongs to authority officers: not stored for a clerk
    assert (clerk.office_id, clerk.authority_id) == (office.id, None)
