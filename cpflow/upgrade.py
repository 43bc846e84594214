"""Upgrading a cpflow 0.1 database (schema 0001): prove the old record, then baseline it.

cpflow 0.1's events carry no row content (a load recorded `{"code": "2.11"}`, an edit only
the changed fields), so its log cannot rebuild the tables `audit verify` now compares with
the replay. `cpflow init` upgrading from 0001 therefore, in the same transaction as the
migrations:

1. verifies the old record with the 0.1 rules: the hash chain (ids in order, each event
   chained to the one before, the head at the last event), each move starting where the one
   before ended, and the caches 0.1 could prove: each activity's state is its last move's
   to-state (its initial state before any), its first move starts from its initial state, its
   version is 1 + its moves, each measurement row is its event's indicator, value, period,
   date, actor and source. Anything else refuses the upgrade (exit 2, nothing changed): a
   baseline must never launder a tampered database;
2. appends one `baseline` event per plan (the plan row and its periods, units, outcomes,
   objectives, checklist items, indicators and budget lines, shaped like a new plan's
   `create` event) and one per activity (its row, shaped like a load's activity event);
3. sets each activity's version to the number of events about it, the baseline included, so
   the rule "version = number of events about the activity" holds from then on (a version
   read before the upgrade is stale afterwards: `--expect-version` with it exits 3).

What 0.1 recorded of plan content beyond states, versions and measurements (titles, budgets,
people) cannot be proved from its log: the baseline records those rows as they stand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import cast

from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.orm import Session

from cpflow import audit
from cpflow.audit import Fact
from cpflow.errors import DatabaseError
from cpflow.models import Activity, Indicator, Measurement, Plan, TransitionEvent
from cpflow.replay import PLAN_TABLES, read_content

OLD_REVISION = "0001"
BASELINE = "baseline"
ACTOR = "cpflow init"


def check_old_record(conn: Connection, display_url: str) -> None:
    """Raise DatabaseError unless a 0001 database's chain and caches verify by the 0.1 rules."""
    with Session(bind=conn) as session:
        result = audit.verify(session, compare_tables=False)
    problem = result.problem or _old_cache_problem(conn)
    if problem:
        raise DatabaseError(
            f"{display_url}: the cpflow 0.1 record does not verify ({problem}); "
            "refusing to upgrade a database whose record was changed outside cpflow; nothing was changed"
        )


def _old_cache_problem(conn: Connection) -> str | None:
    moves = (
        select(TransitionEvent.activity_id, func.count().label("moves"), func.min(TransitionEvent.id).label("first"),
               func.max(TransitionEvent.id).label("last"))
        .where(TransitionEvent.to_state.is_not(None))
        .group_by(TransitionEvent.activity_id)
        .subquery()
    )  # fmt: skip
    first = TransitionEvent.__table__.alias("first_move")
    final = TransitionEvent.__table__.alias("final")
    logged = func.coalesce(final.c.to_state, Activity.initial_state)
    moved = func.coalesce(moves.c.moves, 0)
    bad = conn.execute(
        select(Plan.slug, Activity.code, Activity.state, logged, Activity.version, moved, Activity.initial_state,
               first.c.id, first.c.from_state)
        .join(Plan, Plan.id == Activity.plan_id)
        .outerjoin(moves, moves.c.activity_id == Activity.id)
        .outerjoin(first, first.c.id == moves.c.first)
        .outerjoin(final, final.c.id == moves.c.last)
        .where((Activity.state != logged) | (Activity.version != moved + 1)
               | (first.c.from_state.is_not(None) & (first.c.from_state != Activity.initial_state)))
        .order_by(Plan.slug, Activity.id)
        .limit(1)
    ).first()  # fmt: skip
    if bad is not None:
        slug, code, state, logged_state, version, count, initial, first_id, first_from = bad
        if state != logged_state:
            return f"activities {slug}:{code}: state is {state}, the log says {logged_state}"
        if version != count + 1:
            return f"activities {slug}:{code}: version is {version}, its {count} moves make it {count + 1}"
        return f"activities {slug}:{code}: initial state is {initial}, but its first move (event {first_id}) starts from {first_from}"
    return _old_measurement_problem(conn)


def _old_measurement_problem(conn: Connection) -> str | None:
    """Each measurement row against its own event (0.1 measurement events carry indicator, value, period)."""
    events = {
        row.id: row
        for row in conn.execute(
            select(TransitionEvent.id, TransitionEvent.plan_id, TransitionEvent.at, TransitionEvent.actor,
                   TransitionEvent.ref, TransitionEvent.data).where(TransitionEvent.kind == "measurement")
        )
    }  # fmt: skip
    indicators = {
        row.id: (row.plan_id, row.code) for row in conn.execute(select(Indicator.id, Indicator.plan_id, Indicator.code))
    }
    seen: set[int] = set()
    for row in conn.execute(select(Measurement.__table__).order_by(Measurement.id)):
        event = events.get(row.event_id)
        if event is None or row.event_id in seen:
            return f"measurements #{row.id}: not in the log (no measurement event {row.event_id} of its own)"
        seen.add(row.event_id)
        data = json.loads(event.data)
        stored = (indicators.get(row.indicator_id), row.value, row.period, row.at, row.actor, row.source)
        logged = ((event.plan_id, data.get("indicator")), data.get("value"), data.get("period"), event.at, event.actor, event.ref)
        if stored != logged:
            column = ("indicator", "value", "period", "at", "actor", "source")[
                next(i for i in range(6) if stored[i] != logged[i])
            ]
            return f"measurements #{row.id} (event {row.event_id}): {column} differs from its event"
    if len(seen) != len(events):
        return f"measurements (event {min(set(events) - seen)}): in the log but missing from the table"
    return None


def record_baseline(conn: Connection, *, today: dt.date) -> int:
    """Append the baseline events inside the caller's (upgrade) transaction and set every
    activity's version to its number of events; returns the number of events appended."""
    with Session(bind=conn) as session:
        appended = audit.append(session, _baseline_facts(conn, today))
    per_activity = select(func.count()).where(TransitionEvent.activity_id == Activity.id).correlate(Activity).scalar_subquery()
    conn.execute(update(Activity).values(version=per_activity))
    return len(appended)


def _baseline_facts(conn: Connection, today: dt.date) -> Iterator[Fact]:
    # Declarative models with a __tablename__ are mapped to a Table; SQLAlchemy types it FromClause.
    plans = read_content(conn, cast(Table, Plan.__table__))
    activities = cast(Table, Activity.__table__)
    for plan_id, row in plans.items():
        rows = {t.name: read_content(conn, t, t.c.plan_id == plan_id) for t in PLAN_TABLES}
        data = {
            "table": "plans", "key": row["slug"], "id": plan_id, "row": row,
            "rows": {name: [dict(id=i, **r) for i, r in content.items()] for name, content in rows.items() if content},
        }  # fmt: skip
        yield Fact(BASELINE, ACTOR, today, plan_id=plan_id, data=data)
        for activity_id, activity in read_content(conn, activities, activities.c.plan_id == plan_id).items():
            yield Fact(
                BASELINE, ACTOR, today, plan_id=plan_id, activity_id=activity_id,
                data={"code": activity["code"], "row": activity},
            )  # fmt: skip
