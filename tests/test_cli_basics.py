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
