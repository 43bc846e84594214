"""Broken plan files: each gives the documented error naming file, line and path, exits 2,
and leaves the database exactly as it was (row counts of every table compared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cpflow.db import Database
from cpflow.models import Base

BROKEN = Path(__file__).resolve().parent / "data" / "broken"


def row_counts(db_url: str) -> dict[str, int]:
    """Rows in every cpflow table: the fingerprint of 'nothing was written'."""
    database = Database(db_url)
    try:
        with database.engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar()
                for name, table in Base.metadata.tables.items()
            }
    finally:
        database.dispose()


@pytest.fixture
def loaded(cpflow, db_url, mini_plan):
    """A database holding one plan, so 'unchanged' means more than 'still empty'."""
    result = cpflow("load", str(mini_plan), "--by", "lead")
    assert result.exit_code == 0, result.output
    return cpflow


# (file, the lines every error report must contain: FILE:LINE: PATH: what was expected)
CASES = [
    ("bad-yaml.yaml", ["bad-yaml.yaml:10: invalid YAML: did not find expected ',' or ']'"]),
    ("unknown-field.yaml", ["unknown-field.yaml:13: objectives[0].activities[1].titel: unknown field"]),
    ("duplicate-code.yaml", ["duplicate-code.yaml:15: objectives[1].activities[0].code: duplicate activity code '1.1'"]),
    ("date-out-of-range.yaml", ["date-out-of-range.yaml:12: objectives[0].activities[0].due: 2030-06-30 is outside the plan (2022-01-01 to 2025-12-31)"]),
    ("impossible-date.yaml", ["impossible-date.yaml:12: objectives[0].activities[0].due: '2023-02-30' is not a real date"]),
    ("negative-budget.yaml", ["negative-budget.yaml:11: budgets[0].budget: an amount cannot be negative"]),
    ("unknown-state.yaml", ["unknown-state.yaml:12: objectives[0].activities[0].state: unknown state 'finished'; states are proposed, endorsed, in_progress, completed, dropped"]),
    ("unknown-reference.yaml", [
        "unknown-reference.yaml:17: objectives[0].activities[0].unit: unknown unit 'wg9'; known: wg1",
        "unknown-reference.yaml:18: objectives[0].activities[0].phase: unknown period '2019'; known: 2018",
    ]),
    ("empty.yaml", ["empty.yaml: the file is empty; a plan needs at least a `plan:` section"]),
    ("alias.yaml", ["alias.yaml:10: invalid YAML: YAML aliases (*name) are not allowed in plan files"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_plan_file_is_refused_with_file_line_and_path_and_changes_nothing(loaded, db_url, name, expected):
    before = row_counts(db_url)
    result = loaded("load", str(BROKEN / name), "--by", "lead")
    assert result.exit_code == 2, result.output
    assert "nothing was written" in result.stderr
    for line in expected:
        assert line in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert row_counts(db_url) == before


def test_every_problem_in_a_file_is_reported_at_once_in_line_order(loaded, db_url):
    before = row_counts(db_url)
    result = loaded("load", str(BROKEN / "several-errors.yaml"), "--by", "lead")
    assert result.exit_code == 2
    assert "4 problems; nothing was written" in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(BROKEN))]
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{BROKEN / 'several-errors.yaml'}:13", "objectives[0].activities[0].due"],
        [f"{BROKEN / 'several-errors.yaml'}:16", "objectives[0].activities[1].state"],
        [f"{BROKEN / 'several-errors.yaml'}:19", "objectives[0].activities[2].phase"],
        [f"{BROKEN / 'several-errors.yaml'}:20", "objectives[0].activities[3].code"],
    ]
    assert row_counts(db_url) == before


def test_a_malformed_value_does_not_hide_a_broken_reference_elsewhere(loaded):
    result = loaded("load", str(BROKEN / "mixed-errors.yaml"), "--by", "lead")
    assert result.exit_code == 2
    assert "mixed-errors.yaml:12: objectives[0].activities[0].due: '2024-13-01' is not a real date" in result.stderr
    assert "mixed-errors.yaml:15: objectives[0].activities[1].state: unknown state 'done'" in result.stderr


def test_one_broken_file_among_good_ones_stops_them_all(loaded, db_url, tmp_path):
    from conftest import WORKFLOWS

    before = row_counts(db_url)
    result = loaded("load", str(WORKFLOWS / "cpms-wg-2022-2025.yaml"), str(BROKEN / "unknown-state.yaml"), "--by", "lead")
    assert result.exit_code == 2
    assert "unknown-state.yaml:12:" in result.stderr
    assert row_counts(db_url) == before


def test_a_missing_file_is_one_clear_error(loaded, tmp_path):
    result = loaded("load", str(tmp_path / "nowhere.yaml"), "--by", "lead")
    assert result.exit_code == 2
    assert "nowhere.yaml: no such file" in result.stderr


# --- values that storage cannot hold, and wrong-typed sections: one line each, exit 2 ---

LIMIT_PLAN = """\
plan: {slug: limits, title: Limits, start: 2022-01-01, end: 2022-12-31}
periods: [{key: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}]
units: [{key: wg, name: WG}, {key: tf, name: TF}]
objectives:
  - code: "1"
    title: One
    activities: [{code: "1.1", title: Only}]
"""

LIMIT_CASES = [
    ("budgets: [{unit: wg, period: '2022', budget: 99999999999999999999999}]",
     "budgets[0].budget: an amount is at most 10,000,000,000,000"),
    (f"budgets: [{{unit: wg, period: '2022', budget: {'9' * 400}}}]",  # found by the fuzz: OverflowError in isfinite()
     "budgets[0].budget: an amount is at most 10,000,000,000,000 (cpflow's limit for an amount and a plan's total), got a number of 400 digits"),
    (f"budgets: [{{unit: wg, period: '2022', budget: -{'9' * 400}}}]",
     "budgets[0].budget: an amount cannot be negative, got a number of 400 digits"),
    ("budgets: [{unit: wg, period: '2022', received: '10,000,000,000,000.01'}]",
     "budgets[0].received: an amount is at most 10,000,000,000,000"),
    ("budgets: [{unit: wg, period: '2022', budget: 6000000000000}, {unit: tf, period: '2022', budget: 6000000000000}]",
     "budgets: the budget amounts add up to 12,000,000,000,000; a plan's total is at most"),
    (f"indicators: [{{code: i1, name: I, targets: [{{period: '2022', value: {'9' * 400}}}]}}]",
     "indicators[0].targets[0].value: expected a number of at most 9,007,199,254,740,992 in size, got a number of 400 digits"),
    ("indicators: [{code: i1, name: I, baseline: {value: 1.0e+308}}]",
     "indicators[0].baseline.value: expected a number of at most 9,007,199,254,740,992 in size, got 1e+308"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: a, dest: b}], roles: [lead]}",
     "lifecycle.roles: expected a mapping, got a list"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: a, dest: b}], final: 5}",
     "lifecycle.final: expected a list, got 5"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: a, dest: b}], iati_status: abc}",
     "lifecycle.iati_status: expected a mapping, got 'abc'"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: a, dest: b}], iati_status: {a: 9}}",
     "lifecycle.iati_status.a: expected a number less than or equal to 6, got 9"),
    ("lifecycle: {initial: a, states: [a, 2], transitions: [{trigger: go, source: a, dest: b}]}",
     "lifecycle.states[1]: expected text, got 2"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: [a, {x: 1}], dest: b}]}",
     "lifecycle.transitions[0].source"),
    ("lifecycle: {initial: a, states: [a, b], transitions: [{trigger: go, source: a, dest: b}], roles: {go: [chief]}}",
     "lifecycle.roles.go[0]: expected 'lead', 'co-lead', 'member' or 'reviewer', got 'chief'"),
    # rule settings are judged at load by the rules that read them (cpflow.rules.settings)
    ("rules: {config: {T103: {days: 1.0e+308}}}", "rules.config.T103.days: expected a whole number, got 1e+308"),
    ("rules: {config: {F301: {threshold: abc}}}", "rules.config.F301.threshold: expected a number, got 'abc'"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "expected"), LIMIT_CASES, ids=[c[1].split(":")[0] for c in LIMIT_CASES])
def test_a_value_storage_cannot_hold_or_a_wrong_typed_section_is_one_clear_line(loaded, db_url, tmp_path, section, expected):
    path = tmp_path / "limits.yaml"
    path.write_text(LIMIT_PLAN + section + "\n", encoding="utf-8")
    before = row_counts(db_url)
    result = loaded("load", str(path), "--by", "lead")
    assert result.exit_code == 2, result.output
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(path) + ":")]
    assert len(problems) == 1, result.stderr
    assert f"{path}:" in problems[0] and expected in problems[0], result.stderr
    assert "Traceback" not in result.output
    assert row_counts(db_url) == before


def test_amounts_up_to_the_limit_load(loaded, tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text(LIMIT_PLAN + "budgets: [{unit: wg, period: '2022', budget: 10000000000000}]\n", encoding="utf-8")
    result = loaded("load", str(path), "--by", "lead")
    assert result.exit_code == 0, result.output
    shown = loaded("units", "--plan", "limits", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert "10000000000000" in shown.stdout
    for command in (["check", "--plan", "limits"], ["report", "progress", "--plan", "limits", "--format", "json"]):
        result = loaded(*command)
        assert result.exit_code in (0, 1), (command, result.output)


@pytest.mark.parametrize("name", ["plan.csv", "plan.xlsx", "plan.ods", "plan.XLSX", "workbook-saved-as.yaml"])
def test_load_on_a_spreadsheet_says_to_use_import(loaded, db_url, tmp_path, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("Code,Activity\n1.1,Train caseworkers\n", encoding="utf-8")
    else:
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # what every xlsx and ods starts with
    before = row_counts(db_url)
    result = loaded("load", str(path), "--by", "lead")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: is a spreadsheet; `cpflow load` reads YAML plan files: use `cpflow import {path}`"
    ]
    assert row_counts(db_url) == before


# The fast reader (plan files built from the parser's events) must give exactly what the full
# yaml.load gives, or step aside so the full load gives its value or its message.
_TRICKY_SCALARS = [
    "yes", "No", "on", "OFF", "y", "~", "null", "", "1_000", "0x1F", "0o17", "017", "0b101", "1:30", "190:20:30", ".inf",
    "-.Inf", ".NaN", "2023-02-30", "2023-01-01 10:00:00", "1e3", "1.0e+3", "+1", "-0", "1.10", "1.", ".5", "true",
    "Objective 1", "00", "685.230_15e+03", "'1.10'", '"yes"', "! 12", "ünï", "a b # comment",
]  # fmt: skip
_STEP_ASIDE = [
    "a: 1\n---\nb: 2\n", "a: !!binary aGVsbG8=\n", "a: !!set {x, y}\n", "a: &x [1]\nb: *x\n", "a: &x 1\n", "<<: {a: 1}\n",
    "=: 1\n", "a: =\n", "? [a, b]\n: 1\n", "a: 1\na: 2\n", "{a: 1, a: 2}", "x: !custom 1\n", "- !!str 1\n", "[" * 70 + "]" * 70,
    "a: [1, 2\n",
]  # fmt: skip


@pytest.mark.parametrize("scalar", _TRICKY_SCALARS)
def test_fast_yaml_reader_resolves_scalars_as_yaml_load(scalar):
    import yaml

    from cpflow.plans import yamlread

    text = f"key: {scalar}\nlist: [{scalar}, x]\n{scalar or 'empty'}: 1\nnested:\n  - a: {scalar}\n"
    fast = yamlread._from_events(text)
    try:
        full = yaml.load(text, Loader=yamlread._PlanLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError:
        assert fast is yamlread._UNSURE  # the full load's message is the one a person sees
        return
    assert fast is not yamlread._UNSURE
    assert repr(fast) == repr(full)


@pytest.mark.parametrize("text", _STEP_ASIDE)
def test_fast_yaml_reader_leaves_the_rest_to_the_full_load(text):
    from cpflow.plans import yamlread

    assert yamlread._from_events(text) is yamlread._UNSURE


def test_fast_yaml_reader_reads_the_seed_plans_as_yaml_load():
    import yaml

    from cpflow.plans import yamlread

    paths = sorted((Path(__file__).parent.parent / "workflows").glob("*.yaml"))
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8-sig")
        assert repr(yamlread._from_events(text)) == repr(yaml.load(text, Loader=yamlread._PlanLoader))  # noqa: S506
