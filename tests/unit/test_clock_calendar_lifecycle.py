"""Rome dates across the DST change, and the lifecycle's allowed transitions per regime."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from portale.clock import lifecycle as lc
from portale.clock.calendar import local_date, today_in_rome


def test_just_after_midnight_in_rome_is_already_the_next_day_in_summer():
    # 22:30 UTC on 28 March 2026 is 23:30 in Rome (CET); 22:30 UTC on 29 March is 00:30 (CEST).
    assert local_date(datetime(2026, 3, 28, 22, 30, tzinfo=UTC)) == date(2026, 3, 28)
    assert local_date(datetime(2026, 3, 29, 22, 30, tzinfo=UTC)) == date(2026, 3, 30)


def test_today_follows_a_frozen_clock_across_the_autumn_change():
    with time_machine.travel(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), tick=False):
        assert today_in_rome() == date(2026, 10, 25)  # 00:30 CEST
    with time_machine.travel(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), tick=False):
        assert today_in_rome() == date(2026, 10, 25)  # 23:30 CET


@pytest.mark.parametrize("regime", lc.REGIMES)
def test_withdraw_is_allowed_while_open_and_not_after_the_end(regime):
    assert lc.apply(lc.PRESENTED, "withdraw", regime) == lc.ENDED_BY_SUBMITTER_CANCEL_REQUESTED
    with pytest.raises(lc.TransitionNotAllowed):
        lc.apply(lc.ENDED_BY_POSITIVE_OUTCOME, "withdraw", regime)


def test_silent_assent_only_where_the_regime_has_it():
    assert lc.apply(lc.PRESENTED, "silent_assent", lc.REGIME_SILENT_ASSENT) == (
        lc.ENDED_BY_PROCEEDING_TIME_EXPIRED
    )
    with pytest.raises(lc.TransitionNotAllowed) as error:
        lc.apply(lc.PRESENTED, "silent_assent", lc.REGIME_AUTHORISATION)
    assert "silent_assent" in str(error.value)


def test_scia_conformation_then_answer_reopens():
    state = lc.apply(lc.PRESENTED, "request_conformation", lc.REGIME_SCIA)
    assert state == lc.ENDED_BY_CONFORMATION_REQUESTED
    assert lc.apply(state, "conform", lc.REGIME_SCIA) == lc.INTEGRATED
    with pytest.raises(lc.TransitionNotAllowed):
        lc.apply(lc.PRESENTED, "approve", lc.REGIME_SCIA)


def test_notice_is_acknowledged_never_approved():
    assert "acknowledge" in lc.allowed_actions(lc.PRESENTED, lc.REGIME_NOTICE)
    assert "approve" not in lc.allowed_actions(lc.PRESENTED, lc.REGIME_NOTICE)


def test_integration_cannot_be_requested_while_one_is_pending():
    with pytest.raises(lc.TransitionNotAllowed):
        lc.apply(lc.INTEGRATION_REQUESTED, "request_integration", lc.REGIME_AUTHORISATION)


def test_derive_state_folds_events_and_ignores_non_state_ones():
    kinds = [
        "presented",
        "assigned",
        "opinion_requested",
        "integration_requested",
        "integrated",
        "opinion_given",
        "ended_by_positive_outcome",
    ]
    assert lc.derive_state(kinds) == lc.ENDED_BY_POSITIVE_OUTCOME
    assert lc.derive_state(["presented", "conformation_requested"]) == (
        lc.ENDED_BY_CONFORMATION_REQUESTED
    )


def test_every_state_is_an_ssu_state():
    import pathlib

    import yaml

    spec = pathlib.Path(__file__).resolve().parents[2].parent / "shared/specs/ssu/json-schema"
    if not spec.exists():
        pytest.skip("SSU specification not present beside the repository")
    schema = yaml.safe_load((spec / "instance-descriptor-schema.yaml").read_text())
    enum = schema["properties"]["instance_status"]["items"]["properties"]["state"]["enum"]
    assert set(lc.STATES) == {s.strip() for s in enum}


def test_ball_holder_follows_events():
    ball = None
    for kind, expected in [
        ("presented", "office"),
        ("opinion_requested", "authority"),
        ("opinion_given", "office"),
        ("integration_requested", "company"),
        ("integrated", "office"),
        ("ended_by_positive_outcome", None),
    ]:
        ball = lc.ball_after(kind, ball)
        assert ball == expected
