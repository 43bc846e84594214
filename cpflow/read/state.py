"""State replay in one place: what state each activity was in on a given date.

An activity exists from its plan's start date and is in its initial state until its
first move; after that its state is the destination of its last move on or before the
date (moves of one activity are recorded in date order, so the last by (at, id) is the
last by id). With no date, the cached `activities.state` answers directly.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, func, select
from sqlalchemy.sql import ColumnElement

from cpflow.models import Activity, TransitionEvent


def last_moves(as_of: dt.date):
    """Subquery (activity_id, to_state, at) of each activity's last move on or before `as_of`."""
    ranked = (
        select(
            TransitionEvent.activity_id,
            TransitionEvent.to_state,
            TransitionEvent.at,
            func.row_number()
            .over(partition_by=TransitionEvent.activity_id, order_by=(TransitionEvent.at.desc(), TransitionEvent.id.desc()))
            .label("rn"),
        )
        .where(TransitionEvent.kind == "transition", TransitionEvent.at <= as_of)
        .subquery("ranked")
    )
    return select(ranked.c.activity_id, ranked.c.to_state, ranked.c.at).where(ranked.c.rn == 1).subquery("last_move")


def state_after(last) -> ColumnElement:
    """The as-of state given the `last_moves` subquery joined on the activity."""
    return func.coalesce(last.c.to_state, Activity.initial_state)


def with_state(query: Select, as_of: dt.date | None) -> tuple[Select, ColumnElement]:
    """Add the as-of state to a query over Activity; returns (query, state column)."""
    if as_of is None:
        return query, Activity.__table__.c.state
    last = last_moves(as_of)
    return query.outerjoin(last, and_(last.c.activity_id == Activity.id)), state_after(last)
