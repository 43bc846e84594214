"""The review loop in the progress report (issue 14): "Updates in the period" (who submitted,
who approved, how long it waited) and "Pending review" (oldest first), built from the
frames' `submissions` table as of the report's date.

A plan whose queue is empty on the date (a single-operator database, or a date before the
first submission) gets neither section, so its reports stay as they were.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cpflow.reports.model import Column, Figure, Section

UPDATE_COLUMNS = (
    Column("approved_on", "Approved on", "date"), Column("activity", "Activity"), Column("title", "Title"),
    Column("update", "Update"), Column("at", "Dated", "date"), Column("submitted_by", "Submitted by"),
    Column("submitted_on", "Submitted on", "date"), Column("approved_by", "Approved by"),
    Column("waited_days", "Waited (days)", "int"), Column("revisions", "Revisions", "int"),
)  # fmt: skip
PENDING_COLUMNS = (
    Column("submitted_on", "Submitted on", "date"), Column("activity", "Activity"), Column("title", "Title"),
    Column("update", "Update"), Column("at", "Dated", "date"), Column("submitted_by", "Submitted by"),
    Column("waiting_days", "Waiting (days)", "int"), Column("comment", "Comment"), Column("submission", "Submission", "int"),
)  # fmt: skip


def _described(frames, queue: pd.DataFrame) -> pd.DataFrame:
    """The queue with each update in words (`start`, `measure 12`, `fund`) and the activity's title."""
    titles = frames.activities[["id", "title"]].rename(columns={"id": "activity"})
    table = queue.merge(titles, how="left", on="activity")
    table["update"] = table["kind"].where(table["kind"] != "move", table["trigger"]).fillna(table["kind"])
    return table


def updates(frames, since: dt.date | None) -> Section:
    """Submissions approved after `since` (else the plans' start) and on or before the as-of date."""
    queue = frames.submissions
    start = since or (frames.plans["start"].min().date() if len(frames.plans) else frames.as_of)
    approved = queue[(queue["status"] == "approved") & (queue["decided_at"].dt.normalize() > pd.Timestamp(start))]
    table = _described(frames, approved)
    table["approved_on"] = table["decided_at"].dt.normalize()
    table["submitted_on"] = table["first_submitted_at"].dt.normalize()
    table["approved_by"] = table["decided_by"]
    table["waited_days"] = (table["decided_at"] - table["first_submitted_at"]).dt.days.astype("int64")
    table["revisions"] = table["revision"].astype("int64")
    table = table.sort_values(["decided_at", "submission"], kind="stable").reset_index(drop=True)
    note = f"approved after {start.isoformat()}; waited = from the first submission to the approval"
    return Section("Updates in the period", table, key="updates", columns=UPDATE_COLUMNS, note=note)


def pending(frames) -> Section:
    """Submissions pending on the as-of date, oldest first, with how long each has waited."""
    queue = frames.submissions
    table = _described(frames, queue[queue["status"] == "pending"])
    table["submitted_on"] = table["submitted_at"].dt.normalize()
    table["waiting_days"] = (pd.Timestamp(frames.as_of) - table["submitted_on"]).dt.days.astype("int64")
    table = table.sort_values(["submitted_at", "submission"], kind="stable").reset_index(drop=True)
    returned = int((queue["status"] == "returned").sum())
    note = f"{returned} more returned to their submitter" if returned else None
    return Section("Pending review", table, key="pending-review", columns=PENDING_COLUMNS, note=note)


def add_to(report, frames, since: dt.date | None) -> None:
    """Add the two sections (before the full activity list) and their figures to a progress report."""
    if frames.submissions.empty:
        return
    done, waiting = updates(frames, since), pending(frames)
    oldest = int(waiting.table["waiting_days"].max()) if len(waiting.table) else None
    report.figures += [
        Figure("pending_review", "Pending review", len(waiting.table),
               detail=f"oldest waiting {oldest} days" if oldest is not None else "nothing waits for a lead"),
        Figure("updates_approved", "Updates approved in the period", len(done.table), detail="submitted by members"),
    ]  # fmt: skip
    report.sections[-1:-1] = [done, waiting]
