"""The tracker spreadsheet (issue 14): export read back with openpyxl (drop-downs, date
validation, locked cells, hidden stamp), import with row errors, idempotence, conflicts."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from conftest import snapshot

COLUMNS = ["Code", "Title", "State", "New status", "Date", "Reason / comment", "Reference"]


@pytest.fixture
def tracker(team, tmp_path):
    path = tmp_path / "tracker.xlsx"
    result = team("tracker", "export", "--plan", "mini", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def _fill(path, rows, out=None):
    """Fill the Activities sheet: {code: (new status, date, reason, ref)}; saved as `out`."""
    book = openpyxl.load_workbook(path)
    sheet = book["Activities"]
    for r in range(2, sheet.max_row + 1):
        code = sheet.cell(r, 1).value
        if code in rows:
            for col, value in zip(range(4, 8), rows[code]):
                sheet.cell(r, col).value = value
    target = out or path
    book.save(target)
    return target


def test_export_has_the_contract_columns_dropdowns_dates_locks_and_a_hidden_stamp(tracker):
    book = openpyxl.load_workbook(tracker)
    assert book.sheetnames[:3] == ["Activities", "Indicators", "Read me"]
    sheet = book["Activities"]
    assert [c.value for c in sheet[1]][:7] == COLUMNS
    assert [sheet.cell(r, 1).value for r in range(2, 5)] == ["1.1", "1.2", "1.3"]
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"}
    assert lists["D2"] == '"endorsed,dropped"'
    dates = [v for v in sheet.data_validations.dataValidation if v.type == "date"]
    assert {str(v.sqref) for v in dates} >= {"E2", "E3", "E4"}
    assert sheet.protection.sheet
    assert sheet.cell(2, 4).protection.locked is False and sheet.cell(2, 1).protection.locked is True
    assert book["_cpflow"].sheet_state == "hidden"
    assert book["_cpflow"]["B1"].value == "mini"
    assert [(row[0].value, row[1].value) for row in book["_cpflow"].iter_rows(min_row=6)] == [("1.1", 1), ("1.2", 1), ("1.3", 1)]


def test_member_tracker_becomes_submissions_and_a_second_import_adds_nothing(team, tracker):
    _fill(tracker, {"1.1": ("endorsed", dt.datetime(2022, 5, 12), None, "May minutes"), "1.2": ("endorse", "2022-05-13")})
    first = team("tracker", "import", str(tracker), "--by", "mo")
    assert first.exit_code == 0, first.output
    assert "2 submitted" in first.stdout
    queue = json.loads(team("review", "--plan", "mini", "--format", "json").stdout)
    assert [(q["activity"], q["trigger"], q["at"], q["ref"]) for q in queue] == [
        ("mini:1.1", "endorse", "2022-05-12", "May minutes"), ("mini:1.2", "endorse", "2022-05-13", None),
    ]  # fmt: skip
    again = team("tracker", "import", str(tracker), "--by", "mo")
    assert again.exit_code == 0 and "0 submitted" in again.stdout and "2 unchanged" in again.stdout
    assert len(json.loads(team("review", "--plan", "mini", "--format", "json").stdout)) == 2
    assert team("audit", "verify").exit_code == 0


def test_one_bad_row_is_refused_with_sheet_row_column_value_and_nothing_is_written(team, tracker, db_url):
    _fill(tracker, {"1.1": ("endorsed", "2022-05-12"), "1.2": ("finished", "2022-05-12"), "1.3": ("dropped", "2022-05-12")})
    before = snapshot(db_url)
    result = team("tracker", "import", str(tracker), "--by", "mo")
    assert result.exit_code == 2
    assert "Activities row 3, column New status, value 'finished': mini:1.2" in result.stderr
    assert "allowed: endorsed (endorse), dropped (drop)" in result.stderr
    assert "Activities row 4, column Reason / comment" in result.stderr and "[reason-required]" in result.stderr
    assert snapshot(db_url) == before


def test_keep_going_imports_the_good_rows_and_reports_the_bad(team, tracker):
    _fill(tracker, {"1.1": ("endorsed", "2022-05-12"), "1.2": ("finished", "2022-05-12")})
    result = team("tracker", "import", str(tracker), "--by", "mo", "--keep-going")
    assert result.exit_code == 1 and "1 submitted" in result.stdout and "row 3" in result.stderr


def test_a_lead_import_records_directly_and_again_changes_nothing(team, tracker, db_url):
    _fill(tracker, {"1.1": ("endorsed", "2022-05-12", None, "minutes")})
    assert team("tracker", "import", str(tracker), "--by", "lea").exit_code == 0
    history = json.loads(team("history", "mini:1.1", "--format", "json").stdout)
    assert [(h["trigger"], h["actor"]) for h in history] == [("endorse", "lea")]
    before = snapshot(db_url)
    again = team("tracker", "import", str(tracker), "--by", "lea")
    assert again.exit_code == 0 and "1 unchanged" in again.stdout
    assert snapshot(db_url) == before


def test_a_row_whose_activity_changed_since_the_export_is_a_conflict(team, tracker, db_url):
    _fill(tracker, {"1.1": ("dropped", "2022-05-12", "no partner")})
    assert team("move", "mini:1.1", "endorse", "--by", "lea", "--at", "2022-06-01").exit_code == 0
    before = snapshot(db_url)
    result = team("tracker", "import", str(tracker), "--by", "mo")
    assert result.exit_code == 3, result.output
    assert "mini:1.1 changed since the export" in result.stderr and "endorsed now; last endorse by lea" in result.stderr
    assert snapshot(db_url) == before


def test_reviewers_cannot_import_and_export_needs_no_by(team, tracker, db_url):
    _fill(tracker, {"1.1": ("endorsed", "2022-05-12")})
    before = snapshot(db_url)
    assert team("tracker", "import", str(tracker), "--by", "rev").exit_code == 2
    assert snapshot(db_url) == before


def test_tracker_is_read_back_by_calamine_as_import_reads_it(tracker):
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(tracker))
    rows = book.get_sheet_by_name("Activities").to_python()
    assert rows[0][:7] == COLUMNS and rows[1][2] == "proposed"


def test_a_plan_with_indicators_exports_a_row_per_target(cpflow, tmp_path):
    """The indicators are read inside the read transaction (their objects expired when it ended: exit 70)."""
    plan = tmp_path / "ind.yaml"
    plan.write_text(
        "plan: {slug: ind, title: With indicators, start: 2022-01-01, end: 2023-12-31}\n"
        "periods:\n  - {key: '2022', kind: year, start: 2022-01-01, end: 2022-12-31}\n"
        "  - {key: '2023', kind: year, start: 2023-01-01, end: 2023-12-31}\n"
        "objectives:\n  - code: '1'\n    title: First\n    activities:\n      - {code: '1.1', title: Act}\n"
        "indicators:\n  - {code: IND-1, name: Partners trained, targets: [{period: '2022', value: 10}, {period: '2023', value: 20}]}\n"
        "  - {code: IND-2, name: '=Looks like a formula'}\n",
        encoding="utf-8",
    )
    assert cpflow("load", str(plan), "--by", "im").exit_code == 0
    path = tmp_path / "tracker.xlsx"
    result = cpflow("tracker", "export", "--plan", "ind", "-o", str(path))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path)["Indicators"]
    rows = [[c.value for c in row][:4] for row in sheet.iter_rows(min_row=2)]
    assert rows == [["IND-1", "Partners trained", "2022", 10], ["IND-1", "Partners trained", "2023", 20],
                    ["IND-2", "'=Looks like a formula", "", None]]  # fmt: skip
