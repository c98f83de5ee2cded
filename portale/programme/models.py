"""The simplification programme: the pact's targets and the stakeholders' proposals.

A :class:`Target` is a measurable goal from the *Programma metropolitano per la
semplificazione* ("SCIA somministrazione: median net days <= 20 in every office by 30 June
2027"). Its figures are never stored: they are computed from the same per-procedure summary as
the dashboard, so a target and the report can never disagree.

A :class:`Proposal` is a simplification proposed by a trade association, a professional order
or an analyst, tied to the procedure types, steps and offices it concerns. Its status changes
are rows (:class:`ProposalChange`), so the proposal's history is its own log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portale.db import Base, UTCDateTime, utcnow

# --- measures ------------------------------------------------------------------------------

MEASURE_MEDIAN = "median_net"  # median net days (suspensions excluded), closed procedures
MEASURE_P90 = "p90_net"  # 90th percentile of net days
MEASURE_WITHIN_TERM = "within_term"  # share of closed procedures concluded within the term
# mean days one ball-holder held closed procedures: company, office, authority, dispatch
MEASURE_DAYS_PREFIX = "days_"
BALL_MEASURES = ("days_company", "days_office", "days_authority", "days_dispatch")
MEASURES = (MEASURE_MEDIAN, MEASURE_P90, MEASURE_WITHIN_TERM, *BALL_MEASURES)

# --- proposal statuses ---------------------------------------------------------------------

PROPOSED = "proposed"
UNDER_REVIEW = "under_review"
ACCEPTED = "accepted"
IN_FORCE = "in_force"
REJECTED = "rejected"
PROPOSAL_STATUSES = (PROPOSED, UNDER_REVIEW, ACCEPTED, IN_FORCE, REJECTED)
# The steps of a procedure a proposal can concern: the ball-holders of the clock.
STEPS = ("company", "office", "authority", "dispatch")


target_office = Table(
    "programme_target_office",
    Base.metadata,
    Column("target_id", ForeignKey("programme_target.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)

proposal_office = Table(
    "programme_proposal_office",
    Base.metadata,
    Column(
        "proposal_id", ForeignKey("programme_proposal.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class Target(Base):
    """A goal of the pact: a measure over a procedure type and offices, a threshold, a date."""

    __tablename__ = "programme_target"
    __table_args__ = (
        CheckConstraint("baseline_start <= baseline_end", name="baseline_period"),
        CheckConstraint("threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    # None: every procedure type together
    type_code: Mapped[str | None] = mapped_column(String(64))
    measure: Mapped[str] = mapped_column(String(32))
    # days for the day measures, a share between 0 and 1 for "within the term"
    threshold: Mapped[float] = mapped_column(Float)
    # True: the threshold must hold in each office ("in every office"); False: all together
    each_office: Mapped[bool] = mapped_column(default=False)
    baseline_start: Mapped[date] = mapped_column(Date)
    baseline_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # no office: every office
    offices: Mapped[list[Any]] = relationship(
        "Office", secondary=target_office, order_by="Office.name", lazy="selectin"
    )

    @property
    def office_ids(self) -> list[int]:
        return [o.id for o in self.offices]


class Proposal(Base):
    """A simplification proposed by a stakeholder or an analyst, with its status."""

    __tablename__ = "programme_proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PROPOSED, index=True)
    # the procedure type codes and steps (ball-holders) it concerns
    type_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the measure whose figures motivate it (one of MEASURES) and the period they were read on
    measure: Mapped[str] = mapped_column(String(32), default=MEASURE_MEDIAN)
    # the day it went into force (a new catalogue version, a new practice): effects from it
    in_force_on: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    offices: Mapped[list[Any]] = relationship(
        "Office", secondary=proposal_office, order_by="Office.name", lazy="selectin"
    )
    author: Mapped[Any] = relationship("User", lazy="joined")
    comments: Mapped[list[ProposalComment]] = relationship(
        back_populates="proposal", order_by="ProposalComment.id", cascade="all, delete-orphan"
    )
    changes: Mapped[list[ProposalChange]] = relationship(
        order_by="ProposalChange.id", cascade="all, delete-orphan"
    )

    @property
    def office_ids(self) -> list[int]:
        return [o.id for o in self.offices]


class ProposalComment(Base):
    __tablename__ = "programme_proposal_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("programme_proposal.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="comments")
    author: Mapped[Any] = relationship("User", lazy="joined")


class ProposalChange(Base):
    """One status change of a proposal: who moved it, when, from what to what, and why."""

    __tablename__ = "programme_proposal_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("programme_proposal.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[Any] = relationship("User", lazy="joined")


class ProposalFollower(Base):
    """A person told of a proposal's comments and status changes (its author follows it)."""

    __tablename__ = "programme_proposal_follower"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("programme_proposal.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


__all__ = [
    "MEASURES",
    "PROPOSAL_STATUSES",
    "Proposal",
    "ProposalChange",
    "ProposalComment",
    "ProposalFollower",
    "STEPS",
    "Target",
]
