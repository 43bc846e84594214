"""The command line as a user meets it: installed, help on every command, fast start."""

import subprocess
import sys
from pathlib import Path

import click

from cpflow.cli import cli

BIN = Path(sys.executable).parent


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


def test_every_command_has_help_text():
    missing = [" ".join(path) for path, command in all_commands(cli) if not (command.help or "").strip()]
    assert missing == []


def test_every_option_has_help_text():
    missing = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, command in all_commands(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []


def test_installed_console_script_runs_from_any_directory(tmp_path):
    result = subprocess.run([str(BIN / "cpflow"), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "cpflow tracks humanitarian work plans" in result.stdout
    version = subprocess.run([str(BIN / "cpflow"), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("cpflow ")


def test_help_stays_light_with_every_plugin_command_registered():
    """The one "help stays light" check: `cpflow --help`, through the real entry point with
    plugin commands added, imports no data, database, spreadsheet or template library."""
    heavy = ("pandas", "numpy", "sqlalchemy", "xlsxwriter", "jinja2", "python_calamine", "openpyxl", "cpflow.read.frames")
    code = (
        "import sys\nfrom cpflow.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "check" in result.stdout and "plugins" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_unexpected_errors_show_no_traceback_without_debug(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("plan: [", encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "cpflow"), "--db", f"sqlite:///{tmp_path / 'x.db'}", "load", str(bad), "--by", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid YAML" in result.stderr


def test_an_in_process_run_leaves_garbage_collection_as_it_found_it(tmp_path):
    """`main` pauses collection while a command starts and freezes the start's heap; a caller
    in the same process (the tests, a script) gets collection back on, nothing frozen."""
    import gc

    from tests.conftest import WORKFLOWS, run_cli

    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    assert gc.isenabled() and gc.get_freeze_count() == 0
    runs = [
        run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "test", db_url=url),  # opens the database
        run_cli("plans", db_url=url),
        run_cli("--help"),  # never opens it
        run_cli("no-such-command"),  # a usage error
        run_cli("show", "cpms-wg-2022-2025:99", db_url=url),  # a cpflow error after opening it
    ]
    assert [r.exit_code for r in runs] == [0, 0, 0, 2, 2], [r.output[-300:] for r in runs]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert run_cli("plans", db_url=url).exit_code == 0
        assert not gc.isenabled() and gc.get_freeze_count() == 0  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_a_console_run_collects_while_it_works_with_its_start_frozen(tmp_path):
    """The console entry point (no argv) resumes collection once the command opens the
    database, with what its start made frozen, and keeps it so until exit."""
    from tests.conftest import WORKFLOWS, run_cli

    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    assert run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "test", db_url=url).exit_code == 0
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('gc', gc.isenabled(), gc.get_freeze_count(), file=sys.stderr))\n"
        "import cpflow.read.queries as q\n"
        "real = q.list_plans\n"
        "def spy(session):\n"
        "    print('during', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)\n"
        "    return real(session)\n"
        "q.list_plans = spy\n"
        "sys.argv[1:] = ['--db', sys.argv[1], 'plans']\n"
        "from cpflow.cli import main\nmain()\n"
    )
    result = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "cpms-wg-2022-2025" in result.stdout
    assert "during True True" in result.stderr
    enabled, frozen = result.stderr.split("gc ")[-1].split()
    assert enabled == "True" and int(frozen) > 10_000  # the modules, classes and tables of the start


def test_a_plugin_command_that_never_opens_the_database_runs_with_collection_on(tmp_path):
    code = (
        "import click, gc, sys\n"
        "from cpflow.plugins import hookimpl, manager\n"
        "class Hello:\n"
        "    @hookimpl\n"
        "    def register_commands(self, cli):\n"
        "        @cli.command('hello')\n"
        "        def hello():\n"
        "            click.echo(f'collecting {gc.isenabled()}')\n"
        "manager.get_plugins('builtin').manager.register(Hello(), name='hello')\n"
        "sys.argv[1:] = ['--plugins', 'builtin', 'hello']\n"
        "from cpflow.cli import main\nmain()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert (result.returncode, result.stdout) == (0, "collecting True\n"), result.stderr


def test_debug_given_as_an_options_value_is_not_cpflows_debug_flag(tmp_path):
    """`--period --debug` names a period called "--debug": the error stays one line, no
    traceback (found by the CLI fuzz)."""
    from tests.conftest import WORKFLOWS, run_cli

    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    assert run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "IM", db_url=url).exit_code == 0
    result = run_cli("fund", "cpms-wg-2022-2025:1.1", "--received", "10", "--period", "--debug", "--by", "IM", db_url=url)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_invocation_gives_its_database_connections_back(db_url):
    """An in-process run (the tests, a script, the web app) disposes of the database it
    opened: twenty reads leave no connection behind on PostgreSQL, no open file on SQLite."""
    from sqlalchemy import create_engine, text

    from tests.conftest import WORKFLOWS, run_cli

    assert run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "IM", db_url=db_url).exit_code == 0
    if db_url.startswith("sqlite"):
        import gc
        import sqlite3

        for _ in range(20):
            assert run_cli("plans", db_url=db_url).exit_code == 0
        gc.disable()  # nothing but dispose() may close them
        try:
            open_connections = [o for o in gc.get_objects() if isinstance(o, sqlite3.Connection)]
        finally:
            gc.enable()
        assert all(not _is_open(c) for c in open_connections)
        return
    import uuid

    name = f"cpflow-t-{uuid.uuid4().hex[:8]}"
    db_url = f"{db_url}&application_name={name}"
    probe = create_engine(db_url.split("?")[0])
    count = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name").bindparams(name=name)
    try:
        with probe.connect() as conn:
            before = conn.execute(count).scalar_one()
        for _ in range(20):
            assert run_cli("plans", db_url=db_url).exit_code == 0
        with probe.connect() as conn:
            after = conn.execute(count).scalar_one()
    finally:
        probe.dispose()
    assert before == after == 0, f"{after - before} connections left open by 20 runs"


def _is_open(conn) -> bool:
    import sqlite3

    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return False
    return True
