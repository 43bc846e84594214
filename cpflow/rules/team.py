"""Team rules (G, governance of the review loop, issue 14): a member's update that waits too
long for a lead is a finding, so the queue is seen where every other problem is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import Option, RegisterRule, Rule, findings, iso

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


class PendingTooLong(Rule):
    code = "G405"
    title = "Submission pending review for too long"
    severity = "warning"
    pack = "governance"
    description = (
        "A member's submission (a move, indicator value or funding update) still pending on the "
        "check date more than `days` days after it was (re)submitted: no lead or co-lead has "
        "approved or returned it. Returned submissions wait on their member and are not judged."
    )
    options = {"days": Option(14, "days a submission may wait for a lead's decision", minimum=1, maximum=36500)}

    def check(self, ctx: Context) -> pd.DataFrame:
        queue = ctx.frames.submissions
        pending = queue[queue["status"] == "pending"]
        waited = (ctx.today - pending["submitted_at"].dt.normalize()).dt.days
        rows = pending[waited > ctx.config["days"]]
        waited = waited[rows.index]
        what = rows["kind"].where(rows["kind"] != "move", rows["trigger"].fillna("move"))
        message = (
            "submission " + rows["submission"].astype(str) + " (" + what + " of " + rows["activity"] + " by "
            + rows["submitted_by"] + ") has waited " + waited.astype(str) + " days for review since "
            + iso(rows["submitted_at"].dt.normalize())
        )  # fmt: skip
        data = {"submission": "submission", "kind": "kind", "submitted_by": "submitted_by", "days": waited}
        return findings(rows, message, subject="activity", data=data)


RULES = (PendingTooLong(),)


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
