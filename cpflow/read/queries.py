"""Read-side queries behind the listings: plain rows (dicts with stable keys), built with
set-based SQL. Renderers turn them into tables, JSON or CSV."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from cpflow import digests
from cpflow.errors import BadInput
from cpflow.models import Activity, BudgetLine, Indicator, Measurement, Objective, Plan, Submission, TransitionEvent, Unit
from cpflow.money import json_amount
from cpflow.read.lookup import find_plan, split_id, unknown_activity
from cpflow.read.state import with_state
from cpflow.replay import check_activity

ACTIVITY_COLUMNS = ("id", "plan", "code", "title", "objective", "unit", "lead", "phase", "start", "due", "sectors", "state")


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cycle collector while a read builds its rows or frames: they are
    many new objects without cycles, and each generation-2 pass walks them all again (a
    quarter of the time of a 100k-activity listing, growing faster than the rows). The
    collector runs as usual afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def list_plans(session: Session) -> list[dict]:
    counts = dict(session.execute(select(Activity.plan_id, func.count()).group_by(Activity.plan_id)).all())
    rows = []
    for plan in session.scalars(select(Plan).order_by(Plan.slug)):
        rows.append(
            {
                "slug": plan.slug,
                "title": plan.title,
                "owner": plan.owner,
                "start": plan.start,
                "end": plan.end,
                "currency": plan.currency,
                "activities": counts.get(plan.id, 0),
            }
        )
    return rows


def list_activities(
    session: Session,
    *,
    plans: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
    objective: str | None = None,
    unit: str | None = None,
    sector: str | None = None,
    phase: str | None = None,
    as_of: dt.date | None = None,
) -> list[dict]:
    """Activities with their state (as of a date when given), in plan order. Without a date
    the listing shows the cached state, so it first checks that cache against the log."""
    plan_ids = [find_plan(session, slug).id for slug in plans]
    if as_of is None:
        digests.check_reads(session.connection(), plan_ids)
    # Core tables, not the mapped classes: a listing needs no ORM mapper configured (25 ms).
    plan, act, objective_t = Plan.__table__, Activity.__table__, Objective.__table__
    unit_alias = Unit.__table__.alias()
    query: Select = (
        select(
            plan.c.slug,
            act.c.code,
            act.c.title,
            objective_t.c.code.label("objective"),
            unit_alias.c.key.label("unit"),
            act.c.lead,
            act.c.phase,
            type_coerce(act.c.start, Text).label("start"),
            type_coerce(act.c.due, Text).label("due"),
            cast(act.c.sectors, Text).label("sectors"),  # text on every backend: one parse per distinct list
        )
        .join(plan, plan.c.id == act.c.plan_id)
        .outerjoin(objective_t, objective_t.c.id == act.c.objective_id)
        .outerjoin(unit_alias, unit_alias.c.id == act.c.unit_id)
    )
    query, state = with_state(query, as_of)
    query = query.add_columns(state.label("state"))
    if plans:
        query = query.where(plan.c.slug.in_(plans))
    if states:
        query = query.where(state.in_(states))
    if as_of is not None:
        query = query.where(plan.c.start <= as_of)
    if objective:
        query = query.where(objective_t.c.code == objective)
    if unit:
        query = query.where(unit_alias.c.key == unit)
    if phase:
        query = query.where(act.c.phase == phase)
    query = query.order_by(plan.c.slug, act.c.position, act.c.id)
    # Dates and sector lists come as the driver gives them and are converted here, each
    # distinct text once: sector lists and dates repeat across thousands of activities.
    day, listed = _Parsed(dt.date.fromisoformat), _Parsed(json.loads)
    with collector_paused():
        rows = [
            {
                "id": f"{slug}:{code}", "plan": slug, "code": code, "title": title, "objective": objective_code,
                "unit": unit_key, "lead": lead, "phase": phase_key, "start": day[start], "due": day[due],
                "sectors": list(listed[sectors] or ()), "state": current,
            }
            for slug, code, title, objective_code, unit_key, lead, phase_key, start, due, sectors, current
            in _driver_rows(session, query)
        ]  # fmt: skip
    if sector:
        wanted = sector.casefold()
        rows = [row for row in rows if wanted in {s.casefold() for s in row["sectors"]}]
    return rows


def _driver_rows(session: Session, query: Select) -> Sequence[Any]:
    """The query's rows as the driver's own tuples: SQLAlchemy compiles and runs it, but no
    Row object is made per row (3-4% of a listing at 10k and at 100k activities). Only for columns
    that need no result processing (text, and dates and lists converted by the caller)."""
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


class _Parsed(dict):
    """`parsed[text]` for driver text, each distinct text parsed once (a dict lookup for
    the rest); other values (None, or a date PostgreSQL's driver already made) stay as they are."""

    def __init__(self, parse):
        super().__init__()
        self.parse = parse

    def __missing__(self, value):
        parsed = self[value] = self.parse(value) if isinstance(value, str) else value
        return parsed


def known_states(session: Session, plans: tuple[str, ...]) -> set[str]:
    lifecycles = session.scalars(select(Plan.lifecycle).where(Plan.slug.in_(plans)) if plans else select(Plan.lifecycle)).all()
    from cpflow.lifecycle import lifecycle_for  # only a state filter needs the lifecycle (YAML, transitions)

    states = set(lifecycle_for(None).states)
    for definition in lifecycles:
        states |= set(lifecycle_for(definition).states)
    return states


def get_activity(session: Session, ident: str) -> tuple[Plan, Activity]:
    slug, code = split_id(ident)
    plan = find_plan(session, slug)
    activity = session.execute(select(Activity).where(Activity.plan_id == plan.id, Activity.code == code)).scalar_one_or_none()
    if activity is None:
        raise unknown_activity(session, plan, ident, code)
    return plan, activity


def show_activity(session: Session, ident: str) -> dict:
    plan, activity = get_activity(session, ident)
    check_activity(session.connection(), plan.slug, activity)  # never show a cache that disagrees with the log
    objective = session.get(Objective, activity.objective_id) if activity.objective_id else None
    unit = session.get(Unit, activity.unit_id) if activity.unit_id else None
    from cpflow.lifecycle import lifecycle_for

    lifecycle = lifecycle_for(plan.lifecycle)
    return {
        "id": f"{plan.slug}:{activity.code}",
        "plan": plan.slug,
        "code": activity.code,
        "title": activity.title,
        "description": activity.description,
        "objective": objective.code if objective else None,
        "objective_title": objective.title if objective else None,
        "unit": unit.key if unit else None,
        "lead": activity.lead or (", ".join(unit.leads) if unit and unit.leads else None),
        "contributors": list(activity.contributors or []),
        "phase": activity.phase,
        "schedule": list(activity.schedule or []),
        "start": activity.start,
        "due": activity.due,
        "sectors": list(activity.sectors or []),
        "countries": list(activity.countries or []),
        "cross_cutting": list(activity.cross_cutting or []),
        "type": activity.activity_type,
        "expected_result": activity.expected_result,
        "state": activity.state,
        "version": activity.version,
        "allowed": lifecycle.allowed(activity.state),
        "in_source": activity.in_source,
        "notes": activity.notes,
    }


def history(session: Session, ident: str) -> list[dict]:
    """Every move of one activity, and every approved comment on it, oldest first, with who, when and why."""
    _, activity = get_activity(session, ident)
    # An approved comment's event names no activity (it leaves the version alone); its submission does.
    comments = select(Submission.event_id).where(
        Submission.activity_id == activity.id, Submission.kind == "comment", Submission.status == "approved"
    )
    moves = session.scalars(
        select(TransitionEvent)
        .where(TransitionEvent.activity_id == activity.id, TransitionEvent.kind == "transition")
        .order_by(TransitionEvent.id)
    ).all()
    noted = session.scalars(select(TransitionEvent).where(TransitionEvent.id.in_(comments))).all()
    # Moves are in date order by construction; a comment takes its place by its own date.
    events = sorted([*moves, *noted], key=lambda event: (event.at, event.id)) if noted else moves
    rows = []
    for event in events:
        # An approved submission's event names its submitter and approver (issue 14); a direct move has neither.
        approval = json.loads(event.data) if event.data else {}
        rows.append(
            {
                "event": event.id,
                "trigger": event.trigger,
                "from": event.from_state,
                "to": event.to_state,
                "actor": event.actor,
                "at": event.at,
                "recorded_at": event.recorded_at,
                "reason": event.reason,
                "ref": event.ref,
                "submitted_by": approval.get("submitted_by"),
                "approved_by": approval.get("approved_by"),
                "submission": approval.get("submission"),
                "comment": approval.get("comment") if event.kind == "comment" else None,
            }
        )
    return rows


def list_units(session: Session, slug: str) -> list[dict]:
    plan = find_plan(session, slug)
    lines: dict[int, list[dict]] = {}
    for line in session.scalars(select(BudgetLine).where(BudgetLine.plan_id == plan.id).order_by(BudgetLine.id)):
        lines.setdefault(line.unit_id, []).append(
            {
                "period": line.period,
                "currency": line.currency,
                "budget": json_amount(line.budget_minor),
                "received": json_amount(line.received_minor),
                "declared_gap": json_amount(line.declared_gap_minor),
            }
        )
    return [
        {
            "id": f"{plan.slug}:{unit.key}",
            "key": unit.key,
            "name": unit.name,
            "kind": unit.kind,
            "leads": list(unit.leads or []),
            "budgets": lines.get(unit.id, []),
        }
        for unit in session.scalars(select(Unit).where(Unit.plan_id == plan.id).order_by(Unit.id))
    ]


def list_indicators(session: Session, slug: str) -> list[dict]:
    plan = find_plan(session, slug)
    latest = {}
    for indicator_id, value, at in session.execute(
        select(Measurement.indicator_id, Measurement.value, Measurement.at)
        .join(Indicator)
        .where(Indicator.plan_id == plan.id)
        .order_by(Measurement.at, Measurement.id)
    ):
        latest[indicator_id] = (value, at)
    return [
        {
            "id": f"{plan.slug}:{ind.code}",
            "code": ind.code,
            "name": ind.name,
            "of": ind.of,
            "measure": ind.measure,
            "direction": ind.direction,
            "baseline": ind.baseline_value,
            "baseline_date": ind.baseline_date,
            "targets": list(ind.targets or []),
            "latest": latest.get(ind.id, (None, None))[0],
            "latest_at": latest.get(ind.id, (None, None))[1],
        }
        for ind in session.scalars(select(Indicator).where(Indicator.plan_id == plan.id).order_by(Indicator.id))
    ]


def require_known_states(session: Session, states: tuple[str, ...], plans: tuple[str, ...]) -> None:
    unknown = [s for s in states if s not in known_states(session, plans)]
    if unknown:
        raise BadInput(f"unknown state {unknown[0]!r}; states are {', '.join(sorted(known_states(session, plans)))}")


def unit_table_rows(units: list[dict]) -> list[dict]:
    """`list_units` rows shaped for a terminal table: one budget / received cell per period."""
    from cpflow.money import format_amount

    return [
        {
            "unit": u["key"],
            "leads": u["leads"],
            "budget / received": [
                f"{b['period']}: {format_amount(b['budget'])} / {format_amount(b['received'])}" for b in u["budgets"]
            ],
        }
        for u in units
    ]
