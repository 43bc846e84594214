"""Timeline rules (T): phase deadlines, due dates, stale and never-started activities.

All of them read the activities' state as of the check date, and judge it by what the
plan's lifecycle says the state means (its tags: final, active, endorsed), never by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import Option, RegisterRule, Rule, findings, iso, last_import

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


class PhaseNotCompleted(Rule):
    code = "T101"
    title = "Action not completed or dropped by the end of its phase"
    severity = "warning"
    pack = "timeline"
    description = (
        "An activity that belongs to a phase (such as the Years 1-2 prioritised actions of a "
        "multi-year framework) and is still neither completed nor dropped once that phase has "
        "ended. Each unfinished action is reported once; actions of phases that have not ended "
        "yet are not. Completing or dropping it (dated on or before the check date) clears it."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        late = acts[acts["phase_end"].notna() & (acts["phase_end"] < ctx.today) & ~ctx.tagged(acts, "final")]
        phase = late["phase_name"].fillna(late["phase"])
        message = (late["id"] + " is " + late["state"] + " on " + str(ctx.as_of) + "; " + phase + " ended "
                   + iso(late["phase_end"]))  # fmt: skip
        return findings(late, message, data=["state", "phase", "phase_end", "objective", "unit"])


class PastDue(Rule):
    code = "T102"
    title = "Activity past its due date"
    severity = "warning"
    pack = "timeline"
    description = (
        "An activity whose own due date has passed and that is neither completed nor dropped. "
        "Due dates that are simply the end of the activity's phase are left to T101."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        own_due = acts["phase_end"].isna() | (acts["due"] != acts["phase_end"])
        late = acts[own_due & acts["due"].notna() & (acts["due"] < ctx.today) & ~ctx.tagged(acts, "final")]
        days = (ctx.today - late["due"]).dt.days
        message = (late["id"] + " is " + late["state"] + " on " + str(ctx.as_of) + "; it was due on "
                   + iso(late["due"]) + " (" + days.astype(str) + " days ago)")  # fmt: skip
        return findings(late, message, data={"state": "state", "due": "due", "days_overdue": days, "objective": "objective"})


class Stale(Rule):
    code = "T103"
    title = "In progress with no recorded move for a long time"
    severity = "warning"
    pack = "timeline"
    description = (
        "An activity in progress (a state its lifecycle tags `active`) whose last recorded move "
        "(or, without one, its start date) is more than `days` days before the check date: nobody "
        "has reported on it. An imported status counts as a recorded move, dated as the sheet says."
    )
    options = {"days": Option(90, "days without a move before an activity in progress is stale", minimum=1, maximum=36500)}

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        since = acts["last_event_at"].fillna(acts["start"])
        idle = (ctx.today - since).dt.days
        stale = ctx.tagged(acts, "active") & (idle > ctx.config["days"])
        rows = acts[stale]
        message = (rows["id"] + " has been " + _spoken(rows["state"]) + " with no recorded move since " + iso(since[stale])
                   + " (" + idle[stale].astype(str) + " days)")  # fmt: skip
        return findings(rows, message, data={"since": since[stale], "days": idle[stale], "objective": "objective"})


class NotStarted(Rule):
    code = "T104"
    title = "Endorsed but not started long after its planned start"
    severity = "info"
    pack = "timeline"
    description = (
        "An activity still endorsed (a state its lifecycle tags `endorsed`: agreed, not started) more "
        "than `days` days after its planned start date. When the state came from an imported status, "
        "the days count from the later of the planned start and the status date."
    )
    options = {
        "days": Option(60, "days after the planned start before an endorsed activity is flagged", minimum=0, maximum=36500)
    }

    def check(self, ctx: Context) -> pd.DataFrame:
        import pandas as pd

        acts = ctx.activities
        imported = last_import(ctx.events)
        status_date = pd.Series(imported.reindex(acts["id"]).to_numpy(), index=acts.index)
        since = status_date.where(status_date > acts["start"], acts["start"])
        waited = (ctx.today - since).dt.days
        waiting = ctx.tagged(acts, "endorsed") & (waited > ctx.config["days"])
        rows = acts[waiting]
        message = (rows["id"] + " is " + _spoken(rows["state"]) + " but not started " + waited[waiting].astype(str)
                   + " days after its planned start " + iso(rows["start"]))  # fmt: skip
        return findings(rows, message, data={"start": "start", "days": waited[waiting], "objective": "objective"})


def _spoken(states: pd.Series) -> pd.Series:
    """`in_progress` as `in progress`, for messages."""
    return states.astype(str).str.replace("_", " ", regex=False)


RULES = (PhaseNotCompleted(), PastDue(), Stale(), NotStarted())


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
