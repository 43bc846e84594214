"""The `cpflow` command line: thin click commands that parse, call a service, render.

Each command group lives in its own module and is named here explicitly (`MODULES`); no
module of this package imports this one, so there is no import circle. Errors are cpflow's own
exceptions, turned into one line on stderr and a documented exit code by `main` (no
traceback unless --debug).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping

import click

from cpflow.cli.common import (  # noqa: F401 (DATE, by_option, emit, format_option, pass_ctx: the plugin-author API)
    DATE,
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    Context,
    by_option,
    emit,
    error_line,
    format_option,
    pass_ctx,
    pause_collection,
    restore_collection,
    resume_collection,
    say,
    terminal_safe,
    usage_error_line,
)
from cpflow.errors import EXIT_BAD_INPUT, EXIT_OK, CpflowError


def _version() -> str:
    from cpflow import __version__

    return __version__


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option("--db", "db_url", envvar="CPFLOW_DB", show_envvar=True, metavar="URL",
              help="Database: sqlite:///FILE (default ./cpflow.db) or postgresql+psycopg://USER@HOST/DB.")  # fmt: skip
@click.option("--plugins", envvar="CPFLOW_PLUGINS", show_envvar=True, metavar="NAMES",
              help="Comma-separated plugins to load (`builtin`, entry-point names, or `none`); default all.")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(version=None, package_name="cpflow", message="cpflow %(version)s")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, plugins: str | None, debug: bool) -> None:
    """cpflow tracks humanitarian work plans activity by activity, checks them against
    their framework's criteria, and writes progress and compliance reports.

    \b
    Start:   cpflow load workflows/*.yaml
    Record:  cpflow move cpms-wg-2022-2025:2.11 endorse --by "CPMS WG" --at 2022-05-12
    Read:    cpflow activities --plan cpms-wg-2022-2025 --as-of 2023-12-31
    """
    ctx.obj = Context(db_url, plugins, debug)
    ctx.call_on_close(ctx.obj.close)


# The module under cpflow/cli/ of each built-in command, as its COMMANDS name them (a test
# keeps the two equal). A command imports only its own module: the twelve together are
# ~10 ms of every start. `--help` lists them all, and so imports them all.
MODULES = {
    "plans": ("init", "load", "plans", "activities", "show", "history", "units", "indicators"),
    "record": ("move", "measure", "fund"),
    "audit": ("audit",),
    "io": ("import", "export"),
    "reports": ("report",),
    "rules": ("check", "rules", "plugins"),
    "admin": ("backup", "restore", "demo"),
    "users": ("users",),
    "team": ("submit", "review"),
    "tracker": ("tracker",),
    "orgs": ("orgs",),
    "web": ("serve",),
}


class _Commands(MutableMapping):
    """The top-level group's commands by name: every built-in name is there from the start
    (so a plugin cannot take one), its module imported when the command is first looked up."""

    def __init__(self, modules: dict[str, tuple[str, ...]]):
        self._module_of = {name: module for module, names in modules.items() for name in names}
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in self._module_of:
            for command in importlib.import_module(f"cpflow.cli.{self._module_of[name]}").COMMANDS:
                self._loaded.setdefault(command.name, command)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._module_of.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._module_of

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._module_of, *self._loaded]))

    def __len__(self) -> int:
        return len(self._module_of.keys() | self._loaded.keys())


cli.commands = _Commands(MODULES)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = _debug_flag(args)
    pause_collection()
    try:
        # A built-in command needs no plugin scan (~20 ms); `cpflow plugins` reports what the scan found.
        if _command_name(args) not in cli.commands or _command_name(args) == "plugins":
            _add_plugin_commands(_plugin_selection(args))
            resume_collection()  # a plugin's command may work without opening the database
        code = cli.main(args=args, prog_name="cpflow", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except CpflowError as exc:
        if debug:
            raise
        click.echo(error_line(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        say(usage_error_line(exc))
        sys.exit(EXIT_BAD_INPUT)
    except click.Abort:
        say("aborted; nothing was written")
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        say("interrupted; nothing more was written")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except Exception as exc:  # noqa: BLE001 (the edge: no traceback without --debug)
        if debug:
            raise
        say(
            f"internal error: {type(exc).__name__}: {terminal_safe(str(exc))} (a bug in cpflow; rerun with --debug for the traceback)"
        )
        sys.exit(EXIT_INTERNAL)
    finally:
        restore_collection(exiting=argv is None)


_plugin_commands_added = False


def _add_plugin_commands(selection: str | None) -> None:
    """Let plugins add commands. A plugin that fails, or names a command that is taken,
    is reported by `cpflow plugins` and skipped; it never takes the CLI down."""
    global _plugin_commands_added
    if _plugin_commands_added:
        return
    _plugin_commands_added = True
    from cpflow.plugins.manager import get_plugins

    get_plugins(selection).add_commands(cli)


def _command_name(args: list[str]) -> str | None:
    """The command word of `cpflow [--db URL] [--plugins NAMES] [--debug] COMMAND …`, or None."""
    rest = iter(args)
    for arg in rest:
        if arg in ("--db", "--plugins"):
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _debug_flag(args: list[str]) -> bool:
    """Whether `--debug` is given as cpflow's own option (before the command word), not as
    the value of a command's option such as `--period --debug`."""
    rest = iter(args)
    for arg in rest:
        if arg == "--debug":
            return True
        if arg in ("--db", "--plugins"):
            next(rest, None)
        elif not arg.startswith("-"):
            return False
    return False


def _plugin_selection(args: list[str]) -> str | None:
    """The --plugins value given before the command word, read before parsing so plugin
    commands honour it."""
    rest = iter(args)
    for arg in rest:
        if arg == "--plugins":
            return next(rest, None)
        if arg.startswith("--plugins="):
            return arg.split("=", 1)[1]
        if arg == "--db":
            next(rest, None)
        elif not arg.startswith("-"):
            return None
    return None
