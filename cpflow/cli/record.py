"""Recording facts: `move`, `measure`, `fund`."""

from __future__ import annotations

import click

from cpflow.cli.common import DATE, Amount, Context, by_option, pass_ctx, say


@click.command()
@click.argument("ident", metavar="PLAN:CODE")
@click.argument("trigger")
@by_option()
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD), e.g. the meeting date. Default today.")
@click.option("--reason", help="Why (required for drop, reopen and reinstate).")
@click.option("--ref", help="Reference: meeting minutes, decision id.")
@click.option("--expect-version", "expected_version", type=int, metavar="N",
              help="Refuse the move (exit 3) unless the activity is still at version N.")  # fmt: skip
@pass_ctx
def move(c: Context, ident, trigger, actor, at, reason, ref, expected_version) -> None:
    """Move an activity through its lifecycle: endorse, start, complete, drop, reopen, reinstate."""
    from cpflow.services import move as move_activity

    result = move_activity(
        c.db, ident, trigger, actor=actor, at=at, reason=reason, ref=ref,
        expected_version=expected_version, plugins=c.plugins,
    )  # fmt: skip
    click.echo(
        f"{result.id}: {result.source} -> {result.dest} ({result.trigger} by {result.actor} on {result.at}; event {result.event_id})"
    )
    for warning in result.warnings:
        say(f"note: {warning}")


@click.command()
@click.argument("ident", metavar="PLAN:INDICATOR")
@click.argument("value")
@click.option("--at", "at", type=DATE, required=True, help="Date of the measurement (YYYY-MM-DD).")
@by_option()
@click.option("--period", metavar="KEY", help="Reporting period the value belongs to.")
@click.option("--source", help="Where the value comes from (survey, report, dashboard).")
@pass_ctx
def measure(c: Context, ident, value, at, actor, period, source) -> None:
    """Record an indicator value."""
    from cpflow.services import measure as record

    result = record(c.db, ident, value, actor=actor, at=at, period=period, source=source)
    click.echo(f"{result.id}: {result.value:g} on {result.at} (event {result.event_id})")


@click.command()
@click.argument("ident", metavar="PLAN:UNIT")
@click.option("--period", required=True, metavar="KEY", help="Budget period, e.g. 2018.")
@click.option("--received", type=Amount(), help="Total received so far for the unit and period.")
@click.option("--budget", type=Amount(), help="A revised budget for the unit and period.")
@by_option()
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD). Default today.")
@click.option("--reason", help="Why (e.g. the donor or the budget revision).")
@pass_ctx
def fund(c: Context, ident, period, received, budget, actor, at, reason) -> None:
    """Record funds received (the running total) or a revised budget for a unit."""
    from cpflow.services import fund as record

    result = record(c.db, ident, period=period, received=received, budget=budget, actor=actor, at=at, reason=reason)
    click.echo(f"{result.id} {result.period}: budget {result.budget}, received {result.received} (event {result.event_id})")


COMMANDS = (move, measure, fund)
