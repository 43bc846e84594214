"""What goes wrong in an import is reported where the coordinator finds it (sheet, row,
column, value, what was expected), and nothing is written; --keep-going writes the good
rows and a rejects file. A file that is not a readable spreadsheet is one clear error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_workflow_validation import row_counts

DATA = Path(__file__).resolve().parent / "data"
BROKEN = DATA / "broken"

ROWS = """\
Work plan 2024 of the CP AoR
Code,Activity,Lead,Start,Due,Status,Q1,Q2,Q3,Q4
A1,Good row,UNICEF,2024-01-01,2024-03-31,Ongoing,X,,,
A2,Bad date,UNICEF,2024-01-01,2024-02-30,Ongoing,,X,,
A3,Bad status,UNHCR,,2024-06-30,Finished?,,,,
A4,Due before start,UNHCR,2024-06-01,2024-01-31,,,,,
A1,Duplicate code,UNHCR,,,,,,,
,,UNHCR,,2024-05-05,,,,,
A6,Another good row,IRC,,,Done,,,X,X
"""


@pytest.fixture
def loaded(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    return cpflow


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_bad_row_is_reported_by_sheet_row_column_value_and_nothing_is_written(loaded, db_url, tmp_path):
    sheet = write(tmp_path / "rows.csv", ROWS)
    before = row_counts(db_url)
    result = loaded("import", str(sheet), "--plan", "rows", "--by", "im")
    assert result.exit_code == 2
    assert "5 problems; nothing was written" in result.stderr
    expected = [
        'sheet "rows" row 4, column E "Due": got \'2024-02-30\'; expected a real date (YYYY-MM-DD)',
        'sheet "rows" row 5, column F "Status": got \'Finished?\'; expected a status such as Not started, Agreed, Ongoing, Done, Cancelled',
        'sheet "rows" row 6, column E "Due": got \'2024-01-31\'; expected a due date on or after the start (2024-06-01)',
        'sheet "rows" row 7, column A "Code": got \'A1\'; expected a code no other row uses (A1 is also row 3)',
        'sheet "rows" row 8, column B "Activity": got empty; expected the activity\'s text',
    ]
    for line in expected:
        assert f"{sheet}: {line}" in result.stderr, result.stderr
    assert row_counts(db_url) == before
    assert not (tmp_path / "rows.rejects.csv").exists()


def test_keep_going_writes_the_good_rows_and_a_rejects_file(loaded, db_url, tmp_path):
    sheet = write(tmp_path / "rows.csv", ROWS)
    result = loaded("import", str(sheet), "--plan", "rows", "--keep-going", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "rows: created from" in result.stdout and "2 activities" in result.stdout
    rejects = tmp_path / "rows.rejects.csv"
    assert f"5 rows rejected and not imported; they are listed in {rejects}" in result.stderr
    with rejects.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["sheet", "row", "problems", "Code", "Activity", "Lead", "Start", "Due", "Status", "Q1", "Q2", "Q3", "Q4"]
    assert [r[1] for r in table[1:]] == ["4", "5", "6", "7", "8"]
    assert table[1][2] == "column E (Due): got '2024-02-30'; expected a real date (YYYY-MM-DD)"
    assert table[1][3:5] == ["A2", "Bad date"]
    listed = loaded("activities", "--plan", "rows", "--format", "csv").stdout.splitlines()
    assert [line.split(",")[2] for line in listed[1:]] == ["A1", "A6"]


def test_a_date_outside_an_existing_plan_is_a_row_error(loaded, db_url, tmp_path):
    sheet = write(tmp_path / "late.csv", "Code,Activity,Due\n1.4,A late action,2027-01-31\n")
    before = row_counts(db_url)
    result = loaded("import", str(sheet), "--plan", "mini", "--by", "im")
    assert result.exit_code == 2
    assert (
        "row 2, column C \"Due\": got '2027-01-31'; expected a date inside the plan (2022-01-01 to 2025-12-31)" in result.stderr
    )
    assert row_counts(db_url) == before


BROKEN_SHEETS = [
    ("truncated.xlsx", "not a readable Excel workbook (damaged, truncated or another kind of file"),
    ("not-a-spreadsheet.xlsx", "not a readable Excel workbook"),
    ("zip-not-workbook.xlsx", "not a readable Excel workbook"),
    ("missing-activity-column.xlsx", "sheet \"Plan\" row 1 has the headers 'Objective', 'Responsible', 'Timeline', 'Status' but no Activity column"),
    ("empty.xlsx", 'sheet "Empty" is empty'),
]  # fmt: skip


@pytest.mark.parametrize(("name", "message"), BROKEN_SHEETS, ids=[b[0] for b in BROKEN_SHEETS])
def test_broken_spreadsheet_is_one_clear_error_and_changes_nothing(loaded, db_url, name, message):
    before = row_counts(db_url)
    result = loaded("import", str(BROKEN / name), "--plan", "broken", "--by", "im")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2
    assert row_counts(db_url) == before


def test_csv_that_is_neither_utf8_nor_windows_1252_is_refused(loaded, db_url, tmp_path):
    sheet = tmp_path / "mixed.csv"
    sheet.write_bytes(b"Activity,Lead\nCaf\xe9 \x81 meeting,UNICEF\n")  # 0x81 is undefined in Windows-1252
    before = row_counts(db_url)
    result = loaded("import", str(sheet), "--plan", "mixed", "--by", "im")
    assert result.exit_code == 2
    assert "neither UTF-8 nor Windows-1252" in result.stderr and 'save it from Excel as "CSV UTF-8"' in result.stderr
    assert row_counts(db_url) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan.docx", "--plan", "x"], "cannot import .docx; expected one of .xlsx"),
        (["nowhere.csv", "--plan", "x"], "nowhere.csv: no such file"),
        (["ok.csv", "--plan", "Not A Slug"], "--plan: expected a slug"),
        (["ok.csv", "--plan", "x", "--sheet", "Other"], "a CSV file has one sheet, 'ok'"),
        (["empty.csv", "--plan", "x"], 'sheet "empty" is empty'),
        (["header-only.csv", "--plan", "x"], 'sheet "header-only" has a header row but no activity rows'),
        (["binary.csv", "--plan", "x"], "not a CSV text file"),
    ],
)
def test_bad_files_and_options_are_one_clear_error(loaded, db_url, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "plan.docx", "not a spreadsheet")
    write(tmp_path / "ok.csv", "Activity\nMeet\n")
    write(tmp_path / "empty.csv", "")
    write(tmp_path / "header-only.csv", "Activity,Lead\n")
    (tmp_path / "binary.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    before = row_counts(db_url)
    result = loaded("import", *args, "--by", "im")
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert row_counts(db_url) == before


def test_unknown_sheet_names_the_sheets_there_are(loaded):
    result = loaded("import", str(DATA / "sheets" / "swg-2025.xlsx"), "--plan", "x", "--sheet", "Plan", "--by", "im")
    assert result.exit_code == 2
    assert "no sheet named 'Plan'; sheets are 'Work plan'" in result.stderr


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("columns: {Who: leader}\n", "columns: column 'Who': unknown field 'leader'"),
        ("colums: {Who: lead}\n", "colums: unknown field"),
        ("states: {Waiting: paused}\n", "states.Waiting: unknown state 'paused'"),
        ("date_format: 12\n", "date_format"),
        ("columns: [a, b\n", "invalid YAML"),
    ],
)
def test_a_bad_mapping_file_is_refused_before_reading_the_sheet(loaded, db_url, tmp_path, mapping, message):
    path = write(tmp_path / "map.yaml", mapping)
    sheet = write(tmp_path / "ok.csv", "Activity,Who\nMeet,UNICEF\n")
    before = row_counts(db_url)
    result = loaded("import", str(sheet), "--plan", "x", "--map", str(path), "--by", "im")
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert row_counts(db_url) == before


def test_a_quarter_outside_an_existing_plan_names_the_column(loaded, db_url, tmp_path):
    sheet = write(tmp_path / "q.csv", "Activity,Q1 2030\nMeet,X\n")
    result = loaded("import", str(sheet), "--plan", "mini", "--by", "im")
    assert result.exit_code == 2
    assert 'column B "Q1 2030": Q1 2030 is outside the plan (2022-01-01 to 2025-12-31)' in result.stderr


def test_many_bad_rows_are_counted_and_the_first_ones_listed(loaded, tmp_path):
    lines = ["Activity,Due"] + [f"Action {i},not a date" for i in range(300)]
    sheet = write(tmp_path / "many.csv", "\n".join(lines) + "\n")
    result = loaded("import", str(sheet), "--plan", "many", "--by", "im")
    assert result.exit_code == 2
    assert "300 problems; nothing was written" in result.stderr
    assert "… and 100 more (--keep-going writes the good rows" in result.stderr


def test_a_timeline_cpflow_cannot_date_is_a_row_error(loaded, db_url, tmp_path):
    sheet = write(tmp_path / "tbd.csv", "Activity,Timeline\nMeet the donors,TBD\nTrain the focal points,Q2\n")
    before = row_counts(db_url)
    result = loaded("import", str(sheet), "--plan", "tbd", "--by", "im")
    assert result.exit_code == 2
    assert "row 2, column B \"Timeline\": got 'TBD'; expected quarters (Q1, Q2/Q3, All quarters)" in result.stderr
    assert row_counts(db_url) == before
