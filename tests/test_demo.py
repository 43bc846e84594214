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
    check_the_demo_accounts_sign_in(tmp_path, result.stdout)


def check_the_demo_accounts_sign_in(tmp_path: Path, stdout: str) -> None:
    """The accounts are printed once with how to browse, kept in a 0600 file, and sign in to the web app."""
    import stat

    from fastapi.testclient import TestClient

    from cpflow.web import create_app

    browse = stdout.split("browse: `make serve` serves")[1]
    assert "http://127.0.0.1:8000/" in browse.splitlines()[0]
    accounts = dict(re.findall(r"^  (\w+) +password (\S+)  \(", browse, re.M))
    assert set(accounts) == {"admin", "lead", "colead", "member", "reviewer"}
    assert len(set(accounts.values())) == 5 and all(len(p) >= 16 for p in accounts.values())
    kept = tmp_path / "cpflow-demo" / "accounts.txt"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert all(f"{login} {password} " in kept.read_text() for login, password in accounts.items())
    client = TestClient(create_app(f"sqlite:///{tmp_path / 'cpflow-demo' / 'cpflow.db'}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    wrong = client.post("/login", data={"login": "lead", "password": "password", "csrf_token": token})
    assert wrong.status_code == 401
    signed = client.post("/login", data={"login": "lead", "password": accounts["lead"], "csrf_token": token},
                         follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    dashboard = client.get("/plans/cpms-wg-2022-2025")
    assert dashboard.status_code == 200 and "your role: lead" in dashboard.text


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
