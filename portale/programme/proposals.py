"""Simplification proposals: filing, the status lifecycle, comments, followers, effects.

Who may do what:

- stakeholders (trade associations, professional orders) and analysts file proposals, comment
  on any proposal and follow it;
- only analysts move a proposal along its lifecycle (:data:`TRANSITIONS`), each move with a
  note, recorded as a :class:`ProposalChange`;
- the followers (the author and whoever commented or chose to follow) are told of every
  comment and status change, in the portal and by e-mail (through the outbox);
- nobody here sees a company's procedure: a proposal's figures are aggregates of the summary.

When a proposal is in force, :func:`effect` compares its measure over the procedures filed in
the same length of time before and after the day it went into force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portale.accounts.models import ROLE_ANALYST, ROLE_STAKEHOLDER, Office, User, UserRole
from portale.cases.notify import notify_people
from portale.db import utcnow
from portale.programme.figures import Distribution, distributions
from portale.programme.labels import STATUS_LABELS
from portale.programme.models import (
    ACCEPTED,
    IN_FORCE,
    MEASURES,
    PROPOSED,
    REJECTED,
    STEPS,
    UNDER_REVIEW,
    Proposal,
    ProposalChange,
    ProposalComment,
    ProposalFollower,
)
from portale.reports.filters import ReportFilter

TRANSITIONS: dict[str, frozenset[str]] = {
    PROPOSED: frozenset({UNDER_REVIEW, REJECTED}),
    UNDER_REVIEW: frozenset({ACCEPTED, REJECTED}),
    ACCEPTED: frozenset({IN_FORCE, REJECTED}),
    IN_FORCE: frozenset(),
    REJECTED: frozenset(),
}
# the longest window compared before and after a proposal went into force
EFFECT_WINDOW_DAYS = 180


class ProposalError(ValueError):
    """``errors`` maps a form field to a message for the person."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def can_file(user: User) -> bool:
    return user.has_role(ROLE_ANALYST, ROLE_STAKEHOLDER)


def can_decide(user: User) -> bool:
    return user.has_role(ROLE_ANALYST)


def next_statuses(proposal: Proposal, user: User) -> list[str]:
    if not can_decide(user):
        return []
    return sorted(TRANSITIONS[proposal.status], key=list(TRANSITIONS).index)


def _follow(session: Session, proposal_id: int, user_id: int) -> None:
    if session.get(ProposalFollower, (proposal_id, user_id)) is None:
        session.add(ProposalFollower(proposal_id=proposal_id, user_id=user_id))


def followers(session: Session, proposal_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ProposalFollower.user_id).where(ProposalFollower.proposal_id == proposal_id)
        )
    )


def is_following(session: Session, proposal_id: int, user_id: int) -> bool:
    return session.get(ProposalFollower, (proposal_id, user_id)) is not None


def _tell(session: Session, proposal: Proposal, actor_id: int, subject: str, body: str) -> None:
    people = [u for u in followers(session, proposal.id) if u != actor_id]
    notify_people(
        session, people, subject=subject, body=body, link=f"/programma/proposte/{proposal.id}"
    )


def _validate(
    session: Session,
    title: str,
    body: str,
    type_codes: Iterable[str],
    steps: Iterable[str],
    office_ids: Iterable[int],
    measure: str,
) -> tuple[list[str], list[str], list[Office]]:
    from portale.catalogue.models import ProcedureType

    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = str(_l("Scrivi un titolo."))
    if not body.strip():
        errors["body"] = str(_l("Descrivi la proposta."))
    codes = list(dict.fromkeys(type_codes))
    known = set(session.scalars(select(ProcedureType.code).where(ProcedureType.code.in_(codes))))
    if set(codes) - known:
        errors["type_codes"] = str(_l("Tipo di procedimento sconosciuto."))
    step_list = list(dict.fromkeys(steps))
    if set(step_list) - set(STEPS):
        errors["steps"] = str(_l("Fase sconosciuta."))
    ids = list(dict.fromkeys(office_ids))
    offices = list(session.scalars(select(Office).where(Office.id.in_(ids)))) if ids else []
    if len(offices) != len(ids):
        errors["office_ids"] = str(_l("Sportello sconosciuto."))
    if measure not in MEASURES:
        errors["measure"] = str(_l("Misura sconosciuta."))
    if errors:
        raise ProposalError(errors)
    return codes, step_list, offices


def file_proposal(
    session: Session,
    author: User,
    *,
    title: str,
    body: str,
    type_codes: Iterable[str] = (),
    steps: Iterable[str] = (),
    office_ids: Iterable[int] = (),
    measure: str = "median_net",
) -> Proposal:
    """A new proposal, followed by its author; analysts are told. Commits."""
    if not can_file(author):
        raise PermissionError("only stakeholders and analysts file proposals")
    codes, step_list, offices = _validate(
        session, title, body, type_codes, steps, office_ids, measure
    )
    proposal = Proposal(
        title=title.strip()[:300],
        body=body.strip(),
        type_codes=codes,
        steps=step_list,
        measure=measure,
        author_id=author.id,
        offices=offices,
    )
    session.add(proposal)
    session.flush()
    proposal.changes.append(ProposalChange(to_status=PROPOSED, actor_id=author.id))
    _follow(session, proposal.id, author.id)
    analysts = session.scalars(
        select(UserRole.user_id).where(UserRole.role == ROLE_ANALYST, UserRole.user_id != author.id)
    )
    notify_people(
        session,
        list(analysts),
        subject=str(_l("Nuova proposta di semplificazione: %(title)s", title=proposal.title)),
        body=str(_l("%(name)s ha presentato una proposta.", name=author.full_name)),
        link=f"/programma/proposte/{proposal.id}",
    )
    session.commit()
    return proposal


def change_status(
    session: Session,
    proposal: Proposal,
    actor: User,
    to_status: str,
    *,
    note: str = "",
    in_force_on: date | None = None,
    today: date | None = None,
) -> Proposal:
    """Move the proposal along its lifecycle; followers are told. Commits.

    Going into force needs the day it did (default today, never in the future)."""
    if not can_decide(actor):
        raise PermissionError("only analysts change a proposal's status")
    if to_status not in TRANSITIONS.get(proposal.status, frozenset()):
        raise ProposalError({"status": str(_l("Questo passaggio di stato non è consentito."))})
    today = today or utcnow().date()
    if to_status == IN_FORCE:
        in_force_on = in_force_on or today
        if in_force_on > today:
            raise ProposalError(
                {"in_force_on": str(_l("La data di entrata in vigore non può essere futura."))}
            )
        proposal.in_force_on = in_force_on
    previous = proposal.status
    proposal.status = to_status
    proposal.updated_at = utcnow()
    proposal.changes.append(
        ProposalChange(
            from_status=previous, to_status=to_status, actor_id=actor.id, note=note.strip() or None
        )
    )
    _tell(
        session,
        proposal,
        actor.id,
        str(
            _l(
                "Proposta \u00ab%(title)s\u00bb: %(status)s",
                title=proposal.title,
                status=STATUS_LABELS[to_status],
            )
        ),
        note.strip() or str(STATUS_LABELS[to_status]),
    )
    session.commit()
    return proposal


def add_comment(session: Session, proposal: Proposal, author: User, body: str) -> ProposalComment:
    """A comment; its author now follows the proposal, and the other followers are told."""
    if not can_file(author):
        raise PermissionError("only stakeholders and analysts comment")
    if not body.strip():
        raise ProposalError({"body": str(_l("Scrivi il commento."))})
    comment = ProposalComment(proposal_id=proposal.id, author_id=author.id, body=body.strip())
    session.add(comment)
    _follow(session, proposal.id, author.id)
    session.flush()
    _tell(
        session,
        proposal,
        author.id,
        str(_l("Nuovo commento sulla proposta \u00ab%(title)s\u00bb", title=proposal.title)),
        f"{author.full_name}: {comment.body[:500]}",
    )
    proposal.updated_at = utcnow()
    session.commit()
    return comment


def set_following(session: Session, proposal: Proposal, user: User, follow: bool) -> None:
    """Follow or stop following. Commits."""
    if follow:
        _follow(session, proposal.id, user.id)
    else:
        row = session.get(ProposalFollower, (proposal.id, user.id))
        if row is not None:
            session.delete(row)
    session.commit()


def list_proposals(session: Session, status: str | None = None) -> list[Proposal]:
    query = select(Proposal).order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    if status:
        query = query.where(Proposal.status == status)
    return list(session.scalars(query))


# --- figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """The proposal's measure before and after it went into force, on equal windows."""

    measure: str
    window_days: int
    before: ReportFilter
    after: ReportFilter
    before_value: float | None
    after_value: float | None
    before_n: int
    after_n: int

    @property
    def change(self) -> float | None:
        if self.before_value is None or self.after_value is None:
            return None
        return self.after_value - self.before_value


def _scope(session: Session, proposal: Proposal, report: ReportFilter) -> Distribution:
    found = distributions(
        session, report, type_codes=proposal.type_codes, office_ids=proposal.office_ids
    )
    return found.get(None) or Distribution()


def current_figures(session: Session, proposal: Proposal, *, today: date) -> Distribution:
    """The proposal's scope over the last 12 months: the figures that motivate it, live."""
    return _scope(session, proposal, last_year(today))


def last_year(today: date) -> ReportFilter:
    return ReportFilter(start=today - timedelta(days=364), end=today)


def effect(session: Session, proposal: Proposal, *, today: date) -> Effect | None:
    """Before/after for a proposal in force; None before it is."""
    if proposal.status != IN_FORCE or proposal.in_force_on is None:
        return None
    start = proposal.in_force_on
    window = max(1, min(EFFECT_WINDOW_DAYS, (today - start).days + 1))
    before = ReportFilter(start=start - timedelta(days=window), end=start - timedelta(days=1))
    after = ReportFilter(start=start, end=start + timedelta(days=window - 1))
    old, new = _scope(session, proposal, before), _scope(session, proposal, after)
    return Effect(
        measure=proposal.measure,
        window_days=window,
        before=before,
        after=after,
        before_value=old.value(proposal.measure),
        after_value=new.value(proposal.measure),
        before_n=old.sample_size(proposal.measure),
        after_n=new.sample_size(proposal.measure),
    )
