"""`cpflow orgs`: the organisations a plan declares and the names it uses (issue 16)."""

from __future__ import annotations

import click

from cpflow.cli.common import Context, emit, format_option, pass_ctx, say

TABLE_COLUMNS = ("name", "acronym", "type_name", "national_or_local", "declared", "used", "where")


@click.command()
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan.")
@format_option()
@pass_ctx
def orgs(c: Context, plan: str, fmt: str) -> None:
    """List a plan's organisations: the declared ones (name, acronym, IATI type, national
    or local) and every lead, contributor or member name that declares none, with where
    it is used, so that free-text names can be tidied into `organisations:`."""
    from cpflow.render import render
    from cpflow.rules.localisation import organisation_rows

    with c.db.read() as session:
        rows = organisation_rows(session, plan)
    emit(render(rows, fmt, None if fmt != "table" else TABLE_COLUMNS))
    undeclared = sum(1 for row in rows if not row["declared"])
    if undeclared and fmt == "table":
        say(f"{plan}: {undeclared} names used are not declared under organisations:")


COMMANDS = (orgs,)
