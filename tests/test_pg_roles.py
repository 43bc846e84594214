"""The grants in docs/postgresql.md, run against the real server: a reviewer reads and
cannot write; a writer records facts and cannot change or remove history."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from conftest import MINI_PLAN, PG_URL, REPO, pg_schema_url, run_cli
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(not PG_URL, reason="PostgreSQL run: set CPFLOW_TEST_PG_URL to run it"),
]

DOC = REPO / "docs" / "postgresql.md"


def grants_block() -> str:
    """The SQL block that follows the `grants:` marker in docs/postgresql.md."""
    doc = DOC.read_text(encoding="utf-8")
    marker = doc.index("<!-- grants:")
    return re.search(r"```sql\n(.*?)```", doc[marker:], re.S).group(1)


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture
def roles(tmp_path):
    """A cpflow schema with history, and a writer and a reviewer granted as the docs say."""
    suffix = uuid.uuid4().hex[:8]
    writer, reviewer = f"cpflow_writer_{suffix}", f"cpflow_reviewer_{suffix}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with pg_schema_url() as url:
        schema = re.search(r"search_path%3D(\w+)", url).group(1)
        plan = tmp_path / "mini.yaml"
        plan.write_text(MINI_PLAN, encoding="utf-8")
        assert run_cli("load", str(plan), "--by", "owner", db_url=url).exit_code == 0
        assert run_cli("move", "mini:1.1", "endorse", "--by", "owner", "--at", "2022-03-01", db_url=url).exit_code == 0
        sql = grants_block()
        sql = re.sub(r"\bcpflow_writer\b", writer, sql)
        sql = re.sub(r"\bcpflow_reviewer\b", reviewer, sql)
        sql = re.sub(r"\bcpflow\b(?!_)", schema, sql)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{writer}" LOGIN'))
            conn.execute(text(f'CREATE ROLE "{reviewer}" LOGIN'))
            try:
                for statement in [s.strip() for s in re.sub(r"--[^\n]*", "", sql).split(";") if s.strip()]:
                    conn.execute(text(statement))
                yield {"owner": url, "writer": as_role(url, writer), "reviewer": as_role(url, reviewer), "dir": tmp_path}
            finally:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                for role in (writer, reviewer):
                    conn.execute(text(f'DROP OWNED BY "{role}"'))
                    conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


def sql_refused(url: str, statement: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except ProgrammingError as exc:
        return "permission denied" in str(exc.orig) or "must be owner" in str(exc.orig)
    finally:
        engine.dispose()
    return False


def test_the_reviewer_reads_everything_and_writes_nothing(roles, capsys):
    url = roles["reviewer"]
    for args in (["activities", "--format", "json"], ["history", "mini:1.1"], ["audit", "verify"],
                 ["backup", str(roles["dir"] / "review.jsonl")]):  # fmt: skip
        result = run_cli(*args, db_url=url)
        assert result.exit_code == 0, (args, result.output)
    before = run_cli("history", "mini:1.1", "--format", "json", db_url=roles["owner"]).stdout
    changed = roles["dir"] / "mini-renamed.yaml"
    changed.write_text(MINI_PLAN.replace("First action", "First action (renamed by a reviewer)"), encoding="utf-8")
    for args in (["move", "mini:1.1", "start", "--by", "Donor"], ["load", str(changed), "--by", "Donor"]):
        result = run_cli(*args, db_url=url)
        assert result.exit_code == 2, (args, result.output)
        assert "refused: permission denied" in result.stderr and "nothing was written" in result.stderr
        assert "Traceback" not in result.output
    assert run_cli("history", "mini:1.1", "--format", "json", db_url=roles["owner"]).stdout == before
    for statement in ("UPDATE activities SET title = 'x'", "DELETE FROM transition_events",
                      "INSERT INTO chain_head (id, seq, hash) VALUES (2, 0, 'x')"):  # fmt: skip
        assert sql_refused(url, statement), statement
    with capsys.disabled():
        print(
            "\n[pg-roles] reviewer: listings, history, audit verify and backup work; move and load exit 2 "
            "'permission denied'; UPDATE, DELETE, INSERT by hand refused"
        )


def test_the_writer_records_facts_but_cannot_rewrite_history(roles, capsys):
    url = roles["writer"]
    assert run_cli("move", "mini:1.1", "start", "--by", "lead", db_url=url).exit_code == 0
    changed = Path(roles["dir"] / "mini2.yaml")
    changed.write_text(MINI_PLAN.replace("First action", "First action (renamed)") + "  - code: '2'\n    title: New\n"
                       "    activities: [{code: '2.1', title: Added by the writer}]\n", encoding="utf-8")  # fmt: skip
    result = run_cli("load", str(changed), "--by", "lead", db_url=url)
    assert result.exit_code == 0, result.output
    for statement in (
        "UPDATE transition_events SET reason = 'rewritten' WHERE id = 1",
        "DELETE FROM transition_events WHERE id = 1",
        "TRUNCATE transition_events",
        "DELETE FROM activities",
        "ALTER TABLE transition_events DISABLE TRIGGER ALL",
        "DROP TABLE measurements",
        "UPDATE alembic_version SET version_num = '0000'",
    ):
        assert sql_refused(url, statement), statement
    verify = run_cli("audit", "verify", db_url=roles["owner"])
    assert verify.exit_code == 0, verify.output
    with capsys.disabled():
        print(
            "\n[pg-roles] writer: moves and loads work; UPDATE/DELETE/TRUNCATE of events, DELETE of activities, "
            f"disabling triggers, DROP TABLE and touching alembic_version refused; {verify.stdout.strip()}"
        )


def privileges(url: str, role: str) -> dict[str, set[str]]:
    """The privileges `role` holds on each cpflow table, as the server reports them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname, p.privilege FROM pg_class c CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', "
                    "'DELETE', 'TRUNCATE']) AS p(privilege) WHERE c.relnamespace = current_schema()::regnamespace "
                    "AND c.relkind = 'r' AND has_table_privilege(:role, c.oid, p.privilege)"
                ),
                {"role": role},
            ).all()
    finally:
        engine.dispose()
    out: dict[str, set[str]] = {}
    for table, privilege in rows:
        out.setdefault(table, set()).add(privilege)
    return out


def assert_history_locked(grants: dict[str, set[str]]) -> None:
    assert not grants.get("transition_events", set()) & {"UPDATE", "DELETE", "TRUNCATE"}, grants
    assert not grants.get("chain_head", set()) & {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}, grants
    assert not grants.get("alembic_version", set()) & {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}, grants


def writer_name(url: str) -> str:
    return make_url(url).username


def test_the_writer_cannot_move_the_chain_head_back(roles):
    writer = roles["writer"]
    assert sql_refused(writer, "UPDATE chain_head SET seq = seq - 1")
    engine = create_engine(writer)
    try:
        with pytest.raises(Exception, match="only moves forward"), engine.begin() as conn:
            conn.execute(text("SELECT cpflow_advance_head(1, (SELECT hash FROM transition_events WHERE id = 1))"))
    finally:
        engine.dispose()
    assert run_cli("move", "mini:1.1", "start", "--by", "lead", db_url=writer).exit_code == 0
    assert run_cli("audit", "verify", db_url=roles["owner"]).exit_code == 0


def test_privileges_after_init_and_after_restore_force_are_the_documented_ones(roles):
    owner, writer = roles["owner"], roles["writer"]
    reviewer = roles["reviewer"]
    before = {role: privileges(owner, writer_name(url)) for role, url in (("writer", writer), ("reviewer", reviewer))}
    assert_history_locked(before["writer"])
    assert before["writer"]["activities"] == {"SELECT", "INSERT", "UPDATE"}
    assert before["writer"]["transition_events"] == {"SELECT", "INSERT"}
    assert all(p == {"SELECT"} for p in before["reviewer"].values()), before["reviewer"]
    backup = roles["dir"] / "b.jsonl"
    assert run_cli("backup", str(backup), db_url=owner).exit_code == 0
    result = run_cli("restore", str(backup), "--force", db_url=owner)
    assert result.exit_code == 0, result.output
    after = {role: privileges(owner, writer_name(url)) for role, url in (("writer", writer), ("reviewer", reviewer))}
    assert after == before  # the ALTER DEFAULT PRIVILEGES lines gave the writer nothing back
    assert sql_refused(writer, "UPDATE alembic_version SET version_num = '0000'")
    assert run_cli("move", "mini:1.1", "start", "--by", "lead", db_url=writer).exit_code == 0
    assert run_cli("init", db_url=owner).exit_code == 0


def test_migrating_a_database_granted_by_the_old_docs_locks_history_down(tmp_path):
    from cpflow.db import Database
    from cpflow.migrate import upgrade

    suffix = uuid.uuid4().hex[:8]
    writer = f"cpflow_writer_{suffix}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with pg_schema_url() as url:
        database = Database(url)
        with database.engine.begin() as conn:
            upgrade(conn, "0001")
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{writer}" LOGIN'))
            schema = re.search(r"search_path%3D(\w+)", url).group(1)
            try:
                conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{writer}"'))
                # The grants of the previous docs: UPDATE everywhere, then the events and alembic_version revoked.
                conn.execute(text(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO "{writer}"'))
                conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{writer}"'))
                conn.execute(text(f'REVOKE UPDATE ON "{schema}".transition_events FROM "{writer}"'))
                conn.execute(
                    text(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT, INSERT, UPDATE ON TABLES TO "{writer}"')
                )
                conn.execute(text(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT USAGE ON SEQUENCES TO "{writer}"'))
                assert "UPDATE" in privileges(url, writer)["chain_head"]
                result = run_cli("init", db_url=url)
                assert result.exit_code == 0, result.output
                grants = privileges(url, writer)
                assert_history_locked(grants)
                assert grants["activities"] == {"SELECT", "INSERT", "UPDATE"}
                plan = tmp_path / "mini.yaml"
                plan.write_text(MINI_PLAN, encoding="utf-8")
                result = run_cli("load", str(plan), "--by", "lead", db_url=as_role(url, writer))
                assert result.exit_code == 0, result.output
            finally:
                conn.execute(text(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON TABLES FROM "{writer}"'))
                conn.execute(text(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON SEQUENCES FROM "{writer}"'))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'DROP OWNED BY "{writer}"'))
                conn.execute(text(f'DROP ROLE "{writer}"'))
    admin.dispose()
