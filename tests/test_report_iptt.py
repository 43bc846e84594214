"""`cpflow report iptt` (issue 16): the indicator performance tracking table as a report of
its own, in every format, each read back and checked against the hand-computed table of
tests/test_iptt.py (the same plan and measurements)."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from tests.test_iptt import IPTT_PLAN, MEASURES

AS_OF = "2024-08-15"
HEADER = ["Plan", "Level", "Code", "Indicator", "Unit", "Aggregation", "Baseline", "Period", "Period end", "Target",
          "Actual", "% of target", "Cumulative to date", "Status"]  # fmt: skip
# (code, period) -> (target, actual, % of target, cumulative, status), by hand from MEASURES.
EXPECTED = {
    ("trained", "q1"): (20.0, 18.0, 0.9, 18.0, "on track"),  # 8 + 10, sum
    ("trained", "q2"): (20.0, 12.0, 0.6, 30.0, "off track"),  # 12 recorded for q2; 18 + 12 to date
    ("trained", "q3"): (20.0, None, None, None, "no data"),  # not reported: blank, never 0
    ("pct", "q1"): (50.0, 45.0, 0.9, 45.0, "on track"),  # last of 40, 45
    ("pct", "q2"): (60.0, 62.0, 62 / 60, 62.0, "on track"),
    ("pct", "q3"): (70.0, None, None, None, "no data"),
    ("peak", "q1"): (100.0, 120.0, 1.2, 120.0, "off track"),  # max; a decreasing ceiling
}


@pytest.fixture
def iptt_db(cpflow, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(IPTT_PLAN, encoding="utf-8")
    assert cpflow("load", str(path), "--by", "t").exit_code == 0
    for code, value, at, period in MEASURES:
        extra = ("--period", period) if period else ()
        result = cpflow("measure", f"m:{code}", value, "--at", at, "--by", "t", *extra)
        assert result.exit_code == 0, result.output
    return cpflow


def _report(cpflow, *args):
    result = cpflow("report", "iptt", "--plan", "m", "--as-of", AS_OF, *args)
    assert result.exit_code == 0, result.output
    return result


def _number(text: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def _check(rows: dict[tuple, tuple], places: int = 4) -> None:
    """rows: (code, period) -> (target, actual, pct, cumulative, status) as read back; pct cells are
    rounded to 4 places (xlsx) or shown to one decimal of a percent (HTML, Markdown)."""
    assert set(rows) == set(EXPECTED)
    for key, want in EXPECTED.items():
        got = rows[key]
        for g, w in zip(got[:4], want[:4], strict=True):
            assert (g is None and w is None) or round(g, places) == round(w, places), (key, got, want)
        assert got[4] == want[4], (key, got)


def _cell(value) -> float | None:
    return None if value in (None, "") else float(value)


def _xlsx_rows(path) -> dict[tuple, tuple]:
    from openpyxl import load_workbook

    sheet = load_workbook(path)["Indicator performance tracking"]
    lines = [[c.value for c in row] for row in sheet.iter_rows()]
    assert lines[0] == HEADER
    at = {name: i for i, name in enumerate(HEADER)}
    return {
        (r[at["Code"]], r[at["Period"]]): (_cell(r[at["Target"]]), _cell(r[at["Actual"]]), _cell(r[at["% of target"]]),
                                           _cell(r[at["Cumulative to date"]]), r[at["Status"]])
        for r in lines[1:]
    }  # fmt: skip


def test_xlsx_has_one_row_per_indicator_per_period_with_the_hand_computed_values(iptt_db, tmp_path):
    out = tmp_path / "iptt.xlsx"
    assert f"wrote {out}" in _report(iptt_db, "-o", str(out)).stdout
    _check(_xlsx_rows(out))
    from openpyxl import load_workbook

    summary = load_workbook(out)["Summary"]
    figures = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row[0]}
    assert (figures["Indicators"], figures["Indicator periods"], figures["On track"], figures["Off track"],
            figures["No data"]) == (3, 7, 3, 2, 2)  # fmt: skip


def test_csv_reads_back_with_blanks_for_periods_not_reported(iptt_db, tmp_path):
    folder = tmp_path / "iptt-csv"
    _report(iptt_db, "--format", "csv", "-o", str(folder))
    with (folder / "iptt.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    _check({(r["code"], r["period"]): (_cell(r["target"]), _cell(r["actual"]), _cell(r["pct_of_target"]),
                                       _cell(r["cumulative"]), r["status"]) for r in rows})  # fmt: skip
    assert next(r for r in rows if (r["code"], r["period"]) == ("trained", "q3"))["actual"] == ""
    with (folder / "figures.csv").open(encoding="utf-8", newline="") as handle:
        assert {r["key"]: r["value"] for r in csv.DictReader(handle)}["off_track"] == "2"


def test_json_carries_the_rows_and_null_for_not_reported(iptt_db):
    data = json.loads(_report(iptt_db, "--format", "json").stdout)
    assert data["report"] == "iptt" and data["as_of"] == AS_OF
    (section,) = data["sections"]
    _check({(r["code"], r["period"]): (r["target"], r["actual"], r["pct_of_target"], r["cumulative"], r["status"])
            for r in section["rows"]})  # fmt: skip
    assert next(r for r in section["rows"] if r["code"] == "trained" and r["period"] == "q3")["actual"] is None


def test_html_shows_the_whole_table(iptt_db, tmp_path):
    import lxml.html

    out = tmp_path / "iptt.html"
    _report(iptt_db, "--format", "html", "-o", str(out))
    page = lxml.html.parse(str(out)).getroot()
    table = next(t for t in page.iter("table") if "Cumulative to date" in t.text_content())
    header = [th.text_content().strip() for th in table.iter("th")]
    assert header == HEADER
    at = {name: i for i, name in enumerate(HEADER)}
    rows = {}
    for tr in table.iter("tr"):
        cells = [td.text_content().strip() for td in tr.findall("td")]
        if cells:
            rows[cells[at["Code"]], cells[at["Period"]]] = (
                *(_number(cells[at[k]]) for k in ("Target", "Actual", "% of target", "Cumulative to date")),
                cells[at["Status"]],
            )
    _check(rows, places=3)  # HTML shows % to one decimal


def test_markdown_table_has_every_row(iptt_db):
    lines = [line for line in _report(iptt_db, "--format", "md").stdout.splitlines() if line.startswith("| m |")]
    at = {name: i for i, name in enumerate(HEADER)}
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[at["Code"]], cells[at["Period"]]] = (
            *(_number(cells[at[k]]) for k in ("Target", "Actual", "% of target", "Cumulative to date")),
            cells[at["Status"]],
        )
    _check(rows, places=3)


def test_the_same_data_gives_byte_identical_files(iptt_db, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _report(iptt_db, "-o", str(first))
    _report(iptt_db, "-o", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_an_unknown_plan_is_one_line_exit_2_and_writes_nothing(iptt_db, tmp_path):
    out = tmp_path / "iptt.xlsx"
    result = iptt_db("report", "iptt", "--plan", "nope", "-o", str(out))
    assert result.exit_code == 2 and result.stderr.strip().splitlines() == ["error: unknown plan 'nope'; plans are m"]
    assert not out.exists()


def test_the_iptt_opens_in_libreoffice_with_its_values(iptt_db, tmp_path, soffice):
    """LibreOffice reads the workbook headless and saves it again; the values survive."""
    out = tmp_path / "iptt.xlsx"
    _report(iptt_db, "-o", str(out))
    converted = tmp_path / "libreoffice"
    profile = tmp_path / "lo-profile"  # its own profile: parallel runs do not share one
    done = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "xlsx",
                           "--outdir", str(converted), str(out)], capture_output=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    _check(_xlsx_rows(converted / "iptt.xlsx"))
