"""The report model and its writers on small DataFrames, and the `report_sections`
plugin hook rendered in every format."""

from __future__ import annotations

import datetime as dt
import json
import types

import openpyxl
import pandas as pd
import pytest
from test_report_support import D, review_db  # noqa: F401

from cpflow.plugins import hookimpl
from cpflow.plugins.manager import build
from cpflow.reports import breakdowns, csvout, html, jsonout, markdown, svg, xlsx
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.model import Chart, Column, Figure, Report, Section, rag_colour


def small_report() -> Report:
    table = pd.DataFrame({
        "name": ["=cmd()", "b|c", "<b>x</b>"], "count": [3, 0, 5], "share": [0.5, None, 1.0],
        "when": pd.to_datetime(["2023-01-31", None, "2023-03-31"]), "currency": ["USD", "EUR", "USD"],
        "amount": pd.array([150050, None, 100], dtype="Int64"), "status": ["overdue", "on track", "stale"],
    })  # fmt: skip
    columns = (Column("name", "Name"), Column("count", "Count", "int"), Column("share", "Share", "pct"),
               Column("when", "When", "date"), Column("currency", "Currency"), Column("amount", "Amount", "money"),
               Column("status", "Status", rag="status"))  # fmt: skip
    section = Section("Small view", table, Chart("bar", "Counts", "name", ("count",)), columns=columns)
    plans = pd.DataFrame({"slug": ["p"], "title": ["Plan"], "currency": ["USD"], "start": [dt.date(2023, 1, 1)],
                          "end": [dt.date(2023, 12, 31)]})  # fmt: skip
    return Report(
        "progress", "Small", dt.date(2023, 12, 31), None, plans, [Figure("n", "Count", 8)], [section], {"cpflow": "test"}
    )


def test_columns_are_inferred_from_dtypes_and_keys_are_safe_slugs():
    section = Section("../Weird title!", pd.DataFrame({"a": [1], "b": [1.5], "c": pd.to_datetime(["2023-01-01"]), "d": ["x"]}))
    assert [c.kind for c in section.columns] == ["int", "number", "date", "text"]
    assert section.key == "weird-title"
    with pytest.raises(ValueError, match="currency"):
        Section("Money", pd.DataFrame({"m": [1]}), columns=(Column("m", "M", "money"),))
    with pytest.raises(ValueError, match="no column"):
        Section("Chart", pd.DataFrame({"a": [1]}), Chart("bar", "c", "a", ("missing",)))


def test_rag_scales():
    assert rag_colour("gap", 0.6) == "red" and rag_colour("gap", 0.3) == "amber" and rag_colour("gap", 0.0) == "green"
    assert rag_colour("gap", None) is None and rag_colour("status", "overdue") == "red" and rag_colour(None, "x") is None


def test_every_writer_renders_values_by_kind(tmp_path):
    report = small_report()
    data = json.loads(jsonout.render(report))
    rows = data["sections"][0]["rows"]
    assert rows[0] == {"name": "=cmd()", "count": 3, "share": 0.5, "when": "2023-01-31", "currency": "USD",
                       "amount": 1500.5, "status": "overdue"}  # fmt: skip
    assert rows[1]["amount"] is None and rows[1]["when"] is None and rows[1]["share"] is None
    text = markdown.render([report])
    assert "| =cmd\\(\\) |" not in text and "b\\|c" in text and "&lt;b&gt;x&lt;/b&gt;" in text and "1,500.50" in text
    page = html.render([report])
    assert "&lt;b&gt;x&lt;/b&gt;" in page and 'class="num rag-red"' not in page and 'class="status rag-red"' in page
    files = csvout.write(report, tmp_path / "csv")
    assert [f.name for f in files] == ["figures.csv", "small-view.csv"]
    assert "'=cmd()" in (tmp_path / "csv" / "small-view.csv").read_text()
    book = openpyxl.load_workbook(xlsx.write(report, tmp_path / "small.xlsx"))
    ws = book["Small view"]
    assert [c.value for c in ws[2]] == ["=cmd()", 3, 0.5, dt.datetime(2023, 1, 31), "USD", 1500.5, "overdue"]
    assert ws["F2"].number_format == "[$USD] #,##0.00" and ws["C2"].number_format == "0.0%"
    assert ws["A2"].data_type == "s"


def test_svg_charts_escape_labels_and_stay_stable():
    report = small_report()
    first = svg.render(report.sections[0])
    assert first == svg.render(report.sections[0])
    assert "<b>" not in first and "&lt;b&gt;x&lt;/b&gt;" in first and first.startswith("<svg")


def test_over_time_counts_follow_the_moves():
    activities = pd.DataFrame({"plan": ["p", "p"], "initial_state": ["proposed", "proposed"], "state": ["completed", "proposed"]})
    events = pd.DataFrame({"at": pd.to_datetime(["2023-01-10", "2023-02-10", "2023-02-20"]),
                           "from": ["proposed", "endorsed", "in_progress"], "to": ["endorsed", "in_progress", "completed"]})  # fmt: skip
    plans = pd.DataFrame({"slug": ["p"], "start": pd.to_datetime(["2023-01-01"])})
    states = ["proposed", "endorsed", "in_progress", "completed", "dropped"]
    table = breakdowns.over_time(activities, events, plans, D("2023-03-15"), states).table
    assert [str(d) for d in table["date"]] == ["2023-01-31", "2023-02-28", "2023-03-15"]
    assert table["completed"].tolist() == [0, 1, 1] and table["endorsed"].tolist() == [1, 0, 0]
    assert table["activities"].tolist() == [2, 2, 2] and table["completed_pct"].tolist() == [0, 0.5, 0.5]


def health_plugin():
    module = types.ModuleType("health_sections")

    @hookimpl
    def report_sections(report):
        counts = report.activities.explode("sectors").query("sectors == 'health'").groupby("state").size()
        table = counts.rename("activities").reset_index()
        return [Section("Health activities", table, Chart("bar", "Health activities by state", "state", ("activities",)))]

    module.report_sections = report_sections
    return module


def broken_plugin():
    module = types.ModuleType("broken_sections")

    @hookimpl
    def report_sections(report):
        raise RuntimeError("boom")

    module.report_sections = report_sections
    return module


def test_a_plugin_section_is_rendered_in_every_format(review_db, tmp_path):
    plugins = build()
    plugins.manager.register(health_plugin(), name="health-sections")
    plugins.manager.register(broken_plugin(), name="broken-sections")
    (report,), _ = build_reports(review_db, ("progress",), ReportOptions(as_of=D("2023-12-31")), plugins)
    keys = [s.key for s in report.sections]
    assert keys[-2:] == ["health-activities", "plugin-problems"]
    problems = report.section("plugin-problems").table
    assert problems["plugin"].tolist() == ["broken-sections"] and "boom" in problems["problem"].iloc[0]
    assert report.section("health-activities").table.to_dict("records") == [{"state": "completed", "activities": 1}]
    assert "Health activities" in html.render([report]) and "\n## Health activities\n" in markdown.render([report])
    assert "health-activities" in [s["key"] for s in json.loads(jsonout.render(report))["sections"]]
    assert (tmp_path / "csv" / "health-activities.csv") in csvout.write(report, tmp_path / "csv")
    book = openpyxl.load_workbook(xlsx.write(report, tmp_path / "p.xlsx"))
    assert "Health activities" in book.sheetnames and len(book["Summary"]._charts) == 4


def test_column_values_are_plain_python_with_none_for_every_kind_of_missing():
    """Numpy, nullable and string columns alike: Python ints, floats and str, None where
    pandas has NaN, NA or NaT, dates as dates (an aware time on its own calendar day)."""
    from cpflow.reports.cells import column_values

    def typed(values):
        return [(type(v), v) for v in values]

    ints = pd.Series([3, 0, -2])
    assert typed(column_values(ints, "int")) == [(int, 3), (int, 0), (int, -2)]
    assert column_values(pd.Series([1, None, 3], dtype="Int64"), "int") == [1, None, 3]
    assert column_values(pd.Series([1, None, 3], dtype="Int64"), "text") == ["1", None, "3"]
    assert typed(column_values(pd.Series([True, False]), "int")) == [(int, 1), (int, 0)]
    assert column_values(pd.Series([0.5, float("nan"), 2.0]), "number") == [0.5, None, 2]
    assert column_values(pd.Series([0.123456, float("nan")]), "pct") == [0.1235, None]
    assert column_values(pd.Series([1.5, float("nan")]), "text") == ["1.5", None]
    assert column_values(pd.Series(["a", None], dtype="str"), "text") == ["a", None]
    assert column_values(pd.Series([["x", "y"], None, "z"], dtype=object), "text") == ["x; y", None, "z"]
    dates = pd.Series([dt.date(2023, 12, 31), None, dt.date(1969, 7, 20)], dtype=object)
    assert typed(column_values(dates, "date")) == [(dt.date, dt.date(2023, 12, 31)), (type(None), None),
                                                   (dt.date, dt.date(1969, 7, 20))]  # fmt: skip
    aware = pd.Series([pd.Timestamp("2023-01-01 23:30", tz="Asia/Baghdad"), pd.NaT])
    assert column_values(aware, "date") == [dt.date(2023, 1, 1), None]
    assert column_values(pd.Series([pd.Timestamp("2024-02-29 18:00")]), "date") == [dt.date(2024, 2, 29)]


def test_rows_converted_in_blocks_are_the_rows_converted_whole(monkeypatch):
    """Long listings are converted a block of rows at a time; the rows are the same as
    converting each whole column, across block edges and with a limit."""
    from cpflow.reports import cells
    from cpflow.reports.model import Column, Section

    n = 23
    table = pd.DataFrame({
        "id": [f"p:{i}" for i in range(n)],
        "due": [dt.date(2024, 1, 1 + i % 28) if i % 5 else None for i in range(n)],
        "late": pd.array([i if i % 3 else None for i in range(n)], dtype="Int64"),
        "share": [i / 7 if i % 4 else float("nan") for i in range(n)],
    })  # fmt: skip
    columns = (Column("id", "ID"), Column("due", "Due", "date"), Column("late", "Late", "int"), Column("share", "Share", "pct"))
    section = Section("Listing", table, columns=columns)
    whole = list(zip(*[cells.column_values(table[c.key], c.kind) for c in columns]))
    monkeypatch.setattr(cells, "ROWS_AT_ONCE", 4)
    assert list(cells.rows(section)) == whole
    assert list(cells.rows(section, limit=9)) == whole[:9]
    assert list(cells.rows(Section("Empty", table.head(0), columns=columns))) == []


def test_html_rows_are_made_as_the_page_is_written_and_can_be_counted_and_sliced():
    from cpflow.reports import html
    from cpflow.reports.model import Column, Section

    table = pd.DataFrame({"id": [f"p:{i}" for i in range(7)], "status": ["overdue", "on track"] * 3 + ["completed"]})
    section = Section("Listing", table, columns=(Column("id", "ID"), Column("status", "Status", rag="status")))
    rows = html.Rows(section, limit=5)
    assert len(rows) == 5 and bool(rows) and not html.Rows(Section("None", table.head(0)), None)
    listed = list(rows)
    assert [r[0].text for r in listed] == ["p:0", "p:1", "p:2", "p:3", "p:4"] and list(rows) == listed
    assert rows[:2] == listed[:2] and rows[1] == listed[1] and rows[-1] == listed[4]
    assert "rag-red" in listed[0][1].css and "rag-green" in listed[1][1].css
    with pytest.raises(IndexError):
        rows[5]
