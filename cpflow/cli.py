"""The `cpflow` command line: thin click commands that parse, call a service, render.

Errors are cpflow's own exceptions, turned into one line on stderr and a documented exit
code here at the edge (no traceback unless --debug). Heavy modules (pandas, SQLAlchemy
models, reports) are imported inside commands so `cpflow --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cpflow.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, CpflowError

EXIT_INTERNAL = 70


class Context:
    """What every command shares: the database URL, plugin selection and debug flag."""

    def __init__(self, db_url: str | None, plugins: str | None, debug: bool):
        self.db_url = db_url
        self.plugins = plugins
        self.debug = debug
        self._db = None

    @property
    def db(self):
        if self._db is None:
            from cpflow.db import Database

            self._db = Database(self.db_url)
        return self._db


pass_ctx = click.make_pass_decorator(Context)


class IsoDate(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        from cpflow.dates import parse_date

        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = IsoDate()


def format_option(*choices: str, default: str = "table"):
    return click.option(
        "--format", "fmt", type=click.Choice(choices or ("table", "json", "csv")), default=default, show_default=True,
        help="Output format; JSON keys are stable (see README).",
    )  # fmt: skip


def by_option(required: bool = True):
    return click.option(
        "--by", "actor", envvar="CPFLOW_USER", show_envvar=True, required=False,
        help="Who records this (a person or organisation)." + (" Required." if required else ""),
    )  # fmt: skip


def emit(text: str) -> None:
    """Write command output exactly as rendered (click would strip ANSI codes from CSV or
    JSON on a pipe; tables have already made control characters visible)."""
    click.echo(text, nl=False, color=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", envvar="CPFLOW_DB", show_envvar=True, metavar="URL",
              help="Database: sqlite:///FILE (default ./cpflow.db) or postgresql+psycopg://USER@HOST/DB.")  # fmt: skip
@click.option("--plugins", envvar="CPFLOW_PLUGINS", show_envvar=True, metavar="NAMES",
              help="Comma-separated plugins to load (`builtin`, entry-point names, or `none`); default all.")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="cpflow", message="cpflow %(version)s")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, plugins: str | None, debug: bool) -> None:
    """cpflow tracks humanitarian work plans activity by activity, checks them against
    their framework's criteria, and writes progress and compliance reports.

    \b
    Start:   cpflow load workflows/*.yaml
    Record:  cpflow move cpms-wg-2022-2025:2.11 endorse --by "CPMS WG" --at 2022-05-12
    Read:    cpflow activities --plan cpms-wg-2022-2025 --as-of 2023-12-31

    Exit codes: 0 ok, 1 findings or a broken audit chain, 2 bad input, 3 conflict
    (the activity changed since it was read), 4 database busy.
    """
    if plugins is not None:
        os.environ["CPFLOW_PLUGINS"] = plugins
    ctx.obj = Context(db_url, plugins, debug)


# --- setup and loading -------------------------------------------------------------------


@cli.command()
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


@cli.command()
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

    results = load_files(c.db, files, actor=actor or _default_actor())
    for result in results:
        if result.created:
            click.echo(f"{result.slug}: loaded {len(result.added)} activities")
        elif not result.changed:
            click.echo(f"{result.slug}: unchanged")
        else:
            parts = []
            if result.added:
                parts.append(f"{len(result.added)} added")
            if result.edited:
                parts.append(f"{len(result.edited)} edited")
            if result.other_changes:
                parts.append(f"{result.other_changes} other changes")
            click.echo(f"{result.slug}: " + ", ".join(parts or ["updated"]))
        if result.missing:
            click.echo(
                f"{result.slug}: {len(result.missing)} activities are no longer in the file and were kept: "
                + ", ".join(result.missing[:20]) + (" …" if len(result.missing) > 20 else ""),
                err=True,
            )  # fmt: skip
        if result.ignored_states:
            click.echo(
                f"{result.slug}: the file's state was ignored for activities with recorded moves: "
                + ", ".join(result.ignored_states[:20]),
                err=True,
            )  # fmt: skip


def _default_actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 (no login name in some containers)
        return "cpflow"


# --- listings ------------------------------------------------------------------------------


@cli.command()
@format_option()
@pass_ctx
def plans(c: Context, fmt: str) -> None:
    """List loaded plans."""
    from cpflow.read.queries import list_plans
    from cpflow.render import render

    with c.db.read() as session:
        emit(render(list_plans(session), fmt))


@cli.command()
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


@cli.command()
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


@cli.command()
@click.argument("ident", metavar="PLAN:CODE")
@format_option()
@pass_ctx
def history(c: Context, ident: str, fmt: str) -> None:
    """Show every move of one activity: who, when, why."""
    from cpflow.read.queries import history as history_rows
    from cpflow.render import render

    with c.db.read() as session:
        rows = history_rows(session, ident)
    columns = ("at", "trigger", "from", "to", "actor", "reason", "ref") if fmt == "table" else None
    emit(render(rows, fmt, columns))


@cli.command()
@click.option("--plan", "plan", required=True, metavar="SLUG", help="The plan.")
@format_option()
@pass_ctx
def units(c: Context, plan: str, fmt: str) -> None:
    """List a plan's units with their leads and budget lines."""
    from cpflow.read.queries import list_units
    from cpflow.render import render

    with c.db.read() as session:
        rows = list_units(session, plan)
    if fmt == "table":
        amount = lambda value: "unknown" if value is None else f"{value:,}"  # noqa: E731
        rows = [
            {"unit": r["key"], "leads": r["leads"],
             "budget / received": [f"{b['period']}: {amount(b['budget'])} / {amount(b['received'])}" for b in r["budgets"]]}
            for r in rows
        ]  # fmt: skip
    emit(render(rows, fmt))


@cli.command()
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


# --- recording facts -----------------------------------------------------------------------


@cli.command()
@click.argument("ident", metavar="PLAN:CODE")
@click.argument("trigger")
@by_option()
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD), e.g. the meeting date. Default today.")
@click.option("--reason", help="Why (required for drop, reopen and reinstate).")
@click.option("--ref", help="Reference: meeting minutes, decision id.")
@click.option("--expect-version", "expected_version", type=int, metavar="N",
              help="Refuse the move (exit 3) unless the activity is still at version N.")  # fmt: skip
@pass_ctx
def move(c: Context, ident, trigger, actor, at, reason, ref, expected_version) -> None:
    """Move an activity through its lifecycle: endorse, start, complete, drop, reopen, reinstate."""
    from cpflow.plugins.manager import get_plugins
    from cpflow.services import move as move_activity

    result = move_activity(
        c.db, ident, trigger, actor=actor, at=at, reason=reason, ref=ref,
        expected_version=expected_version, plugins=get_plugins(c.plugins),
    )  # fmt: skip
    click.echo(
        f"{result.id}: {result.source} -> {result.dest} ({result.trigger} by {result.actor} on {result.at}; event {result.event_id})"
    )
    for warning in result.warnings:
        click.echo(f"note: {warning}", err=True)


@cli.command()
@click.argument("ident", metavar="PLAN:INDICATOR")
@click.argument("value")
@click.option("--at", "at", type=DATE, required=True, help="Date of the measurement (YYYY-MM-DD).")
@by_option()
@click.option("--period", metavar="KEY", help="Reporting period the value belongs to.")
@click.option("--source", help="Where the value comes from (survey, report, dashboard).")
@pass_ctx
def measure(c: Context, ident, value, at, actor, period, source) -> None:
    """Record an indicator value."""
    from cpflow.services import measure as record

    result = record(c.db, ident, value, actor=actor, at=at, period=period, source=source)
    click.echo(f"{result.id}: {result.value:g} on {result.at} (event {result.event_id})")


class Amount(click.ParamType):
    name = "AMOUNT"

    def convert(self, value, param, ctx):
        from cpflow.money import parse_amount

        try:
            return parse_amount(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@cli.command()
@click.argument("ident", metavar="PLAN:UNIT")
@click.option("--period", required=True, metavar="KEY", help="Budget period, e.g. 2018.")
@click.option("--received", type=Amount(), help="Total received so far for the unit and period.")
@click.option("--budget", type=Amount(), help="A revised budget for the unit and period.")
@by_option()
@click.option("--at", "at", type=DATE, help="When it happened (YYYY-MM-DD). Default today.")
@click.option("--reason", help="Why (e.g. the donor or the budget revision).")
@pass_ctx
def fund(c: Context, ident, period, received, budget, actor, at, reason) -> None:
    """Record funds received (the running total) or a revised budget for a unit."""
    from cpflow.services import fund as record

    result = record(c.db, ident, period=period, received=received, budget=budget, actor=actor, at=at, reason=reason)
    click.echo(f"{result.id} {result.period}: budget {result.budget}, received {result.received} (event {result.event_id})")


# --- audit --------------------------------------------------------------------------------


@cli.group()
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
    click.echo(f"audit failed: {result.problem}", err=True)
    sys.exit(EXIT_FINDINGS)


# --- demo -----------------------------------------------------------------------------------


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("cpflow-demo"), show_default=True,
              help="Folder to create (replaced if it holds an earlier demo).")  # fmt: skip
@click.option("--workflows", "workflows_dir", type=click.Path(path_type=Path), default=Path("workflows"),
              show_default=True, help="Folder of plan files to load.")  # fmt: skip
def demo(out: Path, workflows_dir: Path) -> None:
    """Run cpflow end to end on the seed plans: a fresh SQLite database, an illustrative
    history of moves, and the reports, all written into one folder."""
    from cpflow.demo import run_demo

    run_demo(out, workflows_dir, echo=click.echo)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        from cpflow.plugins.manager import get_plugins

        selection = _plugin_selection(args)
        _add_plugin_commands(lambda: get_plugins(selection))
        code = cli.main(args=args, prog_name="cpflow", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except CpflowError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_FINDINGS)
    except KeyboardInterrupt:
        click.echo("interrupted; nothing more was written", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except Exception as exc:  # noqa: BLE001 (the edge: no traceback without --debug)
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
        sys.exit(EXIT_INTERNAL)


_plugin_commands_added = False


def _add_plugin_commands(get_plugins) -> None:
    """Let plugins add commands. A plugin that fails, or names a command that is taken,
    is reported by `cpflow plugins` and skipped; it never takes the CLI down."""
    global _plugin_commands_added
    if _plugin_commands_added:
        return
    _plugin_commands_added = True
    from cpflow.plugins.manager import PluginFailure

    plugins = get_plugins()
    for impl in plugins.manager.hook.register_commands.get_hookimpls():
        staging = click.Group()
        try:
            impl.function(cli=staging)
        except Exception as exc:  # noqa: BLE001
            plugins.failures.append(PluginFailure(impl.plugin_name, f"register_commands failed: {exc}"))
            continue
        for name, command in staging.commands.items():
            if name in cli.commands:
                plugins.failures.append(PluginFailure(impl.plugin_name, f"command {name!r} is already taken; skipped"))
            else:
                cli.add_command(command, name)


def _plugin_selection(args: list[str]) -> str | None:
    """The --plugins value, read before parsing so plugin commands honour it."""
    for i, arg in enumerate(args):
        if arg == "--plugins" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--plugins="):
            return arg.split("=", 1)[1]
    return None


# --- commands defined in their own modules -------------------------------------------------
# Each module adds its commands to `cli` when imported; keep their heavy imports inside the
# command functions so `cpflow --help` stays fast.
import cpflow.cli_admin  # noqa: E402,F401
import cpflow.cli_io  # noqa: E402,F401
import cpflow.cli_reports  # noqa: E402,F401
import cpflow.cli_rules  # noqa: E402,F401
