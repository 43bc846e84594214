"""`cpflow demo` in a fresh folder: loads the seed plans, labels its history, writes files."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import copy_workflows

BIN = Path(sys.executable).parent


def run_demo(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cpflow"), "demo"], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_demo_runs_twice_and_writes_what_it_says(tmp_path):
    copy_workflows(tmp_path)
    for _ in range(2):
        result = run_demo(tmp_path)
        assert result.returncode == 0, result.stderr
    assert "ILLUSTRATIVE" in result.stdout
    for slug in ("cpms-wg-2022-2025", "alliance-2018-2020", "cp-swg-2025", "cpswg-refugee-2021", "iraq-cpsc-2015-2016"):
        assert f"loaded {slug}" in result.stdout
    listed = result.stdout.split("wrote:")[1].split("\n\n")[0]
    written = [Path(tmp_path, line.strip()) for line in listed.splitlines() if line.strip()]
    assert written, result.stdout
    for path in written:
        assert path.exists() and path.stat().st_size > 0, path


def test_demo_ends_with_commands_a_newcomer_can_paste_without_activating_the_venv(tmp_path):
    copy_workflows(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(BIN / "cpflow"), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    steps = result.stdout.split("next: try cpflow on the demo database")[1].splitlines()
    assert any("activate" in line for line in steps)
    commands = [line.strip().split() for line in steps if "--db" in line]
    assert commands and all(words[0] != "cpflow" for words in commands)
    for words in commands:
        ran = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
        assert ran.returncode in (0, 1), (words, ran.stderr)  # check exits 1 when it finds errors
        assert ran.stdout.strip(), words


def test_demo_refuses_to_replace_a_folder_it_did_not_create(tmp_path):
    copy_workflows(tmp_path)
    (tmp_path / "cpflow-demo").mkdir()
    (tmp_path / "cpflow-demo" / "precious.txt").write_text("keep me")
    result = run_demo(tmp_path)
    assert result.returncode == 2
    assert re.search(r"not a cpflow demo folder", result.stderr)
    assert (tmp_path / "cpflow-demo" / "precious.txt").exists()
