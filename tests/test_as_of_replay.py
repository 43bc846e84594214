"""`list_activities(as_of=…)` against a replay written out here: each activity's state on a
date is its last move's destination on or before it (by date, then by id: moves on the
same day count in the order recorded), else its initial state. Both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cpflow.models import Activity, Plan, TransitionEvent
from cpflow.read.queries import list_activities
from tests.conftest import session_for

DATES = [dt.date(2020, 1, 1), dt.date(2022, 5, 11), dt.date(2022, 5, 12), dt.date(2022, 6, 30), dt.date(2023, 12, 31),
         dt.date(2025, 12, 31)]  # fmt: skip
# Two moves on one day, another two on the next: only the order recorded tells which stands.
MOVES = [
    ("cpms-wg-2022-2025:1.1", "endorse", "2022-05-12", ()),
    ("cpms-wg-2022-2025:1.1", "start", "2022-05-12", ()),
    ("cpms-wg-2022-2025:1.2", "drop", "2022-05-12", ("--reason", "merged")),
    ("cpms-wg-2022-2025:1.2", "reinstate", "2022-05-12", ("--reason", "split again")),
    ("cpms-wg-2022-2025:1.2", "endorse", "2022-06-01", ()),
]


@pytest.fixture
def moved(seeded, db_url):
    for ident, trigger, at, extra in MOVES:
        result = seeded("move", ident, trigger, "--by", "test", "--at", at, *extra)
        assert result.exit_code == 0, result.output
    return db_url


def replayed(session, as_of: dt.date) -> dict[str, str]:
    """Activity id -> state on the date, replayed in Python from every move in the log."""
    plans = dict(session.execute(select(Plan.id, Plan.slug)).all())
    state = {
        act_id: (f"{plans[plan_id]}:{code}", initial)
        for act_id, plan_id, code, initial in session.execute(
            select(Activity.id, Activity.plan_id, Activity.code, Activity.initial_state)
        )
    }
    moves = session.execute(
        select(TransitionEvent.activity_id, TransitionEvent.at, TransitionEvent.id, TransitionEvent.to_state).where(
            TransitionEvent.kind == "transition", TransitionEvent.at <= as_of
        )
    ).all()
    for act_id, _, _, to_state in sorted(moves, key=lambda m: (m[1], m[2])):
        state[act_id] = (state[act_id][0], to_state)
    started = {slug for slug, start in session.execute(select(Plan.slug, Plan.start)) if start <= as_of}
    return {ident: s for ident, s in state.values() if ident.partition(":")[0] in started}


@pytest.mark.parametrize("as_of", DATES, ids=str)
def test_the_listing_states_are_the_replayed_ones(moved, as_of):
    with session_for(moved) as session:
        rows = list_activities(session, as_of=as_of)
        expected = replayed(session, as_of)
    assert {row["id"]: row["state"] for row in rows} == expected
    assert len(rows) == len(expected)


def test_same_day_moves_count_in_the_order_recorded(moved):
    with session_for(moved) as session:
        states = {r["id"]: r["state"] for r in list_activities(session, plans=("cpms-wg-2022-2025",), as_of=dt.date(2022, 5, 12))}
    assert states["cpms-wg-2022-2025:1.1"] == "in_progress"
    assert states["cpms-wg-2022-2025:1.2"] == "proposed"


def test_filters_select_from_the_same_rows(moved):
    as_of = dt.date(2022, 6, 30)
    with session_for(moved) as session:
        every = list_activities(session, as_of=as_of)
        endorsed = list_activities(session, as_of=as_of, states=("endorsed",))
        sector = next(s for row in every for s in row["sectors"])
        tagged = list_activities(session, as_of=as_of, sector=sector.upper())
    assert endorsed == [row for row in every if row["state"] == "endorsed"]
    assert "cpms-wg-2022-2025:1.2" in {row["id"] for row in endorsed}
    assert tagged == [row for row in every if sector.casefold() in {s.casefold() for s in row["sectors"]}]
    assert tagged and len(tagged) < len(every)


def test_rows_carry_dates_and_fresh_sector_lists(moved):
    with session_for(moved) as session:
        rows = list_activities(session, as_of=dt.date(2025, 12, 31))
    assert all(isinstance(row["start"], (dt.date, type(None))) and isinstance(row["sectors"], list) for row in rows)
    shared = [row["sectors"] for row in rows if row["sectors"]]
    shared[0].append("changed by a caller")
    assert "changed by a caller" not in shared[1]  # each row has its own list, not the parsed one shared
