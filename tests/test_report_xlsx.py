"""The xlsx reports read back with openpyxl: sheets, headers, numbers against the
database, charts, conditional formats, and no formula made from user text."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter

import openpyxl
import pytest
from sqlalchemy import select
from test_report_support import DDE, HYPERLINK, MALICIOUS, TABBED, D, review_db  # noqa: F401

from cpflow.models import BudgetLine
from cpflow.read.queries import list_activities
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.xlsx import _width, sheet_names, write

AS_OF = D("2023-12-31")


@pytest.fixture
def progress_book(review_db, tmp_path):
    (report,), _ = build_reports(review_db, ("progress",), ReportOptions(as_of=AS_OF, since=D("2023-01-01")))
    path = write(report, tmp_path / "progress.xlsx")
    return openpyxl.load_workbook(path), path


def header(ws) -> list[str]:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def records(ws) -> list[dict]:
    names = header(ws)
    return [dict(zip(names, row)) for row in ws.iter_rows(min_row=2, values_only=True)]


def test_summary_comes_first_then_one_sheet_per_view(progress_book):
    book, _ = progress_book
    assert book.sheetnames[0] == "Summary"
    for name in ("By objective", "By unit", "By lead", "By sector", "By phase", "Over time", "Overdue", "Stale",
                 "Dropped", "Indicators", "Funding", "Funding totals", "Moves since the last review",
                 "Activities added or edited", "Activities"):  # fmt: skip
        assert name in book.sheetnames
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=5, values_only=True) if row[0]}
    assert summary["Activities"] == 6
    assert summary["% of Years 1-2 actions completed"] == pytest.approx(1 / 3, abs=1e-4)


def test_view_sheets_have_frozen_headers_autofilter_and_fitted_widths(progress_book):
    book, _ = progress_book
    ws = book["Activities"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    assert header(ws)[:3] == ["ID", "Title", "Objective"]
    widths = {k: d.width for k, d in ws.column_dimensions.items() if d.width}
    assert widths and all(6 <= w <= 62 for w in widths.values())
    assert widths["A"] != widths["B"]


def test_state_counts_by_objective_match_the_database(progress_book, review_db):
    book, _ = progress_book
    with review_db.read() as session:
        rows = list_activities(session, plans=("review",), as_of=AS_OF)
    expected = Counter((r["objective"], r["state"]) for r in rows)
    for row in records(book["By objective"]):
        for state in ("proposed", "endorsed", "in progress", "completed", "dropped"):
            assert row[state] == expected[(row["Objective"], state.replace(" ", "_"))], (row, state)
        assert row["Activities"] == sum(n for (objective, _), n in expected.items() if objective == row["Objective"])


def test_money_is_numbers_with_a_currency_format_and_dates_are_dates(progress_book, review_db):
    book, _ = progress_book
    with review_db.read() as session:
        lines = {(line.period, line.budget_minor, line.received_minor) for line in session.scalars(select(BudgetLine))}
    ws = book["Funding"]
    names = header(ws)
    for row in ws.iter_rows(min_row=2):
        cell = dict(zip(names, row))
        assert isinstance(cell["Budget"].value, (int, float)) and "USD" in cell["Budget"].number_format
        assert (cell["Period"].value, round(cell["Budget"].value * 100), round(cell["Received"].value * 100)) in lines
        assert cell["Gap"].value == pytest.approx(cell["Budget"].value - cell["Received"].value)
    wg = next(r for r in records(ws) if r["Unit"] == "wg")
    assert (wg["Budget"], wg["Received"], wg["Gap"]) == (1000, 700, 300)  # funding replayed: 700 received by 2023
    due = dict(zip(header(book["Overdue"]), next(book["Overdue"].iter_rows(min_row=2, max_row=2))))["Due"]
    assert isinstance(due.value, dt.datetime) and due.number_format == "yyyy-mm-dd"


def test_native_charts_and_rag_formats_exist(progress_book):
    book, path = progress_book
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        xml = "".join(archive.read(n).decode() for n in charts)
    assert len(charts) == 3
    assert 'grouping val="stacked"' in xml and "<c:lineChart>" in xml and "<c:barChart>" in xml
    assert len(book["Summary"]._charts) == 3
    for sheet, column in (("Activities", "Status"), ("Funding", "Gap %"), ("Overdue", "Status")):
        ws = book[sheet]
        letter = openpyxl.utils.get_column_letter(header(ws).index(column) + 1)
        ranges = [str(cf.sqref) for cf in ws.conditional_formatting]
        assert any(r.startswith(letter) for r in ranges), (sheet, ranges)


def test_no_cell_from_user_text_is_a_formula(progress_book):
    book, path = progress_book
    seen = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    assert HYPERLINK in " ".join(seen) and DDE in seen and TABBED in seen
    assert all(any(text in value for value in seen) for text in MALICIOUS)
    with zipfile.ZipFile(path) as archive:
        sheets = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets


def test_compliance_workbook_has_findings_counts_and_matrix(review_db, tmp_path):
    (report,), _ = build_reports(review_db, ("compliance",), ReportOptions(as_of=AS_OF))
    book = openpyxl.load_workbook(write(report, tmp_path / "compliance.xlsx"))
    assert book.sheetnames[:6] == ["Summary", "Findings", "Waived", "Findings by pack", "Findings by rule", "Rule × objective"]
    findings = records(book["Findings"])
    assert findings and {"error", "warning", "info"} >= {f["Severity"] for f in findings}
    by_pack = records(book["Findings by pack"])
    assert sum(r["Total"] for r in by_pack) == len(findings)
    matrix = records(book["Rule × objective"])
    assert sum(sum(v for k, v in r.items() if k != "Rule") for r in matrix) == len(findings)
    assert any(k.startswith("objective ") for k in header(book["Rule × objective"]))


def test_sheet_names_are_valid_and_unique():
    names = sheet_names(["Summary", "a/b:c*d?[e]", "x" * 40, "x" * 40, "'quoted'", ""])
    assert names[0] != "Summary" and len(set(n.casefold() for n in names)) == len(names)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\'") for n in names)


def _long_title_book(review_db, tmp_path):
    from test_report_support import REVIEW_PLAN

    from cpflow.services import load_files

    long_title = "Roll out the case management guidance " * 4
    path = tmp_path / "review.yaml"
    path.write_text(REVIEW_PLAN.replace("title: Plain action", f"title: {long_title.strip()}"), encoding="utf-8")
    load_files(review_db, [path], actor="Review WG", now=D("2023-01-10"))
    (report,), _ = build_reports(review_db, ("progress",), ReportOptions(as_of=AS_OF))
    out = write(report, tmp_path / "progress.xlsx")
    return openpyxl.load_workbook(out), report, long_title.strip()


def test_the_workbook_prints_each_view_on_pages_one_wide_with_its_header_and_no_helper_or_empty_sheet(review_db, tmp_path):
    book, report, long_title = _long_title_book(review_db, tmp_path)
    sizes = {s.title: len(s.table) for s in report.sections}
    names = sheet_names([s.title for s in report.sections])
    assert book["Chart data"].sheet_state == "hidden"
    printed = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    assert printed[0].title == "Summary" and len(printed) == 1 + sum(1 for n in sizes.values() if n)
    for ws in book.worksheets[1:]:
        if ws.title == "Chart data":
            continue
        assert (ws.sheet_state == "hidden") == (sizes[ws.title] == 0), ws.title
    for ws in printed:
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0), (
            ws.title
        )  # 1 is the default, left out
        assert setup.paperSize == 9 and ws.print_area, ws.title
        if ws.title == "Summary":
            continue
        assert ws.print_title_rows in ("1:1", "$1:$1"), ws.title
        last_col = openpyxl.utils.get_column_letter(ws.max_column)
        assert ws.print_area == f"'{ws.title}'!$A$1:${last_col}${max(ws.max_row, 2)}", (ws.title, ws.print_area)
        section = next(s for s, name in zip(report.sections, names) if name == ws.title)
        width = sum(_width(section, c.key, c.kind) for c in section.columns)
        assert setup.orientation == ("landscape" if width > 100 else "portrait"), (ws.title, width)
    activities = book["Activities"]
    cell = next(r[1] for r in activities.iter_rows(min_row=2) if r[0].value == "review:2.1")
    assert cell.value == long_title and cell.alignment.wrap_text  # wraps in its column, not cut at the edge


def test_summary_notes_wrap_in_their_column_left_of_the_charts(progress_book):
    book, _ = progress_book
    ws = book["Summary"]
    anchors = [chart.anchor._from.col for chart in ws._charts]
    assert anchors and min(anchors) >= 5  # the charts start right of the figure, plan and index columns
    notes = [row[2] for row in ws.iter_rows(min_row=5) if isinstance(row[2].value, str) and len(row[2].value) > 40]
    assert notes and all(c.alignment.wrap_text for c in notes)


def test_date_serials_are_what_write_datetime_would_store():
    """Dates go to the cells as serial numbers converted in one step; each is the number
    xlsxwriter's write_datetime stores for that date at midnight (1900 leap day, times of
    day dropped, missing dates left blank)."""
    import pandas as pd
    from xlsxwriter.utility import _datetime_to_excel_datetime as datetime_to_excel_datetime

    from cpflow.reports.xlsx import _serials

    days = [dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.date(1970, 1, 1), dt.date(2023, 12, 31),
            dt.date(2099, 6, 30)]  # fmt: skip
    expected = [datetime_to_excel_datetime(dt.datetime.combine(d, dt.time()), False, True) for d in days]
    assert _serials(pd.Series(days, dtype=object)) == expected
    stamps = pd.Series([pd.Timestamp("2023-05-04 17:30"), pd.NaT, pd.Timestamp("1999-12-31 00:00:01")])
    assert _serials(stamps) == [
        datetime_to_excel_datetime(dt.datetime(2023, 5, 4), False, True),
        None,
        datetime_to_excel_datetime(dt.datetime(1999, 12, 31), False, True),
    ]
    assert all(isinstance(v, float) for v in _serials(pd.Series(days)))
    aware = pd.Series([pd.Timestamp("1900-01-01 23:00", tz="Asia/Baghdad"), pd.NaT]).astype("datetime64[ns, Asia/Baghdad]")
    assert _serials(aware) == [0.0, None]


def test_text_that_looks_like_rich_string_markup_is_text_not_xml(tmp_path):
    """xlsxwriter (constant_memory) writes a string from <r> to </r> into the sheet XML as
    it is; cpflow writes such text as plain runs, so it cannot add cells or formulas."""
    import pandas as pd

    from cpflow.reports.model import Column, Report, Section

    evil = '<r><t>x</t></r></is></c><c r="Z9"><f>HYPERLINK("http://x","y")</f></c><c><is><r><t>y</t></r>'
    plans = pd.DataFrame([{"slug": "p", "title": evil, "currency": "USD", "start": D("2023-01-01"), "end": D("2023-12-31")}])
    table = pd.DataFrame({"id": ["p:1", "p:2"], "title": [evil, "plain <r> text"]})
    section = Section("Listing", table, columns=(Column("id", "ID"), Column("title", "<r><t>T</t></r>")))
    report = Report("progress", evil, AS_OF, None, plans, sections=[section])
    path = write(report, tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any("<f>" in xml or '<c r="Z9"' in xml for xml in sheets)
    book = openpyxl.load_workbook(path)
    assert book["Summary"]["A1"].value == evil
    assert [c.value for c in book["Listing"]["B"]] == ["<r><t>T</t></r>", evil, "plain <r> text"]
