"""Administration: `cpflow backup FILE`, `cpflow restore FILE [--force]` and `cpflow demo`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpflow.cli.common import Context, pass_ctx, resume_collection, say
from cpflow.errors import EXIT_FINDINGS


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it already exists.")
@pass_ctx
def backup(c: Context, file: Path, force: bool) -> None:
    """Write a consistent snapshot of the database to FILE while others keep working.

    \b
    SQLite: a copy made with SQLite's online backup API (a SQLite file).
    PostgreSQL, or FILE ending in .jsonl / .jsonl.gz: a portable JSON-lines dump.
    The snapshot's event chain is verified; exit 1 if it does not verify.
    """
    from cpflow.backup import backup as take_backup

    result = take_backup(c.db, file, force=force)
    click.echo(f"{file}: {result.format} backup, {result.data_rows} rows, {result.events} events, chain head {result.head[:16]}")
    if not result.verified:
        say(f"warning: the backed-up event chain does not verify: {result.problem}")
        sys.exit(EXIT_FINDINGS)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
@pass_ctx
def restore(c: Context, file: Path, force: bool) -> None:
    """Restore a backup made by `cpflow backup` (either kind, into SQLite or PostgreSQL).

    Everything is restored in one transaction and the event chain is verified before it
    commits. A database that already holds plans or events is refused unless --force.
    """
    from cpflow.backup import restore as run_restore

    result = run_restore(c.db, file, force=force)
    replaced = " (replacing what the database held)" if result.replaced else ""
    click.echo(
        f"{c.db.display_url}: restored {result.data_rows} rows and {result.events} events from {file}{replaced}; "
        f"chain verified, head {result.head[:16]}"
        + (f"; upgraded from schema {result.upgraded_from} as `cpflow init` does" if result.upgraded_from else "")
        + (f"; {result.bumped} changed activities got a restore event (new versions)" if result.bumped else "")
    )


@click.command()
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("cpflow-demo"), show_default=True,
              help="Folder to create (replaced if it holds an earlier demo).")  # fmt: skip
@click.option("--workflows", "workflows_dir", type=click.Path(path_type=Path), default=Path("workflows"),
              show_default=True, help="Folder of plan files to load.")  # fmt: skip
def demo(out: Path, workflows_dir: Path) -> None:
    """Run cpflow end to end on the seed plans: a fresh SQLite database, an illustrative
    history of moves, and the reports, all written into one folder."""
    from cpflow.demo import run_demo

    resume_collection()  # the demo opens its own database, not the context's
    run_demo(out, workflows_dir, echo=click.echo)


COMMANDS = (backup, restore, demo)
