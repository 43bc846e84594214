"""The review loop in reports and rules (issue 14): rule G405 flags a submission pending too
long, and the progress report shows "Updates in the period" (who submitted, who approved,
how long it waited) and "Pending review" (oldest first) in every format; the moves since
the last review name the approver. On real databases, both backends."""

from __future__ import annotations

import csv
import datetime as dt
import json

import openpyxl
import pytest
from conftest import backdate, session_for

from cpflow.models import Submission

TODAY = dt.date.today()


def submit(cpflow, *args) -> int:
    result = cpflow("submit", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["id"]


@pytest.fixture
def queue(team, db_url):
    """mo's endorse of 1.1 waited 20 days and lea approved it; mo's endorse of 1.2 has waited 30 days,
    col's endorse of 1.3 3 days (both pending)."""
    first = submit(team, "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--comment", "May meeting")
    backdate(db_url, first, 20)
    assert team("review", "approve", str(first), "--by", "lea").exit_code == 0
    second = submit(team, "mini:1.2", "endorse", "--by", "mo", "--at", "2022-06-01", "--comment", "=cmd|' /C calc'!A0")
    backdate(db_url, second, 30)
    third = submit(team, "mini:1.3", "endorse", "--by", "col", "--at", "2022-06-02")
    backdate(db_url, third, 3)
    return team, (first, second, third)


def check_json(cpflow, *args):
    result = cpflow("check", "--plan", "mini", "--select", "G405", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return data["findings"] if isinstance(data, dict) else data


def test_g405_flags_a_submission_pending_longer_than_14_days(queue):
    cpflow, (_, second, _) = queue
    (finding,) = check_json(cpflow)
    assert finding["code"] == "G405" and finding["subject"] == "mini:1.2" and finding["severity"] == "warning"
    assert finding["message"].startswith(f"submission {second} (endorse of mini:1.2 by mo) has waited 30 days for review")
    assert finding["data"]["days"] == 30 and finding["data"]["submitted_by"] == "mo"


def test_g405_days_is_a_setting_and_an_approved_or_returned_submission_is_not_flagged(queue):
    cpflow, (_, second, third) = queue
    assert [f["subject"] for f in check_json(cpflow, "--set", "G405.days=2")] == ["mini:1.2", "mini:1.3"]
    assert check_json(cpflow, "--set", "G405.days=30") == []
    assert cpflow("review", "return", str(second), "--by", "lea", "--comment", "attach the minutes").exit_code == 0
    assert [f["subject"] for f in check_json(cpflow, "--set", "G405.days=2")] == ["mini:1.3"]
    bad = cpflow("check", "--plan", "mini", "--set", "G405.days=0")
    assert bad.exit_code == 2 and "G405.days" in bad.stderr


def test_g405_on_a_date_before_the_submission_sees_nothing(queue):
    cpflow, _ = queue
    before = (TODAY - dt.timedelta(days=40)).isoformat()
    assert check_json(cpflow, "--as-of", before) == []


def report_json(cpflow, *args) -> dict:
    result = cpflow("report", "progress", "--plan", "mini", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return data


def test_progress_report_shows_who_submitted_who_approved_and_how_long_it_waited(queue):
    cpflow, (_, second, third) = queue
    data = report_json(cpflow)
    sections = {s["key"]: s for s in data["sections"]}
    (update_row,) = sections["updates"]["rows"]
    assert (update_row["activity"], update_row["update"], update_row["submitted_by"], update_row["approved_by"]) == (
        "mini:1.1", "endorse", "mo", "lea",
    )  # fmt: skip
    assert update_row["waited_days"] == 20 and update_row["at"] == "2022-05-12"
    assert update_row["approved_on"] == TODAY.isoformat()
    pending = sections["pending-review"]["rows"]
    assert [(r["submission"], r["activity"], r["waiting_days"]) for r in pending] == [
        (second, "mini:1.2", 30), (third, "mini:1.3", 3),
    ]  # fmt: skip
    figures = {f["key"]: f for f in data["figures"]}
    assert figures["pending_review"]["value"] == 2 and figures["pending_review"]["detail"] == "oldest waiting 30 days"
    assert figures["updates_approved"]["value"] == 1
    keys = [s["key"] for s in data["sections"]]
    assert keys.index("updates") < keys.index("pending-review") < keys.index("activities")


def test_moves_since_the_last_review_name_the_submitter_and_the_approver(queue):
    cpflow, _ = queue
    assert cpflow("move", "mini:1.1", "start", "--by", "lea", "--at", "2022-07-01").exit_code == 0
    sections = {s["key"]: s for s in report_json(cpflow, "--since", "2022-01-01")["sections"]}
    moves = [(m["activity"], m["trigger"], m["actor"], m["approved_by"]) for m in sections["changes-moves"]["rows"]]
    assert moves == [("mini:1.1", "endorse", "mo", "lea"), ("mini:1.1", "start", "lea", None)]


def test_a_report_as_of_a_date_before_any_submission_has_no_team_sections(queue):
    cpflow, _ = queue
    data = report_json(cpflow, "--as-of", (TODAY - dt.timedelta(days=40)).isoformat())
    keys = {s["key"] for s in data["sections"]}
    assert not keys & {"updates", "pending-review"}
    assert not {f["key"] for f in data["figures"]} & {"pending_review", "updates_approved"}


def test_on_the_day_before_the_approval_the_update_was_still_pending(queue, db_url):
    cpflow, (first, second, third) = queue
    with session_for(db_url) as session:
        approved = session.get(Submission, first)
        assert approved.status == "approved"
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    sections = {s["key"]: s for s in report_json(cpflow, "--as-of", yesterday)["sections"]}
    assert sections["updates"]["rows"] == []
    assert [r["submission"] for r in sections["pending-review"]["rows"]] == [second, first, third]


def test_the_team_sections_are_in_every_format_and_user_text_stays_text(queue, tmp_path):
    cpflow, _ = queue
    book_path = tmp_path / "progress.xlsx"
    assert cpflow("report", "progress", "--plan", "mini", "--format", "xlsx", "-o", str(book_path)).exit_code == 0
    book = openpyxl.load_workbook(book_path)
    assert {"Updates in the period", "Pending review"} <= set(book.sheetnames)
    rows = [[c.value for c in row] for row in book["Pending review"].iter_rows()]
    header = next(r for r in rows if "Submitted by" in r)
    assert "Waiting (days)" in header
    assert any("=cmd|' /C calc'!A0" in r for r in rows)  # stored as text, never a formula
    assert all(c.data_type != "f" for row in book["Pending review"].iter_rows() for c in row)

    html = cpflow("report", "progress", "--plan", "mini", "--format", "html")
    assert html.exit_code == 0 and "Updates in the period" in html.stdout and "Pending review" in html.stdout
    md = cpflow("report", "progress", "--plan", "mini", "--format", "md")
    assert md.exit_code == 0 and "\n## Updates in the period\n" in md.stdout and "\n## Pending review\n" in md.stdout

    out = tmp_path / "csv"
    assert cpflow("report", "progress", "--plan", "mini", "--format", "csv", "-o", str(out)).exit_code == 0
    with open(out / "pending-review.csv", newline="", encoding="utf-8") as handle:
        pending = list(csv.DictReader(handle))
    assert [r["activity"] for r in pending] == ["mini:1.2", "mini:1.3"]
    with open(out / "updates.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["submitted_by"], row["approved_by"], row["waited_days"]) == ("mo", "lea", "20")


def test_a_single_operator_report_has_no_team_sections(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "setup").exit_code == 0
    data = report_json(cpflow)
    assert not {s["key"] for s in data["sections"]} & {"updates", "pending-review"}


def test_the_submissions_frame_is_as_of_the_date_and_subset_keeps_each_plans_own(queue, db_url, tmp_path):
    from conftest import MINI_PLAN

    from cpflow.read.frames import load_frames

    cpflow, (first, second, third) = queue
    other = tmp_path / "other.yaml"
    other.write_text(MINI_PLAN.replace("slug: mini", "slug: other"), encoding="utf-8")
    assert cpflow("load", str(other), "--by", "admin").exit_code == 0
    assert cpflow("users", "grant", "mo", "member", "--plan", "other", "--by", "admin").exit_code == 0
    elsewhere = submit(cpflow, "other:1.1", "endorse", "--by", "mo", "--at", "2022-05-12")
    with session_for(db_url) as session:
        frames = load_frames(session, as_of=TODAY)
        earlier = load_frames(session, as_of=TODAY - dt.timedelta(days=25))
    queue_now = frames.submissions.set_index("submission")
    assert queue_now.loc[[first, second, third, elsewhere], "status"].tolist() == ["approved", "pending", "pending", "pending"]
    assert queue_now.loc[first, "decided_by"] == "lea" and queue_now.loc[elsewhere, "activity"] == "other:1.1"
    assert frames.subset(["mini"]).submissions["submission"].tolist() == [first, second, third]
    assert frames.subset(["other"]).submissions["submission"].tolist() == [elsewhere]
    # 25 days ago only the 30-day-old submission existed, pending.
    assert earlier.submissions[["submission", "status"]].values.tolist() == [[second, "pending"]]


def test_a_submission_returned_and_revised_today_was_still_pending_yesterday(team, db_url):
    sub = submit(team, "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12")
    backdate(db_url, sub, 10)
    assert team("review", "return", str(sub), "--by", "lea", "--comment", "attach the minutes").exit_code == 0
    assert team("review", "resubmit", str(sub), "--by", "mo", "--ref", "minutes.pdf").exit_code == 0
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    then = {s["key"]: s for s in report_json(team, "--as-of", yesterday)["sections"]}
    assert [(r["submission"], r["waiting_days"]) for r in then["pending-review"]["rows"]] == [(sub, 9)]
    now = {s["key"]: s for s in report_json(team)["sections"]}
    assert [(r["submission"], r["waiting_days"]) for r in now["pending-review"]["rows"]] == [(sub, 0)]
