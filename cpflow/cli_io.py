"""`cpflow import` and `cpflow export`: spreadsheets in and out (docs/importing.md).

Imported by cpflow.cli, which these commands attach to; the readers and writers load
only when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpflow.cli import Context, _default_actor, by_option, cli, pass_ctx


def _plugin_table(hook_name: str) -> dict:
    """name -> callable registered by plugins through register_importers / register_exporters."""
    from cpflow.plugins.manager import get_plugins

    table: dict = {}
    try:
        getattr(get_plugins().hook, hook_name)(register=lambda name, fn: table.setdefault(name, fn))
    except Exception as exc:  # noqa: BLE001 (a broken plugin must not take import/export down)
        click.echo(f"note: a plugin's {hook_name} hook failed: {type(exc).__name__}: {exc}", err=True)
    return table


def _progress(label: str):
    """click.progressbar on stderr when it is a terminal; otherwise rows pass through."""

    def wrap(items, length):
        if not sys.stderr.isatty() or length < 200:
            return items
        return _bar(items, length, label)

    return wrap


def _status(text: str) -> None:
    if sys.stderr.isatty():
        click.echo(text, err=True)


def _bar(items, length, label):
    with click.progressbar(items, length=length, label=label, file=sys.stderr) as bar:
        yield from bar


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan to import into (created when new).")
@click.option("--title", help="Title of a plan the import creates (default: the sheet's title row or the file name).")
@click.option("--map", "mapping", type=click.Path(path_type=Path), metavar="MAPPING.yaml",
              help="Mapping file: your headers, status words, dates, year (docs/importing.md).")  # fmt: skip
@click.option("--sheet", metavar="NAME", help="The sheet to read (default: the first with a header row).")
@click.option("--keep-going", is_flag=True, help="Write the good rows and put the rejected ones in FILE.rejects.csv.")
@by_option(required=False)
@pass_ctx
def import_(c: Context, file: Path, plan: str, title, mapping, sheet, keep_going: bool, actor) -> None:
    """Import a work-plan spreadsheet (.xlsx, .xls, .ods, .csv) into a plan.

    The header row is found (title rows above it are skipped) and its columns are
    matched to fields by name: Objective, Activity, Expected result, Responsible,
    Timeline, Q1..Q4, months, Status … Every row is checked first; nothing is written
    when any row fails, unless --keep-going. Importing the same file again changes
    nothing.
    """
    from cpflow.importers.service import import_file

    result = import_file(
        c.db, file, plan=plan, actor=actor or _default_actor(), title=title, mapping=mapping, sheet=sheet,
        keep_going=keep_going, progress=_progress("checking rows"), status=_status,
        readers={"." + k.lstrip(".").lower(): v for k, v in _plugin_table("register_importers").items()},
    )  # fmt: skip
    load = result.load
    where = f'{file} (sheet "{result.sheet}", header row {result.header_row})'
    if load.created:
        click.echo(f"{load.slug}: created from {where}: {len(load.added)} activities")
    elif not load.changed:
        click.echo(f"{load.slug}: unchanged ({result.rows} rows of {where} match the plan)")
    else:
        parts = [f"{len(load.added)} added"] if load.added else []
        parts += [f"{len(load.edited)} edited"] if load.edited else []
        parts += [f"{load.other_changes} other changes"] if load.other_changes else []
        click.echo(f"{load.slug}: {', '.join(parts or ['updated'])} from {where}")
    if result.ignored:
        click.echo(f"note: columns not imported: {', '.join(result.ignored)}", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if load.ignored_states:
        click.echo(
            f"note: the sheet's status was ignored for activities with recorded moves: {', '.join(load.ignored_states[:20])}",
            err=True,
        )
    if result.rejected:
        click.echo(f"{result.rejected} rows rejected and not imported; they are listed in {result.rejects_path}", err=True)


@cli.command("export")
@click.argument("plan", metavar="PLAN")
@click.option("--format", "fmt", default="xlsx", show_default=True, metavar="xlsx|csv",
              help="xlsx or csv (or a format a plugin adds).")  # fmt: skip
@click.option(
    "-o", "--output", "output", metavar="PATH", help="Where to write (default PLAN.FORMAT; - is standard output for csv)."
)
@pass_ctx
def export(c: Context, plan: str, fmt: str, output: str | None) -> None:
    """Write a plan's activities as a table that `cpflow import` reads back."""
    from cpflow.exporters import export_plan

    target, content = export_plan(c.db, plan, fmt, output, _plugin_table("register_exporters"))
    if content is not None:
        click.echo(content, nl=False)
    else:
        click.echo(f"{plan}: written to {target}", err=True)
