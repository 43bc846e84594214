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
