"""The tracker spreadsheet: `tracker export`, `tracker import`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpflow.cli.common import Context, pass_ctx, say


@click.group()
def tracker() -> None:
    """A spreadsheet members fill in offline and send back (see docs/team.md)."""


@tracker.command("export")
@click.option("--plan", required=True, metavar="SLUG", help="The plan.")
@click.option("--lead", metavar="ORG", help="Only the activities this organisation leads.")
@click.option("--unit", metavar="KEY", help="Only the activities of this unit.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path), help="The .xlsx file to write.")
@pass_ctx
def export(c: Context, plan, lead, unit, output) -> None:
    """Write the tracker spreadsheet for members to fill in (no --by needed)."""
    from cpflow.tracker import export_tracker

    if lead and unit:
        raise click.UsageError("give --lead or --unit, not both")
    result = export_tracker(c.db, plan, output, lead=lead, unit=unit)
    click.echo(f"{result.path}: {result.plan}: {result.activities} activities, {result.indicators} indicator rows")


@tracker.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--by", "by", envvar="CPFLOW_USER", show_envvar=True, metavar="LOGIN", required=True,
              help="Who sends the tracker in (an account login); a lead's rows are recorded, a member's submitted.")  # fmt: skip
@click.option("--keep-going", is_flag=True, help="Import the good rows and report the bad ones (exit 1 when any was bad).")
@pass_ctx
def import_(c: Context, file, by, keep_going) -> None:
    """Import a filled tracker: every filled row becomes a submission (or a record for a lead)."""
    from cpflow.tracker import import_tracker

    result = import_tracker(c.db, file, by=by, keep_going=keep_going, plugins=c.plugins)
    click.echo(result.summary())
    for line in result.rejected + result.conflicts:
        say(line)
    if result.rejected or result.conflicts:
        sys.exit(1)


COMMANDS = (tracker,)
