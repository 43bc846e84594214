"""Step definitions for scenarios/lifecycle.feature."""

import json

import pytest
from conftest import WORKFLOWS
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text

from cpflow.db import Database

scenarios("lifecycle.feature")


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL (pytest-bdd asks for fixtures lazily)."""
    return db_url


PLAN = "cpms-wg-2022-2025"
LEAD = "CPMS WG co-lead"


@given("the CPMS Working Group's 2022-2025 framework is loaded", target_fixture="outcome")
def framework_loaded(cpflow):
    result = cpflow("load", str(WORKFLOWS / f"{PLAN}.yaml"), "--by", LEAD)
    assert result.exit_code == 0, result.output
    return {}


def record(cpflow, outcome, code, trigger, at=None, reason=None):
    args = ["move", f"{PLAN}:{code}", trigger, "--by", LEAD]
    args += ["--at", at] if at else []
    args += ["--reason", reason] if reason else []
    outcome["last"] = cpflow(*args)
    return outcome["last"]


@given(parsers.parse("the co-lead has recorded that action {code} was endorsed at the meeting of {at}"))
@when(parsers.parse("the co-lead records that action {code} was endorsed at the meeting of {at}"))
def endorsed_at_meeting(cpflow, outcome, code, at):
    assert record(cpflow, outcome, code, "endorse", at).exit_code == 0, outcome["last"].output


@when(parsers.parse("the co-lead records that action {code} was {word} on {at}"))
def moved_on(cpflow, outcome, code, word, at):
    trigger = {"started": "start", "completed": "complete"}[word]
    assert record(cpflow, outcome, code, trigger, at).exit_code == 0, outcome["last"].output


@when(parsers.parse("the co-lead tries to record that action {code} was completed"))
def try_complete(cpflow, outcome, code):
    record(cpflow, outcome, code, "complete")


@when(parsers.parse("the co-lead tries to drop action {code} without giving a reason"))
def try_drop(cpflow, outcome, code):
    record(cpflow, outcome, code, "drop")


def state(cpflow, code, as_of=None):
    args = ["activities", "--plan", PLAN, "--format", "json"] + (["--as-of", as_of] if as_of else [])
    return {row["code"]: row["state"] for row in json.loads(cpflow(*args).stdout)}[code]


@then(parsers.parse("action {code} is {expected}"))
def action_is(cpflow, code, expected):
    assert state(cpflow, code) == expected


@then(parsers.parse("the history of action {code} shows endorse, start and complete with who and when"))
def history_shows(cpflow, code):
    events = json.loads(cpflow("history", f"{PLAN}:{code}", "--format", "json").stdout)
    assert [(e["trigger"], e["actor"], e["at"]) for e in events] == [
        ("endorse", LEAD, "2022-05-12"),
        ("start", LEAD, "2022-06-01"),
        ("complete", LEAD, "2023-03-31"),
    ]


@then("the move is refused with a message saying what is allowed from proposed")
def refused_illegal(outcome):
    result = outcome["last"]
    assert result.exit_code == 2
    assert "allowed from proposed: endorse, drop" in result.stderr


@then("the move is refused with a message asking for a reason")
def refused_reason(outcome):
    result = outcome["last"]
    assert result.exit_code == 2
    assert "needs a reason" in result.stderr


@then(parsers.parse("action {code} has no history"))
def no_history(cpflow, code):
    assert json.loads(cpflow("history", f"{PLAN}:{code}", "--format", "json").stdout) == []


@then(parsers.parse("a listing as of {as_of} shows action {code} as {expected}"))
def listing_as_of(cpflow, as_of, code, expected):
    assert state(cpflow, code, as_of) == expected


@when("someone with access to the database file rewrites who endorsed it")
def tamper(db_url):
    database = Database(db_url)
    with database.engine.begin() as conn:
        if database.is_sqlite:
            conn.execute(text("DROP TRIGGER transition_events_no_update"))
        else:
            conn.execute(text("DROP TRIGGER transition_events_append_only ON transition_events"))
        conn.execute(text("UPDATE transition_events SET actor = 'someone else' WHERE kind = 'transition'"))
    database.dispose()


@then("checking the audit trail fails and names the altered event")
def audit_fails(cpflow):
    result = cpflow("audit", "verify")
    assert result.exit_code == 1
    assert "was altered" in result.stderr
