"""SQLAlchemy models: a plan and everything it holds, and the append-only event log.

Money is stored as integer minor units (cents) so no float ever touches it; dates are
ISO dates; lists and free-form metadata are JSON.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON, str: Text, dt.date: Date}


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str]
    owner: Mapped[str | None]
    framework: Mapped[str | None]
    currency: Mapped[str] = mapped_column(String(3))
    start: Mapped[dt.date]
    end: Mapped[dt.date]
    description: Mapped[str | None]
    source: Mapped[str | None]
    about: Mapped[dict] = mapped_column(default=dict)
    sectors: Mapped[list] = mapped_column(default=list)
    countries: Mapped[list] = mapped_column(default=list)
    cross_cutting: Mapped[list] = mapped_column(default=list)
    records_expected_results: Mapped[bool] = mapped_column(Boolean, default=False)
    people: Mapped[list] = mapped_column(default=list)
    rules: Mapped[dict] = mapped_column(default=dict)
    lifecycle: Mapped[dict | None]
    file_sha256: Mapped[str | None] = mapped_column(String(64))

    periods: Mapped[list[Period]] = relationship(back_populates="plan")
    units: Mapped[list[Unit]] = relationship(back_populates="plan")
    outcomes: Mapped[list[Outcome]] = relationship(back_populates="plan")
    objectives: Mapped[list[Objective]] = relationship(back_populates="plan")
    activities: Mapped[list[Activity]] = relationship(back_populates="plan")
    indicators: Mapped[list[Indicator]] = relationship(back_populates="plan")
    budget_lines: Mapped[list[BudgetLine]] = relationship(back_populates="plan")
    checklist_items: Mapped[list[ChecklistItem]] = relationship(back_populates="plan")


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str]
    kind: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.date]
    end: Mapped[dt.date]

    plan: Mapped[Plan] = relationship(back_populates="periods")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str]
    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None]
    leads: Mapped[list] = mapped_column(default=list)
    members: Mapped[list] = mapped_column(default=list)

    plan: Mapped[Plan] = relationship(back_populates="units")
    budget_lines: Mapped[list[BudgetLine]] = relationship(back_populates="unit")


class Outcome(Base):
    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str]
    description: Mapped[str | None]

    plan: Mapped[Plan] = relationship(back_populates="outcomes")
    objectives: Mapped[list[Objective]] = relationship(back_populates="outcome")


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str]
    description: Mapped[str | None]
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("outcomes.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    targets: Mapped[list] = mapped_column(default=list)
    expected_results: Mapped[list] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="objectives")
    outcome: Mapped[Outcome | None] = relationship(back_populates="objectives")
    activities: Mapped[list[Activity]] = relationship(back_populates="objective")


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("plan_id", "code"), Index("ix_activities_objective", "objective_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str]
    description: Mapped[str | None]
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    # Every objective code the activity contributes to, objective_id's first (may be empty).
    objectives: Mapped[list] = mapped_column(default=list, server_default="[]")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    lead: Mapped[str | None]
    contributors: Mapped[list] = mapped_column(default=list)
    phase: Mapped[str | None] = mapped_column(String(100))
    schedule: Mapped[list] = mapped_column(default=list)
    start: Mapped[dt.date]
    due: Mapped[dt.date]
    sectors: Mapped[list] = mapped_column(default=list)
    countries: Mapped[list] = mapped_column(default=list)
    cross_cutting: Mapped[list] = mapped_column(default=list)
    activity_type: Mapped[str | None]
    expected_result: Mapped[str | None]
    checklist: Mapped[list] = mapped_column(default=list)
    notes: Mapped[str | None]
    initial_state: Mapped[str] = mapped_column(String(40))
    # A cache of the last transition event; always equal to what the events say.
    state: Mapped[str] = mapped_column(String(40))
    # Optimistic locking: every move bumps it; a move made on a stale read is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # False once a reload of the plan file no longer lists it (kept, never deleted).
    in_source: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="activities")
    objective: Mapped[Objective | None] = relationship(back_populates="activities")


class ChecklistItem(Base):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    checklist: Mapped[str] = mapped_column(String(100))
    checklist_title: Mapped[str]
    code: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None]
    text: Mapped[str]
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="checklist_items")


class Indicator(Base):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str]
    measure: Mapped[str | None]
    direction: Mapped[str] = mapped_column(String(10), default="increase")
    # What the indicator measures: "plan", "outcome:KEY", "objective:CODE", "activity:CODE".
    of: Mapped[str] = mapped_column(String(200), default="plan")
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_date: Mapped[dt.date | None]
    targets: Mapped[list] = mapped_column(default=list)

    plan: Mapped[Plan] = relationship(back_populates="indicators")
    measurements: Mapped[list[Measurement]] = relationship(back_populates="indicator")


class Measurement(Base):
    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_indicator", "indicator_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.date]
    period: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None]
    actor: Mapped[str]
    event_id: Mapped[int] = mapped_column(ForeignKey("transition_events.id"))

    indicator: Mapped[Indicator] = relationship(back_populates="measurements")


class BudgetLine(Base):
    __tablename__ = "budget_lines"
    __table_args__ = (UniqueConstraint("plan_id", "unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    # Minor units (cents). None means the source does not give the figure.
    budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    received_minor: Mapped[int | None] = mapped_column(BigInteger)
    declared_gap_minor: Mapped[int | None] = mapped_column(BigInteger)

    plan: Mapped[Plan] = relationship(back_populates="budget_lines")
    unit: Mapped[Unit] = relationship(back_populates="budget_lines")


class TransitionEvent(Base):
    """One recorded fact, in the one hash-chained order that covers them all.

    `kind` is `transition` (a move), `create` or `edit` (plan loads), `measurement` or
    `funding`. The id is the chain position, assigned under the chain-head lock, so a
    removed event leaves a visible gap. The database refuses UPDATE and DELETE here.
    """

    __tablename__ = "transition_events"
    __table_args__ = (
        Index("ix_events_activity", "activity_id", "at", "id"),
        Index("ix_events_plan", "plan_id", "kind"),
        # Each activity's event count and last move in one pass of the index (replay.check_cache).
        Index("ix_events_activity_moves", "activity_id", "id", "to_state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str]
    at: Mapped[dt.date]
    # ISO 8601 UTC text ("2026-11-23T16:00:00.123456Z"): the same bytes on every backend.
    recorded_at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None]
    ref: Mapped[str | None]
    # Canonical JSON text of the fact's payload (edit diffs, measurement, funding).
    data: Mapped[str | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The single row every writer locks: the last event's id and hash."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class CacheDigest(Base):
    """A plan's activity rows and a digest of their content, as the last write left them
    (cpflow.digests): what a read compares the rows it fetched with."""

    __tablename__ = "cache_digests"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    tbl: Mapped[str] = mapped_column(String(40), primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[int] = mapped_column(BigInteger)


# --- the team workflow (issue 14): accounts, plan roles, API tokens, submissions ----------
# Written by cpflow.teams; every change is also an event in the chain (kinds `account`,
# `role`, `submission`), whose data never carries a password, a token or a hash.


class Account(Base):
    """A person who signs in (web app) or is named by `--by` (CLI) where accounts exist."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str | None]
    email: Mapped[str | None]
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Argon2id hash (argon2-cffi's encoded form); None until a password is set.
    password_hash: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(String(32))


class PlanRole(Base):
    """One role an account holds in one plan (lead, co-lead, member, reviewer)."""

    __tablename__ = "plan_roles"
    __table_args__ = (UniqueConstraint("account_id", "plan_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    role: Mapped[str] = mapped_column(String(20))


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Submission(Base):
    """A member's move, indicator value or funding update waiting for a lead's decision.

    `status` is pending, returned, approved or withdrawn; `revisions` keeps every earlier
    version; `base_version` is the activity's version when it was (re)submitted, so an
    approval after the activity moved is a conflict."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_plan_status", "plan_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(100))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    trigger: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[dt.date]
    reason: Mapped[str | None]
    ref: Mapped[str | None]
    comment: Mapped[str | None]
    payload: Mapped[dict] = mapped_column(default=dict)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    revisions: Mapped[list] = mapped_column(default=list)
    base_version: Mapped[int | None] = mapped_column(Integer)
    base_state: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[str | None] = mapped_column(String(32))
    decision_comment: Mapped[str | None]
    event_id: Mapped[int | None] = mapped_column(BigInteger)
