"""The event log: append-only in the database, and tampering caught by `audit verify`."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cpflow.db import Database


@pytest.fixture
def history(cpflow, mini_plan, db_url):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    for trigger, at in (("endorse", "2022-02-01"), ("start", "2022-03-01"), ("complete", "2022-09-01")):
        assert cpflow("move", "mini:1.1", trigger, "--by", "lead", "--at", at).exit_code == 0
    assert cpflow("move", "mini:1.2", "endorse", "--by", "lead", "--at", "2022-02-01").exit_code == 0
    return Database(db_url)


def execute(database: Database, sql: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(sql))


def drop_append_only_guard(database: Database) -> None:
    """What an attacker with direct database access would do first."""
    if database.is_sqlite:
        execute(database, "DROP TRIGGER transition_events_no_update")
        execute(database, "DROP TRIGGER transition_events_no_delete")
    else:
        execute(database, "DROP TRIGGER transition_events_append_only ON transition_events")


def test_verify_passes_on_an_intact_log(cpflow, history):
    result = cpflow("audit", "verify")
    assert result.exit_code == 0, result.output
    # 1 plan + 3 activities created, 4 moves
    assert result.stdout.startswith("ok: 8 events")


@pytest.mark.parametrize(
    "sql", ["UPDATE transition_events SET actor = 'someone else' WHERE id = 5", "DELETE FROM transition_events WHERE id = 5"]
)
def test_the_database_refuses_update_and_delete_of_events(history, sql):
    with pytest.raises(DBAPIError, match="append-only"):
        execute(history, sql)


def test_an_altered_event_is_named(cpflow, history):
    drop_append_only_guard(history)
    execute(history, "UPDATE transition_events SET actor = 'someone else' WHERE id = 6")
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "event 6 was altered" in result.stderr


def test_a_removed_event_is_named(cpflow, history):
    drop_append_only_guard(history)
    execute(history, "DELETE FROM transition_events WHERE id = 5")
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "event 5 is missing" in result.stderr


def test_reordered_events_are_caught(cpflow, history):
    drop_append_only_guard(history)
    execute(history, "UPDATE transition_events SET at = '2022-12-31' WHERE id = 5")
    execute(history, "UPDATE transition_events SET id = 100 WHERE id = 5")
    execute(history, "UPDATE transition_events SET id = 5 WHERE id = 6")
    execute(history, "UPDATE transition_events SET id = 6 WHERE id = 100")
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "event 5" in result.stderr


def test_events_removed_from_the_end_are_caught(cpflow, history):
    drop_append_only_guard(history)
    execute(history, "DELETE FROM transition_events WHERE id >= 7")
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "events 7..8 were removed" in result.stderr


def test_state_cache_equals_the_replay_of_events(cpflow, history):
    import json

    now = {r["id"]: r["state"] for r in json.loads(cpflow("activities", "--format", "json").stdout)}
    replayed = {r["id"]: r["state"] for r in json.loads(cpflow("activities", "--as-of", "2026-01-01", "--format", "json").stdout)}
    assert now == replayed == {"mini:1.1": "completed", "mini:1.2": "endorsed", "mini:1.3": "proposed"}
