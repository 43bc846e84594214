"""Step definitions for scenarios/plans.feature: loading plan files and importing a
coordinator's own spreadsheet, in the users' words."""

import json
from pathlib import Path

import pytest
from conftest import WORKFLOWS
from pytest_bdd import given, parsers, scenarios, then, when
from test_workflow_validation import row_counts

scenarios("plans.feature")

PLAN = "cpms-wg-2022-2025"
FRAMEWORK = WORKFLOWS / f"{PLAN}.yaml"
DATA = Path(__file__).resolve().parent / "data"
SHEET = DATA / "sheets" / "coordinator-own-headers.xlsx"
MAPPING = DATA / "sheets" / "coordinator-map.yaml"


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL."""
    return db_url


@pytest.fixture
def journey():
    return {}


@given("the co-lead has loaded the CPMS Working Group's 2022-2025 framework")
@when("the co-lead loads the CPMS Working Group's 2022-2025 framework")
def load_framework(cpflow, db_url, journey):
    journey["result"] = cpflow("load", str(FRAMEWORK), "--by", "CPMS WG co-lead")
    assert journey["result"].exit_code == 0, journey["result"].output
    journey["counts"] = row_counts(db_url)


@then(parsers.parse("cpflow says the framework was loaded with {count:d} actions"))
def says_loaded(journey, count):
    assert journey["result"].stdout.strip() == f"{PLAN}: loaded {count} activities"


@then(parsers.parse("the listing shows {count:d} Years 1-2 actions across the {objectives:d} strategic objectives"))
def listing_shows(cpflow, journey, count, objectives):
    rows = json.loads(cpflow("activities", "--plan", PLAN, "--phase", "years-1-2", "--format", "json").stdout)
    journey["years-1-2"] = rows
    assert len(rows) == count
    assert sorted({r["objective"] for r in rows}) == [str(n) for n in range(1, objectives + 1)]


@then("every Years 1-2 action is due by the end of Year 2, 2023-12-31")
def due_end_of_year_2(journey):
    assert {r["due"] for r in journey["years-1-2"]} == {"2023-12-31"}


@when("the co-lead loads the same file again")
def load_again(cpflow, journey):
    journey["result"] = cpflow("load", str(FRAMEWORK), "--by", "CPMS WG co-lead")


@then("cpflow says the framework is unchanged")
def says_unchanged(journey):
    assert journey["result"].exit_code == 0
    assert journey["result"].stdout.strip() == f"{PLAN}: unchanged"


@then("nothing new is written to the audit trail")
@then("nothing in the database has changed")
def nothing_written(db_url, journey):
    assert row_counts(db_url) == journey["counts"]


@when("the co-lead loads a plan file with a due date before its start, an unknown state and a repeated code")
def load_broken(cpflow, journey):
    journey["result"] = cpflow("load", str(DATA / "broken" / "several-errors.yaml"), "--by", "CPMS WG co-lead")


@then("cpflow refuses it and names each mistake with its line and where it is in the file")
def refused_with_lines(journey):
    result = journey["result"]
    assert result.exit_code == 2
    assert "nothing was written" in result.stderr
    for line, path in [(13, "activities[0].due"), (16, "activities[1].state"), (20, "activities[3].code")]:
        assert f"several-errors.yaml:{line}: objectives[0].{path}:" in result.stderr


@given(
    parsers.parse('the coordinator\'s Excel work plan calls the activity "{title}", the lead "{lead}" and the status "{status}"')
)
def own_headers(title, lead, status):
    import openpyxl

    sheet = openpyxl.load_workbook(SHEET)["Actions 2024"]
    assert [c.value for c in sheet[4]][1:6] == ["Action point", "Pillar", lead, "Deadline", status]
    assert sheet["B4"].value == title


@when("the coordinator tries a dry run of the import without saying what those headers mean")
def import_without_mapping(cpflow, db, db_url, journey):
    journey["counts"] = row_counts(db_url)  # (`db` made it an initialised, empty database)
    journey["result"] = cpflow("import", str(SHEET), "--plan", "education-cp-2024", "--by", "IM officer", "--dry-run")


@then('cpflow says it read "Action point" as the activity and how to change that, and writes nothing')
def guessed_activity_column(db_url, journey):
    result = journey["result"]
    assert result.exit_code == 0, result.output
    assert 'reading "Action point" as the activity text; --map to change' in result.stderr
    assert row_counts(db_url) == journey["counts"]


@when("the coordinator imports it with their mapping file")
def import_with_mapping(cpflow, journey):
    journey["result"] = cpflow("import", str(SHEET), "--plan", "education-cp-2024", "--map", str(MAPPING), "--by", "IM officer")
    assert journey["result"].exit_code == 0, journey["result"].output


@then(parsers.parse("the plan has the coordinator's {count:d} actions with their focal agencies, deadlines and statuses"))
def plan_has_actions(cpflow, count):
    rows = json.loads(cpflow("activities", "--plan", "education-cp-2024", "--format", "json").stdout)
    assert len(rows) == count
    assert [(r["code"], r["lead"], r["due"], r["state"]) for r in rows] == [
        ("E-1", "Save the Children", "2024-06-30", "in_progress"),
        ("E-2", "UNICEF", "2024-03-31", "completed"),
        ("E-3", "UNICEF", "2024-09-30", "endorsed"),
    ]


@then("importing the same work plan again changes nothing")
def import_again(cpflow, db_url):
    before = row_counts(db_url)
    result = cpflow("import", str(SHEET), "--plan", "education-cp-2024", "--map", str(MAPPING), "--by", "IM officer")
    assert result.exit_code == 0
    assert result.stdout.startswith("education-cp-2024: unchanged")
    assert row_counts(db_url) == before


MULTI = """\
plan: {slug: multi, title: Refugee CP SWG 2025, start: 2025-01-01, end: 2025-12-31}
objectives:
  - {code: "1", title: Coordinate}
  - {code: "2", title: Assess and monitor}
  - {code: "3", title: Resource mobilisation}
activities:
  - {code: "2.1", title: Joint assessment and appeal, objectives: ["2", "3"]}
  - {code: "1.1", title: Bi-weekly meetings, objective: "1"}
  - {code: "7.1", title: Quarterly analysis, notes: "The source names the area, not an objective"}
"""


@given("a plan file whose joint assessment contributes to objectives 2 and 3, and one action that names no objective")
def multi_objective_plan(tmp_path, journey):
    journey["file"] = tmp_path / "multi.yaml"
    journey["file"].write_text(MULTI, encoding="utf-8")


@when("the coordinator loads it and reads the progress report")
def load_and_report(cpflow, journey):
    assert cpflow("load", str(journey["file"]), "--by", "coordinator").exit_code == 0
    assert cpflow("move", "multi:2.1", "endorse", "--by", "coordinator", "--at", "2025-01-10").exit_code == 0
    result = cpflow("report", "progress", "--plan", "multi", "--as-of", "2025-06-30", "--format", "json")
    assert result.exit_code == 0, result.output
    journey["section"] = next(s for s in json.loads(result.stdout)["sections"] if s["key"] == "by-objective")


@then("the joint assessment counts under objective 2 and under objective 3, and the report says so")
def counted_under_each(journey):
    rows = {row["objective"]: row for row in journey["section"]["rows"]}
    assert [(rows[o]["activities"], rows[o]["endorsed"]) for o in ("1", "2", "3")] == [(1, 0), (1, 1), (1, 1)]
    assert journey["section"]["note"] == "An activity that contributes to several objectives counts once under each."


@then('the action that names no objective counts under "(none)", not under a guessed objective')
def unlinked_under_none(journey):
    rows = {row["objective"]: row for row in journey["section"]["rows"]}
    assert set(rows) == {"1", "2", "3", "(none)"}
    assert rows["(none)"]["activities"] == 1


SWG = WORKFLOWS / "cp-swg-2025.yaml"


@when("the coordinator loads the CP SWG 2025 work plan")
def load_swg(cpflow, journey):
    result = cpflow("load", str(SWG), "--by", "coordinator")
    assert result.exit_code == 0, result.output
    journey["swg"] = {r["code"]: r for r in json.loads(cpflow("activities", "--plan", "cp-swg-2025", "--format", "json").stdout)}


@then("no action is linked to an objective, because the source's objective column names areas")
def no_objective(journey):
    assert len(journey["swg"]) == 30
    assert {r["objective"] for r in journey["swg"].values()} == {None}


@then("each action's notes say which objective its area reads as")
def notes_say_reading(cpflow):
    shown = cpflow("show", "cp-swg-2025:2.1", "--format", "json")
    assert shown.exit_code == 0, shown.output
    notes = json.loads(shown.stdout)["notes"]
    assert "No objective in the source" in notes and "read as objective 2 (assess and monitor)" in notes


@then("the remarks the source wrote in the result column are notes, not expected results")
def remarks_are_notes(cpflow):
    shown = json.loads(cpflow("show", "cp-swg-2025:1.3", "--format", "json").stdout)
    assert shown["expected_result"] is None
    assert 'reads "As suggested by CP SWG members": a remark, not a result' in shown["notes"]


@when("the co-lead loads a plan file whose budget is 99999999999999999999999 dollars")
def load_huge_budget(cpflow, tmp_path, journey):
    path = tmp_path / "huge.yaml"
    path.write_text(
        "plan: {slug: huge, title: Huge, start: 2022-01-01, end: 2022-12-31}\n"
        "periods: [{key: '2022', start: 2022-01-01, end: 2022-12-31}]\n"
        "units: [{key: wg, name: WG}]\n"
        "budgets: [{unit: wg, period: '2022', budget: 99999999999999999999999}]\n",
        encoding="utf-8",
    )
    journey["file"] = path
    journey["result"] = cpflow("load", str(path), "--by", "CPMS WG co-lead")


@then("cpflow refuses it in one line naming the budget and the largest amount it can store")
def refused_huge(journey):
    result = journey["result"]
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(journey["file"]) + ":")]
    assert lines == [f"{journey['file']}:4: budgets[0].budget: an amount is at most 10,000,000,000,000 "
                     "(cpflow's limit for an amount and a plan's total), got 99999999999999999999999"]  # fmt: skip
