"""Accounts and roles: `users add|list|disable|enable|passwd|grant|revoke|token`.

Passwords come only from a prompt or stdin (`--password-stdin`), never from an argument;
a new API token is printed once. Where accounts exist, every change needs an admin's
`--by` (the database's first account needs none and must be `--admin`).
"""

from __future__ import annotations

import sys

import click

from cpflow.cli.common import Context, emit, format_option, pass_ctx, say
from cpflow.roles import ROLES


def login_by(help_text: str = "The admin making the change (an account login)."):
    return click.option("--by", "by", envvar="CPFLOW_USER", show_envvar=True, metavar="LOGIN", help=help_text)


def _read_password(from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise click.UsageError("--password-stdin: stdin gave no password")
        return line.rstrip("\r\n")
    if not required:
        return None
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True))


@click.group()
def users() -> None:
    """Accounts and their roles in plans (see docs/team.md)."""


@users.command("add")
@click.argument("login")
@click.option("--name", help="Display name.")
@click.option("--email", metavar="E", help="E-mail address.")
@click.option("--admin", is_flag=True, help="May manage accounts and roles.")
@click.option("--password-stdin", is_flag=True, help="Read the password (for the web app) from the first line of stdin.")
@login_by()
@pass_ctx
def add(c: Context, login, name, email, admin, password_stdin, by) -> None:
    """Add an account; the database's first account needs no --by and must be --admin."""
    from cpflow.teams.accounts import add_account

    result = add_account(
        c.db, login, by=by, name=name, email=email, admin=admin, password=_read_password(password_stdin, required=False)
    )
    click.echo(f"account {result.login} added{' (admin)' if admin else ''} (event {result.event_id})")


@users.command("list")
@format_option()
@pass_ctx
def list_(c: Context, fmt: str) -> None:
    """List accounts and the roles they hold (`plan:role`)."""
    from cpflow.read.team import list_accounts
    from cpflow.render import render

    with c.db.read() as session:
        emit(render(list_accounts(session), fmt))


@users.command("disable")
@click.argument("login")
@login_by()
@pass_ctx
def disable(c: Context, login, by) -> None:
    """Disable an account: it can no longer record, submit, decide or use its tokens."""
    from cpflow.teams.accounts import set_disabled

    result = set_disabled(c.db, login, by=by)
    click.echo(f"account {result.login} disabled (event {result.event_id})")


@users.command("enable")
@click.argument("login")
@login_by()
@pass_ctx
def enable(c: Context, login, by) -> None:
    """Enable a disabled account again."""
    from cpflow.teams.accounts import set_disabled

    result = set_disabled(c.db, login, by=by, disabled=False)
    click.echo(f"account {result.login} enabled (event {result.event_id})")


@users.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (else a prompt).")
@login_by("An admin setting another account's password (default: the account itself).")
@pass_ctx
def passwd(c: Context, login, password_stdin, by) -> None:
    """Set an account's password (for the web app's sign-in)."""
    from cpflow.teams.accounts import set_password

    result = set_password(c.db, login, _read_password(password_stdin, required=True) or "", by=by)
    click.echo(f"password of {result.login} set (event {result.event_id})")


@users.command("grant")
@click.argument("login")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--plan", required=True, metavar="SLUG", help="The plan the role is in.")
@login_by()
@pass_ctx
def grant(c: Context, login, role, plan, by) -> None:
    """Give an account a role in a plan."""
    from cpflow.teams.accounts import grant as give

    result = give(c.db, login, role, plan=plan, by=by)
    click.echo(result.detail if not result.event_id else f"{result.login}: {result.detail} (event {result.event_id})")


@users.command("revoke")
@click.argument("login")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--plan", required=True, metavar="SLUG", help="The plan the role is in.")
@login_by()
@pass_ctx
def revoke(c: Context, login, role, plan, by) -> None:
    """Take a role in a plan away from an account."""
    from cpflow.teams.accounts import revoke as take

    result = take(c.db, login, role, plan=plan, by=by)
    click.echo(f"{result.login}: {result.detail} revoked (event {result.event_id})")


@users.command("token")
@click.argument("login")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True, help="Days until the token expires.")
@click.option("--revoke", "revoke_id", type=int, metavar="ID", help="Revoke the token with this id instead.")
@click.option("--list", "listing", is_flag=True, help="List the account's tokens (ids and expiry, never the token).")
@login_by("The account itself, or an admin.")
@pass_ctx
def token(c: Context, login, days, revoke_id, listing, by) -> None:
    """Issue an API token (printed once, stored hashed), list tokens, or revoke one."""
    from cpflow.teams import accounts

    if listing:
        from cpflow.render import render

        emit(render(accounts.list_tokens(c.db, login), "table"))
        return
    if revoke_id is not None:
        result = accounts.revoke_token(c.db, revoke_id, by=by or login)
        click.echo(f"token {revoke_id} of {result.login} revoked (event {result.event_id})")
        return
    issued = accounts.issue_token(c.db, login, by=by or login, days=days)
    click.echo(issued.token)
    say(f"note: token {issued.token_id} for {issued.login}, expires {issued.expires_at}; it is shown only this once")


COMMANDS = (users,)
