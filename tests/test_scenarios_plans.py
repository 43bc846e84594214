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


@when("the coordinator imports it without saying what those headers mean")
def import_without_mapping(cpflow, db, db_url, journey):
    journey["counts"] = row_counts(db_url)  # (`db` made it an initialised, empty database)
    journey["result"] = cpflow("import", str(SHEET), "--plan", "education-cp-2024", "--by", "IM officer")


@then("cpflow refuses it, saying it found no Activity column and how to name one")
def refused_no_activity(db_url, journey):
    result = journey["result"]
    assert result.exit_code == 2
    assert "no Activity column" in result.stderr and 'columns: {"Your header": title}' in result.stderr
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
