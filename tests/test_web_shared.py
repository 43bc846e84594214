"""The web tests' databases, built once per module instead of once per test (holds no test).

`build(url, folder)` makes what conftest's `web` fixture makes — the mini plan with its
team (admin; lead lea, co-lead col, member mo, reviewer rev; nobody), a second plan `other`
led by olead, every password WEB_PASSWORD — on a real SQLite file or a fresh PostgreSQL
schema. Two ways to use it:

- `template` builds it once per module (a SQLite file, or a PostgreSQL database that no
  test opens), and `copied_web` makes a copy with its app: a SQLite file copied by the
  backup API, a PostgreSQL database made with CREATE DATABASE ... TEMPLATE. Real and
  isolated, in a fraction of the ~4 s of CLI calls and Argon2 hashing a build costs.
- A module's tests that only read share one module-scoped copy (they may sign in: that
  records nothing the record holds); every test that writes gets its own copy."""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import uuid
from pathlib import Path

import pytest

from cpflow.db import Database
from tests import conftest
from tests.conftest import MINI_PLAN, TEAM, WEB_PASSWORD, run_cli, web_client

LOGINS = ("admin", "lea", "col", "mo", "rev", "nobody", "olead")


class Web:
    """The same surface as conftest's `web` fixture: db, app, url, client(login)."""

    def __init__(self, url: str):
        from cpflow.web import create_app

        self.url = url
        self.db = Database(url)
        self.app = create_app(self.db)

    def client(self, login: str | None = None, password: str = WEB_PASSWORD):
        return web_client(self.app, login, password)

    def close(self) -> None:
        self.db.dispose()


def _cli(url: str, *args: str) -> None:
    result = run_cli(*args, db_url=url)
    assert result.exit_code == 0, (args, result.output)


def build(url: str, folder: Path) -> None:
    """The team and the second plan, through the CLI and the accounts service, as conftest builds them."""
    from cpflow.teams.accounts import set_password

    mini, other = folder / "mini.yaml", folder / "other.yaml"
    mini.write_text(MINI_PLAN, encoding="utf-8")
    other.write_text(MINI_PLAN.replace("slug: mini", "slug: other").replace("Mini plan", "Other plan"), encoding="utf-8")
    _cli(url, "load", str(mini), "--by", "setup")
    _cli(url, "users", "add", "admin", "--admin", "--name", "Admin")
    for login, role in TEAM:
        _cli(url, "users", "add", login, "--by", "admin")
        if role:
            _cli(url, "users", "grant", login, role, "--plan", "mini", "--by", "admin")
    _cli(url, "load", str(other), "--by", "admin")
    _cli(url, "users", "add", "olead", "--by", "admin")
    _cli(url, "users", "grant", "olead", "lead", "--plan", "other", "--by", "admin")
    database = Database(url)
    try:
        for login in LOGINS:
            set_password(database, login, WEB_PASSWORD, by="admin")
    finally:
        database.dispose()


def copy_sqlite(source_url: str, folder: Path) -> str:
    """A copy of a built SQLite database (the backup API: consistent, WAL included)."""
    target = folder / "cpflow.db"
    with contextlib.closing(sqlite3.connect(source_url.removeprefix("sqlite:///"))) as src, contextlib.closing(
        sqlite3.connect(target)
    ) as dst:  # fmt: skip
        src.backup(dst)
    return f"sqlite:///{target}"


def _pg_admin():
    from sqlalchemy import create_engine

    return create_engine(conftest.PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(conftest.PG_URL).set(database=database).render_as_string(hide_password=False)


def _pg_run(*statements: str) -> None:
    from sqlalchemy import text

    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def template(backend: str, folder: Path):
    """A built database that tests copy and never open: a SQLite file, or a PostgreSQL database."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'cpflow.db'}"
        build(url, folder)
        yield url
        return
    if not conftest.PG_URL:
        pytest.skip("PostgreSQL run: set CPFLOW_TEST_PG_URL to run it")
    name = f"cpflow_tpl_{uuid.uuid4().hex[:12]}"
    _pg_run(f'CREATE DATABASE "{name}"')
    try:
        build(_pg_url(name), folder)
        yield _pg_url(name)
    finally:
        gc.collect()
        _pg_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def copied_web(template_url: str, folder: Path):
    """A writing test's own copy of the template, with its app."""
    if template_url.startswith("sqlite"):
        web = Web(copy_sqlite(template_url, folder))
        try:
            yield web
        finally:
            web.close()
        return
    from sqlalchemy.engine import make_url

    source, name = make_url(template_url).database, f"cpflow_t_{uuid.uuid4().hex[:12]}"
    _pg_run(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    web = Web(_pg_url(name))
    try:
        yield web
    finally:
        web.close()
        gc.collect()
        _pg_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The fixtures every web module declares, made here once: `built = template_fixture()`,
# `web = copy_fixture("web")`, `read_web = copy_fixture("read_web", scope="module")`.


def template_fixture(backends=conftest.BACKENDS):
    """A module-scoped fixture `built`: the module's database, built once per backend."""

    @pytest.fixture(scope="module", params=backends, name="built")
    def built(request, tmp_path_factory):
        with template(request.param, tmp_path_factory.mktemp("web-template")) as url:
            yield url

    return built


def copy_fixture(name: str, *, scope: str = "function"):
    """A fixture `name`: a copy of the module's `built` database with its app — each test's
    own (scope "function"), or one that the module's read-only tests share ("module")."""

    @pytest.fixture(scope=scope, name=name)
    def copy(built, tmp_path_factory):
        with copied_web(built, tmp_path_factory.mktemp(f"web-{name}")) as web:
            yield web

    return copy
