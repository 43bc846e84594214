"""Activity listings as of the date: every activity with its status, and the overdue,
due-now, stale and dropped lists. Status, days late and days idle are vectorised columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpflow.reports.model import Column, Section

STALE_DAYS = 90  # rule T103's default; a plan's `rules: config: T103: {days: N}` wins


def stale_days(plans: pd.DataFrame) -> pd.Series:
    """Days without an event after which an activity in progress is stale, per plan slug."""
    days = [int(((rules or {}).get("config", {}).get("T103", {}) or {}).get("days", STALE_DAYS)) for rules in plans["rules"]]
    return pd.Series(days, index=plans["slug"].to_numpy(), dtype="int64")


def with_status(activities: pd.DataFrame, plans: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The activity table plus days_late, idle_days, stale and status as of the date.

    `status` is the one place an activity's RAG status is decided; every format reads it.
    An activity due on or before the date and not completed or dropped is never on track:
    it is "due now" (amber) on its due date and "overdue" (red) after it.
    """
    from cpflow.lifecycle import lifecycles_of, state_tagged

    frame = activities.copy()
    stamp = pd.Timestamp(as_of)
    # What a state means comes from each plan's lifecycle tags, never from its name.
    lifecycles = lifecycles_of(plans)
    done, cancelled, active = (
        state_tagged(frame["plan"], frame["state"], lifecycles, tag) for tag in ("done", "cancelled", "active")
    )
    live = ~state_tagged(frame["plan"], frame["state"], lifecycles, "final")
    late = (stamp - pd.to_datetime(frame["due"])).dt.days
    frame["days_late"] = late.where(live & (late > 0)).astype("Int64")
    due_now = (live & (late == 0)).fillna(False).astype(bool)
    since = pd.to_datetime(frame["last_event_at"]).fillna(pd.to_datetime(frame["start"]))
    frame["idle_days"] = (stamp - since).dt.days.clip(lower=0).astype("Int64")
    threshold = frame["plan"].map(stale_days(plans)).fillna(STALE_DAYS)
    stale = active & (frame["idle_days"] > threshold).fillna(False)
    frame["stale"] = stale.astype(bool)
    frame["status"] = np.select(
        [done, cancelled, frame["days_late"].notna().to_numpy(), due_now, stale],
        ["completed", "dropped", "overdue", "due now", "stale"],
        default="on track",
    )
    return frame


ACTIVITY_COLUMNS = (
    Column("id", "ID"), Column("title", "Title"), Column("objective", "Objective"), Column("unit", "Unit"),
    Column("lead", "Lead"), Column("phase", "Phase"), Column("start", "Start", "date"), Column("due", "Due", "date"),
    Column("sectors", "Sectors"), Column("state", "State"), Column("last_event_at", "Last move", "date"),
    Column("status", "Status", rag="status"),
)  # fmt: skip


def all_activities(frame: pd.DataFrame) -> Section:
    note = "Every activity with its state on the as-of date, in plan order."
    return Section("Activities", frame, key="activities", columns=ACTIVITY_COLUMNS, note=note, detail=True)


def overdue(frame: pd.DataFrame) -> Section:
    rows = frame[frame["days_late"].notna()].sort_values(["days_late", "id"], ascending=[False, True], kind="stable")
    columns = (
        Column("id", "ID"), Column("title", "Title"), Column("lead", "Owner"), Column("unit", "Unit"),
        Column("state", "State"), Column("due", "Due", "date"), Column("days_late", "Days late", "int"),
        Column("status", "Status", rag="status"),
    )  # fmt: skip
    note = "Not completed or dropped, and past the due date; most overdue first."
    return Section("Overdue", _only(rows, columns), key="overdue", columns=columns, note=note)


def due_now(frame: pd.DataFrame) -> Section:
    rows = frame[frame["status"] == "due now"]
    columns = (
        Column("id", "ID"), Column("title", "Title"), Column("lead", "Owner"), Column("unit", "Unit"),
        Column("state", "State"), Column("due", "Due", "date"), Column("status", "Status", rag="status"),
    )  # fmt: skip
    note = "Due on the as-of date and not completed or dropped: at risk, overdue from the next day; in plan order."
    return Section("Due now", _only(rows, columns), key="due-now", columns=columns, note=note)


def stale(frame: pd.DataFrame) -> Section:
    rows = frame[frame["stale"]].sort_values(["idle_days", "id"], ascending=[False, True], kind="stable")
    columns = (
        Column("id", "ID"), Column("title", "Title"), Column("lead", "Owner"), Column("unit", "Unit"),
        Column("last_event_at", "Last move", "date"), Column("idle_days", "Days without a move", "int"),
        Column("due", "Due", "date"), Column("status", "Status", rag="status"),
    )  # fmt: skip
    note = f"In progress with no move for longer than the plan's T103 threshold (default {STALE_DAYS} days)."
    return Section("Stale", _only(rows, columns), key="stale", columns=columns, note=note)


def _only(rows: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """A list's rows with only the columns it shows: a listing does not repeat whole activity rows."""
    return rows[[c.key for c in columns]].reset_index(drop=True)


def dropped(frame: pd.DataFrame, events: pd.DataFrame) -> Section:
    """Dropped (cancelled) activities with the date, actor and reason of the drop that stands:
    the last move of an activity whose status is dropped."""
    rows = frame.loc[frame["status"] == "dropped", ["id", "title", "lead", "unit"]]
    drops = events[events["activity"].isin(rows["id"])].drop_duplicates("activity", keep="last")
    drops = drops[["activity", "at", "actor", "reason", "ref"]].rename(columns={"activity": "id", "at": "dropped_at"})
    rows = rows.merge(drops, how="left", on="id")
    columns = (
        Column("id", "ID"), Column("title", "Title"), Column("lead", "Owner"), Column("unit", "Unit"),
        Column("dropped_at", "Dropped on", "date"), Column("actor", "By"), Column("reason", "Reason"),
        Column("ref", "Reference"),
    )  # fmt: skip
    return Section("Dropped", rows, key="dropped", columns=columns)
