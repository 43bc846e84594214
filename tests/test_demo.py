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
    written = [Path(tmp_path, line.strip()) for line in result.stdout.split("wrote:")[1].splitlines() if line.strip()]
    assert written, result.stdout
    for path in written:
        assert path.exists() and path.stat().st_size > 0, path


def test_demo_refuses_to_replace_a_folder_it_did_not_create(tmp_path):
    copy_workflows(tmp_path)
    (tmp_path / "cpflow-demo").mkdir()
    (tmp_path / "cpflow-demo" / "precious.txt").write_text("keep me")
    result = run_demo(tmp_path)
    assert result.returncode == 2
    assert re.search(r"not a cpflow demo folder", result.stderr)
    assert (tmp_path / "cpflow-demo" / "precious.txt").exists()
