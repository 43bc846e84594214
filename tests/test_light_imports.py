"""A command loads only what it uses (issue 17): a read command never imports pydantic,
pandas, alembic, yaml or the plan-file schema, and `move` neither pydantic nor the plan
files' schema. Checked on the modules a real run of each command has loaded when it
exits (sys.modules: `-X importtime` does not see what importlib.import_module loads),
not on a timing."""

from __future__ import annotations

import importlib
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO, WORKFLOWS, run_cli

SCHEMA = ("cpflow.plans", "cpflow.loading")  # the plan-file package: schema, validation, YAML reader
READ_HEAVY = ("pydantic", "pandas", "alembic", "yaml", *SCHEMA)
# `show` (the moves allowed now) and `move` build the lifecycle, whose default definition
# is cpflow/lifecycle.yaml: yaml, but never the plan-file schema or pydantic.
LIFECYCLE_HEAVY = ("pydantic", "pandas", "alembic", *SCHEMA)
ACTIVITY = "cpms-wg-2022-2025:2.11"
READS = {
    "plans": ["plans"],
    "activities": ["activities", "--plan", "cpms-wg-2022-2025"],
    "activities --as-of": ["activities", "--as-of", "2022-06-30"],
    "show": ["show", ACTIVITY, "--format", "json"],
    "history": ["history", ACTIVITY],
    "units": ["units", "--plan", "alliance-2018-2020"],
    "indicators": ["indicators", "--plan", "alliance-2018-2020"],
    "audit verify": ["audit", "verify"],
}
# What each read prints that only a real run prints (the module list is of a run that worked).
SHOWS = {"plans": "cpms-wg-2022-2025", "activities": "2.11", "activities --as-of": "2.11", "show": '"endorsed"',
         "history": "endorse", "units": "secretariat", "indicators": "WG2-IND-1", "audit verify": "ok"}  # fmt: skip


def imported_modules(argv: list[str], cwd) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `cpflow ARGV` in a fresh interpreter; the modules it had loaded when it exited."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
        "from cpflow.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120, cwd=cwd)
    listed = [line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("MODULES ")]
    return proc, set(listed[-1]) if listed else set()


def heavy_in(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy))


@pytest.fixture(scope="module")
def moved_db(tmp_path_factory):
    """Two seed plans, 2.11 moved once (for show and history)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('light') / 'cpflow.db'}"
    for args in (
        ("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), str(WORKFLOWS / "alliance-2018-2020.yaml"), "--by", "test"),
        ("move", ACTIVITY, "endorse", "--by", "test", "--at", "2022-05-12", "--ref", "minutes"),
    ):
        result = run_cli(*args, db_url=url)
        assert result.exit_code == 0, result.output
    return url


@pytest.mark.parametrize("name", sorted(READS))
def test_a_read_command_imports_no_schema_dataframe_migration_or_yaml_module(moved_db, name):
    proc, modules = imported_modules(["--db", moved_db, *READS[name]], REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SHOWS[name] in proc.stdout + proc.stderr  # it really ran
    assert "cpflow.cli" in modules and "sqlalchemy.orm" in modules  # the list is the real one
    heavy = heavy_in(modules, LIFECYCLE_HEAVY if name == "show" else READ_HEAVY)
    assert heavy == [], f"`cpflow {name}` imported {heavy}"


def test_move_imports_no_schema_dataframe_or_migration_module(moved_db, tmp_path):
    db = tmp_path / "copy.db"
    with sqlite3.connect(moved_db.removeprefix("sqlite:///")) as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    proc, modules = imported_modules(
        ["--db", f"sqlite:///{db}", "move", ACTIVITY, "start", "--by", "test", "--at", "2022-06-01"], REPO
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "endorsed -> in_progress" in proc.stdout
    assert "cpflow.services" in modules or "cpflow.moving" in modules
    assert heavy_in(modules, LIFECYCLE_HEAVY) == [], f"`cpflow move` imported {heavy_in(modules, LIFECYCLE_HEAVY)}"


def test_the_module_list_does_see_heavy_imports_when_a_command_needs_them(moved_db):
    proc, modules = imported_modules(["--db", moved_db, "check", "--plan", "cpms-wg-2022-2025"], REPO)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "pandas" in modules  # the rules work on DataFrames: the detector is not blind
    assert heavy_in(modules, READ_HEAVY) != []


def test_a_command_imports_its_own_cli_module_only(moved_db):
    """`cpflow plans` imports cpflow/cli/plans.py, not the other eleven command modules."""
    from cpflow.cli import MODULES

    proc, modules = imported_modules(["--db", moved_db, "plans"], REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = sorted(m.removeprefix("cpflow.cli.") for m in modules if m.startswith("cpflow.cli.") and m != "cpflow.cli.common")
    assert loaded == ["plans"] and set(MODULES) > {"plans"}


def test_the_command_table_names_every_command_of_every_module():
    """`MODULES` (the lazily imported table) says what each module's COMMANDS hold."""
    from cpflow.cli import MODULES, cli

    for module, names in MODULES.items():
        commands = importlib.import_module(f"cpflow.cli.{module}").COMMANDS
        assert tuple(command.name for command in commands) == names, module
    assert sorted(cli.commands) == sorted(name for names in MODULES.values() for name in names)
    assert all(cli.commands[name].name == name for name in cli.commands)


def test_a_built_in_command_does_not_scan_for_plugins_but_help_does():
    """Plugin commands are only looked for when the command word is not a built-in one."""

    def loads_manager(*argv: str) -> bool:
        code = "import sys, runpy; sys.argv = ['cpflow', *sys.argv[1:]]; runpy.run_module('cpflow', run_name='__main__')"
        run = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True, timeout=120)
        return "cpflow.plugins.manager" in run.stderr

    assert not loads_manager("rules", "--help")
    assert not loads_manager("--db", "sqlite:///nowhere.db", "activities", "--help")
    assert loads_manager("--help")
