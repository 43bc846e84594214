"""Administration commands: `cpflow backup FILE` and `cpflow restore FILE [--force]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpflow.cli import cli, pass_ctx
from cpflow.errors import EXIT_FINDINGS


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it already exists.")
@pass_ctx
def backup(c, file: Path, force: bool) -> None:
    """Write a consistent snapshot of the database to FILE while others keep working.

    \b
    SQLite: a copy made with SQLite's online backup API (a SQLite file).
    PostgreSQL, or FILE ending in .jsonl / .jsonl.gz: a portable JSON-lines dump.
    The snapshot's event chain is verified; exit 1 if it does not verify.
    """
    from cpflow.backup import backup as take_backup

    result = take_backup(c.db, file, force=force)
    rows = sum(n for name, n in result.rows.items() if name != "chain_head")
    click.echo(f"{file}: {result.format} backup, {rows} rows, {result.events} events, chain head {result.head[:16]}")
    if not result.verified:
        click.echo(f"warning: the backed-up event chain does not verify: {result.problem}", err=True)
        sys.exit(EXIT_FINDINGS)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
@pass_ctx
def restore(c, file: Path, force: bool) -> None:
    """Restore a backup made by `cpflow backup` (either kind, into SQLite or PostgreSQL).

    Everything is restored in one transaction and the event chain is verified before it
    commits. A database that already holds plans or events is refused unless --force.
    """
    from cpflow.backup import restore as run_restore

    result = run_restore(c.db, file, force=force)
    rows = sum(n for name, n in result.rows.items() if name != "chain_head")
    replaced = " (replacing what the database held)" if result.replaced else ""
    click.echo(
        f"{c.db.display_url}: restored {rows} rows and {result.events} events from {file}{replaced}; "
        f"chain verified, head {result.head[:16]}"
    )
