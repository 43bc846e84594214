"""Bad input everywhere on the command line: unknown names (a plan, an activity, a trigger,
a rule code, a state, a period), impossible dates and values, missing files. Each is one
clear error with exit 2, and not one row of any table changes."""

from __future__ import annotations

import pytest
from conftest import MINI_PLAN, proved
from test_fuzz_harness import target  # noqa: F401 (target is a fixture)

INDICATOR_PLAN = (
    MINI_PLAN
    + """\
indicators:
  - {code: i1, name: Share done, of: "objective:1", targets: [{period: years-1-2, value: 10}]}
budgets:
  - {unit: wg, period: years-1-2, budget: 1000}
"""
)

# (what, args, words the error must contain). PLAN is the mini plan, with one indicator.
CASES_BAD = [
    ("unknown plan in a filter", ["activities", "--plan", "nosuch"], ["unknown plan 'nosuch'", "mini"]),
    ("unknown plan for units", ["units", "--plan", "nosuch"], ["unknown plan"]),
    ("unknown plan for indicators", ["indicators", "--plan", "nosuch"], ["unknown plan"]),
    ("unknown state filter", ["activities", "--state", "finished"], ["unknown state 'finished'"]),
    ("unknown plan in an id", ["show", "nosuch:1"], ["unknown plan"]),
    ("unknown activity", ["show", "mini:9.9"], ["unknown activity"]),
    ("id without a plan", ["history", "1.1"], ["PLAN:CODE"]),
    ("unknown trigger", ["move", "mini:1.2", "fly", "--by", "lead"], ["unknown trigger 'fly'", "endorse"]),
    ("illegal move", ["move", "mini:1.2", "complete", "--by", "lead"], ["is proposed", "allowed from proposed"]),
    ("drop without a reason", ["move", "mini:1.2", "drop", "--by", "lead"], ["needs a reason"]),
    ("a date in the future", ["move", "mini:1.2", "endorse", "--by", "lead", "--at", "2999-01-01"], ["in the future"]),
    ("a date before the plan", ["move", "mini:1.2", "endorse", "--by", "lead", "--at", "2021-12-31"], ["before the plan starts"]),
    ("a date before the last move", ["move", "mini:1.1", "start", "--by", "lead", "--at", "2022-01-15"], ["before its last move"]),
    ("february 30", ["move", "mini:1.2", "endorse", "--by", "lead", "--at", "2023-02-30"], ["not a real date"]),
    ("a date in another format", ["activities", "--as-of", "30/02/2023"], ["YYYY-MM-DD"]),
    ("no actor", ["move", "mini:1.2", "endorse"], ["actor is required"]),
    ("an actor too long", ["move", "mini:1.2", "endorse", "--by", "x" * 201], ["at most 200"]),
    ("unknown indicator", ["measure", "mini:i9", "3", "--at", "2022-05-01", "--by", "lead"], ["unknown indicator", "i1"]),
    ("a value that is not a number", ["measure", "mini:i1", "lots", "--at", "2022-05-01", "--by", "lead"], ["expected a number"]),
    ("an infinite value", ["measure", "mini:i1", "1e999", "--at", "2022-05-01", "--by", "lead"], ["finite"]),
    ("unknown period", ["measure", "mini:i1", "3", "--at", "2022-05-01", "--by", "lead", "--period", "y9"], ["unknown period"]),
    ("unknown unit", ["fund", "mini:nounit", "--period", "years-1-2", "--received", "5", "--by", "lead"], ["unknown unit"]),
    ("an amount that is not money", ["fund", "mini:wg", "--period", "years-1-2", "--received", "five", "--by", "lead"], ["received"]),
    ("a negative amount", ["fund", "mini:wg", "--period", "years-1-2", "--received", "-5", "--by", "lead"], ["received"]),
    ("a missing plan file", ["load", "nowhere.yaml", "--by", "lead"], ["no such file"]),
    ("an empty plan file", ["load", "{empty}", "--by", "lead"], ["empty"]),
    ("a folder as plan file", ["load", "{folder}", "--by", "lead"], ["directory"]),
    ("not a database URL", ["--db", "mysql://x/y", "plans"], ["unsupported database"]),
    ("unknown rule code", ["check", "--select", "Z999"], ["Z999"]),
    ("unknown plan for check", ["check", "--plan", "nosuch"], ["unknown plan"]),
    ("unknown rule setting", ["check", "--set", "T101.nonsense=3"], ["nonsense"]),
    ("unknown plan for a report", ["report", "progress", "--plan", "nosuch", "--format", "json"], ["unknown plan"]),
    ("unknown plan to export", ["export", "nosuch", "--format", "csv", "-o", "-"], ["unknown plan"]),
    ("a missing spreadsheet", ["import", "nowhere.csv", "--plan", "new-plan", "--by", "lead"], ["no such file"]),
    ("a spreadsheet of an unknown kind", ["import", "{empty}", "--plan", "new-plan", "--by", "lead"], ["cannot import"]),
    ("an empty CSV", ["import", "{empty_csv}", "--plan", "new-plan", "--by", "lead"], []),
    ("a restore of a missing file", ["restore", "nowhere.backup"], ["no such file"]),
]  # fmt: skip


@pytest.fixture
def planned(target):
    plan = target.file("indicators.yaml", INDICATOR_PLAN)
    assert target.run("load", str(plan), "--by", "lead").exit_code == 0
    return target


def test_bad_input_is_one_clear_error_and_changes_nothing(planned, capsys):
    files = {
        "{empty}": str(planned.file("empty.yaml", "")),
        "{folder}": str(planned.workdir),
        "{empty_csv}": str(planned.file("empty.csv", "")),
    }
    for what, args, words in CASES_BAD:
        args = [files.get(a, a) for a in args]
        if args[0] == "--db":
            from conftest import run_cli

            result = run_cli(*args)
        else:
            result = planned.run(*args)
        assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{result.output[-2000:]}"
        for word in words:
            assert word in result.stderr, f"{what}: {word!r} not in {result.stderr[-2000:]!r}"
    backend = "postgresql" if planned.url.startswith("postgresql") else "sqlite"
    proved(capsys, f"[bad-input/{backend}] {len(CASES_BAD)} kinds of bad input (unknown plans, activities, triggers, "
                   "rule codes, states, periods; impossible dates and values; missing files): each one clear error, "
                   "exit 2, every table unchanged")  # fmt: skip


def test_an_unknown_name_in_a_mixed_list_still_refuses_the_whole_command(planned):
    result = planned.run("activities", "--plan", "mini", "--plan", "nosuch", "--format", "json")
    assert result.exit_code == 2 and "nosuch" in result.stderr and result.stdout == ""


def test_two_files_are_all_or_nothing(planned):
    good = planned.file("good.yaml", MINI_PLAN.replace("slug: mini", "slug: other"))
    bad = planned.file("bad.yaml", MINI_PLAN.replace("slug: mini", "slug: third").replace("2025-12-31", "2025-02-30"))
    result = planned.run("load", str(good), str(bad), "--by", "lead")
    assert result.exit_code == 2 and "not a real date" in result.stderr
    listed = planned.run("plans", "--format", "json")
    assert '"other"' not in listed.stdout
