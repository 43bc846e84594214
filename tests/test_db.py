"""Storage: initialisation, schema checks, connection errors and SQLite settings."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import run_cli
from sqlalchemy import text

from cpflow.db import SCHEMA_REVISION, Database
from cpflow.migrate import head_revision
from cpflow.models import Base


def test_schema_revision_constant_matches_the_newest_migration():
    assert SCHEMA_REVISION == head_revision()


def test_migrations_create_exactly_the_models(db):
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_init_creates_then_reports_current(cpflow):
    first = cpflow("init")
    assert first.exit_code == 0 and "created" in first.stdout
    second = cpflow("init")
    assert second.exit_code == 0 and "schema is current" in second.stdout


def test_commands_on_an_uninitialised_database_say_what_to_do(cpflow, db_url):
    Database(db_url).engine.connect().close()  # an existing, empty database
    result = cpflow("activities")
    assert result.exit_code == 2
    assert "run `cpflow init`" in result.stderr
    assert "no such table" not in result.output and "Traceback" not in result.output


def test_missing_sqlite_file_is_not_created_by_a_read(tmp_path):
    path = tmp_path / "absent.db"
    result = run_cli("plans", db_url=f"sqlite:///{path}")
    assert result.exit_code == 2 and "no cpflow database" in result.stderr
    assert not path.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot open database"),
        ("mysql://x@localhost/db", "unsupported database"),
        ("sqlite:////nonexistent-dir/sub/cpflow.db", "no cpflow database"),
        ("://nothing", "not a database URL"),
    ],
)
def test_unreachable_or_malformed_database_urls(url, message):
    result = run_cli("plans", db_url=url)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cpflow_db_environment_variable_selects_the_database(tmp_path, mini_plan):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    assert run_cli("load", str(mini_plan), "--by", "x", env={"CPFLOW_DB": url}).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    database.init()
    with database.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_sqlite_writes_take_the_write_lock_at_begin(tmp_path, mini_plan):
    """BEGIN IMMEDIATE: while a write transaction is open, another writer cannot start."""
    path = tmp_path / "lock.db"
    database = Database(f"sqlite:///{path}")
    database.init()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    seen = {}

    def work(session):
        session.execute(text("SELECT 1"))  # the transaction begins with the first statement
        try:
            other.execute("BEGIN IMMEDIATE")
            seen["other"] = "got the lock"
        except sqlite3.OperationalError as exc:
            seen["other"] = str(exc)

    database.write(work)
    assert seen["other"] == "database is locked"
