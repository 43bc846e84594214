"""An action due on or before the as-of date and not completed is never green: "due now"
(amber) on its due date, "overdue" (red) after it, in every format; the headline counts
the phase's actions not completed by its end."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from test_report_support import D, review_db  # noqa: F401

from cpflow.reports import html, markdown
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.jsonout import render as render_json
from cpflow.reports.model import RAG_SCALES, rag_colour
from cpflow.reports.xlsx import write

LAST_DAY = D("2023-12-31")  # the last day of Years 1-2 in the review plan


def progress(db, as_of):
    (report,), _ = build_reports(db, ("progress",), ReportOptions(as_of=as_of))
    return report


def statuses(report) -> dict[str, str]:
    frame = report.section("activities").table
    return dict(zip(frame["id"], frame["status"]))


def test_an_unfinished_action_on_its_due_date_is_due_now_and_overdue_the_day_after(review_db):
    # 1.2 is in progress, 2.3 only endorsed; 1.2's due date is the end of Years 1-2.
    on_the_day = statuses(progress(review_db, LAST_DAY))
    assert on_the_day["review:1.2"] == "due now" and rag_colour("status", "due now") == "amber"
    assert on_the_day["review:2.1"] == "overdue"  # due 2022-06-30
    assert on_the_day["review:1.1"] == "completed" and on_the_day["review:2.2"] == "dropped"
    assert on_the_day["review:2.3"] == "on track"  # Years 3-4: not due yet
    after = statuses(progress(review_db, D("2024-01-01")))
    assert after["review:1.2"] == "overdue" and rag_colour("status", "overdue") == "red"


def test_nothing_due_on_or_before_the_date_and_unfinished_is_green(review_db):
    for as_of in ("2022-06-29", "2022-06-30", "2022-07-01", "2023-12-30", "2023-12-31", "2024-01-01", "2025-12-31"):
        frame = progress(review_db, D(as_of)).section("activities").table
        due = pd.to_datetime(frame["due"]) <= pd.Timestamp(as_of)
        unfinished = due & ~frame["state"].isin(("completed", "dropped"))
        colours = {rag_colour("status", s) for s in frame.loc[unfinished, "status"]}
        assert "green" not in colours and None not in colours, (as_of, colours)


def test_headline_counts_phase_actions_not_completed_and_due_now(review_db):
    figures = {f.key: f for f in progress(review_db, LAST_DAY).figures}
    # Years 1-2: 1.1 completed, 1.2 in progress, 2.1 endorsed, 2.2 dropped: 2 of 3 live not completed.
    assert figures["not_completed_years-1-2"].value == 2
    assert "ended 2023-12-31" in figures["not_completed_years-1-2"].detail
    assert "not_completed_years-3-4" not in figures  # that phase has not ended
    assert (figures["overdue"].value, figures["due_now"].value) == (1, 1)
    before = {f.key for f in progress(review_db, D("2023-12-30")).figures}
    assert "not_completed_years-1-2" not in before


def test_every_format_shows_the_same_status_and_colour(review_db, tmp_path):
    report = progress(review_db, LAST_DAY)
    data = json.loads(render_json(report))
    sections = {s["key"]: s for s in data["sections"]}
    rows = {r["id"]: r["status"] for r in sections["activities"]["rows"]}
    assert rows["review:1.2"] == "due now" and [r["id"] for r in sections["due-now"]["rows"]] == ["review:1.2"]
    page = html.render([report])
    assert '<td class="status rag-amber">due now</td>' in page and 'rag-green">due now' not in page
    assert "| due now |" in markdown.render([report])
    book = openpyxl.load_workbook(write(report, tmp_path / "p.xlsx"))
    ws = book["Activities"]
    col = [c.value for c in ws[1]].index("Status")
    cell = next(r[col] for r in ws.iter_rows(min_row=2) if r[0].value == "review:1.2")
    assert cell.value == "due now"
    # The workbook colours by the same table the HTML reads: every status value has its format.
    rules = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    formulas = {tuple(rule.formula) for rule in rules}
    assert all(('"' + value + '"',) in formulas for value in RAG_SCALES["status"]), formulas


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_cli_report_on_the_last_day_shows_due_now(review_db, cpflow, fmt):
    result = cpflow("report", "progress", "--as-of", "2023-12-31", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "due now" in result.stdout and "Years 1-2 actions not completed by the end of the phase" in result.stdout
