"""Governance rules (G): who is responsible, what result is expected, and whether the
history shows the decisions (endorsement, a reason for dropping) the lifecycle asks for.
States are judged by their lifecycle tags (cancelled, endorsed, active, paused, done)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import IMPORT_TRIGGER, RegisterRule, Rule, findings

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


def _not_dropped(ctx: Context, acts: pd.DataFrame) -> pd.DataFrame:
    return acts[~ctx.tagged(acts, "cancelled")]


class NoLead(Rule):
    code = "G401"
    title = "Activity without a lead or responsible actor"
    severity = "warning"
    pack = "governance"
    description = (
        "A live or finished activity (not dropped) that names no lead, and whose unit names no "
        "lead either: the unit's leads count as responsible for its activities."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = _not_dropped(ctx, ctx.activities)
        rows = acts[acts["lead"].isna()]
        message = rows["id"] + " names no lead or responsible actor" + rows["unit"].notna().map(
            {True: " (and its unit names no lead)", False: ""})  # fmt: skip
        return findings(rows, message, data=["unit", "objective", "state"])


class NoExpectedResult(Rule):
    code = "G402"
    title = "Activity without an expected result"
    severity = "info"
    pack = "governance"
    description = (
        "In a plan that records expected results (`records_expected_results: true`, or any of "
        "its activities states one), an activity (not dropped) with no expected result of its "
        "own and none stated for its objective."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        stating = acts.loc[acts["expected_result"].fillna("").str.strip() != "", "plan"]
        recording = ctx.plans.loc[ctx.plans["records_expected_results"], "slug"]
        acts = _not_dropped(ctx, acts)
        rows = acts[acts["plan"].isin(set(stating) | set(recording)) & ~acts["has_expected_result"]]
        return findings(rows, rows["id"] + " states no expected result", data=["objective", "state"])


class NotEndorsed(Rule):
    code = "G403"
    title = "Started without endorsement"
    severity = "warning"
    pack = "governance"
    description = (
        "An activity started (in progress, on hold or completed: a state its lifecycle tags "
        "`active`, `paused` or `done`) whose history (up to the check date) holds no endorsement: "
        "no move into an `endorsed` state, and it was not loaded as endorsed. An imported status "
        "is where the history starts, not a skipped step; plans whose lifecycle has no endorsed "
        "state are not judged."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        events = ctx.events
        endorsed = events.loc[ctx.tagged(events, "endorsed", column="to"), "activity"]
        imported = events.loc[events["trigger"] == IMPORT_TRIGGER, "activity"]
        judged = [slug for slug, lifecycle in ctx.lifecycles.items() if lifecycle.tagged("endorsed")]
        started = ctx.tagged(acts, "active", "paused", "done")
        rows = acts[started & acts["plan"].isin(judged) & ~acts["id"].isin(set(endorsed) | set(imported))
                    & ~ctx.tagged(acts, "endorsed", column="initial_state")]  # fmt: skip
        message = rows["id"] + " is " + rows["state"] + " but its history has no endorsement"
        return findings(rows, message, data=["state", "objective"])


class DroppedWithoutReason(Rule):
    code = "G404"
    title = "Dropped without a reason"
    severity = "warning"
    pack = "governance"
    description = "A dropped activity whose drop carries no reason, or that was loaded as dropped with no recorded drop at all."

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        events = ctx.events
        drops = events[ctx.tagged(events, "cancelled", column="to")].drop_duplicates("activity", keep="last")
        dropped = acts[ctx.tagged(acts, "cancelled")].merge(
            drops[["activity", "reason", "at"]], how="left", left_on="id", right_on="activity"
        )
        rows = dropped[dropped["reason"].fillna("").str.strip() == ""]
        message = rows["id"] + rows["at"].isna().map(
            {True: " is dropped with no recorded drop or reason", False: " was dropped without a reason"})  # fmt: skip
        return findings(rows, message, data={"dropped_at": "at", "objective": "objective"})


RULES = (NoLead(), NoExpectedResult(), NotEndorsed(), DroppedWithoutReason())


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
