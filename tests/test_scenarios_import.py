"""Step definitions for scenarios/import.feature: a coordinator's tracker with statuses and
comments, in the users' words."""

from __future__ import annotations

import json

import pytest
from conftest import snapshot
from pytest_bdd import given, scenarios, then, when

scenarios("import.feature")

TRACKER = (
    "CP sub-cluster work plan tracker, as of 30 June 2025\n"
    "\n"
    "Objective,Activity,Lead agency,Timeline,Status,Comments\n"
    "1. Coordination,Hold the monthly coordination meeting,UNICEF,Q1-Q4 2025,Ongoing,\n"
    ",Update the service mapping,UNHCR,Q2 2025,Done,Shared with members\n"
    "2. Case management,Train caseworkers on the SOPs,IRC,Q3 2025,Cancelled,{comment}\n"
    ",Roll out the case management database,IRC,Q4 2025,Not started,\n"
)


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL."""
    return db_url


@pytest.fixture
def journey():
    return {}


def history(cpflow, ident: str) -> list[dict]:
    result = cpflow("history", ident, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def state_of(cpflow, code: str, *extra: str) -> str:
    result = cpflow("activities", "--plan", "tracker", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return {r["code"]: r["state"] for r in json.loads(result.stdout)}[code]


@given('my tracker says "as of 30 June 2025" above the table, and has Status and Comments columns')
def tracker(tmp_path, journey):
    journey["sheet"] = tmp_path / "tracker.csv"
    journey["sheet"].write_text(TRACKER.format(comment="Funding moved to the emergency response"), encoding="utf-8")


@given("my tracker has a cancelled action with an empty Comments cell")
def tracker_without_reason(tmp_path, journey, db):
    journey["sheet"] = tmp_path / "tracker.csv"
    journey["sheet"].write_text(TRACKER.format(comment=""), encoding="utf-8")


@when("I import the tracker")
@when("I import the same tracker again")
def import_tracker(cpflow, db_url, journey):
    if "result" in journey:
        journey["before"] = snapshot(db_url)
    elif "sheet" in journey:
        try:
            journey["before"] = snapshot(db_url)
        except Exception:  # noqa: BLE001 (no database yet: the first import creates it)
            journey["before"] = None
    journey["result"] = cpflow("import", str(journey["sheet"]), "--plan", "tracker", "--by", "CP coordinator")


@then("cpflow says the statuses are dated 30 June 2025, from the title rows")
def dated_from_title(journey):
    result = journey["result"]
    assert result.exit_code == 0, result.output
    assert "statuses are dated: 4 from the title rows (2025-06-30)" in result.stderr


@then("the ongoing action shows as in progress today, but as proposed on 29 June 2025")
def ongoing_as_of(cpflow):
    assert state_of(cpflow, "1.1") == "in_progress"
    assert state_of(cpflow, "1.1", "--as-of", "2025-06-29") == "proposed"


@then("the cancelled action is dropped with the reason from its comment")
def cancelled_with_reason(cpflow):
    assert state_of(cpflow, "2.1") == "dropped"
    (event,) = [e for e in history(cpflow, "tracker:2.1") if e["trigger"] == "import"]
    assert event["reason"].endswith(": Funding moved to the emergency response")


@then("each status is one imported status in the action's history")
def one_fact_each(cpflow):
    for code, to in (("1.1", "in_progress"), ("1.2", "completed"), ("2.1", "dropped")):
        moves = [e for e in history(cpflow, f"tracker:{code}") if e["trigger"]]
        assert [(e["trigger"], e["from"], e["to"], e["at"]) for e in moves] == [("import", "proposed", to, "2025-06-30")]
        assert moves[0]["reason"].startswith("imported status")
    assert [e for e in history(cpflow, "tracker:2.2") if e["trigger"]] == []  # "Not started" is where it begins


@then("cpflow says the plan is unchanged and nothing new is written")
def unchanged(db_url, journey):
    result = journey["result"]
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("tracker: unchanged")
    assert snapshot(db_url) == journey["before"]


@then("cpflow refuses it, naming the row and asking for the reason in a Comments cell")
def refused(journey):
    result = journey["result"]
    assert result.exit_code == 2
    assert 'row 6, column E "Status"' in result.stderr and "reason for the cancellation in a Comments" in result.stderr


@then("nothing is written")
def nothing_written(db_url, journey):
    assert snapshot(db_url) == journey["before"]
