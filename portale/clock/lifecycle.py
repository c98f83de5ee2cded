"""Lifecycle of an instance: SSU states, the portal's event kinds, and allowed transitions.

States are exactly those of the SSU ``instance-descriptor-schema.yaml``. The state of a
procedure is the fold of its events with :func:`derive_state`; an action not allowed in the
current state raises :class:`TransitionNotAllowed` with a reason the clerk can read.
"""

from __future__ import annotations

from collections.abc import Iterable

# -- SSU states ------------------------------------------------------------------------------
STARTED = "started"
PRESENTED = "presented"
CORRECTION_REQUESTED = "correction_requested"
CORRECTED = "corrected"
REFUSED = "refused"
INTEGRATION_REQUESTED = "integration_requested"
INTEGRATED = "integrated"
ENDED_BY_INTEGRATION_TIMES_EXPIRED = "ended_by_integration_times_expired"
CDSS_CONVENED = "cdss_convened"
ENDED_BY_SUSPENSION_REQUESTED = "ended_by_suspension_requested"
ENDED_BY_CONFORMATION_REQUESTED = "ended_by_conformation_requested"
ENDED_BY_PROCEEDING_TIME_EXPIRED = "ended_by_proceeding_time_expired"
ENDED_BY_POSITIVE_OUTCOME = "ended_by_positive_outcome"
ENDED_BY_NEGATIVE_OUTCOME = "ended_by_negative_outcome"
ENDED_BY_SUBMITTER_CANCEL_REQUESTED = "ended_by_submitter_cancel_requested"

STATES = (
    STARTED,
    PRESENTED,
    CORRECTION_REQUESTED,
    CORRECTED,
    REFUSED,
    INTEGRATION_REQUESTED,
    INTEGRATED,
    ENDED_BY_INTEGRATION_TIMES_EXPIRED,
    CDSS_CONVENED,
    ENDED_BY_SUSPENSION_REQUESTED,
    ENDED_BY_CONFORMATION_REQUESTED,
    ENDED_BY_PROCEEDING_TIME_EXPIRED,
    ENDED_BY_POSITIVE_OUTCOME,
    ENDED_BY_NEGATIVE_OUTCOME,
    ENDED_BY_SUBMITTER_CANCEL_REQUESTED,
)
FINAL_STATES = frozenset(
    {
        REFUSED,
        ENDED_BY_INTEGRATION_TIMES_EXPIRED,
        ENDED_BY_SUSPENSION_REQUESTED,
        ENDED_BY_PROCEEDING_TIME_EXPIRED,
        ENDED_BY_POSITIVE_OUTCOME,
        ENDED_BY_NEGATIVE_OUTCOME,
        ENDED_BY_SUBMITTER_CANCEL_REQUESTED,
    }
)

# -- regimes (SSU administrative_regime) -----------------------------------------------------
REGIME_SCIA = "SCIA"
REGIME_AUTHORISATION = "AUTORIZZAZIONE"
REGIME_SILENT_ASSENT = "SILENZIO-ASSENSO"
REGIME_NOTICE = "COMUNICAZIONE"
REGIMES = (REGIME_SCIA, REGIME_AUTHORISATION, REGIME_SILENT_ASSENT, REGIME_NOTICE)

# -- event kinds that do not change the SSU state --------------------------------------------
ASSIGNED = "assigned"
OPINION_REQUESTED = "opinion_requested"
OPINION_GIVEN = "opinion_given"
DISPATCH_QUEUED = "dispatch_queued"
DISPATCH_SENT = "dispatch_sent"
DISPATCH_ACKNOWLEDGED = "dispatch_acknowledged"
DISPATCH_FAILED = "dispatch_failed"
DISPATCH_GIVEN_UP = "dispatch_given_up"
CDSS_OUTCOME = "cdss_outcome"
REFUSAL_NOTICE_SENT = "refusal_notice_sent"
REFUSAL_OBSERVATIONS_RECEIVED = "refusal_observations_received"
CONFORMATION_REQUESTED = "conformation_requested"
CONFORMATION_ANSWERED = "conformation_answered"
PROHIBITION_ORDERED = "prohibition_ordered"
SCIA_WINDOW_CLOSED = "scia_window_closed"
# Payments (pagoPA): waiting for the company to pay is the company's time; it does not
# suspend the legal term.
PAYMENT_REQUESTED = "payment_requested"
PAYMENT_PUBLISHED = "payment_published"
PAYMENT_RECEIVED = "payment_received"
PAYMENT_CANCELLED = "payment_cancelled"
PAYMENT_EXPIRED = "payment_expired"
PAYMENT_REFUND_DUE = "payment_refund_due"
PAYMENT_CLOSING = frozenset({PAYMENT_RECEIVED, PAYMENT_CANCELLED, PAYMENT_EXPIRED})

# -- actions and the transitions they make ---------------------------------------------------
OPEN_STATES = frozenset({PRESENTED, CORRECTED, INTEGRATED, CDSS_CONVENED})
_COMMON: dict[tuple[str, str], str] = {
    (STARTED, "present"): PRESENTED,
    (PRESENTED, "request_correction"): CORRECTION_REQUESTED,
    (CORRECTION_REQUESTED, "correct"): CORRECTED,
    (PRESENTED, "refuse"): REFUSED,
    (CORRECTION_REQUESTED, "refuse"): REFUSED,
    (CORRECTED, "refuse"): REFUSED,
    (INTEGRATION_REQUESTED, "integrate"): INTEGRATED,
    (INTEGRATION_REQUESTED, "expire_integration"): ENDED_BY_INTEGRATION_TIMES_EXPIRED,
}
for _state in (PRESENTED, CORRECTED, INTEGRATED):
    _COMMON[(_state, "request_integration")] = INTEGRATION_REQUESTED
for _state in (
    PRESENTED,
    CORRECTED,
    INTEGRATED,
    CDSS_CONVENED,
    CORRECTION_REQUESTED,
    INTEGRATION_REQUESTED,
):
    _COMMON[(_state, "withdraw")] = ENDED_BY_SUBMITTER_CANCEL_REQUESTED


def _decisions(*actions: tuple[str, str]) -> dict[tuple[str, str], str]:
    return {(state, action): target for state in OPEN_STATES for action, target in actions}


_AUTHORISATION = {
    **_COMMON,
    **{(s, "convene_cdss"): CDSS_CONVENED for s in (PRESENTED, CORRECTED, INTEGRATED)},
    **_decisions(("approve", ENDED_BY_POSITIVE_OUTCOME), ("reject", ENDED_BY_NEGATIVE_OUTCOME)),
}
_SILENT_ASSENT = {
    **_AUTHORISATION,
    **_decisions(("silent_assent", ENDED_BY_PROCEEDING_TIME_EXPIRED)),
}
_SCIA = {
    **_COMMON,
    **{(s, "convene_cdss"): CDSS_CONVENED for s in (PRESENTED, CORRECTED, INTEGRATED)},
    **_decisions(
        ("request_conformation", ENDED_BY_CONFORMATION_REQUESTED),
        ("prohibit", ENDED_BY_NEGATIVE_OUTCOME),
        ("suspend", ENDED_BY_SUSPENSION_REQUESTED),
        ("close_window", ENDED_BY_POSITIVE_OUTCOME),
    ),
    (ENDED_BY_CONFORMATION_REQUESTED, "conform"): INTEGRATED,
    (ENDED_BY_CONFORMATION_REQUESTED, "prohibit"): ENDED_BY_NEGATIVE_OUTCOME,
    (ENDED_BY_CONFORMATION_REQUESTED, "withdraw"): ENDED_BY_SUBMITTER_CANCEL_REQUESTED,
}
_NOTICE = {
    (STARTED, "present"): PRESENTED,
    (PRESENTED, "refuse"): REFUSED,
    (PRESENTED, "acknowledge"): ENDED_BY_POSITIVE_OUTCOME,
    (PRESENTED, "withdraw"): ENDED_BY_SUBMITTER_CANCEL_REQUESTED,
}

TRANSITIONS: dict[str, dict[tuple[str, str], str]] = {
    REGIME_SCIA: _SCIA,
    REGIME_AUTHORISATION: _AUTHORISATION,
    REGIME_SILENT_ASSENT: _SILENT_ASSENT,
    REGIME_NOTICE: _NOTICE,
}

# The event kind an action records is the state it leads to, except where named here.
ACTION_EVENT = {
    "request_conformation": CONFORMATION_REQUESTED,
    "conform": CONFORMATION_ANSWERED,
}


class TransitionNotAllowed(ValueError):
    def __init__(self, state: str, action: str, regime: str) -> None:
        super().__init__(f"action {action!r} is not allowed in state {state!r} for {regime}")
        self.state, self.action, self.regime = state, action, regime


def allowed_actions(state: str, regime: str) -> list[str]:
    return sorted(action for (s, action) in TRANSITIONS[regime] if s == state)


def apply(state: str, action: str, regime: str) -> str:
    try:
        return TRANSITIONS[regime][(state, action)]
    except KeyError:
        raise TransitionNotAllowed(state, action, regime) from None


# Events that set a state directly, for folding a log into the current state.
_STATE_OF_EVENT = {s: s for s in STATES} | {
    CONFORMATION_REQUESTED: ENDED_BY_CONFORMATION_REQUESTED,
    CONFORMATION_ANSWERED: INTEGRATED,
}


def derive_state(kinds: Iterable[str]) -> str:
    """The current state after a chronological sequence of event kinds."""
    state = STARTED
    for kind in kinds:
        state = _STATE_OF_EVENT.get(kind, state)
    return state


# -- who holds the ball ------------------------------------------------------------------------
BALL_COMPANY = "company"
BALL_OFFICE = "office"
BALL_AUTHORITY = "authority"
BALL_DISPATCH = "dispatch"

_BALL_AFTER = {
    PRESENTED: BALL_OFFICE,
    CORRECTION_REQUESTED: BALL_COMPANY,
    CORRECTED: BALL_OFFICE,
    INTEGRATION_REQUESTED: BALL_COMPANY,
    INTEGRATED: BALL_OFFICE,
    REFUSAL_NOTICE_SENT: BALL_COMPANY,
    REFUSAL_OBSERVATIONS_RECEIVED: BALL_OFFICE,
    CONFORMATION_REQUESTED: BALL_COMPANY,
    CONFORMATION_ANSWERED: BALL_OFFICE,
    OPINION_REQUESTED: BALL_AUTHORITY,
    OPINION_GIVEN: BALL_OFFICE,
    CDSS_CONVENED: BALL_AUTHORITY,
    CDSS_OUTCOME: BALL_OFFICE,
    DISPATCH_QUEUED: BALL_DISPATCH,
    DISPATCH_ACKNOWLEDGED: BALL_OFFICE,
    DISPATCH_GIVEN_UP: BALL_OFFICE,
}


def ball_after(kind: str, current: str | None) -> str | None:
    """Who must act after an event of ``kind``; None once the procedure has ended."""
    if kind in FINAL_STATES:
        return None
    return _BALL_AFTER.get(kind, current)
