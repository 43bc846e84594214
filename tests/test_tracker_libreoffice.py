"""The tracker opens in LibreOffice with its drop-downs and protection intact (issue 14): a
filled tracker is converted headless by LibreOffice (which reads the workbook and writes it
again, as a member's "Save" would), openpyxl reads back the validations and the locks, and
`cpflow tracker import` takes the file LibreOffice wrote. The `soffice` fixture installs Debian's
LibreOffice where it is missing and can be (as on CI), and skips only where it cannot."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import openpyxl
import pytest


def libreoffice_round_trip(soffice, source, tmp_path):
    """`source` read and written again by LibreOffice, with its own profile (parallel runs share none)."""
    out, profile = tmp_path / "lo-out", tmp_path / "lo-profile"
    out.mkdir()
    result = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "xlsx", "--outdir", str(out),
         str(source)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    converted = out / source.name
    assert result.returncode == 0 and converted.exists(), result.stdout + result.stderr
    return converted


def validations(sheet) -> dict[str, tuple]:
    """Cell range -> (type, list or lower bound, upper bound for dates, what a bad value does)."""
    return {
        str(v.sqref): (v.type, v.formula1, v.formula2 if v.type == "date" else None, v.errorStyle or "stop")
        for v in sheet.data_validations.dataValidation
    }


def test_libreoffice_keeps_the_dropdowns_date_checks_locks_and_stamp_and_its_file_imports(team, db_url, tmp_path, soffice):
    if not db_url.startswith("sqlite"):
        pytest.skip("the workbook is the same whatever the database")
    team("move", "mini:1.3", "endorse", "--by", "lea", "--at", "2022-03-01")
    exported = tmp_path / "tracker.xlsx"
    assert team("tracker", "export", "--plan", "mini", "-o", str(exported)).exit_code == 0
    book = openpyxl.load_workbook(exported)
    book["Activities"]["D2"], book["Activities"]["E2"] = "endorsed", dt.datetime(2022, 5, 12)
    book["Activities"]["F2"] = "agreed at the May meeting"
    book.save(exported)
    before = openpyxl.load_workbook(exported)

    converted = libreoffice_round_trip(soffice, exported, tmp_path)
    after = openpyxl.load_workbook(converted)
    assert after.sheetnames == before.sheetnames
    assert [after[n].sheet_state for n in after.sheetnames] == [before[n].sheet_state for n in before.sheetnames]
    sheet, original = after["Activities"], before["Activities"]
    kept = validations(sheet)
    assert kept == validations(original) and kept  # every drop-down and date check, same cells and lists
    assert kept["D2"] == ("list", '"endorsed,dropped"', None, "warning")  # a trigger's name may be typed too
    assert kept["D4"][:2] == ("list", '"in_progress,dropped"')  # 1.3 is endorsed: the moves from there
    assert kept["E2"][0] == "date"
    for name in after.sheetnames:
        assert after[name].protection.sheet == before[name].protection.sheet, name
    assert sheet.protection.sheet and after["_cpflow"].protection.sheet
    for row in range(2, 5):
        assert [sheet.cell(row, col).protection.locked for col in range(1, 9)] == [
            original.cell(row, col).protection.locked for col in range(1, 9)
        ]
    assert sheet.cell(2, 4).protection.locked is False and sheet.cell(2, 1).protection.locked is True
    assert [c.value for c in sheet[1]][:7] == [c.value for c in original[1]][:7]
    assert (sheet["D2"].value, sheet["E2"].value) == ("endorsed", dt.datetime(2022, 5, 12))
    assert after["_cpflow"]["B1"].value == "mini"

    imported = team("tracker", "import", str(converted), "--by", "mo")
    assert imported.exit_code == 0, imported.output
    queue = json.loads(team("review", "--plan", "mini", "--format", "json").stdout)
    assert [(r["activity"], r["trigger"], r["at"], r["submitted_by"]) for r in queue] == [
        ("mini:1.1", "endorse", "2022-05-12", "mo")
    ]
