"""The example plugin, examples/cpflow-health, discovered through its `cpflow` entry point.

Nothing here registers it by hand: a distribution (dist-info with the entry points its
pyproject.toml declares, next to the package) is put on the path of a subprocess, and
cpflow finds it as it would after `pip install cpflow-health`. A slow test also builds
and installs it with pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

EXAMPLE = REPO / "examples" / "cpflow-health"

PLAN = """\
plan:
  slug: hp
  title: Health plan
  start: 2024-01-01
  end: 2025-12-31
  sectors: [health]
activities:
  - {code: "1", title: Vaccination outreach with CP messages, sectors: [health]}
  - {code: "2", title: Clinic referral pathway, sectors: [health], lead: WHO}
"""


def install_dist_info(target: Path) -> Path:
    """Install the example as a distribution: its package plus a dist-info whose
    entry_points.txt is generated from the example's own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shutil.copytree(EXAMPLE / "src" / "cpflow_health", target / "cpflow_health")
    info = target / f"cpflow_health-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items())
    )
    return target


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_dist_info(tmp_path_factory.mktemp("site"))


def run(site: Path, workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               "CPFLOW_DB": f"sqlite:///{workdir / 'cpflow.db'}", "CPFLOW_USER": "tester"}  # fmt: skip
    environ.pop("CPFLOW_PLUGINS", None)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "cpflow", *args], capture_output=True, text=True, cwd=workdir,
                          env=environ, timeout=300)  # fmt: skip


def test_cpflow_plugins_lists_the_health_plugin_from_its_entry_point(site, tmp_path):
    out = run(site, tmp_path, "plugins", "--format", "json")
    assert out.returncode == 0, out.stderr
    health = next(row for row in json.loads(out.stdout) if row["name"] == "health")
    assert health == {"name": "health", "source": "cpflow-health 0.1.0", "status": "loaded",
                      "hooks": ["guard_transition", "register_commands", "register_rules", "report_sections"], "rules": ["H101"],
                      "errors": []}  # fmt: skip


def test_its_rule_appears_in_cpflow_rules_and_its_findings_in_cpflow_check(site, tmp_path):
    rules = json.loads(run(site, tmp_path, "rules", "--format", "json").stdout)
    assert {"code": "H101", "title": "Live health-sector action with no named lead or health-cluster counterpart",
            "severity": "warning", "pack": "health", "plugin": "health"} in rules  # fmt: skip
    (tmp_path / "hp.yaml").write_text(PLAN, encoding="utf-8")
    assert run(site, tmp_path, "load", "hp.yaml").returncode == 0
    for code in ("1", "2"):
        for trigger, day in (("endorse", "2024-02-01"), ("start", "2024-03-01")):
            assert run(site, tmp_path, "move", f"hp:{code}", trigger, "--at", day, "--ref", "m").returncode == 0
    checked = run(site, tmp_path, "check", "--select", "H", "--as-of", "2024-06-01", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert [(f["code"], f["subject"]) for f in json.loads(checked.stdout)["findings"]] == [("H101", "hp:1")]


def test_its_guard_refuses_completion_without_a_reference(site, tmp_path):
    (tmp_path / "hp.yaml").write_text(PLAN, encoding="utf-8")
    run(site, tmp_path, "load", "hp.yaml")
    for trigger, day in (("endorse", "2024-02-01"), ("start", "2024-03-01")):
        run(site, tmp_path, "move", "hp:2", trigger, "--at", day)
    refused = run(site, tmp_path, "move", "hp:2", "complete", "--at", "2024-05-01")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: hp:2: complete refused: a health-sector action is completed with a reference")
    done = run(site, tmp_path, "move", "hp:2", "complete", "--at", "2024-05-01", "--ref", "Health cluster minutes")
    assert done.returncode == 0, done.stderr
    health = json.loads(run(site, tmp_path, "health", "--format", "json").stdout)
    assert [(row["id"], row["state"]) for row in health] == [("hp:1", "proposed"), ("hp:2", "completed")]


def test_its_report_section_appears_in_the_progress_report(site, tmp_path):
    (tmp_path / "hp.yaml").write_text(PLAN, encoding="utf-8")
    assert run(site, tmp_path, "load", "hp.yaml").returncode == 0
    expected = {"md": ["## Health sector", "| proposed | 2 |"], "html": ["Health sector", "Health-sector actions by state"]}
    for fmt, needles in expected.items():
        out = run(
            site, tmp_path, "report", "progress", "--plan", "hp", "--as-of", "2024-06-01", "--format", fmt, "-o", f"r.{fmt}"
        )
        assert out.returncode == 0, out.stderr
        text = (tmp_path / f"r.{fmt}").read_text(encoding="utf-8")
        assert all(needle in text for needle in needles), needles


def test_cpflow_plugins_restricts_what_loads(site, tmp_path):
    builtin_only = run(site, tmp_path, "rules", "--format", "json", env={"CPFLOW_PLUGINS": "builtin"})
    assert "H101" not in [r["code"] for r in json.loads(builtin_only.stdout)]
    health_only = run(site, tmp_path, "--plugins", "health", "rules", "--format", "json")
    assert [r["code"] for r in json.loads(health_only.stdout)] == ["H101"]


def test_a_broken_plugin_is_reported_and_never_takes_other_commands_down(site, tmp_path):
    broken = tmp_path / "broken-site"
    (broken / "cpflow_broken").mkdir(parents=True)
    (broken / "cpflow_broken" / "__init__.py").write_text("raise ImportError('missing dependency: nosuchlib')\n")
    info = broken / "cpflow_broken-9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cpflow-broken\nVersion: 9.9\n")
    (info / "entry_points.txt").write_text("[cpflow]\nbroken = cpflow_broken\n")
    env = {"PYTHONPATH": os.pathsep.join([str(broken), str(site)])}
    plugins = run(site, tmp_path, "plugins", "--format", "json", env=env)
    assert plugins.returncode == 0, plugins.stderr
    rows = {row["name"]: row for row in json.loads(plugins.stdout)}
    assert rows["broken"]["status"] == "failed"
    assert rows["broken"]["errors"] == ["failed to import cpflow_broken: ImportError: missing dependency: nosuchlib"]
    assert rows["health"]["status"] == "loaded"
    rules = run(site, tmp_path, "rules", "--format", "json", env=env)
    assert rules.returncode == 0 and "H101" in rules.stdout and "T101" in rules.stdout


def test_the_example_plugins_own_tests_pass(site, tmp_path):
    environ = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLE),
                          "-c", str(EXAMPLE / "pyproject.toml"), str(EXAMPLE / "tests")],
                         capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout


def test_pip_installs_the_example_and_cpflow_discovers_it(tmp_path):
    target = tmp_path / "pip-site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(EXAMPLE)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    if pip.returncode != 0:
        pytest.skip(f"pip could not build the example here (offline?): {pip.stderr.strip().splitlines()[-1:]}")
    out = run(target, tmp_path, "plugins", "--format", "json")
    health = next(row for row in json.loads(out.stdout) if row["name"] == "health")
    assert health["source"] == "cpflow-health 0.1.0" and health["rules"] == ["H101"]
