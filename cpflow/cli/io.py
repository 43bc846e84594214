"""`cpflow import` and `cpflow export`: spreadsheets in and out (docs/importing.md).

The readers and writers load only when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpflow.cli.common import DATE, Context, by_option, default_actor, pass_ctx, say


def _plugin_table(c: Context, hook_name: str) -> dict:
    """name -> callable registered by plugins through register_importers / register_exporters."""
    table, problems = c.plugins.formats(hook_name)  # one broken plugin loses only its own formats
    for problem in problems:
        say(f"note: {problem}")
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
        say(text)


def _bar(items, length, label):
    with click.progressbar(items, length=length, label=label, file=sys.stderr) as bar:
        yield from bar


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan to import into (created when new).")
@click.option("--title", help="Title of a plan the import creates (default: the sheet's title row or the file name).")
@click.option("--map", "mapping", type=click.Path(path_type=Path), metavar="MAPPING.yaml",
              help="Mapping file: your headers, status words, dates, year (docs/importing.md).")  # fmt: skip
@click.option("--sheet", metavar="NAME", help="The sheet to read (default: the first with a header row).")
@click.option("--keep-going", is_flag=True, help="Write the good rows and put the rejected ones in FILE.rejects.csv.")
@click.option("--dry-run", is_flag=True, help="Check everything and say what would change; write nothing.")
@click.option("--merge", is_flag=True, help="Let a sheet titled otherwise add objectives and units to an existing plan.")
@click.option("--status-date", type=DATE, help="The date statuses held, when the sheet gives none (default: today).")
@by_option(required=False)
@pass_ctx
def import_(c: Context, file: Path, plan: str, title, mapping, sheet, keep_going: bool, dry_run: bool, merge: bool,
            status_date, actor) -> None:  # fmt: skip
    """Import a work-plan spreadsheet (.xlsx, .xls, .ods, .csv) into a plan.

    The header row is found (title rows above it are skipped) and its columns are
    matched to fields by name: Objective, Activity, Expected result, Responsible,
    Timeline, Q1..Q4, months, Status … Every row is checked first; nothing is written
    when any row fails, unless --keep-going. Importing the same file again changes
    nothing.
    """
    from cpflow.importers.service import import_file

    result = import_file(
        c.db, file, plan=plan, actor=actor or default_actor(), title=title, mapping=mapping, sheet=sheet,
        keep_going=keep_going, progress=_progress("checking rows"), status=_status,
        dry_run=dry_run, merge=merge, status_date=status_date,
        readers=_plugin_table(c, "register_importers"),
    )  # fmt: skip
    click.echo(result.summary(f'{file} (sheet "{result.sheet}", header row {result.header_row})'))
    if result.ignored:
        say(f"note: columns not imported: {', '.join(result.ignored)}")
    for note in result.notes:
        say(f"note: {note}")
    for line in result.load.notes("sheet"):
        say(line)
    if result.rejected:
        say(f"{result.rejected} rows rejected and not imported; they are listed in {result.rejects_path}")


@click.command("export")
@click.argument("plan", metavar="PLAN")
@click.option("--format", "fmt", default="xlsx", show_default=True, metavar="xlsx|csv|iati|hxl",
              help="xlsx or csv (a table import reads back), iati (IATI 2.03 XML), hxl (HXL-tagged CSV), or a plugin's.")  # fmt: skip
@click.option(
    "-o", "--output", "output", metavar="PATH", help="Where to write (default PLAN.FORMAT; - is standard output for csv)."
)
@click.option("--reporting-org", "reporting_org", metavar="REF",
              help="With --format iati: the reporting organisation's IATI identifier (default: the plan's plan.iati).")  # fmt: skip
@click.option("--table", "table", type=click.Choice(("activities", "indicators", "funding")), default="activities",
              show_default=True, help="With --format hxl: which table.")  # fmt: skip
@pass_ctx
def export(c: Context, plan: str, fmt: str, output: str | None, reporting_org: str | None, table: str) -> None:
    """Write a plan's activities as a table that `cpflow import` reads back, or as an
    IATI 2.03 activity file or a HXL-tagged table (docs/exports.md)."""
    from cpflow.exporters import export_plan

    if fmt in ("iati", "hxl"):
        notes: list[str] = []
        if fmt == "iati":
            from cpflow.exports.iati import export_iati

            target, built = export_iati(c.db, plan, output, reporting_org)
            content, notes = (built.xml.decode("utf-8") if target == "-" else None), built.notes
        else:
            from cpflow.exports.hxl import export_hxl

            target, content = export_hxl(c.db, plan, table, output)
        for note in notes:
            say(f"note: {note}")
        if content is not None:
            click.echo(content, nl=False)
        else:
            say(f"{plan}: written to {target}")
        return
    target, content = export_plan(c.db, plan, fmt, output, _plugin_table(c, "register_exporters"))
    if content is not None:
        click.echo(content, nl=False)
    else:
        say(f"{plan}: written to {target}")


COMMANDS = (import_, export)
