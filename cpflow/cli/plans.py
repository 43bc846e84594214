"""Setting up and reading plans: `init`, `load`, `plans`, `activities`, `show`, `history`,
`units`, `indicators`."""

from __future__ import annotations

from pathlib import Path

import click

from cpflow.cli.common import DATE, Context, by_option, default_actor, emit, format_option, pass_ctx, say


@click.command()
@pass_ctx
def init(c: Context) -> None:
    """Create the database, or upgrade it to this cpflow's schema."""
    before, after = c.db.init()
    if before == after:
        click.echo(f"{c.db.display_url}: schema is current ({after})")
    elif before is None:
        click.echo(f"{c.db.display_url}: created (schema {after})")
    else:
        click.echo(f"{c.db.display_url}: upgraded from {before} to {after}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@by_option(required=False)
@pass_ctx
def load(c: Context, files: tuple[Path, ...], actor: str | None) -> None:
    """Load plan files (YAML) into the database.

    Every file is validated in full first; nothing is written unless all are valid.
    Loading is an idempotent upsert by plan slug and activity code: loading again
    changes nothing, edits are recorded in the audit log, and activities that vanished
    from a file are reported and kept.
    """
    from cpflow.services import load_files

    for result in load_files(c.db, files, actor=actor or default_actor()):
        click.echo(result.summary())
        for line in result.notes("file"):
            say(line)


@click.command()
@format_option()
@pass_ctx
def plans(c: Context, fmt: str) -> None:
    """List loaded plans."""
    from cpflow.read.queries import list_plans
    from cpflow.render import render

    with c.db.read() as session:
        emit(render(list_plans(session), fmt))


@click.command()
@click.option("--plan", "plans_", multiple=True, metavar="SLUG", help="Only this plan (repeatable).")
@click.option("--state", "states", multiple=True, metavar="STATE", help="Only activities in this state (repeatable).")
@click.option("--objective", metavar="CODE", help="Only this objective.")
@click.option("--unit", metavar="KEY", help="Only this unit.")
@click.option("--sector", metavar="NAME", help="Only activities tagged with this sector.")
@click.option("--phase", metavar="KEY", help="Only this phase (a period key such as years-1-2).")
@click.option("--as-of", "as_of", type=DATE, help="State on this date, replayed from the event log.")
@format_option()
@pass_ctx
def activities(c: Context, plans_, states, objective, unit, sector, phase, as_of, fmt) -> None:
    """List activities with their state, optionally as of a past date."""
    from cpflow.read.queries import ACTIVITY_COLUMNS, list_activities, require_known_states
    from cpflow.render import render

    with c.db.read() as session:
        require_known_states(session, states, plans_)
        rows = list_activities(
            session, plans=plans_, states=states, objective=objective, unit=unit, sector=sector, phase=phase, as_of=as_of
        )
    columns = ACTIVITY_COLUMNS if fmt != "table" else ("id", "state", "due", "title")
    emit(render(rows, fmt, columns))


@click.command()
@click.argument("ident", metavar="PLAN:CODE")
@format_option("table", "json")
@pass_ctx
def show(c: Context, ident: str, fmt: str) -> None:
    """Show one activity: its fields, state, version and the moves allowed now."""
    from cpflow.read.queries import show_activity
    from cpflow.render import render_json, render_record

    with c.db.read() as session:
        record = show_activity(session, ident)
    emit(render_json(record) + "\n" if fmt == "json" else render_record(record))


@click.command()
@click.argument("ident", metavar="PLAN:CODE")
@format_option()
@pass_ctx
def history(c: Context, ident: str, fmt: str) -> None:
    """Show every move of one activity (and approved comments on it): who, when, why."""
    from cpflow.read.queries import history as history_rows
    from cpflow.render import render

    with c.db.read() as session:
        rows = history_rows(session, ident)
    columns = ("at", "trigger", "from", "to", "actor", "approved_by", "reason", "ref", "comment") if fmt == "table" else None
    emit(render(rows, fmt, columns))


@click.command()
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan.")
@format_option()
@pass_ctx
def units(c: Context, plan: str, fmt: str) -> None:
    """List a plan's units with their leads and budget lines."""
    from cpflow.read.queries import list_units, unit_table_rows
    from cpflow.render import render

    with c.db.read() as session:
        rows = list_units(session, plan)
    emit(render(unit_table_rows(rows) if fmt == "table" else rows, fmt))


@click.command()
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan.")
@format_option()
@pass_ctx
def indicators(c: Context, plan: str, fmt: str) -> None:
    """List a plan's indicators with baseline, targets and latest value."""
    from cpflow.read.queries import list_indicators
    from cpflow.render import render

    with c.db.read() as session:
        rows = list_indicators(session, plan)
    emit(render(rows, fmt))


COMMANDS = (init, load, plans, activities, show, history, units, indicators)
