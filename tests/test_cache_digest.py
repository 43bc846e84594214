"""Reads refuse a content table edited beside the log (issue 13 section 1): `check`, `report
progress`, `activities` and `show` compare every row of the plans' own tables they read (the
plan row with its people, roles and settings, periods, units, outcomes, objectives, checklist
items, indicators, budget lines and received funds) with what the log last recorded for it,
and `show` an activity's own content too; each edit ends in exit 1 with one message naming the
table and the row, the same row `audit verify` names. Both backends."""

from __future__ import annotations

import gc

import pytest
from test_audit import RECORD_PLAN, execute

from cpflow.db import Database

MISMATCH = "the database was changed outside cpflow (run cpflow audit verify)"
READS = (
    ("check", "--plan", "rec"),
    ("check",),
    ("report", "progress", "--plan", "rec", "--format", "json"),
    ("activities", "--plan", "rec"),
    ("show", "rec:1.1"),
)

# (table, statement, the row and difference every read and `audit verify` name)
PLAN_TABLES = [
    ("plans", "UPDATE plans SET title = 'Renamed quietly'", "plans rec: title is Renamed quietly, the log says Recorded plan"),
    ("plans", """UPDATE plans SET people = '[{"name": "Sam Member", "roles": ["lead"]}]'""", "plans rec: people is"),
    ("plans", """UPDATE plans SET rules = '{"ignore": ["T101"]}'""", "plans rec: rules is"),
    ("periods", "UPDATE periods SET \"end\" = '2029-12-31'", "periods rec:2022: end is 2029-12-31, the log says 2022-12-31"),
    ("units", "UPDATE units SET name = 'Other'", "units rec:wg: name is Other, the log says Working group"),
    ("objectives", "UPDATE objectives SET title = 'Another objective'", "objectives rec:1: title is Another objective"),
    ("indicators", "UPDATE indicators SET targets = '[]'", "indicators rec:IND-1: targets is [], the log says"),
    ("indicators", "UPDATE indicators SET name = 'Partners met'", "indicators rec:IND-1: name is Partners met"),
    ("budget_lines", "UPDATE budget_lines SET received_minor = 2000000",
     "budget_lines rec:wg/2022: received_minor is 2000000, the log says 5000000"),
    ("budget_lines", "UPDATE budget_lines SET budget_minor = 1", "budget_lines rec:wg/2022: budget_minor is 1, the log says 10000000"),
    ("outcomes", "INSERT INTO outcomes (plan_id, key, title) VALUES (1, 'o9', 'Slipped in')", "outcomes rec:o9: not in the log"),
    ("periods", "DELETE FROM periods", "periods rec:2022: in the log but missing from the table"),
]  # fmt: skip
ACTIVITY_EDITS = [
    ("UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.1'", "activities rec:1.1: title is Quietly renamed, the log says First action"),
    ("UPDATE activities SET due = '2030-01-01' WHERE code = '1.1'", "activities rec:1.1: due is 2030-01-01, the log says 2022-06-30"),
    ("UPDATE activities SET lead = 'Mallory' WHERE code = '1.1'", "activities rec:1.1: lead is Mallory, the log says null"),
    ("UPDATE activities SET objective_id = NULL WHERE code = '1.1'", "activities rec:1.1: objective_id is null, the log says 1"),
]  # fmt: skip


@pytest.fixture
def cpflow(cpflow):
    """The CLI, with the engines of finished in-process commands collected, so their pooled
    PostgreSQL connections close (many reads per test would otherwise hold dozens)."""

    def runner(*args, **kwargs):
        result = cpflow(*args, **kwargs)
        gc.collect()
        return result

    return runner


@pytest.fixture
def recorded(cpflow, tmp_path, db_url):
    path = tmp_path / "rec.yaml"
    path.write_text(RECORD_PLAN, encoding="utf-8")
    steps = [
        ("load", str(path), "--by", "Amina Yusuf"),
        ("move", "rec:1.1", "endorse", "--by", "Amina Yusuf", "--at", "2022-02-01"),
        ("measure", "rec:IND-1", "4", "--by", "Sam Member", "--at", "2022-05-01", "--period", "2022"),
        ("fund", "rec:wg", "--period", "2022", "--received", "50000", "--by", "Amina Yusuf", "--at", "2022-05-02"),
    ]
    for step in steps:
        result = cpflow(*step)
        assert result.exit_code == 0, (step, result.output)
    for args in READS:  # every read answers while the tables agree with the log
        result = cpflow(*args)
        assert result.exit_code in (0, 1) and MISMATCH not in result.stderr, (args, result.output)
    return Database(db_url)


def refused(cpflow, args, named):
    result = cpflow(*args)
    assert result.exit_code == 1, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and MISMATCH in lines[0], (args, result.stderr)
    assert not result.stdout, args


@pytest.mark.parametrize("table, sql, named", PLAN_TABLES, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(PLAN_TABLES)])
def test_a_plan_table_edited_beside_the_log_is_refused_by_every_read_and_named_by_verify(cpflow, recorded, table, sql, named):
    execute(recorded, sql)
    for args in READS:
        refused(cpflow, args, named)
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 1 and named in verified.stderr, verified.output


@pytest.mark.parametrize("sql, named", ACTIVITY_EDITS, ids=["title", "due", "lead", "objective"])
def test_an_activity_edited_beside_the_log_is_refused_by_show_and_named_by_verify(cpflow, recorded, sql, named):
    execute(recorded, sql)
    refused(cpflow, ("show", "rec:1.1"), named)
    assert cpflow("show", "rec:1.2").exit_code == 0  # an untouched activity of the plan still shows
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 1 and named in verified.stderr, verified.output


def test_writes_through_cpflow_keep_every_read_answering(cpflow, recorded, tmp_path):
    """A reload with edits, a second funding update and a measurement change the tables
    through the log: no read takes them for an edit beside it."""
    edited = tmp_path / "rec.yaml"
    edited.write_text(
        RECORD_PLAN.replace("title: First action", "title: First action (revised)").replace("Working group", "The group"),
        encoding="utf-8",
    )
    for step in (
        ("load", str(edited), "--by", "Amina Yusuf"),
        ("fund", "rec:wg", "--period", "2022", "--received", "60000", "--by", "Amina Yusuf", "--at", "2022-06-01"),
        ("measure", "rec:IND-1", "6", "--by", "Sam Member", "--at", "2022-06-01", "--period", "2022"),
    ):
        assert cpflow(*step).exit_code == 0, step
    for args in READS:
        result = cpflow(*args)
        assert result.exit_code in (0, 1) and MISMATCH not in result.stderr, (args, result.output)
    assert cpflow("audit", "verify").exit_code == 0
