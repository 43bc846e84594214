"""What changed between two dates: the moves with who and why, the activities added or
edited (create and edit events), and the findings that appeared or were resolved."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from cpflow.reports.model import Column, Section


def transitions(frames, since: dt.date) -> Section:
    """Every move dated after `since` and on or before the as-of date, by date (then log order)."""
    events = frames.events
    moved = events[pd.to_datetime(events["at"]) > pd.Timestamp(since)].sort_values(["at", "event"], kind="stable")
    titles = frames.activities[["id", "title"]].rename(columns={"id": "activity"})
    table = moved.merge(titles, how="left", on="activity")
    # A member's approved move: its actor is the submitter; the approver comes from the queue.
    queue = frames.submissions
    approvals = queue.loc[queue["status"] == "approved", ["event", "decided_by"]].dropna(subset=["event"])
    approver = dict(zip(approvals["event"].astype("int64"), approvals["decided_by"]))
    table["approved_by"] = table["event"].map(approver).astype(object).where(table["event"].isin(approver), None)
    columns = (
        Column("at", "Date", "date"), Column("activity", "Activity"), Column("title", "Title"),
        Column("trigger", "Move"), Column("from", "From"), Column("to", "To"), Column("actor", "By"),
        Column("approved_by", "Approved by"), Column("reason", "Reason"), Column("ref", "Reference"),
    )  # fmt: skip
    return Section("Moves since the last review", table.reset_index(drop=True), key="changes-moves", columns=columns)


def edits(session: Session, plan_slugs: list[str], since: dt.date, as_of: dt.date) -> Section:
    """Activities added (create events) or edited (edit events) in the period, in log order."""
    from cpflow.models import Activity, Plan, TransitionEvent

    query = (
        select(
            TransitionEvent.id.label("event"), TransitionEvent.at, TransitionEvent.kind,
            (Plan.slug + literal(":") + Activity.code).label("activity"), Activity.title, TransitionEvent.actor,
            TransitionEvent.data,
        )
        .join(Activity, Activity.id == TransitionEvent.activity_id)
        .join(Plan, Plan.id == Activity.plan_id)
        .where(TransitionEvent.kind.in_(("create", "edit")), TransitionEvent.at > since, TransitionEvent.at <= as_of,
               Plan.slug.in_(plan_slugs))
        .order_by(TransitionEvent.id)
    )  # fmt: skip
    table = pd.read_sql_query(query, session.connection())
    table["change"] = table["kind"].map({"create": "added", "edit": "edited"})
    table["fields"] = [", ".join(sorted((json.loads(d) if d else {}).get("changes", {}))) for d in table["data"]]
    columns = (
        Column("at", "Date", "date"), Column("activity", "Activity"), Column("title", "Title"),
        Column("change", "Change"), Column("fields", "Fields changed"), Column("actor", "By"),
    )  # fmt: skip
    return Section("Activities added or edited", table.drop(columns="data"), key="changes-edits", columns=columns)


FINDING_COLUMNS = (
    Column("severity", "Severity", rag="severity"), Column("code", "Rule"), Column("subject", "Subject"),
    Column("message", "Message"),
)  # fmt: skip


def findings_diff(before: pd.DataFrame, after: pd.DataFrame) -> tuple[Section, Section]:
    """Findings present on the as-of date but not on `since` (appeared), and the reverse
    (resolved). A finding is identified by its rule code and subject: its message may
    carry counts of days that change from one date to the next."""
    keys = ["code", "subject"]
    merged = after.merge(before[keys].drop_duplicates(), how="left", on=keys, indicator=True)
    appeared = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    merged = before.merge(after[keys].drop_duplicates(), how="left", on=keys, indicator=True)
    resolved = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    return (
        Section("Findings that appeared", appeared.reset_index(drop=True), key="changes-findings-new", columns=FINDING_COLUMNS),
        Section("Findings resolved", resolved.reset_index(drop=True), key="changes-findings-resolved", columns=FINDING_COLUMNS),
    )
