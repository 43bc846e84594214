"""The import's speed work keeps its behaviour: the cycle collector is paused only while an
import runs (and back on after a refused one), a cell reads as the same text whatever its
type, and a plan file's codes and texts are checked with the same messages."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

from cpflow.importers import cells
from cpflow.importers.service import SpreadsheetError, import_file
from cpflow.plans import values
from cpflow.plans.values import MAX_CODE, NUL_IN_TEXT

SHEET = "Objective,Activity,Status\n1,Map the services,Done\n1,Train the focal points,Ongoing\n"


def _reader_seeing_the_collector(seen: list[bool]):
    def read(path: Path, sheet: str | None):
        seen.append(gc.isenabled())
        return [row.split(",") for row in path.read_text().splitlines()]

    return read


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_collector_is_paused_while_an_import_runs_and_resumed_after(db, tmp_path):
    sheet = tmp_path / "plan.tab"
    sheet.write_text(SHEET)
    seen: list[bool] = []
    assert gc.isenabled()
    result = import_file(db, sheet, plan="p", actor="tester", readers={"tab": _reader_seeing_the_collector(seen)})
    assert result.rows == 2
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_refused_import_resumes_the_collector(db, tmp_path):
    sheet = tmp_path / "plan.tab"
    sheet.write_text("Objective,Activity\n")  # a header and no rows
    seen: list[bool] = []
    with pytest.raises(SpreadsheetError):
        import_file(db, sheet, plan="p", actor="tester", readers={"tab": _reader_seeing_the_collector(seen)})
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_import_leaves_a_paused_collector_paused(db, tmp_path):
    sheet = tmp_path / "plan.tab"
    sheet.write_text(SHEET)
    gc.disable()
    try:
        import_file(db, sheet, plan="p", actor="tester", readers={"tab": _reader_seeing_the_collector([])})
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Text(str):
    """A str subclass (as some readers return): read like any other text."""


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("  Map the services ", "Map the services"),
        (_Text("  Map "), "Map"),
        ("   ", None),
        ("", None),
        ("'=SUM(A1)", "=SUM(A1)"),  # the ' cpflow's CSV export puts before formula-like text
        ("'", "'"),
        ("'plain", "'plain"),
        (None, None),
        (True, "TRUE"),
        (3.0, "3"),
        (2.5, "2.5"),
        (float("nan"), None),
        (7, "7"),
        (dt.date(2025, 1, 31), "2025-01-31"),
        (dt.datetime(2025, 1, 31, 0, 0), "2025-01-31"),
        (dt.datetime(2025, 1, 31, 9, 30), "2025-01-31 09:30:00"),
    ],
)
def test_a_cell_reads_as_text(cell, expected):
    assert cells.text(cell) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 1.1 ", "1.1"), ("A-2", "A-2"), (7, "7"), (_Text(" 2.3 "), "2.3"), ("x" * MAX_CODE, "x" * MAX_CODE)],
)
def test_a_code_as_written_is_kept_stripped(value, expected):
    assert values.code(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "expected a non-empty code, got '   '"),
        ("", "expected a non-empty code, got ''"),
        ("x" * (MAX_CODE + 1), f"expected a code of at most {MAX_CODE} characters, got {MAX_CODE + 1}"),
        (" 1\x00", NUL_IN_TEXT),
        (1.5, 'expected a code in quotes, got the number 1.5 (write "1.5": unquoted, 1.10 reads as 1.1)'),
    ],
)
def test_a_code_that_is_not_one_keeps_its_message(value, message):
    with pytest.raises(ValueError) as caught:
        values.code(value)
    assert str(caught.value) == message


def test_text_is_kept_as_written_unless_it_holds_a_nul():
    assert values.text(" as written ") == " as written "
    assert values.text(_Text("sub")) == "sub"
    with pytest.raises(ValueError, match=r"cannot be stored"):
        values.text("a\x00b")
