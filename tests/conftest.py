"""Shared fixtures: real databases (a SQLite file, and a fresh PostgreSQL schema when
CPFLOW_TEST_PG_URL is set), real plan files, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from cpflow.cli import main
from cpflow.db import Database

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
PG_URL = os.environ.get("CPFLOW_TEST_PG_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]

MINI_PLAN = """\
plan:
  slug: mini
  title: Mini plan
  start: 2022-01-01
  end: 2025-12-31
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
  - {key: years-3-4, name: "Years 3-4", kind: phase, start: 2024-01-01, end: 2025-12-31}
units:
  - {key: wg, name: Working group, kind: working_group, leads: [Lead agency]}
objectives:
  - code: "1"
    title: First objective
    unit: wg
    activities:
      - {code: "1.1", title: First action, phase: years-1-2, lead: Lead agency}
      - {code: "1.2", title: Second action, phase: years-1-2}
      - {code: "1.3", title: Later action, phase: years-3-4}
"""


# In CI every Hypothesis test replays the same cases (a generated input that only a new
# random draw finds must not fail a good submission); local runs keep exploring.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: runs against PostgreSQL (needs CPFLOW_TEST_PG_URL)")


@contextlib.contextmanager
def pg_schema_url():
    """A URL pointing at a brand-new schema, dropped afterwards."""
    schema = f"cpflow_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """An empty database URL: a SQLite file, then (if configured) a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cpflow.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL run: set CPFLOW_TEST_PG_URL to run it")
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def db(db_url):
    """An initialised, empty cpflow database."""
    database = Database(db_url)
    database.init()
    yield database
    database.dispose()


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, db_url: str | None = None, env: dict | None = None) -> Result:
    """Run `cpflow ARGS` in-process, as the console script would, capturing both streams."""
    argv = [*(["--db", db_url] if db_url else []), *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cpflow(db_url):
    """Run the CLI against this test's database: cpflow("activities", "--format", "json")."""

    def runner(*args: str, env: dict | None = None) -> Result:
        return run_cli(*args, db_url=db_url, env=env)

    return runner


@pytest.fixture
def mini_plan(tmp_path) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(MINI_PLAN, encoding="utf-8")
    return path


@pytest.fixture
def seeded(cpflow, tmp_path):
    """The database with all five seed plans loaded; returns the CLI runner."""
    result = cpflow("load", *sorted(str(p) for p in WORKFLOWS.glob("*.yaml")), "--by", "test")
    assert result.exit_code == 0, result.output
    return cpflow


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every cpflow table, to prove a refused or killed command changed nothing."""
    from cpflow.backup import table_rows

    database = Database(url)
    try:
        with database.connect() as conn, conn.begin():
            return table_rows(conn)
    finally:
        database.dispose()


@contextlib.contextmanager
def session_for(db_url: str):
    """A read session on a database the test does not otherwise hold open."""
    database = Database(db_url)
    try:
        with database.read() as session:
            yield session
    finally:
        database.dispose()


def copy_workflows(tmp_path: Path) -> Path:
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    return target


def proved(capsys, line: str) -> None:
    """Print a measured result both into the test's output and, live, to the terminal."""
    print(line)
    with capsys.disabled():
        print(f"\n{line}")


def fill_tracker(source, rows: dict, out=None):
    """Fill a tracker's Activities sheet as a member would in Excel: {code: (new status, date,
    reason, ref)}; saved as `out` (default: in place). Returns the path."""
    import openpyxl

    book = openpyxl.load_workbook(source)
    sheet = book["Activities"]
    for r in range(2, sheet.max_row + 1):
        if sheet.cell(r, 1).value in rows:
            for col, value in zip(range(4, 8), rows[sheet.cell(r, 1).value]):
                sheet.cell(r, col).value = value
    book.save(out or source)
    return out or source


TEAM = (("lea", "lead"), ("col", "co-lead"), ("mo", "member"), ("rev", "reviewer"), ("nobody", None))


def backdate(db_url: str, submission: int, days: int) -> None:
    """Make a submission `days` old: its submission time is the clock's, and reports and G405 read it."""
    import datetime as dt

    from sqlalchemy import update

    from cpflow.models import Submission

    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    database = Database(db_url)
    try:
        database.write(lambda s: s.execute(update(Submission).where(Submission.id == submission).values(submitted_at=stamp)))
    finally:
        database.dispose()


@pytest.fixture
def team(cpflow, mini_plan):
    """The mini plan with accounts (issue 14): admin `admin`; in plan mini, lead `lea`,
    co-lead `col`, member `mo`, reviewer `rev`; `nobody` holds no role. Returns the CLI runner."""
    assert cpflow("load", str(mini_plan), "--by", "setup").exit_code == 0
    result = cpflow("users", "add", "admin", "--admin", "--name", "Admin")
    assert result.exit_code == 0, result.output
    for login, role in TEAM:
        assert cpflow("users", "add", login, "--by", "admin").exit_code == 0
        if role:
            result = cpflow("users", "grant", login, role, "--plan", "mini", "--by", "admin")
            assert result.exit_code == 0, result.output
    return cpflow


# --- the web app (issue 15) ----------------------------------------------------------------

WEB_PASSWORD = "correct horse battery staple"


def web_client(app, login: str | None = None, password: str = WEB_PASSWORD):
    """A TestClient on the app, signed in as `login` (anonymous when None), with the
    session's CSRF token as `client.csrf`."""
    import re

    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=True)
    page = client.get("/login")
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    if login is not None:
        reply = client.post("/login", data={"login": login, "password": password, "csrf_token": client.csrf},
                            follow_redirects=False)  # fmt: skip
        assert reply.status_code == 303, reply.text
        client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/plans").text).group(1)
    return client


@pytest.fixture
def web(team, db_url, tmp_path):
    """The team fixture served by the web app: every account has WEB_PASSWORD, and a second
    plan `other` is led by `olead`. `web.client(login)` is a TestClient signed in as login
    (None: anonymous), with its CSRF token in `.csrf`."""

    from cpflow.teams.accounts import set_password
    from cpflow.web import create_app

    other = tmp_path / "other.yaml"
    other.write_text(MINI_PLAN.replace("slug: mini", "slug: other").replace("Mini plan", "Other plan"), encoding="utf-8")
    assert team("load", str(other), "--by", "admin").exit_code == 0
    assert team("users", "add", "olead", "--by", "admin").exit_code == 0
    assert team("users", "grant", "olead", "lead", "--plan", "other", "--by", "admin").exit_code == 0
    database = Database(db_url)
    for login in ("admin", "lea", "col", "mo", "rev", "nobody", "olead"):
        set_password(database, login, WEB_PASSWORD, by="admin")

    class Web:
        db = database
        app = create_app(database)
        url = db_url

        def client(self, login: str | None = None, password: str = WEB_PASSWORD):
            return web_client(self.app, login, password)

    yield Web()
    database.dispose()


# --- the browser (Playwright driving Debian's chromium; never a downloaded browser) ---------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def debian_tool(binary: str, package: str) -> str | None:
    """The path of `binary`, installing Debian's `package` first when it is missing and this
    is a root shell with apt (as on CI); None when it cannot be had. One install at a time
    across xdist workers."""
    import fcntl

    found = shutil.which(binary)
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    with open("/tmp/cpflow-test-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which(binary):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in (
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
            ):
                subprocess.run(command, env=env, capture_output=True, timeout=1200)
    return shutil.which(binary)


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice's `soffice` (Debian's libreoffice-calc-nogui, installed when missing)."""
    found = debian_tool("soffice", "libreoffice-calc-nogui")
    if found is None:
        pytest.skip("LibreOffice (soffice) is not installed and cannot be installed here")
    return found


@pytest.fixture(scope="session")
def browser():
    """One chromium for the whole session: Debian's, installed when missing; never a
    downloaded browser."""
    if debian_tool("chromium", "chromium") is None:
        pytest.skip("Debian's chromium is not installed and cannot be installed here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(web):
    """The web fixture's app served by uvicorn on a free loopback port; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def browser_sign_in(page, base: str, login: str, password: str = WEB_PASSWORD) -> None:
    """Sign in through the sign-in form, as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/plans")


@pytest.fixture(autouse=True)
def _run_in_a_scratch_folder(tmp_path_factory, monkeypatch):
    """Every test runs in a scratch folder, so a command that writes to its working directory
    (a default output name, `-o -`, a relative path) never leaves files in the checkout."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd", numbered=True))
