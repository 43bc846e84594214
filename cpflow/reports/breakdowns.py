"""Counts by state per objective, unit, lead, sector and phase, and over time: pandas
crosstabs over the as-of activity table, never a loop over activities."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpflow.reports.model import Chart, Column, Section

NONE_LABEL = "(none)"


def state_order(activities: pd.DataFrame) -> list[str]:
    """The default lifecycle's states first, then any other state present, sorted."""
    from cpflow.lifecycle import lifecycle_for

    known = list(lifecycle_for(None).states)
    return known + sorted(set(activities["state"]) - set(known))


def completion(counts: pd.DataFrame) -> pd.Series:
    """Completed as a share of the live (not dropped) activities; NaN when none is live."""
    live = counts["activities"] - counts.get("dropped", 0)
    return (counts.get("completed", 0) / live.where(live > 0)).astype(float)


def count_by(activities: pd.DataFrame, keys: list[str], states: list[str]) -> pd.DataFrame:
    """One row per group: activities, one count per state, completed %."""
    frame = activities[[*keys, "state"]].copy()
    for key in keys:
        frame[key] = frame[key].fillna(NONE_LABEL).astype(str)
    # size() of a group-by, not crosstab: crosstab counts each group with a Python len (5x slower)
    counts = frame.groupby([*keys, "state"], sort=True).size().unstack("state", fill_value=0)
    counts = counts.reindex(columns=states, fill_value=0).astype("int64")
    counts.insert(0, "activities", counts.sum(axis=1).astype("int64"))
    counts["completed_pct"] = completion(counts)
    return counts.reset_index()


def _state_columns(states: list[str]) -> list[Column]:
    return [Column("activities", "Activities", "int"), *(Column(s, s.replace("_", " "), "int") for s in states),
            Column("completed_pct", "% completed", "pct")]  # fmt: skip


def by_objective(activities: pd.DataFrame, objectives: pd.DataFrame, states: list[str]) -> Section:
    """An activity counts once under each objective it contributes to; one with none under (none)."""
    exploded = activities[["plan", "objectives", "state"]].explode("objectives").rename(columns={"objectives": "objective"})
    counts = count_by(exploded, ["plan", "objective"], states)
    titles = objectives[["plan", "code", "title"]].rename(columns={"code": "objective"})
    order = objectives[["plan", "code"]].reset_index(names="position").rename(columns={"code": "objective"})
    table = counts.merge(titles, how="left", on=["plan", "objective"]).merge(order, how="left", on=["plan", "objective"])
    table = table.sort_values(["plan", "position", "objective"], na_position="last", kind="stable").drop(columns="position")
    table["label"] = _labels(table, "objective")
    columns = [Column("plan", "Plan"), Column("objective", "Objective"), Column("title", "Title"), *_state_columns(states)]
    chart = Chart("stacked_bar", "State by objective", "label", tuple(states))
    several = bool((activities["objectives"].str.len() > 1).any())
    note = "An activity that contributes to several objectives counts once under each." if several else None
    return Section("By objective", table.reset_index(drop=True), chart, key="by-objective", columns=tuple(columns), note=note)


def by_unit(activities: pd.DataFrame, units: pd.DataFrame, states: list[str]) -> Section:
    counts = count_by(activities, ["plan", "unit"], states)
    names = units[["plan", "key", "name"]].rename(columns={"key": "unit"})
    order = units[["plan", "key"]].reset_index(names="position").rename(columns={"key": "unit"})
    table = counts.merge(names, how="left", on=["plan", "unit"]).merge(order, how="left", on=["plan", "unit"])
    table = table.sort_values(["plan", "position", "unit"], na_position="last", kind="stable").drop(columns="position")
    columns = [Column("plan", "Plan"), Column("unit", "Unit"), Column("name", "Name"), *_state_columns(states)]
    return Section("By unit", table.reset_index(drop=True), key="by-unit", columns=tuple(columns))


def by_lead(activities: pd.DataFrame, states: list[str]) -> Section:
    table = count_by(activities, ["plan", "lead"], states).sort_values(["plan", "lead"], kind="stable")
    columns = [Column("plan", "Plan"), Column("lead", "Lead"), *_state_columns(states)]
    return Section("By lead", table.reset_index(drop=True), key="by-lead", columns=tuple(columns))


def by_sector(activities: pd.DataFrame, states: list[str]) -> Section:
    """An activity counts once under each of its sectors; untagged ones under (none)."""
    exploded = activities[["plan", "sectors", "state"]].explode("sectors").rename(columns={"sectors": "sector"})
    table = count_by(exploded, ["plan", "sector"], states).sort_values(["plan", "sector"], kind="stable")
    columns = [Column("plan", "Plan"), Column("sector", "Sector"), *_state_columns(states)]
    note = "An activity tagged with several sectors counts once under each."
    return Section("By sector", table.reset_index(drop=True), key="by-sector", columns=tuple(columns), note=note)


def by_phase(activities: pd.DataFrame, periods: pd.DataFrame, states: list[str]) -> Section:
    counts = count_by(activities, ["plan", "phase"], states)
    names = periods[["plan", "key", "name", "end"]].rename(columns={"key": "phase", "end": "phase_end"})
    table = counts.merge(names, how="left", on=["plan", "phase"])
    table = table.sort_values(["plan", "phase_end", "phase"], na_position="last", kind="stable")
    columns = [Column("plan", "Plan"), Column("phase", "Phase"), Column("name", "Name"), Column("phase_end", "Ends", "date"),
               *_state_columns(states)]  # fmt: skip
    return Section("By phase", table.reset_index(drop=True), key="by-phase", columns=tuple(columns))


def over_time(activities: pd.DataFrame, events: pd.DataFrame, plans: pd.DataFrame, as_of: dt.date,
              states: list[str]) -> Section:  # fmt: skip
    """State counts at each month end from the first plan start to the as-of date.

    An activity adds one to its initial state at its plan's start; each move subtracts
    one from its source state and adds one to its destination. The counts are a
    cumulative sum over these changes: no replay per activity and month.
    """
    start = pd.Timestamp(plans["start"].min()) if len(plans) else pd.Timestamp(as_of)
    stamp = pd.Timestamp(as_of)
    ends = pd.date_range(start, stamp, freq="ME")
    points = pd.DatetimeIndex([*ends[ends < stamp], stamp])
    born = activities[["plan", "initial_state"]].merge(plans[["slug", "start"]], left_on="plan", right_on="slug")
    born_at = points.searchsorted(pd.to_datetime(born["start"]), side="left")
    moved_at = points.searchsorted(pd.to_datetime(events["at"]), side="left")
    # Counted per (point, state) for each kind of change, then added: the events are never
    # copied into one long table of changes (at 300k activities that table was the peak of
    # the whole report).
    arrived, left = _counts(moved_at, events["to"], len(points)), _counts(moved_at, events["from"], len(points))
    grid = _counts(born_at, born["initial_state"], len(points)).add(arrived, fill_value=0).sub(left, fill_value=0)
    grid = grid.reindex(columns=states, fill_value=0).astype("int64").cumsum()
    table = grid.astype("int64").reset_index(drop=True)
    table.insert(0, "date", points.date)
    table.insert(1, "activities", table[states].sum(axis=1).astype("int64"))
    table["completed_pct"] = completion(table)
    columns = [Column("date", "Date", "date"), *_state_columns(states)]
    chart = Chart("line", "Completion over time", "date", ("completed", "in_progress"))
    note = "State counts at each month end (the last row is the as-of date)."
    return Section("Over time", table, chart, key="over-time", columns=tuple(columns), note=note)


def _counts(point: np.ndarray, state: pd.Series, points: int) -> pd.DataFrame:
    """How many changes each point has into each state: one row per point, one column per
    state present (a missing state is not counted)."""
    # on the plain object values: pandas' string column factorizes through a slower path (3.0 vs 1.7 ms per 85k moves)
    codes, names = pd.factorize(state.to_numpy(dtype=object), use_na_sentinel=True)
    counted = codes >= 0
    cells = point[counted] * len(names) + codes[counted]
    grid = np.bincount(cells, minlength=(points + 1) * len(names)).reshape(points + 1, len(names))
    # The row past the last point holds the changes after the as-of date: left out.
    return pd.DataFrame(grid[:points], columns=pd.Index(names, name="state"), dtype="int64")


def _labels(table: pd.DataFrame, key: str) -> pd.Series:
    """Chart labels: the code, prefixed with the plan when several plans are shown."""
    labels = table[key].astype(str)
    if table["plan"].nunique() > 1:
        labels = table["plan"] + " " + labels
    return labels
