"""Step definitions for scenarios/team.feature (issue 14)."""

from __future__ import annotations

import json
import threading

import openpyxl
import pytest
from conftest import backdate, snapshot
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("team.feature")


@pytest.fixture(autouse=True)
def backend(db_url):
    return db_url


@given('the mini plan has a lead "lea", a co-lead "col", a member "mo" and a reviewer "rev"', target_fixture="story")
def mini_team(team):
    return {"cpflow": team}


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


@given("the plan says four_eyes")
def four_eyes(story, mini_plan):
    text = mini_plan.read_text().replace("  title: Mini plan\n", "  title: Mini plan\n  four_eyes: true\n")
    mini_plan.write_text(text)
    _ok(story["cpflow"]("load", str(mini_plan), "--by", "lea"))


@when(parsers.parse('"{login}" submits that action {code} was endorsed at the meeting of {at}'))
def submits(story, login, code, at):
    result = _ok(story["cpflow"]("submit", f"mini:{code}", "endorse", "--by", login, "--at", at, "--format", "json"))
    story["submission"] = str(json.loads(result.stdout)["id"])


@when(parsers.parse('"{login}" approves the submission'))
@then(parsers.parse('"{login}" approves the submission'))
def approves(story, login):
    _ok(story["cpflow"]("review", "approve", story["submission"], "--by", login))


@when(parsers.parse('"{login}" returns the submission asking "{comment}"'))
def returns(story, login, comment):
    _ok(story["cpflow"]("review", "return", story["submission"], "--by", login, "--comment", comment))


@when(parsers.parse('"{login}" resubmits it with the reference "{ref}"'))
def resubmits(story, login, ref):
    _ok(story["cpflow"]("review", "resubmit", story["submission"], "--by", login, "--ref", ref))


@then(parsers.parse("action {code} is still {state}"))
def still(story, code, state):
    assert json.loads(story["cpflow"]("show", f"mini:{code}", "--format", "json").stdout)["state"] == state


def _history(story, code):
    return json.loads(story["cpflow"]("history", f"mini:{code}", "--format", "json").stdout)


@then(parsers.parse('the history of action {code} shows it was submitted by "{submitter}" and approved by "{approver}"'))
def shows_names(story, code, submitter, approver):
    assert [(h["submitted_by"], h["approved_by"]) for h in _history(story, code)] == [(submitter, approver)]


@then(parsers.parse('the history of action {code} shows the reference "{ref}"'))
def shows_ref(story, code, ref):
    assert _history(story, code)[-1]["ref"] == ref


@then("the audit log verifies")
def verifies(story):
    _ok(story["cpflow"]("audit", "verify"))


@then(parsers.parse('"{login}" cannot approve the submission and nothing is written'))
def cannot_approve(story, login, db_url):
    before = snapshot(db_url)
    assert story["cpflow"]("review", "approve", story["submission"], "--by", login).exit_code == 2
    assert snapshot(db_url) == before


@then(parsers.parse('"{login}" cannot submit that action {code} was endorsed and nothing is written'))
def cannot_submit(story, login, code, db_url):
    before = snapshot(db_url)
    result = story["cpflow"]("submit", f"mini:{code}", "endorse", "--by", login)
    assert result.exit_code == 2 and "reviewer" in result.stderr
    assert snapshot(db_url) == before


@given("the lead has exported the tracker")
def exported(story, tmp_path):
    story["tracker"] = tmp_path / "tracker.xlsx"
    _ok(story["cpflow"]("tracker", "export", "--plan", "mini", "-o", str(story["tracker"])))


@when(parsers.parse('"{login}" fills in action {a} as "{sa}" on {da} and action {b} as "{sb}" on {db}'))
def fills(story, login, a, sa, da, b, sb, db):
    book = openpyxl.load_workbook(story["tracker"])
    sheet = book["Activities"]
    for row in range(2, sheet.max_row + 1):
        for code, state, day in ((a, sa, da), (b, sb, db)):
            if sheet.cell(row, 1).value == code:
                sheet.cell(row, 4).value, sheet.cell(row, 5).value = state, day
    book.save(story["tracker"])
    story["importer"] = login


@then(parsers.parse("importing it refuses row {row:d} and nothing is written"))
def refused(story, row, db_url):
    before = snapshot(db_url)
    result = story["cpflow"]("tracker", "import", str(story["tracker"]), "--by", story["importer"])
    assert result.exit_code == 2 and f"Activities row {row}, column New status" in result.stderr
    assert snapshot(db_url) == before


@then(parsers.parse('when "{first}" and "{second}" approve it at once exactly one succeeds'))
def at_once(story, first, second, db_url):
    from cpflow.db import Database
    from cpflow.errors import CpflowError
    from cpflow.teams.submissions import approve

    barrier, outcomes = threading.Barrier(2), {}

    def decide(login):
        database = Database(db_url)
        try:
            barrier.wait()
            outcomes[login] = approve(database, int(story["submission"]), by=login)["status"]
        except CpflowError as exc:
            outcomes[login] = exc.exit_code
        finally:
            database.dispose()

    threads = [threading.Thread(target=decide, args=(login,)) for login in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values(), key=str) == [3, "approved"], outcomes


@when(parsers.parse("the submission has waited {days:d} days"))
def waited(story, days, db_url):
    backdate(db_url, int(story["submission"]), days)


def _progress(story) -> dict:
    report = json.loads(_ok(story["cpflow"]("report", "progress", "--plan", "mini", "--format", "json")).stdout)
    return {s["key"]: s["rows"] for s in report["sections"]}


@then(parsers.parse(
    "the progress report's updates in the period show action {code} submitted by \"{submitter}\", "
    "approved by \"{approver}\", after {days:d} days"
))  # fmt: skip
def updates_shown(story, code, submitter, approver, days):
    rows = _progress(story)["updates"]
    assert [(r["activity"], r["submitted_by"], r["approved_by"], r["waited_days"]) for r in rows] == [
        (f"mini:{code}", submitter, approver, days)
    ]


@then("nothing is pending review in the progress report")
def nothing_pending(story):
    assert _progress(story)["pending-review"] == []


@then(parsers.parse("the check flags action {code} as waiting {days:d} days for review"))
def flagged(story, code, days):
    result = story["cpflow"]("check", "--plan", "mini", "--select", "G405", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    findings = data["findings"] if isinstance(data, dict) else data
    assert [(f["code"], f["subject"], f["data"]["days"]) for f in findings] == [("G405", f"mini:{code}", days)]
    assert f"has waited {days} days for review" in findings[0]["message"]


@then(parsers.parse("the progress report lists action {code} as pending review for {days:d} days"))
def pending_listed(story, code, days):
    rows = _progress(story)["pending-review"]
    assert [(r["activity"], r["waiting_days"]) for r in rows] == [(f"mini:{code}", days)]


@when(parsers.parse('"{login}" comments on action {code} "{text}"'))
def comments(story, login, code, text):
    result = _ok(story["cpflow"]("submit", "comment", f"mini:{code}", "--comment", text, "--by", login, "--format", "json"))
    story["submission"] = str(json.loads(result.stdout)["id"])


@then(parsers.parse('the history of action {code} shows the comment "{text}" by "{submitter}" approved by "{approver}"'))
def shows_comment(story, code, text, submitter, approver):
    assert [(h["comment"], h["submitted_by"], h["approved_by"]) for h in _history(story, code)] == [(text, submitter, approver)]


@then(parsers.parse('"{login}" cannot reload the plan file and nothing is written'))
def cannot_reload(story, login, mini_plan, db_url):
    before = snapshot(db_url)
    result = story["cpflow"]("load", str(mini_plan), "--by", login)
    assert result.exit_code == 2 and "needs the role lead or co-lead" in result.stderr, result.output
    assert snapshot(db_url) == before


@then(parsers.parse('"{login}" reloads the plan file'))
def reloads(story, login, mini_plan):
    _ok(story["cpflow"]("load", str(mini_plan), "--by", login))
