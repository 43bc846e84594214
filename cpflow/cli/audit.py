"""`cpflow audit …`: check the hash-chained event log."""

from __future__ import annotations

import sys

import click

from cpflow.cli.common import Context, pass_ctx, say
from cpflow.errors import EXIT_FINDINGS


@click.group()
def audit() -> None:
    """Check the hash-chained event log."""


@audit.command()
@pass_ctx
def verify(c: Context) -> None:
    """Recompute the event chain; exit 1 naming the first altered, removed or reordered event."""
    from cpflow.audit import verify as verify_chain

    with c.db.read() as session:
        result = verify_chain(session)
    if result.ok:
        click.echo(f"ok: {result.events} events, chain head {result.head[:16]}")
        return
    say(f"audit failed: {result.problem}")
    sys.exit(EXIT_FINDINGS)


COMMANDS = (audit,)
