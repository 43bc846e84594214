"""A read command loads only what it uses (issue 17): `cpflow activities` never imports
pydantic, pandas, alembic, yaml or the plan-file schema. Checked on the module list that
`python -X importtime` prints for a real listing, not on a timing."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, WORKFLOWS, run_cli

HEAVY = ("pydantic", "pandas", "alembic", "yaml", "cpflow.plans.schema", "cpflow.plans.validation", "cpflow.loading")


def imported_modules(argv: list[str], cwd) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `cpflow ARGV` in a fresh interpreter under -X importtime; the modules it imported."""
    code = "import sys\nfrom cpflow.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    modules = {
        line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:") and "|" in line
    }
    return proc, modules - {"package"}


def test_activities_imports_no_schema_dataframe_migration_or_yaml_module(tmp_path):
    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    loaded = run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "test", db_url=url)
    assert loaded.exit_code == 0, loaded.output
    proc, modules = imported_modules(["--db", url, "activities", "--plan", "cpms-wg-2022-2025"], REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "cpms-wg-2022-2025" in proc.stdout and "2.11" in proc.stdout  # it really listed the plan
    assert "cpflow.cli" in modules and "sqlalchemy.orm" in modules  # the list is the real one
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"`cpflow activities` imported {heavy}"


def test_the_module_list_does_see_heavy_imports_when_a_command_needs_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    assert run_cli("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), "--by", "test", db_url=url).exit_code == 0
    proc, modules = imported_modules(["--db", url, "check", "--plan", "cpms-wg-2022-2025"], REPO)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "pandas" in modules  # the rules work on DataFrames: the detector is not blind


def test_a_built_in_command_does_not_scan_for_plugins_but_help_does():
    """Plugin commands are only looked for when the command word is not a built-in one."""
    import subprocess
    import sys

    def loads_manager(*argv: str) -> bool:
        code = "import sys, runpy; sys.argv = ['cpflow', *sys.argv[1:]]; runpy.run_module('cpflow', run_name='__main__')"
        run = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True, timeout=120)
        return "cpflow.plugins.manager" in run.stderr

    assert not loads_manager("rules", "--help")
    assert not loads_manager("--db", "sqlite:///nowhere.db", "activities", "--help")
    assert loads_manager("--help")
