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


# --- input that used to end in exit 70 (issue 13 section 7) --------------------------------


def test_a_database_host_that_does_not_resolve_is_bad_input_naming_the_host():
    result = run_cli("plans", db_url="postgresql+psycopg://cpflow@db.invalid/cpflow")
    assert result.exit_code == 2, result.output
    assert "db.invalid" in result.stderr and "cannot open database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all\n" * 200, bytes(range(256)) * 64], ids=["empty", "text", "binary"]
)
def test_db_pointing_at_a_garbage_file_is_bad_input_and_leaves_it_alone(tmp_path, content):
    path = tmp_path / "garbage.db"
    path.write_bytes(content)
    for args in (["plans"], ["init"], ["audit", "verify"]):
        result = run_cli(*args, db_url=f"sqlite:///{path}")
        if not content and args == ["init"]:
            # An empty file is an empty SQLite database: init may make it a cpflow database.
            assert result.exit_code == 0, result.output
            continue
        if content:
            assert result.exit_code == 2, (args, result.output)
            assert "is not a database cpflow can open" in result.stderr, result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
            assert path.read_bytes() == content


def _at_revision(url: str, revision: str) -> None:
    database = Database(url)
    database.init()
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    database.dispose()


def test_init_on_a_database_from_a_newer_cpflow_is_bad_input_and_changes_nothing(db_url):
    from conftest import snapshot

    _at_revision(db_url, "0999")
    before = snapshot(db_url)
    for args in (["init"], ["plans"], ["audit", "verify"]):
        result = run_cli(*args, db_url=db_url)
        assert result.exit_code == 2, (args, result.output)
        assert "is at schema 0999, newer than this cpflow knows" in result.stderr
        assert "run `cpflow init`" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(db_url) == before


# --- first use by several processes at once (issue 13 section 4) ---------------------------

FIRST_USE = """
import sys
from cpflow.cli import main
main(["--db", sys.argv[1], *sys.argv[2:]])
"""


@pytest.mark.parametrize("command", ["init", "load"])
def test_four_concurrent_first_uses_of_an_empty_database_all_succeed(db_url, mini_plan, tmp_path, command):
    import subprocess
    import sys

    script = tmp_path / "first_use.py"
    script.write_text(FIRST_USE, encoding="utf-8")
    args = ["init"] if command == "init" else ["load", str(mini_plan), "--by", "lead"]
    procs = [
        subprocess.Popen([sys.executable, str(script), db_url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    database = Database(db_url)
    try:
        assert database.schema_revision() == SCHEMA_REVISION
        with database.read() as session:
            from cpflow.audit import verify

            assert verify(session).ok
            if command == "load":
                assert session.execute(text("SELECT COUNT(*) FROM activities")).scalar() == 3
    finally:
        database.dispose()


# --- snapshots and locks on PostgreSQL (issue 13 sections 3 and 4) -------------------------


@pytest.mark.postgresql
def test_every_read_is_one_read_only_repeatable_read_snapshot(db):
    if db.is_sqlite:
        pytest.skip("PostgreSQL isolation")
    with db.read() as session:
        assert session.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        assert session.execute(text("SHOW transaction_read_only")).scalar() == "on"
        first = session.execute(text("SELECT seq FROM chain_head")).scalar()
        other = Database(str(db.url.render_as_string(hide_password=False)))
        try:
            from cpflow.audit import Fact, append

            other.write(lambda s: append(s, [Fact("note", "x", __import__("datetime").date(2024, 1, 1))]))
        finally:
            other.dispose()
        assert session.execute(text("SELECT seq FROM chain_head")).scalar() == first
        assert session.execute(text("SELECT COUNT(*) FROM transition_events")).scalar() == first


@pytest.fixture
def pg_loaded(db_url, mini_plan):
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks")
    assert run_cli("load", str(mini_plan), "--by", "lead", db_url=db_url).exit_code == 0
    return db_url


@pytest.mark.postgresql
def test_a_writer_holding_the_lock_makes_others_exit_4_naming_it(pg_loaded, monkeypatch):
    from conftest import snapshot

    from cpflow.db import _SCHEMA_OID, WRITE_LOCK

    holder = Database(pg_loaded)
    conn = holder.engine.connect()
    try:
        conn.begin()
        conn.execute(text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK}, {_SCHEMA_OID})"))
        before = snapshot(pg_loaded)
        result = run_cli("move", "mini:1.1", "endorse", "--by", "a", db_url=pg_loaded, env={"CPFLOW_LOCK_TIMEOUT": "0.8"})
        assert result.exit_code == 4, result.output
        assert "stayed busy" in result.stderr and "nothing was written" in result.stderr
        assert "held by server process" in result.stderr and "cpflow pid" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert snapshot(pg_loaded) == before
    finally:
        conn.rollback()
        conn.close()
        holder.dispose()
    assert run_cli("move", "mini:1.1", "endorse", "--by", "a", db_url=pg_loaded).exit_code == 0


@pytest.mark.postgresql
def test_a_stopped_load_does_not_block_other_writers_forever(pg_loaded, tmp_path):
    """A `cpflow load` frozen with SIGSTOP mid-write: others exit 4 within the limit, and once
    the server's idle-in-transaction limit ends the frozen session, writes go through."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "slow_load.py"
    script.write_text(
        "import sys, os, time\n"
        "from sqlalchemy import text\n"
        "from cpflow.db import Database\n"
        "db = Database(sys.argv[1])\n"
        "def work(s):\n"
        "    s.execute(text(\"UPDATE activities SET title = title WHERE code = '1.1'\"))\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
        "db.write(work)\n",
        encoding="utf-8",
    )
    env = {**__import__("os").environ, "CPFLOW_IDLE_TIMEOUT": "3"}
    proc = subprocess.Popen([sys.executable, str(script), pg_loaded], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "locked"
        proc.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        result = run_cli("move", "mini:1.2", "endorse", "--by", "a", db_url=pg_loaded, env={"CPFLOW_LOCK_TIMEOUT": "1"})
        assert result.exit_code == 4, result.output
        assert "held by server process" in result.stderr
        time.sleep(max(0.0, 4 - (time.monotonic() - started)))
        result = run_cli("move", "mini:1.2", "endorse", "--by", "a", db_url=pg_loaded, env={"CPFLOW_LOCK_TIMEOUT": "10"})
        assert result.exit_code == 0, result.output
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_the_chain_head_cannot_be_set_back_by_hand_and_writes_carry_on(cpflow, db_url, mini_plan):
    """`UPDATE chain_head SET seq = seq - 1` used to make every later write exit 70."""
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    database = Database(db_url)
    try:
        for statement in ("UPDATE chain_head SET seq = seq - 1", "UPDATE chain_head SET hash = 'x'",
                          "UPDATE chain_head SET seq = seq + 1"):  # fmt: skip
            with pytest.raises(Exception, match="only moves forward"), database.engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        database.dispose()
    assert cpflow("move", "mini:1.1", "endorse", "--by", "lead").exit_code == 0
    assert cpflow("audit", "verify").exit_code == 0
