"""Upgrading a cpflow 0.1 database (schema 0001) keeps `audit verify` true (issue 13 section 1).

tests/data/cpflow-0.1.db was made by cpflow 0.1 itself (tests/data/cpflow-0.1-make.sh): the
Alliance plan trimmed to two units and the Iraq plan loaded, eight moves (endorse, start,
complete, drop, reopen), a measurement, a funding update and a reload with edits. Its events
carry no row content. On PostgreSQL the same rows are copied into a schema built at 0001.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text, update
from sqlalchemy.engine import make_url

from cpflow.db import SCHEMA_REVISION, Database
from cpflow.migrate import upgrade

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "cpflow-0.1.db"
PLAN_FILE = DATA / "cpflow-0.1-alliance.yaml"
ALLIANCE = "alliance-2018-2020"
IRAQ = "iraq-cpsc-2015-2016"
OLD_EVENTS = 80
# What 0.1 recorded: (state, version) of the activities it moved or edited.
OLD_ACTIVITIES = {
    f"{ALLIANCE}:SEC-1.1": ("in_progress", 5), f"{ALLIANCE}:SEC-1.2": ("dropped", 3),
    f"{ALLIANCE}:SEC-1.3": ("endorsed", 1), f"{ALLIANCE}:WG2-1.1": ("in_progress", 3), f"{IRAQ}:1.1": ("endorsed", 2),
}  # fmt: skip


def place_01_database(db_url: str) -> None:
    """Put the 0.1 database at db_url: the file itself on SQLite; its rows, copied unchanged
    into a schema built at revision 0001, on PostgreSQL."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(FIXTURE, url.database)
        return
    source = create_engine(f"sqlite:///file:{FIXTURE}?mode=ro&uri=true")
    database = Database(db_url)
    try:
        with source.connect() as old, database.engine.begin() as conn:
            upgrade(conn, "0001")
            rows_of, target = MetaData(), MetaData()
            rows_of.reflect(old)
            target.reflect(conn)
            for table in target.sorted_tables:
                rows = [dict(row) for row in old.execute(select(rows_of.tables[table.name])).mappings()]
                if table.name == "chain_head":
                    conn.execute(update(table).values(**rows[0]))
                elif table.name != "alembic_version" and rows:
                    conn.execute(insert(table), rows)
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT MAX(id) FROM {table.name}))")
                    )
    finally:
        source.dispose()
        database.dispose()


def raw_snapshot(db_url: str) -> dict[str, list[tuple]]:
    """Every row of every table at whatever revision the database is, for 'nothing changed'."""
    database = Database(db_url)
    try:
        with database.engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            return {
                name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for name, t in meta.tables.items()
            }
    finally:
        database.dispose()


def execute(db_url: str, *statements: str) -> None:
    database = Database(db_url)
    try:
        with database.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        database.dispose()


def scalar(db_url: str, sql: str):
    database = Database(db_url)
    try:
        with database.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        database.dispose()


def versions_and_events(db_url: str) -> dict[str, tuple[str, int, int]]:
    database = Database(db_url)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.slug || ':' || a.code, a.state, a.version, "
                    "(SELECT COUNT(*) FROM transition_events e WHERE e.activity_id = a.id) "
                    "FROM activities a JOIN plans p ON p.id = a.plan_id"
                )
            )
            return {name: (state, version, events) for name, state, version, events in rows}
    finally:
        database.dispose()


@pytest.fixture
def old_db(db_url) -> str:
    """The cpflow 0.1 database at this test's URL, not yet upgraded."""
    place_01_database(db_url)
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == "0001"
    return db_url


def upgraded_counts(db_url: str) -> tuple[int, int]:
    return scalar(db_url, "SELECT COUNT(*) FROM plans"), scalar(db_url, "SELECT COUNT(*) FROM activities")


# --- the upgrade --------------------------------------------------------------------------


def test_a_01_database_upgrades_and_verifies_with_its_facts_and_tables_unchanged(cpflow, old_db):
    before = raw_snapshot(old_db)
    old = versions_and_events(old_db)
    assert {name: old[name][:2] for name in OLD_ACTIVITIES} == OLD_ACTIVITIES
    result = cpflow("init")
    assert result.exit_code == 0, result.output
    assert f"upgraded from 0001 to {SCHEMA_REVISION}" in result.stdout
    plans, activities = upgraded_counts(old_db)
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith(f"ok: {OLD_EVENTS + plans + activities} events")
    after = raw_snapshot(old_db)
    # The old events are kept as they were, the baseline follows them.
    assert after["transition_events"][:OLD_EVENTS] == before["transition_events"]
    baseline = after["transition_events"][OLD_EVENTS:]
    assert {row[1] for row in baseline} == {"baseline"} and len(baseline) == plans + activities
    # Every cached row is as 0.1 left it, but for the version (now the number of events).
    for table in ("plans", "periods", "units", "outcomes", "objectives", "indicators", "budget_lines", "measurements"):
        assert after[table] == before[table], table
    now = versions_and_events(old_db)
    assert all(version == events for _state, version, events in now.values())
    assert {name: now[name][0] for name in OLD_ACTIVITIES} == {name: state for name, (state, _) in OLD_ACTIVITIES.items()}
    # SEC-1.1: created, 4 moves, a title edit and its baseline
    assert now[f"{ALLIANCE}:SEC-1.1"][1:] == (7, 7)


def test_reads_answer_and_writes_go_on_after_the_upgrade(cpflow, old_db):
    assert cpflow("init").exit_code == 0
    shown = cpflow("show", f"{ALLIANCE}:SEC-1.1", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["version"] == 7
    checked = cpflow("check", "--plan", ALLIANCE)
    assert checked.exit_code in (0, 1) and "audit verify" not in checked.output, checked.output
    # a version read before the upgrade is stale now (every change bumps it)
    stale = cpflow("move", f"{ALLIANCE}:SEC-1.1", "complete", "--by", "x", "--at", "2019-10-01", "--expect-version", "5")
    assert stale.exit_code == 3, stale.output
    steps = [
        ("move", f"{ALLIANCE}:SEC-1.1", "complete", "--by", "Alliance secretariat", "--at", "2019-10-01", "--expect-version", "7"),
        ("move", f"{IRAQ}:1.2", "endorse", "--by", "CPSC coordinator", "--at", "2015-10-02"),
        ("measure", f"{ALLIANCE}:WG2-IND-1", "45", "--at", "2020-06-30", "--period", "2018-2020", "--by", "WG2 co-lead"),
        ("fund", f"{ALLIANCE}:secretariat", "--period", "2018", "--received", "320000", "--by", "Alliance secretariat"),
        ("load", str(PLAN_FILE), "--by", "Alliance secretariat"),
    ]  # fmt: skip
    for step in steps:
        result = cpflow(*step)
        assert result.exit_code == 0, (step, result.output)
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert all(version == events for _state, version, events in versions_and_events(old_db).values())


@pytest.mark.parametrize(
    "sql, named",
    [
        ("UPDATE activities SET state = 'completed' WHERE code = '1.2'", f"activities {IRAQ}:1.2: state is completed, the log says proposed"),
        ("UPDATE activities SET title = 'Rewritten' WHERE code = 'SEC-1.3'", f"activities {ALLIANCE}:SEC-1.3: title is Rewritten"),
        ("UPDATE budget_lines SET received_minor = 99 WHERE period = '2018'", f"budget_lines {ALLIANCE}:secretariat/2018: received_minor is 99"),
        ("UPDATE plans SET people = '[{\"name\": \"Mallory\", \"roles\": [\"lead\"]}]' WHERE slug = 'alliance-2018-2020'", f"plans {ALLIANCE}: people is"),
        ("UPDATE measurements SET value = 99", f"measurements {ALLIANCE}:WG2-IND-1 (event 75): value is 99"),
    ],
    ids=["state", "title", "budget", "people", "measurement"],
)  # fmt: skip
def test_a_table_edited_after_the_upgrade_is_named_by_verify(cpflow, old_db, sql, named):
    assert cpflow("init").exit_code == 0
    execute(old_db, sql)
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert named in result.stderr, result.stderr


def test_reads_refuse_a_state_edited_after_the_upgrade(cpflow, old_db):
    assert cpflow("init").exit_code == 0
    execute(old_db, "UPDATE activities SET state = 'completed' WHERE code = '1.2'")
    result = cpflow("check", "--plan", IRAQ)
    assert result.exit_code == 1
    assert f"activities {IRAQ}:1.2: state is completed, the log says proposed" in result.stderr


# --- a tampered 0.1 database is refused -----------------------------------------------------


def _unguard(db_url: str) -> list[str]:
    """What someone with direct access to a 0.1 database does first: lift the append-only guard."""
    if make_url(db_url).get_backend_name() == "sqlite":
        return ["DROP TRIGGER transition_events_no_update", "DROP TRIGGER transition_events_no_delete"]
    return ["ALTER TABLE transition_events DISABLE TRIGGER transition_events_append_only"]


TAMPERS = {
    "event altered": (["UPDATE transition_events SET reason = 'no reason' WHERE id = 70"], "event 70 was altered"),
    "event removed": (["DELETE FROM transition_events WHERE id = 74"], "event 74 is missing"),
    # Cutting moves off the end passes the 0.1 chain rules; the states they left do not.
    "moves cut off the end": (
        ["DELETE FROM measurements", "DELETE FROM transition_events WHERE id > 72",
         "UPDATE chain_head SET seq = 72, hash = (SELECT hash FROM transition_events WHERE id = 72)"],
        f"activities {ALLIANCE}:SEC-1.1: state is in_progress, the log says completed",
    ),
    "state set without an event": (
        ["UPDATE activities SET state = 'completed' WHERE code = '1.2'"], f"activities {IRAQ}:1.2: state is completed, the log says proposed"
    ),
    "version set": (["UPDATE activities SET version = 9 WHERE code = 'WG2-1.1'"], f"activities {ALLIANCE}:WG2-1.1: version is 9"),
    "initial state of a moved activity": (
        ["UPDATE activities SET initial_state = 'endorsed' WHERE code = 'SEC-1.2'"],
        f"activities {ALLIANCE}:SEC-1.2: initial state is endorsed, but its first move (event 69) starts from proposed",
    ),
    "measurement value": (["UPDATE measurements SET value = 99"], "measurements #1 (event 75): value differs from its event"),
    "measurement removed": (["DELETE FROM measurements"], "measurements (event 75): in the log but missing from the table"),
}  # fmt: skip


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_tampered_01_database_is_refused_at_upgrade_and_nothing_changes(cpflow, old_db, tamper):
    statements, named = TAMPERS[tamper]
    execute(old_db, *_unguard(old_db), *statements)
    before = raw_snapshot(old_db)
    result = cpflow("init")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not verify" in lines[0] and "nothing was changed" in lines[0], result.stderr
    assert named in lines[0], lines[0]
    assert raw_snapshot(old_db) == before
    assert cpflow("audit", "verify").exit_code == 2  # still at 0001: reads ask for init


# --- init twice, and at once -----------------------------------------------------------------


def test_init_twice_upgrades_once(cpflow, old_db):
    assert cpflow("init").exit_code == 0
    after_first = raw_snapshot(old_db)
    again = cpflow("init")
    assert again.exit_code == 0 and f"schema is current ({SCHEMA_REVISION})" in again.stdout, again.output
    assert raw_snapshot(old_db) == after_first


def test_concurrent_inits_upgrade_and_baseline_once(old_db):
    env = dict(os.environ, CPFLOW_DB=old_db)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cpflow", "init"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outcomes = [(proc.wait(timeout=120), proc.stdout.read(), proc.stderr.read()) for proc in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [code for code, _out, _err in outcomes] == [0, 0, 0, 0], outcomes
    assert sum("upgraded from 0001" in out for _code, out, _err in outcomes) == 1, outcomes
    plans, activities = upgraded_counts(old_db)
    assert scalar(old_db, "SELECT COUNT(*) FROM transition_events") == OLD_EVENTS + plans + activities
    database = Database(old_db)
    try:
        from cpflow import audit

        with database.read() as session:
            assert audit.verify(session).ok
    finally:
        database.dispose()


def test_verify_checks_a_first_move_recorded_before_any_row_content_against_the_baseline(cpflow, old_db):
    """0.1's first moves come before any event with the activity's initial state: the replay
    checks them against the baseline's, so a baseline written without init's checks cannot
    rewrite where an activity started."""
    from cpflow import upgrade as old
    from cpflow.clock import today

    execute(old_db, "UPDATE activities SET initial_state = 'endorsed' WHERE code = 'SEC-1.2'")
    database = Database(old_db)
    try:
        with database.engine.begin() as conn:
            upgrade(conn)
            old.record_baseline(conn, today=today())
    finally:
        database.dispose()
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert f"event 69 ({ALLIANCE}:SEC-1.2 endorse) starts from proposed, but the log records its initial state as endorsed" in (
        result.stderr
    )


# --- a backup written by cpflow 0.1 is restored, then upgraded ---------------------------------


def write_01_jsonl(path: Path) -> None:
    """The 0.1 database as cpflow 0.1's `backup FILE.jsonl` wrote it (cpflow/backup.py at
    dd81346): a header at schema 0001, per table its columns and rows, a trailer with the row
    counts and the chain head, and no digest."""
    source = create_engine(f"sqlite:///file:{FIXTURE}?mode=ro&uri=true")
    try:
        with source.connect() as conn, open(path, "w", encoding="utf-8") as out:
            meta = MetaData()
            meta.reflect(conn)
            held = [t for t in meta.sorted_tables if t.name != "alembic_version"]
            header = {"cpflow_backup": 1, "schema": "0001", "source": "sqlite", "created": "2026-11-20T10:00:00.000000Z",
                      "tables": [t.name for t in held]}  # fmt: skip
            out.write(json.dumps(header) + "\n")
            rows = {}
            for table in held:
                out.write(json.dumps({"table": table.name, "columns": [c.name for c in table.columns]}) + "\n")
                result = list(conn.execute(select(table).order_by(*table.primary_key.columns)))
                for row in result:
                    out.write(
                        json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in row], ensure_ascii=False) + "\n"
                    )
                rows[table.name] = len(result)
            seq, digest = conn.execute(text("SELECT seq, hash FROM chain_head")).one()
            out.write(json.dumps({"end": True, "rows": rows, "events": seq, "head": digest}) + "\n")
    finally:
        source.dispose()


@pytest.mark.parametrize("kind", ["sqlite file", "jsonl"])
def test_a_backup_written_by_01_is_restored_then_upgraded_as_init_would(cpflow, db_url, tmp_path, kind, capsys):
    from conftest import proved

    if kind == "jsonl":
        backup = tmp_path / "cpflow-0.1.jsonl"
        write_01_jsonl(backup)
    else:
        backup = tmp_path / "cpflow-0.1.backup"  # 0.1's SQLite backup is the database file itself
        shutil.copyfile(FIXTURE, backup)
    old_head = raw_snapshot(f"sqlite:///{shutil.copyfile(FIXTURE, tmp_path / 'head.db')}")["chain_head"][0][2]
    restored = cpflow("restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert f"{OLD_EVENTS} events" in restored.stdout and old_head[:16] in restored.stdout, restored.stdout
    assert "upgraded from schema 0001" in restored.stdout
    # The same database as a 0.1 database upgraded by `cpflow init`: the old events, the
    # baseline after them, every cached row, versions equal to the events about each activity.
    upgraded = f"sqlite:///{tmp_path / 'upgraded.db'}"
    place_01_database(upgraded)
    assert Database(upgraded).init()[0] == "0001"
    mine, theirs = raw_snapshot(db_url), raw_snapshot(upgraded)
    assert mine["transition_events"][:OLD_EVENTS] == theirs["transition_events"][:OLD_EVENTS]
    strip = [row[:9] + row[10:12] for row in mine["transition_events"][OLD_EVENTS:]]  # recorded_at and the hashes differ
    assert strip == [row[:9] + row[10:12] for row in theirs["transition_events"][OLD_EVENTS:]]
    for table in ("plans", "periods", "units", "outcomes", "objectives", "activities", "indicators", "budget_lines",
                  "measurements", "checklist_items"):  # fmt: skip
        assert mine[table] == theirs[table], table
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == SCHEMA_REVISION
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert cpflow("move", f"{ALLIANCE}:SEC-1.1", "complete", "--by", "x", "--at", "2019-10-01",
                  "--expect-version", "7").exit_code == 0  # fmt: skip
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    proved(capsys, f"[upgrade/{backend}] a cpflow 0.1 backup ({kind}, schema 0001, {OLD_EVENTS} events) restored, "
                   f"proved by the 0.1 rules, upgraded and baselined like init: {verified.stdout.strip()}")  # fmt: skip


def test_a_tampered_01_backup_is_refused_and_nothing_is_restored(cpflow, db_url, tmp_path):
    backup = tmp_path / "cpflow-0.1.jsonl"
    write_01_jsonl(backup)
    lines = backup.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith('{"table": "activities"'))
    row = json.loads(lines[at + 1])
    columns = json.loads(lines[at])["columns"]
    row[columns.index("state")] = "completed"  # a state with no event for it
    lines[at + 1] = json.dumps(row) + "\n"
    backup.write_text("".join(lines), encoding="utf-8")
    result = cpflow("restore", str(backup))
    assert result.exit_code == 2, result.output
    assert "does not verify" in result.stderr and "nothing was restored" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert all(not rows for name, rows in raw_snapshot(db_url).items() if name not in ("alembic_version", "chain_head"))
