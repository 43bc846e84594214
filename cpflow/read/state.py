"""State replay in one place: what state each activity was in on a given date.

An activity exists from its plan's start date and is in its initial state until its
first move; after that its state is the destination of its last move on or before the
date (moves of one activity are recorded in date order, so the last by (at, id) is the
last by id). With no date, the cached `activities.state` answers directly.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.sql import ColumnElement

from cpflow.models import Activity, TransitionEvent

# Core tables, not the mapped classes: compiling a select of mapped attributes configures
# every ORM mapper first (about 25 ms per process, paid by each `activities --as-of`).
_ACTIVITIES = Activity.__table__
_EVENTS = TransitionEvent.__table__


def newest_move_id(activity, as_of: dt.date):
    """Scalar subquery: the id of the activity's (a correlated activities table) newest
    move on or before `as_of`, found by one seek in the (activity_id, at, id) index.

    No window function: row_number() over the log made SQLite sort every event up to the
    date in a temporary B-tree (5x slower at 10k activities / 100k events, and growing
    faster than the log).
    """
    newest = _EVENTS.alias("newest")
    return (
        select(newest.c.id)
        .where(newest.c.activity_id == activity.c.id, newest.c.kind == "transition", newest.c.at <= as_of)
        .order_by(newest.c.at.desc(), newest.c.id.desc())
        .limit(1)
        .correlate(activity)
        .scalar_subquery()
    )


def last_moves(as_of: dt.date):
    """Subquery (activity_id, to_state, at) of each activity's last move on or before
    `as_of`: per activity its newest move's id (`newest_move_id`), its row read by id."""
    owner = _ACTIVITIES.alias("owner")
    return (
        select(owner.c.id.label("activity_id"), _EVENTS.c.to_state, _EVENTS.c.at)
        .select_from(owner)
        .join(_EVENTS, _EVENTS.c.id == newest_move_id(owner, as_of))
        .subquery("last_move")
    )


def state_after(last) -> ColumnElement:
    """The as-of state given the activity's last move joined (`last_moves` or the move row itself)."""
    return func.coalesce(last.c.to_state, _ACTIVITIES.c.initial_state)


def with_state(query: Select, as_of: dt.date | None) -> tuple[Select, ColumnElement]:
    """Add the as-of state to a query over the activities table; returns (query, state column).

    The newest move is joined straight by its id (`newest_move_id` correlated to the
    query's own activities), not through the `last_moves` subquery, whose second pass over
    the activities cost SQLite ~12% of a 10k-activity listing."""
    if as_of is None:
        return query, _ACTIVITIES.c.state
    last = _EVENTS.alias("last_move")
    query = query.outerjoin(last, last.c.id == newest_move_id(_ACTIVITIES, as_of))
    return query, state_after(last)
