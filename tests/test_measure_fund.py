"""Recording indicator values and funds: validated like moves, chained like moves."""

import datetime as dt
import json

import pytest
from conftest import MINI_PLAN

PLAN = (
    MINI_PLAN
    + """\
indicators:
  - code: IND-1
    name: Sectors with a child-protection indicator
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets: [{period: years-1-2, value: 4}]
budgets:
  - {unit: wg, period: years-1-2, budget: 100000, received: 20000}
"""
)


@pytest.fixture
def loaded(cpflow, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    assert cpflow("load", str(path), "--by", "lead").exit_code == 0
    return cpflow


def event_count(cpflow) -> int:
    return int(cpflow("audit", "verify").stdout.split()[1])


def test_measurement_is_recorded_listed_and_chained(loaded):
    before = event_count(loaded)
    result = loaded(
        "measure", "mini:IND-1", "2", "--at", "2023-06-30", "--by", "IM officer", "--period", "years-1-2", "--source", "survey"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(loaded("indicators", "--plan", "mini", "--format", "json").stdout)
    assert rows[0]["latest"] == 2 and rows[0]["latest_at"] == "2023-06-30"
    assert rows[0]["baseline"] == 0 and rows[0]["targets"] == [{"period": "years-1-2", "value": 4}]
    assert event_count(loaded) == before + 1
    assert loaded("audit", "verify").exit_code == 0


def test_funding_update_is_recorded_with_money_as_numbers(loaded):
    result = loaded(
        "fund", "mini:wg", "--period", "years-1-2", "--received", "45,500.50", "--by", "treasurer", "--at", "2023-01-31"
    )
    assert result.exit_code == 0, result.output
    unit = json.loads(loaded("units", "--plan", "mini", "--format", "json").stdout)[0]
    assert unit["budgets"] == [
        {"period": "years-1-2", "currency": "USD", "budget": 100000, "received": 45500.5, "declared_gap": None}
    ]
    assert loaded("audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("measure", "mini:NOPE", "1", "--at", "2023-01-01", "--by", "x"), "unknown indicator mini:NOPE; indicators are IND-1"),
        (("measure", "mini:IND-1", "many", "--at", "2023-01-01", "--by", "x"), "expected a number"),
        (("measure", "mini:IND-1", "nan", "--at", "2023-01-01", "--by", "x"), "expected a finite number"),
        (("measure", "mini:IND-1", "1", "--at", "2999-01-01", "--by", "x"), "in the future"),
        (("measure", "mini:IND-1", "1", "--at", "2023-01-01", "--by", "x", "--period", "Q9"), "unknown period 'Q9'"),
        (("measure", "mini:IND-1", "1", "--at", "2023-01-01"), "an actor is required"),
        (("fund", "mini:nope", "--period", "years-1-2", "--received", "1", "--by", "x"), "unknown unit mini:nope; units are wg"),
        (("fund", "mini:wg", "--period", "years-1-2", "--received", "-5", "--by", "x"), "cannot be negative"),
        (("fund", "mini:wg", "--period", "years-1-2", "--received", "1.585,000", "--by", "x"), "expected an amount"),
        (("fund", "mini:wg", "--period", "years-1-2", "--by", "x"), "pass --received AMOUNT, --budget AMOUNT or both"),
        (("fund", "mini:wg", "--period", "years-1-2", "--received", "5", "--by", "x", "--at", "2999-01-01"), "in the future"),
        (("fund", "ghost:wg", "--period", "years-1-2", "--received", "5", "--by", "x"), "unknown plan 'ghost'"),
    ],
)
def test_bad_measurements_and_funding_are_refused_and_write_nothing(loaded, args, message):
    before = event_count(loaded)
    result = loaded(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert event_count(loaded) == before


def test_reloading_the_plan_file_keeps_the_funds_recorded_since(cpflow, tmp_path):
    from conftest import WORKFLOWS

    plan = str(WORKFLOWS / "alliance-2018-2020.yaml")
    assert cpflow("load", plan, "--by", "lead").exit_code == 0
    result = cpflow("fund", "alliance-2018-2020:wg3", "--period", "2018", "--received", "200000", "--by", "treasurer")
    assert result.exit_code == 0, result.output
    again = cpflow("load", plan, "--by", "lead")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "alliance-2018-2020: unchanged"
    assert "other changes" not in again.output
    kept = [line for line in again.stderr.splitlines() if "is kept" in line]
    assert kept == [
        f"alliance-2018-2020:wg3/2018: received 200,000 recorded by treasurer on {dt.date.today()} is kept; the file says 110,000"
    ]
    units = json.loads(cpflow("units", "--plan", "alliance-2018-2020", "--format", "json").stdout)
    wg3 = next(u for u in units if u["key"] == "wg3")
    assert next(b for b in wg3["budgets"] if b["period"] == "2018")["received"] == 200000
    assert cpflow("audit", "verify").exit_code == 0


def test_a_budget_revision_survives_a_reload_and_other_file_edits_still_apply(loaded, tmp_path):
    assert loaded("fund", "mini:wg", "--period", "years-1-2", "--budget", "150000", "--by", "treasurer").exit_code == 0
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace("received: 20000", "received: 30000"), encoding="utf-8")
    result = loaded("load", str(path), "--by", "lead")
    assert result.exit_code == 0, result.output
    assert "budget 150,000 recorded by treasurer" in result.stderr and "the file says 100,000" in result.stderr
    unit = json.loads(loaded("units", "--plan", "mini", "--format", "json").stdout)[0]
    assert (unit["budgets"][0]["budget"], unit["budgets"][0]["received"]) == (150000, 30000)
    assert loaded("audit", "verify").exit_code == 0


def test_reloading_keeps_measurements_and_moves(loaded, tmp_path):
    assert loaded("measure", "mini:IND-1", "3", "--by", "im", "--at", "2023-01-01").exit_code == 0
    assert loaded("move", "mini:1.1", "endorse", "--by", "lead", "--at", "2022-05-01").exit_code == 0
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace('{code: "1.1", title: First action,', '{code: "1.1", state: dropped, title: First action,'))
    result = loaded("load", str(path), "--by", "lead")
    assert result.exit_code == 0, result.output
    shown = json.loads(loaded("show", "mini:1.1", "--format", "json").stdout)
    assert shown["state"] == "endorsed"
    assert json.loads(loaded("indicators", "--plan", "mini", "--format", "json").stdout)[0]["latest"] == 3
    assert loaded("audit", "verify").exit_code == 0
