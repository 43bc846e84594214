"""Submissions and their review: `submit` (a move), `submit measure`, `submit fund`,
`review` (the queue), `review approve|return|withdraw|resubmit`."""

from __future__ import annotations

import click

from cpflow.cli.common import DATE, Amount, Context, emit, format_option, pass_ctx, say
from cpflow.cli.users import login_by

SUBMITTER = "Who submits (an account login)."


def _show(row: dict, fmt: str, verb: str) -> None:
    if fmt == "json":
        from cpflow.safe_output import render_json

        emit(render_json(row) + "\n")
        return
    if fmt == "csv":
        from cpflow.render import render

        emit(render([row], "csv"))
        return
    what = row["trigger"] or row["kind"]
    click.echo(f"submission {row['id']}: {row['activity']} {what} {verb} ({row['status']}; by {row['submitted_by']})")


class _SubmitGroup(click.Group):
    """`cpflow submit PLAN:CODE TRIGGER` is `submit move`; `submit measure|fund|comment` name their kind."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["move", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_SubmitGroup)
def submit() -> None:
    """Submit an update for a lead to approve: `submit PLAN:CODE TRIGGER`, `submit measure|fund|comment`.

    A submission changes nothing until a lead or co-lead approves it (`cpflow review`).
    """


@submit.command("move")
@click.argument("ident", metavar="PLAN:CODE")
@click.argument("trigger")
@login_by(SUBMITTER)
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD), e.g. the meeting date. Default today.")
@click.option("--reason", help="Why (required for drop, reopen and reinstate).")
@click.option("--ref", help="Reference: minutes, report, photo link.")
@click.option("--comment", help="A note for the lead.")
@format_option()
@pass_ctx
def submit_move(c: Context, ident, trigger, by, at, reason, ref, comment, fmt) -> None:
    """Submit a move of an activity (the default kind)."""
    from cpflow.teams.submissions import Draft, create

    _show(create(c.db, Draft("move", ident, trigger, at, reason, ref, comment), by=by), fmt, "submitted")


@submit.command("measure")
@click.argument("ident", metavar="PLAN:INDICATOR")
@click.argument("value")
@login_by(SUBMITTER)
@click.option("--at", "at", type=DATE, required=True, help="Date of the measurement (YYYY-MM-DD).")
@click.option("--period", metavar="KEY", help="Reporting period the value belongs to.")
@click.option("--source", help="Where the value comes from.")
@click.option("--comment", help="A note for the lead.")
@format_option()
@pass_ctx
def submit_measure(c: Context, ident, value, by, at, period, source, comment, fmt) -> None:
    """Submit an indicator value."""
    from cpflow.teams.submissions import Draft, create

    draft = Draft("measure", ident, None, at, None, source, comment, {"value": value, "period": period, "source": source})
    _show(create(c.db, draft, by=by), fmt, "submitted")


@submit.command("fund")
@click.argument("ident", metavar="PLAN:UNIT")
@click.option("--period", required=True, metavar="KEY", help="Budget period.")
@click.option("--received", type=Amount(), help="Total received so far for the unit and period.")
@click.option("--budget", type=Amount(), help="A revised budget.")
@login_by(SUBMITTER)
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD). Default today.")
@click.option("--reason", help="Why (the donor, the revision).")
@click.option("--comment", help="A note for the lead.")
@format_option()
@pass_ctx
def submit_fund(c: Context, ident, period, received, budget, by, at, reason, comment, fmt) -> None:
    """Submit a funding update (funds received or a revised budget)."""
    from cpflow.teams.submissions import Draft, create

    payload = {"period": period, "received": received, "budget": budget}
    _show(create(c.db, Draft("fund", ident, None, at, reason, None, comment, payload), by=by), fmt, "submitted")


@submit.command("comment")
@click.argument("ident", metavar="PLAN:CODE")
@click.option("--comment", required=True, help="What to record on the activity (shown in its history once approved).")
@login_by(SUBMITTER)
@click.option("--at", "at", type=DATE, help="When it was observed (YYYY-MM-DD). Default today.")
@click.option("--ref", help="Reference: minutes, report, photo link.")
@format_option()
@pass_ctx
def submit_comment(c: Context, ident, comment, by, at, ref, fmt) -> None:
    """Submit a comment on an activity (no move); approved, it joins the activity's history."""
    from cpflow.teams.submissions import Draft, create

    _show(create(c.db, Draft("comment", ident, None, at, None, ref, comment), by=by), fmt, "submitted")


@click.group(invoke_without_command=True)
@click.option("--plan", metavar="SLUG", help="Only this plan.")
@click.option("--mine", is_flag=True, help="Only the submissions of --by / CPFLOW_USER.")
@click.option("--all", "everything", is_flag=True, help="Approved and withdrawn ones too (default: pending and returned).")
@login_by("Your login (for --mine).")
@format_option()
@pass_ctx
@click.pass_context
def review(ctx: click.Context, c: Context, plan, mine, everything, by, fmt) -> None:
    """The review queue (pending and returned submissions, oldest first, with age in days);
    `review approve|return|withdraw|resubmit ID` decide or revise one."""
    if ctx.invoked_subcommand is not None:
        return
    from cpflow.read.team import STATUSES, list_submissions
    from cpflow.render import render

    if mine and not (by or "").strip():
        raise click.UsageError("--mine needs your login: pass --by LOGIN or set CPFLOW_USER")
    with c.db.read() as session:
        rows = list_submissions(
            session, plan=plan, mine=by if mine else None, statuses=STATUSES if everything else ("pending", "returned")
        )
    columns = (
        ("id", "activity", "kind", "trigger", "at", "submitted_by", "status", "age_days", "comment") if fmt == "table" else None
    )
    emit(render(rows, fmt, columns))


@review.command("approve")
@click.argument("ids", nargs=-1, required=True, type=int, metavar="ID…")
@login_by("The lead or co-lead approving (never the submitter).")
@format_option()
@pass_ctx
def approve(c: Context, ids, by, fmt) -> None:
    """Approve submissions: each is recorded now, with every check run again.

    They are approved in the order given; the first that fails stops the rest (those
    before it stay approved)."""
    from cpflow.teams.submissions import approve as approve_one

    rows = []
    for submission_id in ids:
        row = approve_one(c.db, submission_id, by=by, plugins=c.plugins)
        rows.append(row)
        if fmt == "table":
            _show(row, fmt, f"approved by {row['decided_by']} (event {row['event']})")
    if fmt != "table":
        from cpflow.render import render

        emit(render(rows, fmt))


@review.command("return")
@click.argument("submission_id", type=int, metavar="ID")
@login_by("The lead or co-lead returning it.")
@click.option("--comment", required=True, help="What the submitter should change or add.")
@format_option()
@pass_ctx
def return_(c: Context, submission_id, by, comment, fmt) -> None:
    """Return a submission to its submitter with a comment."""
    from cpflow.teams.submissions import return_submission

    _show(return_submission(c.db, submission_id, by=by, comment=comment), fmt, "returned")


@review.command("withdraw")
@click.argument("submission_id", type=int, metavar="ID")
@login_by("The submitter.")
@format_option()
@pass_ctx
def withdraw(c: Context, submission_id, by, fmt) -> None:
    """Withdraw your own pending or returned submission."""
    from cpflow.teams.submissions import withdraw as take_back

    _show(take_back(c.db, submission_id, by=by), fmt, "withdrawn")


@review.command("resubmit")
@click.argument("submission_id", type=int, metavar="ID")
@login_by("The submitter.")
@click.option("--trigger", help="A different move.")
@click.option("--at", "at", type=DATE, help="A corrected date.")
@click.option("--reason", help="A new reason.")
@click.option("--ref", help="A reference (minutes, report, photo link).")
@click.option("--comment", help="A note for the lead.")
@click.option("--value", help="A revised indicator value (a measure submission).")
@click.option("--period", metavar="KEY", help="A different reporting or budget period (a measure or fund submission).")
@click.option("--source", help="Where the value comes from (a measure submission; the same as --ref).")
@click.option("--received", type=Amount(), help="A revised total received (a fund submission).")
@click.option("--budget", type=Amount(), help="A revised budget (a fund submission).")
@format_option()
@pass_ctx
def resubmit(c: Context, submission_id, by, trigger, at, reason, ref, comment, value, period, source, received, budget,
             fmt) -> None:  # fmt: skip
    """Revise and resubmit a returned submission (earlier versions are kept); options not given stay as they were."""
    from cpflow.teams.submissions import Draft
    from cpflow.teams.submissions import resubmit as revise

    payload = {"value": value, "period": period, "source": source, "received": received, "budget": budget}
    row = revise(c.db, submission_id, Draft("move", "", trigger, at, reason, ref, comment, payload), by=by)
    _show(row, fmt, f"resubmitted (revision {row['revision']})")
    if row["status"] != "pending":
        say(f"note: submission {row['id']} is {row['status']}")


COMMANDS = (submit, review)
