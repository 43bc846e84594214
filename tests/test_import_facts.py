"""`cpflow import` on the sheets coordinators really keep: years written in timeline cells,
day-first dates, an activity column with an unusual name, 3W sheets, statuses that are
dated facts, the same sheet twice, a sheet meant for another plan, bullet cells, and
files past the size limits."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import session_for, snapshot
from sqlalchemy import func, select
from test_import_sheets import plan_rows, write_csv

from cpflow.importers import readers
from cpflow.models import Plan, TransitionEvent

MIXED = (
    "Objective,Activity,Timeline,Status\n"
    "1,Map the services,Q1-Q4 2025,Done\n"
    "1,Train the focal points,Q1 2025,Ongoing\n"
    "1,Run the review,Oct-Nov 2025,\n"
    "1,Share the findings,April - June 2025,\n"
    "1,Plan the next year,Q2-Q3 2025,\n"
)


def events(db_url: str, **where) -> list[dict]:
    with session_for(db_url) as session:
        query = select(TransitionEvent.__table__).order_by(TransitionEvent.id)
        for name, value in where.items():
            query = query.where(getattr(TransitionEvent, name) == value)
        return [dict(r) for r in session.execute(query).mappings()]


def count_events(db_url: str) -> int:
    with session_for(db_url) as session:
        return session.scalar(select(func.count()).select_from(TransitionEvent))


def listing(cpflow, slug: str, *extra: str) -> dict[str, dict]:
    result = cpflow("activities", "--plan", slug, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return {r["code"]: r for r in json.loads(result.stdout)}


# --- dates ---------------------------------------------------------------------------------------


def test_years_written_in_timeline_cells_are_used_and_no_false_note(cpflow, db_url, tmp_path):
    result = cpflow("import", str(write_csv(tmp_path / "t.csv", MIXED)), "--plan", "t", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "no year or date in the file" not in result.stderr
    rows = plan_rows(db_url, "t")
    dates = {c: (r["start"].isoformat(), r["due"].isoformat()) for c, r in rows.items()}
    assert dates == {
        "1.1": ("2025-01-01", "2025-12-31"),
        "1.2": ("2025-01-01", "2025-03-31"),
        "1.3": ("2025-10-01", "2025-11-30"),
        "1.4": ("2025-04-01", "2025-06-30"),
        "1.5": ("2025-04-01", "2025-09-30"),
    }


def test_the_no_year_note_appears_only_when_no_year_is_stated(cpflow, tmp_path):
    sheet = write_csv(tmp_path / "q.csv", "Activity,Timeline\nMap the services,Q1-Q2\n")
    result = cpflow("import", str(sheet), "--plan", "q", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "no year or date in the file" in result.stderr


def test_day_first_dates_are_read_when_the_column_reads_only_one_way(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "d.csv", "Activity,Start,Due\nMap,03/02/2025,15/01/2026\nTrain,31/12/2025,01/02/2026\n")
    result = cpflow("import", str(sheet), "--plan", "d", "--by", "im")
    assert result.exit_code == 0, result.output
    rows = plan_rows(db_url, "d")
    assert (rows["1"]["start"].isoformat(), rows["1"]["due"].isoformat()) == ("2025-02-03", "2026-01-15")
    assert (rows["2"]["start"].isoformat(), rows["2"]["due"].isoformat()) == ("2025-12-31", "2026-02-01")
    assert 'column "Start": dates read as day/month/year' in result.stderr


def test_ambiguous_day_month_dates_name_the_column_and_date_format(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "a.csv", "Activity,Start\nMap,03/02/2025\nTrain,04/05/2025\n")
    refused = cpflow("import", str(sheet), "--plan", "a", "--by", "im")
    assert refused.exit_code == 2
    assert 'column B "Start"' in refused.stderr and "date_format:" in refused.stderr
    mapping = tmp_path / "map.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n', encoding="utf-8")
    assert cpflow("import", str(sheet), "--plan", "a", "--map", str(mapping), "--by", "im").exit_code == 0
    assert plan_rows(db_url, "a")["2"]["start"].isoformat() == "2025-05-04"


# --- columns by content --------------------------------------------------------------------------


def test_the_activity_column_is_found_by_content_under_a_grouping_column(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "c.csv", (
        "Objective,What we will do,Lead agency,Quarter\n"
        "1,Hold the monthly coordination meeting,UNICEF,Q1 2025\n"
        ",Update the service mapping for the district,UNHCR,Q2 2025\n"
        "2,Train caseworkers on the referral pathway,UNICEF,Q3 2025\n"
    ))  # fmt: skip
    result = cpflow("import", str(sheet), "--plan", "c", "--by", "im")
    assert result.exit_code == 0, result.output
    assert 'reading "What we will do" as the activity text; --map to change' in result.stderr
    assert plan_rows(db_url, "c")["1.2"]["title"] == "Update the service mapping for the district"


def test_when_it_cannot_decide_the_error_lists_every_header_it_saw(cpflow, tmp_path):
    sheet = write_csv(tmp_path / "n.csv", "Objective,Lead,Foo,Bar\n1,UNICEF,a,1\n2,UNHCR,b,2\n")
    result = cpflow("import", str(sheet), "--plan", "n", "--by", "im")
    assert result.exit_code == 2
    assert "'Objective', 'Lead', 'Foo', 'Bar'" in result.stderr and "no Activity column" in result.stderr


def test_a_status_header_over_place_names_is_the_location_and_the_status_column_is_the_status(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "3w.csv", (
        "Organization,Activity,State,Status\n"
        "Save the Children,Case management for separated children,Jonglei,Ongoing\n"
        "IRC,Psychosocial support sessions,Unity,Done\n"
        "UNICEF,Child-friendly spaces,Upper Nile,Not started\n"
    ))  # fmt: skip
    result = cpflow("import", str(sheet), "--plan", "w3", "--by", "im", "--status-date", "2025-06-30")
    assert result.exit_code == 0, result.output
    assert 'column "State" holds places (Jonglei, Unity, Upper Nile …), not statuses: read as the location' in result.stderr
    rows = plan_rows(db_url, "w3")
    assert [(r["lead"], r["state"], r["notes"]) for r in rows.values()] == [
        ("Save the Children", "in_progress", "Location: Jonglei"),
        ("IRC", "completed", "Location: Unity"),
        ("UNICEF", "proposed", "Location: Upper Nile"),
    ]


@pytest.mark.parametrize("header", ["Organization", "Organisation", "Agency", "Partner"])
def test_organisation_agency_and_partner_name_the_lead(cpflow, db_url, tmp_path, header):
    sheet = write_csv(tmp_path / "p.csv", f"Activity,{header}\nRun the child-friendly space,Plan International\n")
    assert cpflow("import", str(sheet), "--plan", "p", "--by", "im").exit_code == 0
    assert plan_rows(db_url, "p")["1"]["lead"] == "Plan International"


@pytest.mark.parametrize("header", ["Interventions", "Key actions", "Planned activities", "Tasks"])
def test_logframe_headers_name_the_activity(cpflow, db_url, tmp_path, header):
    sheet = write_csv(tmp_path / "l.csv", f"Outcome,{header}\nChildren are safer,Train the community groups\n")
    assert cpflow("import", str(sheet), "--plan", "l", "--by", "im").exit_code == 0
    assert plan_rows(db_url, "l")["1"]["title"] == "Train the community groups"


def test_an_outputs_column_is_the_activity_only_when_nothing_else_is(cpflow, db_url, tmp_path):
    sheet = write_csv(
        tmp_path / "o.csv", "Outcome,Outputs,Indicator\nSafer,Community groups trained,1\nSafer,Referral map shared,2\n"
    )
    result = cpflow("import", str(sheet), "--plan", "o", "--by", "im")
    assert result.exit_code == 0, result.output
    assert 'reading "Outputs" as the activity text (no other column is the activity)' in result.stderr
    assert [r["title"] for r in plan_rows(db_url, "o").values()] == ["Community groups trained", "Referral map shared"]


def test_a_column_dropped_as_a_duplicate_is_reported(cpflow, tmp_path):
    sheet = write_csv(tmp_path / "dup.csv", "Activity,Lead,Lead agency\nMap,UNICEF,UNHCR\n")
    result = cpflow("import", str(sheet), "--plan", "dup", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "duplicate 'Lead agency' (also lead; the first such column is used)" in result.stderr


def test_activity_and_an_unknown_header_import(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "foo.csv", "Activity,Foo\nMap the services,bar\n")
    result = cpflow("import", str(sheet), "--plan", "foo", "--by", "im")
    assert result.exit_code == 0, result.output
    assert plan_rows(db_url, "foo")["1"]["title"] == "Map the services"
    assert "columns not imported: Foo" in result.stderr


# --- statuses are dated facts --------------------------------------------------------------------


def test_a_status_is_one_imported_status_fact_dated_from_the_status_date_column(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "tracker.csv", (
        "Activity,Quarter,Status,Status date\n"
        "Map the services,Q1 2025,Ongoing,2025-03-15\n"
        "Train the focal points,Q2 2025,Not started,2025-03-15\n"
    ))  # fmt: skip
    result = cpflow("import", str(sheet), "--plan", "tr", "--by", "im")
    assert result.exit_code == 0, result.output
    assert 'statuses are dated: 2 from column "Status date"' in result.stderr
    (fact,) = events(db_url, kind="transition")
    assert (fact["trigger"], fact["from_state"], fact["to_state"], fact["at"].isoformat(), fact["actor"]) == (
        "import", "proposed", "in_progress", "2025-03-15", "im",
    )  # fmt: skip
    assert fact["reason"] == 'imported status "Ongoing" (tracker.csv, sheet "tracker", row 2)'
    assert listing(cpflow, "tr", "--as-of", "2025-03-14")["1"]["state"] == "proposed"  # not before the sheet said so
    assert listing(cpflow, "tr", "--as-of", "2025-03-15")["1"]["state"] == "in_progress"
    assert listing(cpflow, "tr")["1"]["state"] == "in_progress"
    assert cpflow("audit", "verify").exit_code == 0


def test_a_status_is_dated_from_the_title_rows_else_status_date_else_today(cpflow, db_url, tmp_path):
    titled = write_csv(
        tmp_path / "titled.csv", "CP work plan, updated 30 June 2025\n\nActivity,Quarter,Status\nMap,Q1 2025,Done\n"
    )
    result = cpflow("import", str(titled), "--plan", "ti", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "1 from the title rows (2025-06-30)" in result.stderr
    assert events(db_url, kind="transition")[-1]["at"].isoformat() == "2025-06-30"
    plain = write_csv(tmp_path / "plain.csv", "Activity,Quarter,Status\nMap,Q1 2025,Done\n")
    result = cpflow("import", str(plain), "--plan", "pl", "--by", "im", "--status-date", "2025-05-31")
    assert "1 from --status-date 2025-05-31" in result.stderr
    assert events(db_url, kind="transition")[-1]["at"].isoformat() == "2025-05-31"
    result = cpflow("import", str(plain), "--plan", "pl2", "--by", "im")
    assert "1 from today" in result.stderr


def test_a_cancelled_row_takes_its_reason_from_the_comments_or_is_refused(cpflow, db, db_url, tmp_path):
    sheet = write_csv(tmp_path / "c.csv", (
        "Activity,Quarter,Status,Comments\n"
        "Map the services,Q1 2025,Cancelled,Funding was withdrawn in March\n"
        "Train the focal points,Q1 2025,Cancelled,\n"
    ))  # fmt: skip
    before = snapshot(db_url)
    refused = cpflow("import", str(sheet), "--plan", "cx", "--by", "im", "--status-date", "2025-04-01")
    assert refused.exit_code == 2
    assert "row 3" in refused.stderr and "a reason for the cancellation in a Comments, Notes or Remarks cell" in refused.stderr
    assert snapshot(db_url) == before
    result = cpflow("import", str(sheet), "--plan", "cx", "--by", "im", "--status-date", "2025-04-01", "--keep-going")
    assert result.exit_code == 0, result.output
    (fact,) = events(db_url, kind="transition")
    assert fact["to_state"] == "dropped" and fact["reason"].endswith("row 2): Funding was withdrawn in March")


def test_a_status_never_overrules_a_move_recorded_by_hand(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "s.csv", "Code,Activity,Quarter,Status\nA,Map the services,Q1 2025,Agreed\n")
    assert cpflow("import", str(sheet), "--plan", "s", "--by", "im", "--status-date", "2025-02-01").exit_code == 0
    assert cpflow("move", "s:A", "start", "--by", "lead", "--at", "2025-02-10").exit_code == 0
    again = cpflow("import", str(sheet), "--plan", "s", "--by", "im", "--status-date", "2025-03-01")
    assert again.exit_code == 0, again.output
    assert "status was ignored for activities with recorded moves: A" in again.stderr
    assert listing(cpflow, "s")["A"]["state"] == "in_progress"


# --- idempotence and safety ----------------------------------------------------------------------


def test_the_same_sheet_twice_changes_nothing_with_mixed_quarters(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "m.csv", MIXED)
    args = ("import", str(sheet), "--plan", "m", "--by", "im", "--status-date", "2025-06-30")
    assert cpflow(*args).exit_code == 0
    before = snapshot(db_url)
    again = cpflow(*args)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("m: unchanged")
    assert "When(" not in again.output
    assert snapshot(db_url) == before


def test_no_message_prints_a_python_repr(cpflow, tmp_path):
    plan = write_csv(tmp_path / "two.csv", "Activity,Timeline\nFirst,Q1 2025\nSecond,Q1 2026\n")
    assert cpflow("import", str(plan), "--plan", "two", "--by", "im").exit_code == 0
    sheet = write_csv(tmp_path / "again.csv", "Activity,Timeline\nThird,Q1-Q2\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("year: 2024\n", encoding="utf-8")
    result = cpflow("import", str(sheet), "--plan", "two", "--by", "im", "--map", str(mapping))
    assert result.exit_code == 2
    assert "got 'Q1'; expected Q1 of which year? the plan has it in 2025, 2026" in result.stderr
    assert "When(" not in result.stderr and "[" not in result.stderr


def test_dry_run_says_what_would_change_and_writes_nothing(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "dry.csv", MIXED)
    assert cpflow("import", str(sheet), "--plan", "dry", "--by", "im", "--status-date", "2025-06-30").exit_code == 0
    changed = write_csv(tmp_path / "dry.csv", MIXED.replace("Run the review,Oct-Nov 2025,", "Run the review,Oct-Nov 2025,Done"))
    before = snapshot(db_url)
    result = cpflow("import", str(changed), "--plan", "dry", "--by", "im", "--status-date", "2025-12-01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dry run, nothing was written: dry: 1 status recorded")
    assert snapshot(db_url) == before


def test_a_sheet_titled_otherwise_may_not_add_several_objectives_without_merge(cpflow, db_url, mini_plan, tmp_path):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    sheet = write_csv(tmp_path / "other.csv", (
        "Health cluster plan 2024\n\nObjective,Activity,Start,Due\n"
        "8,Vaccinate,2024-01-01,2024-02-01\n9,Screen,2024-01-01,2024-02-01\n10,Refer,2024-01-01,2024-02-01\n"
    ))  # fmt: skip
    before = snapshot(db_url)
    refused = cpflow("import", str(sheet), "--plan", "mini", "--by", "im")
    assert refused.exit_code == 2
    assert 'would add 3 objectives (8, 9, 10) to plan mini ("Mini plan")' in refused.stderr and "--merge" in refused.stderr
    assert snapshot(db_url) == before
    merged = cpflow("import", str(sheet), "--plan", "mini", "--by", "im", "--merge")
    assert merged.exit_code == 0, merged.output
    assert merged.stdout.startswith("mini: 3 added")


def test_a_cell_of_bullet_lines_is_several_activities(cpflow, db_url, tmp_path):
    sheet = write_csv(
        tmp_path / "b.csv",
        'Objective,Activity\n1,"• Map the services\n• Train the focal points\n• Share the map"\n2,One action\n',
    )
    result = cpflow("import", str(sheet), "--plan", "b", "--by", "im")
    assert result.exit_code == 0, result.output
    assert [(c, r["title"]) for c, r in plan_rows(db_url, "b").items()] == [
        ("1.1", "Map the services"), ("1.2", "Train the focal points"), ("1.3", "Share the map"), ("2.1", "One action"),
    ]  # fmt: skip
    assert "read as one activity per line: row 2" in result.stderr


def test_rejects_file_writes_header_labels_as_inert_text(cpflow, tmp_path):
    hostile = '=HYPERLINK("http://evil.example","x")'
    sheet = tmp_path / "r.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Activity", "Due", hostile], ["Good", "2025-01-31", "a"], ["Bad", "2025-02-30", "b"]])
    result = cpflow("import", str(sheet), "--plan", "rj", "--by", "im", "--keep-going")
    assert result.exit_code == 0, result.output
    header = next(csv.reader((tmp_path / "r.rejects.csv").open(encoding="utf-8", newline="")))
    assert header[-1] == "'" + hostile


# --- bounds --------------------------------------------------------------------------------------


def test_a_workbook_whose_used_range_passes_the_row_limit_is_refused_before_it_is_expanded(cpflow, db, db_url, tmp_path):
    import xlsxwriter

    path = tmp_path / "tall.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Plan")
    sheet.write_row(0, 0, ["Activity", "Lead"])
    sheet.write(readers.MAX_ROWS + 5, 0, "far below")
    book.close()
    assert path.stat().st_size < 10_000  # small on disk; a million cells once expanded
    result = cpflow("import", str(path), "--plan", "tall", "--by", "im")
    assert result.exit_code == 2
    assert f"the limit is {readers.MAX_ROWS:,} rows" in result.stderr
    with session_for(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0


def test_expanded_size_and_columns_limits_are_named(cpflow, tmp_path, monkeypatch):
    import xlsxwriter

    path = tmp_path / "wide.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Plan").write_row(0, 0, ["Activity", *[f"C{i}" for i in range(readers.MAX_COLUMNS + 1)]])
    book.close()
    result = cpflow("import", str(path), "--plan", "wide", "--by", "im")
    assert result.exit_code == 2 and f"the limit is {readers.MAX_COLUMNS:,} columns" in result.stderr
    monkeypatch.setattr(readers, "MAX_EXPANDED_BYTES", 1_000)
    result = cpflow("import", str(path), "--plan", "wide", "--by", "im")
    assert result.exit_code == 2 and "expand to" in result.stderr and "the limit is 1,000" in result.stderr


def test_a_csv_past_the_row_limit_is_refused(cpflow, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    sheet = write_csv(tmp_path / "long.csv", "Activity\n" + "".join(f"Action {i}\n" for i in range(5)))
    result = cpflow("import", str(sheet), "--plan", "long", "--by", "im")
    assert result.exit_code == 2 and "6 rows; the limit is 3 rows" in result.stderr


def test_exported_plan_imports_back_unchanged(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "e.csv", MIXED)
    assert cpflow("import", str(sheet), "--plan", "e", "--by", "im", "--status-date", "2025-06-30").exit_code == 0
    out = tmp_path / "e-export.xlsx"
    assert cpflow("export", "e", "-o", str(out)).exit_code == 0
    before = snapshot(db_url)
    again = cpflow("import", str(out), "--plan", "e", "--by", "im", "--status-date", "2025-06-30")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("e: unchanged"), again.output
    assert snapshot(db_url) == before
