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


# --- the log is the whole truth: every cached table is compared with its replay --------------

RECORD_PLAN = """\
plan: {slug: rec, title: Recorded plan, start: 2022-01-01, end: 2025-12-31}
people:
  - {name: Amina Yusuf, roles: [lead]}
  - {name: Sam Member, roles: [member]}
periods:
  - {key: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}
units:
  - {key: wg, name: Working group, kind: working_group}
objectives:
  - code: "1"
    title: First objective
    unit: wg
    activities:
      - {code: "1.1", title: First action, due: 2022-06-30}
      - {code: "1.2", title: Second action}
indicators:
  - {code: IND-1, name: Partners trained, targets: [{period: "2022", value: 10}]}
budgets:
  - {unit: wg, period: "2022", budget: 100000, received: 20000}
"""


@pytest.fixture
def recorded(cpflow, tmp_path, db_url):
    """A plan with people, an indicator and a budget; moves, a measurement and funding recorded."""
    path = tmp_path / "rec.yaml"
    path.write_text(RECORD_PLAN, encoding="utf-8")
    steps = [
        ("load", str(path), "--by", "Amina Yusuf"),
        ("move", "rec:1.1", "endorse", "--by", "Amina Yusuf", "--at", "2022-02-01"),
        ("move", "rec:1.2", "endorse", "--by", "Amina Yusuf", "--at", "2022-02-01"),
        ("measure", "rec:IND-1", "4", "--by", "Sam Member", "--at", "2022-05-01", "--period", "2022"),
        ("fund", "rec:wg", "--period", "2022", "--received", "50000", "--by", "Amina Yusuf", "--at", "2022-05-02"),
    ]
    for step in steps:
        result = cpflow(*step)
        assert result.exit_code == 0, (step, result.output)
    assert cpflow("audit", "verify").exit_code == 0
    return Database(db_url)


def test_verify_replays_every_seed_plan_with_moves_measurements_and_funding(seeded):
    assert seeded("fund", "alliance-2018-2020:wg3", "--period", "2018", "--received", "200000", "--by", "t").exit_code == 0
    assert seeded("move", "cpms-wg-2022-2025:2.11", "endorse", "--by", "t", "--at", "2022-05-01").exit_code == 0
    result = seeded("audit", "verify")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "sql, message",
    [
        ("UPDATE activities SET state = 'completed' WHERE code = '1.1'", "activities rec:1.1: state is completed, the log says endorsed"),
        ("UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.2'", "activities rec:1.2: title is Quietly renamed, the log says Second action"),
        ("UPDATE activities SET due = '2030-01-01' WHERE code = '1.1'", "activities rec:1.1: due is 2030-01-01, the log says 2022-06-30"),
        ("UPDATE activities SET version = 1 WHERE code = '1.1'", "activities rec:1.1: version is 1, the log says 2"),
        ("UPDATE measurements SET value = 9", "measurements rec:IND-1 (event 6): value is 9.0, the log says 4.0"),
        ("UPDATE budget_lines SET received_minor = 2000000", "budget_lines rec:wg/2022: received_minor is 2000000, the log says 5000000"),
        ("UPDATE budget_lines SET budget_minor = 1", "budget_lines rec:wg/2022: budget_minor is 1, the log says 10000000"),
        ("""UPDATE plans SET people = '[{"name": "Sam Member", "roles": ["lead"]}]'""", "plans rec: people is"),
        ("UPDATE indicators SET targets = '[]'", "indicators rec:IND-1: targets is [], the log says"),
        ("UPDATE units SET name = 'Other'", "units rec:wg: name is Other, the log says Working group"),
        ("DELETE FROM periods", "periods rec:2022: in the log but missing from the table"),
        ("INSERT INTO outcomes (plan_id, key, title) VALUES (1, 'o9', 'Slipped in')", "outcomes rec:o9: not in the log"),
        ("DELETE FROM measurements", "measurements (event 6): in the log but missing from the table"),
    ],
)  # fmt: skip
def test_a_table_edited_beside_the_log_is_named_by_verify(cpflow, recorded, sql, message):
    execute(recorded, sql)
    result = cpflow("audit", "verify")
    assert result.exit_code == 1, result.output
    assert message in result.stderr


def test_a_move_that_does_not_start_where_the_last_one_ended_is_caught(cpflow, recorded):
    # The cached state is set behind the log's back; the next move is then recorded
    # "from completed" right after an event "to endorsed".
    execute(recorded, "UPDATE activities SET state = 'completed' WHERE code = '1.1'")
    assert cpflow("move", "rec:1.1", "reopen", "--by", "Amina Yusuf", "--reason", "x").exit_code == 0
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "event 8 (rec:1.1 reopen) starts from completed, but the events before it leave it endorsed" in result.stderr


def test_every_load_event_carries_the_content_it_wrote(recorded):
    import json

    with recorded.read() as session:
        data = [json.loads(d) for (d,) in session.execute(text("SELECT data FROM transition_events WHERE kind = 'create'"))]
    plan = next(d for d in data if d.get("table") == "plans")
    assert plan["row"]["people"][0] == {"name": "Amina Yusuf", "roles": ["lead"]}
    assert plan["rows"]["budget_lines"][0]["budget_minor"] == 10_000_000
    first = next(d for d in data if d.get("code") == "1.1")
    assert first["row"]["title"] == "First action" and first["row"]["due"] == "2022-06-30"


@pytest.mark.parametrize(
    "sql, message",
    [
        (None, None),
        ("UPDATE activities SET state = 'completed' WHERE code = '1.1'", "activities rec:1.1: state is completed, the log says endorsed"),
        ("UPDATE activities SET version = 7 WHERE code = '1.2'", "activities rec:1.2: version is 7, the log says 2"),
        ("UPDATE measurements SET actor = 'Mallory'", "measurements: 1 rows, 1 measurement events, 0 rows matching their event"),
        ("DELETE FROM measurements", "measurements: 0 rows, 1 measurement events"),
    ],
)  # fmt: skip
def test_the_cheap_read_check_turns_a_cache_edited_beside_the_log_into_an_error(recorded, sql, message):
    from cpflow.replay import CacheMismatch, check_cache

    if sql:
        execute(recorded, sql)
    with recorded.read() as session:
        if message is None:
            check_cache(session.connection())
            return
        with pytest.raises(CacheMismatch, match=message) as raised:
            check_cache(session.connection())
    assert raised.value.exit_code == 1


def test_check_reports_and_show_refuse_a_state_edited_beside_the_log(recorded, cpflow):
    execute(recorded, "UPDATE activities SET state = 'completed' WHERE code = '1.1'")
    message = "activities rec:1.1: state is completed, the log says endorsed"
    for args in (
        ("check", "--plan", "rec"),
        ("report", "progress", "--plan", "rec", "--format", "json"),
        ("show", "rec:1.1"),
        ("activities", "--plan", "rec"),
    ):
        result = cpflow(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr and not result.stdout, args
    assert cpflow("show", "rec:1.2").exit_code == 0  # an untouched activity still shows
