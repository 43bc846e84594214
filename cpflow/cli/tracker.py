"""The tracker spreadsheet: `tracker export`, `tracker import`."""

from __future__ import annotations

import click


@click.group()
def tracker() -> None:
    """A spreadsheet members fill in offline and send back (see docs/team.md)."""


COMMANDS = (tracker,)
