"""Reads refuse a content table edited beside the log (issue 13 section 1): `check`, `report
progress`, `activities` and `show` compare every row of the plans' own tables they read (the
plan row with its people, roles and settings, periods, units, outcomes, objectives, checklist
items, indicators, budget lines and received funds) with what the log last recorded for it,
and the plan's activities with the digest the last write recorded (cpflow.digests); `show`
compares its activity's own content with the log. Each edit ends in exit 1 with one message
naming the table and the row (for activities outside `show`: the plan), and `audit verify`
names the row. Both backends."""

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
    ("UPDATE activities SET description = 'Added later' WHERE code = '1.1'", "activities rec:1.1: description is Added later"),
    ("UPDATE activities SET notes = 'x' WHERE code = '1.1'", "activities rec:1.1: notes is x, the log says null"),
    ("UPDATE activities SET sectors = '[\"Health\"]' WHERE code = '1.1'", "activities rec:1.1: sectors is"),
    ("UPDATE activities SET start = '2022-03-01' WHERE code = '1.1'", "activities rec:1.1: start is 2022-03-01"),
]  # fmt: skip
# What the other reads say about an edited activity: its plan, and how to find the row.
ACTIVITIES_DIFFER = (
    "activities of rec: the content of its activities (title, dates, lead, objective …) is not what cpflow last recorded"
)
ACTIVITY_ROWS = [  # rows added or removed beside the log, and swapped content
    ("INSERT INTO activities (plan_id, code, title, objectives, contributors, schedule, start, due, sectors, countries, "
     "cross_cutting, checklist, initial_state, state, version, in_source, position) VALUES (1, '9.9', 'Slipped in', '[]', "
     "'[]', '[]', '2022-01-01', '2022-12-31', '[]', '[]', '[]', '[]', 'proposed', 'proposed', 0, true, 99)",
     "activities of rec: 3 activity rows, cpflow last recorded 2", "activities rec:9.9: not in the log"),
    ("UPDATE activities SET title = CASE code WHEN '1.1' THEN 'Second action' ELSE 'First action' END",
     ACTIVITIES_DIFFER, "activities rec:1.1: title is Second action, the log says First action"),
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


@pytest.mark.parametrize("sql, named", ACTIVITY_EDITS, ids=["title", "due", "lead", "objective", "description", "notes",
                                                         "sectors", "start"])  # fmt: skip
def test_an_activity_edited_beside_the_log_is_refused_by_every_read_and_named_by_verify(cpflow, recorded, sql, named):
    execute(recorded, sql)
    refused(cpflow, ("show", "rec:1.1"), named)
    assert cpflow("show", "rec:1.2").exit_code == 0  # an untouched activity of the plan still shows
    for args in READS[:-1]:
        refused(cpflow, args, ACTIVITIES_DIFFER)
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 1 and named in verified.stderr, verified.output


@pytest.mark.parametrize("sql, read_says, verify_says", ACTIVITY_ROWS, ids=["added", "swapped-titles"])
def test_activity_rows_added_or_swapped_beside_the_log_are_refused(cpflow, recorded, sql, read_says, verify_says):
    execute(recorded, sql)
    for args in READS[:-1]:
        refused(cpflow, args, read_says)
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 1 and verify_says in verified.stderr, verified.output


@pytest.mark.parametrize("sql", ["UPDATE cache_digests SET digest = digest + 1", "DELETE FROM cache_digests"])
def test_a_digest_edited_beside_the_activities_is_refused_and_named_by_verify(cpflow, recorded, sql):
    """The digest is a cache too: reads refuse, verify (which proved the rows) names the digest."""
    execute(recorded, sql)
    for args in READS[:-1]:
        refused(cpflow, args, "activities of rec:")
    verified = cpflow("audit", "verify")
    assert verified.exit_code == 1 and "cache_digests rec: records" in verified.stderr, verified.output


def test_another_plans_activities_still_answer(cpflow, recorded, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(RECORD_PLAN.replace("slug: rec", "slug: other"), encoding="utf-8")
    assert cpflow("load", str(other), "--by", "Amina Yusuf").exit_code == 0
    execute(recorded, "UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.1' AND plan_id = 1")
    assert cpflow("check", "--plan", "other").exit_code in (0, 1)
    assert MISMATCH not in cpflow("check", "--plan", "other").stderr
    refused(cpflow, ("check",), ACTIVITIES_DIFFER)  # every plan: the edited one is named


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


def reads_answer(cpflow, *args) -> None:
    for read in args or READS:
        result = cpflow(*read)
        assert result.exit_code in (0, 1) and MISMATCH not in result.stderr, (read, result.output)


def test_imports_keep_the_digest_and_every_read_answering(cpflow, tmp_path):
    sheet = tmp_path / "t.csv"
    sheet.write_text("Objective,Activity,Timeline,Status\n1,Map the services,Q1-Q4 2025,Done\n1,Train,Q1 2025,\n",
                     encoding="utf-8")  # fmt: skip
    assert cpflow("import", str(sheet), "--plan", "t", "--by", "im").exit_code == 0
    reads = (("check", "--plan", "t"), ("activities", "--plan", "t"), ("report", "progress", "--plan", "t", "--format", "json"))
    reads_answer(cpflow, *reads)
    sheet.write_text("Objective,Activity,Timeline,Status\n1,Map the services,Q1-Q3 2025,Done\n1,Train,Q1 2025,Ongoing\n"
                     "1,Review,Q4 2025,\n", encoding="utf-8")  # fmt: skip
    assert cpflow("import", str(sheet), "--plan", "t", "--by", "im").exit_code == 0
    reads_answer(cpflow, *reads)
    assert cpflow("audit", "verify").exit_code == 0


@pytest.mark.parametrize("kind", ["db", "jsonl"])
def test_a_restore_keeps_the_digests_and_every_read_answering(cpflow, recorded, tmp_path, kind):
    saved = tmp_path / f"saved.{kind}"
    assert cpflow("backup", str(saved)).exit_code == 0
    assert cpflow("restore", str(saved), "--force").exit_code == 0
    reads_answer(cpflow)
    assert cpflow("audit", "verify").exit_code == 0


def test_a_database_from_before_the_digests_gets_them_from_init(cpflow, recorded):
    """A 0003 database (the schema before cache_digests and the log's moves index) is upgraded by `cpflow init`, which
    records each plan's digest; until then reads ask for `init`."""
    execute(recorded, "DROP TABLE cache_digests")
    execute(recorded, "DROP INDEX ix_events_activity_moves")
    execute(recorded, "UPDATE alembic_version SET version_num = '0003'")
    result = cpflow("check", "--plan", "rec")
    assert result.exit_code == 2 and "run `cpflow init`" in result.stderr, result.output
    assert cpflow("init").exit_code == 0
    reads_answer(cpflow)
    assert cpflow("audit", "verify").exit_code == 0
    execute(recorded, "UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.2'")
    refused(cpflow, ("check", "--plan", "rec"), ACTIVITIES_DIFFER)


def test_exports_refuse_an_edited_cache_and_write_nothing(cpflow, recorded, tmp_path):
    """The table export and the members' tracker read the tables too: the same check, no file."""
    exports = {
        "csv": ("export", "rec", "--format", "csv", "-o", str(tmp_path / "rec.csv")),
        "iati": ("export", "rec", "--format", "iati", "--reporting-org", "XM-DAC-1", "-o", str(tmp_path / "rec.xml")),
        "tracker": ("tracker", "export", "--plan", "rec", "-o", str(tmp_path / "tracker.xlsx")),
    }
    for name, args in exports.items():
        assert cpflow(*args).exit_code == 0, name
        (tmp_path / args[-1]).unlink()
    execute(recorded, "UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.1'")
    for name, args in exports.items():
        refused(cpflow, args, ACTIVITIES_DIFFER)
        assert not (tmp_path / args[-1]).exists(), name
    execute(recorded, "UPDATE activities SET title = 'First action' WHERE code = '1.1'")
    execute(recorded, "UPDATE activities SET state = 'completed' WHERE code = '1.1'")
    for args in exports.values():
        refused(cpflow, args, "activities rec:1.1: state is completed, the log says endorsed")
