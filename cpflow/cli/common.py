"""What every command shares: the context, option types and shared options, output, and
the error edge that turns cpflow's exceptions into one line and a documented exit code.

Heavy modules (pandas, SQLAlchemy models, reports) are imported inside commands so that
`cpflow --help` stays fast.
"""

from __future__ import annotations

import gc
import re
import sys
from typing import Any

import click

from cpflow.errors import EXIT_BAD_INPUT, PlanFileError

EXIT_INTERNAL = 70

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 findings or a broken audit chain, 2 bad input, 3 conflict "
    "(the activity changed since it was read), 4 database busy, 70 a bug in cpflow (please report it)."
)


# How to give, on the command line, the input a service error names in its `field`.
FIELD_HINTS = {
    "actor": "pass --by WHO or set CPFLOW_USER",
    "reason": "pass --reason TEXT",
    "received": "pass --received AMOUNT, --budget AMOUNT or both",
    "comment": "pass --comment TEXT",
    "reporting_org": "or pass --reporting-org REF",
    "table": "--table",
}


def error_line(exc: Exception) -> str:
    """One line for a cpflow error, with the command-line way to fix it when there is one.
    A plan file's problems follow, one line each; no input (a path with a newline, say)
    can break a line in two."""
    field = getattr(exc, "field", None)
    hint = f" ({FIELD_HINTS[field]})" if field in FIELD_HINTS else ""
    if isinstance(exc, PlanFileError):
        return "\n".join(one_line(text) for text in (f"error: {exc.headline}", *map(str, exc.problems)))
    return one_line(f"error: {exc}{hint}")


def one_line(text: str) -> str:
    """`terminal_safe`, with line breaks shown as escapes too."""
    return terminal_safe(text).replace("\n", "\\n")


class Context:
    """The database URL, the plugin selection and the debug flag, with the database and
    the plugins opened on first use."""

    def __init__(self, db_url: str | None, plugins: str | None, debug: bool):
        self.db_url = db_url
        self.plugin_selection = plugins
        self.debug = debug
        self._db = None

    @property
    def db(self):
        if self._db is None:
            resume_collection()
            from cpflow.db import Database

            self._db = Database(self.db_url)
        return self._db

    def close(self) -> None:
        """Give the database's pooled connections back (the end of every invocation: an
        in-process caller, such as the tests or the web app's CLI, must not keep them)."""
        if self._db is not None:
            self._db.dispose()
            self._db = None

    @property
    def plugins(self):
        """The plugin set this invocation selected (`--plugins` / CPFLOW_PLUGINS)."""
        from cpflow.plugins.manager import get_plugins

        return get_plugins(self.plugin_selection)


pass_ctx = click.make_pass_decorator(Context)


# Garbage collection while a command starts. Everything made then (modules, classes, the
# mapped tables) lives until exit, so collecting is pure cost: 40-60 ms of a 300 ms
# `cpflow plans`, 130 ms of `cpflow check` (measured with gc.callbacks). `main` pauses
# collection; it resumes when the command first opens the database, by when the command
# has imported what it works with (a plugin's command, which may never open it, resumes
# before it runs), and the heap made so far is frozen: later collections skip it.
_collection = {"paused": False, "frozen": False}


def pause_collection() -> None:
    """Pause garbage collection while a command starts (`main`); a no-op if it is off."""
    if gc.isenabled():
        gc.disable()
        _collection["paused"] = True


def resume_collection() -> None:
    """Freeze what the start made and collect again from here on (idempotent)."""
    if _collection["paused"]:
        _collection["paused"] = False
        gc.freeze()
        _collection["frozen"] = True
        gc.enable()


def restore_collection(*, exiting: bool) -> None:
    """After the command. A console run (`exiting`: the process ends next) freezes the whole
    heap, so the interpreter's exit-time collections have nothing to scan (60-90 ms of
    `python -c "import sqlalchemy.orm, click"`, ~100 ms of `check` and `report pack`);
    Python does not promise finalizers for what is left at exit, and cpflow closes its
    files and connections itself. An in-process caller such as the tests gets collection
    as it was before `main`, its whole heap collectable again."""
    if exiting:
        resume_collection()
        gc.freeze()
        return
    if _collection["paused"]:
        _collection["paused"] = False
        gc.enable()
    if _collection["frozen"]:
        _collection["frozen"] = False
        gc.unfreeze()


class IsoDate(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        from cpflow.dates import parse_date

        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = IsoDate()


class Amount(click.ParamType):
    name = "AMOUNT"

    def convert(self, value, param, ctx):
        from cpflow.money import parse_amount

        try:
            return parse_amount(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def format_option(*choices: str, default: str = "table"):
    return click.option(
        "--format", "fmt", type=click.Choice(choices or ("table", "json", "csv")), default=default, show_default=True,
        help="Output format; JSON keys are stable (see README).",
    )  # fmt: skip


def _require_actor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if not (value or "").strip():
        raise click.UsageError(f"an actor is required ({FIELD_HINTS['actor']})", ctx)
    return value


def by_option(required: bool = True):
    """`--by WHO` (or CPFLOW_USER): who records the fact. Required unless `required=False`,
    where the command falls back to the login name."""
    return click.option(
        "--by", "actor", envvar="CPFLOW_USER", show_envvar=True, metavar="WHO",
        callback=_require_actor if required else None,
        help="Who records this (a person or organisation)." + (" Required." if required else " Default: your login name."),
    )  # fmt: skip


def default_actor() -> str:
    """The login name, for commands where `--by` is optional."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 (no login name in some containers)
        return "cpflow"


# What may drive a terminal: C0 controls but tab and newline, a CR that does not end a
# CSV row, DEL and the C1 block (0x9b is a one-byte CSI).
_DRIVES_TERMINAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def emit(text: str) -> None:
    """Write command output. To a pipe or a file it goes exactly as rendered (click would
    strip ANSI codes from CSV or JSON); to a terminal, control characters from plan data
    are written as `\\u00XX`, which JSON reads back as the same character."""
    if sys.stdout.isatty():
        text = _DRIVES_TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    click.echo(text, nl=False, color=True)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """A message for stderr with control characters (ESC, OSC, C1 CSI) shown as escapes, so
    that plan text quoted in an error can never drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def say(text: str) -> None:
    """One line (or a block) of notes or errors on stderr, made terminal-safe."""
    click.echo(terminal_safe(text), err=True)


def usage_error_line(exc: click.ClickException) -> str:
    """A click usage error as one line: `error: <what>` plus the command to get help."""
    message = exc.format_message()
    ctx: Any = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return f"error: {message}{hint}"


__all__ = [
    "DATE", "EXIT_BAD_INPUT", "EXIT_CODES_HELP", "EXIT_INTERNAL", "FIELD_HINTS", "Amount", "Context", "by_option",
    "default_actor", "error_line",
    "emit", "format_option", "pass_ctx", "pause_collection", "restore_collection", "resume_collection", "say",
    "terminal_safe", "usage_error_line",
]  # fmt: skip
