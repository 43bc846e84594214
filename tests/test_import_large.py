"""A 10,000-row work plan imports (speed is measured in benchmarks/, never here), with a
progress bar on stderr when it is a terminal and none otherwise."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from cpflow.cli import main

ROWS = 10_000
STATUS = ("Not started", "Ongoing", "Done", "Agreed")


def big_workbook(path, rows: int = ROWS):
    """Objectives every 100 rows (blank below, as when merged), quarter X marks, statuses."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Work plan")
    sheet.write_row(0, 0, ["Country work plan 2024"])
    sheet.write_row(2, 0, ["Objective", "Activity", "Responsible", "Q1", "Q2", "Q3", "Q4", "Status", "Expected result"])
    for i in range(rows):
        objective = f"Objective {i // 100 + 1}: Theme {i // 100 + 1}" if i % 100 == 0 else None
        marks = ["X" if i % 4 == q else None for q in range(4)]
        values = [
            objective,
            f"{i % 100 + 1}. Activity {i} of the work plan",
            f"Agency {i % 7}",
            *marks,
            STATUS[i % 4],
            f"Result {i}",
        ]
        for col, value in enumerate(values):
            if value is not None:
                sheet.write_string(i + 3, col, value)
    book.close()
    return path


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ten_thousand_rows_import_with_progress_on_a_terminal(db_url, tmp_path):
    sheet = big_workbook(tmp_path / "big.xlsx")
    out, err = Terminal(), Terminal()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main(["--db", db_url, "import", str(sheet), "--plan", "big", "--by", "im"])
    assert exit_.value.code == 0, err.getvalue()
    assert "big: created from" in out.getvalue() and f"{ROWS} activities" in out.getvalue()
    assert "checking rows" in err.getvalue()  # click's progress bar, on stderr
    listing = io.StringIO()
    with contextlib.redirect_stdout(listing), pytest.raises(SystemExit):
        main(["--db", db_url, "activities", "--plan", "big", "--format", "json"])
    rows = json.loads(listing.getvalue())
    assert len(rows) == ROWS
    assert rows[0]["code"] == "1.1" and rows[-1]["code"] == "100.100"
    assert {r["state"] for r in rows} == {"proposed", "in_progress", "completed", "endorsed"}
    assert rows[5]["start"] == "2024-04-01" and rows[5]["due"] == "2024-06-30"  # row 5 is marked Q2


def test_no_progress_bar_when_stderr_is_not_a_terminal(cpflow, tmp_path):
    sheet = big_workbook(tmp_path / "small.xlsx", rows=300)
    result = cpflow("import", str(sheet), "--plan", "small", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "checking rows" not in result.stderr
