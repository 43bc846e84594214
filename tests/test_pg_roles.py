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
