"""Step definitions for scenarios/reports.feature."""

import json
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from conftest import WORKFLOWS
from pytest_bdd import given, parsers, scenarios, then, when

from cpflow.reports.model import rag_colour

scenarios("reports.feature")

PLAN = "cpms-wg-2022-2025"
LEAD = "CPMS WG co-lead"
# (action, trigger, date, reason)
PROGRESS = (
    ("1.1", "endorse", "2022-05-12", None), ("1.1", "start", "2022-06-01", None), ("1.1", "complete", "2023-03-31", None),
    ("1.2", "endorse", "2022-05-12", None), ("1.2", "start", "2022-07-01", None), ("1.2", "complete", "2023-09-30", None),
    ("6.4", "endorse", "2022-11-30", None), ("6.4", "start", "2023-01-10", None), ("6.4", "complete", "2023-05-31", None),
    ("2.1", "endorse", "2022-11-30", None), ("2.1", "start", "2023-05-01", None),
    ("3.5", "drop", "2023-08-15", "Folded into 3.2 by the co-leads"),
)  # fmt: skip


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL (pytest-bdd asks for fixtures lazily)."""
    return db_url


@pytest.fixture
def review():
    return {}


def ok(result):
    assert result.exit_code == 0, result.output
    return result


@given("the CPMS Working Group's 2022-2025 framework is loaded")
def framework_loaded(cpflow, tmp_path, review):
    review["plan_file"] = tmp_path / f"{PLAN}.yaml"
    review["plan_file"].write_text((WORKFLOWS / f"{PLAN}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    ok(cpflow("load", str(review["plan_file"]), "--by", LEAD))


@given("the co-lead has recorded the working group's progress up to the end of 2023")
def progress_recorded(cpflow):
    for code, trigger, at, reason in PROGRESS:
        ok(cpflow("move", f"{PLAN}:{code}", trigger, "--by", LEAD, "--at", at, "--ref", "minutes",
                  *(("--reason", reason) if reason else ())))  # fmt: skip


@when(parsers.parse("the reviewer builds the progress report for the framework as of {as_of}"))
def progress_report(cpflow, tmp_path, review, as_of):
    review["json"] = json.loads(ok(cpflow("report", "progress", "--plan", PLAN, "--as-of", as_of, "--format", "json")).stdout)
    review["xlsx"] = tmp_path / "progress.xlsx"
    ok(cpflow("report", "progress", "--plan", PLAN, "--as-of", as_of, "-o", str(review["xlsx"])))


@then(parsers.parse("the report shows {done:d} of {live:d} live Years 1-2 actions completed, {rate}"))
def completion_rate(review, done, live, rate):
    figure = next(f for f in review["json"]["figures"] if f["key"] == "completed_pct_years-1-2")
    assert figure["label"] == "% of Years 1-2 actions completed"
    assert figure["detail"].startswith(f"{done} of {live} live")
    assert f"{figure['value'] * 100:.1f}%" == rate


@then("the Summary sheet of the Excel report shows the same rate")
def summary_rate(review):
    book = openpyxl.load_workbook(review["xlsx"])
    assert book.sheetnames[0] == "Summary"
    values = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    figure = next(f for f in review["json"]["figures"] if f["key"] == "completed_pct_years-1-2")
    assert values["% of Years 1-2 actions completed"] == pytest.approx(figure["value"])


def _section(review, key):
    return next(s for s in review["json"]["sections"] if s["key"] == key)["rows"]


@then("no action due by then and not completed shows as on track")
def nothing_due_is_on_track(review):
    as_of = review["json"]["as_of"]
    rows = [r for r in _section(review, "activities") if r["due"] and r["due"] <= as_of]
    open_rows = [r for r in rows if r["state"] not in ("completed", "dropped")]
    assert open_rows and all(r["status"] in ("due now", "overdue") for r in open_rows)
    review["open"] = {r["id"] for r in open_rows}


@then(parsers.parse("the report says {left:d} of {live:d} live Years 1-2 actions were not completed by the end of the phase"))
def not_completed_headline(review, left, live):
    figure = next(f for f in review["json"]["figures"] if f["key"] == "not_completed_years-1-2")
    assert figure["label"] == "Years 1-2 actions not completed by the end of the phase"
    assert figure["value"] == left and figure["detail"].startswith(f"{left} of {live} live")


@then("the actions still open on their due date are listed as due now, in amber")
def due_now_in_amber(cpflow, review):
    due_now = {r["id"] for r in _section(review, "due-now")}
    assert due_now and due_now <= review["open"]
    page = ok(cpflow("report", "progress", "--plan", PLAN, "--as-of", review["json"]["as_of"], "--format", "html")).stdout
    assert page.count('<td class="status rag-amber">due now</td>') >= 2 * len(due_now)  # the list and the full table
    review["due_now"] = due_now


@then("the same actions are overdue, in red")
def overdue_in_red(review):
    overdue = {r["id"]: r for r in _section(review, "overdue")}
    assert review["due_now"] <= set(overdue) and all(overdue[i]["days_late"] == 1 for i in review["due_now"])
    assert next(f for f in review["json"]["figures"] if f["key"] == "overdue")["value"] >= len(review["due_now"])
    columns = next(s for s in review["json"]["sections"] if s["key"] == "overdue")["columns"]
    assert next(c for c in columns if c["key"] == "status")["rag"] == "status"
    assert {rag_colour("status", overdue[i]["status"]) for i in review["due_now"]} == {"red"}


@when(parsers.parse("the reviewer builds the progress report as of {as_of} since the review of {since}"))
def progress_since(cpflow, review, as_of, since):
    args = ("report", "progress", "--plan", PLAN, "--as-of", as_of, "--since", since, "--format", "json")
    review["json"] = json.loads(ok(cpflow(*args)).stdout)
    review["sections"] = {s["key"]: s["rows"] for s in review["json"]["sections"]}


@then(parsers.parse("the change log lists the moves of actions {first} and {second}, with who and why"))
def change_log_moves(review, first, second):
    moves = review["sections"]["changes-moves"]
    assert [m["activity"] for m in moves] == [f"{PLAN}:{first}", f"{PLAN}:{second}"]
    assert {m["actor"] for m in moves} == {LEAD}
    assert moves[0]["reason"] == "Folded into 3.2 by the co-leads" and moves[1]["trigger"] == "complete"


@then(parsers.parse("no move dated on or before {since} is in the change log"))
def nothing_before(review, since):
    assert all(m["at"] > since for m in review["sections"]["changes-moves"])


@then(
    parsers.parse(
        "the change log shows the stale finding on action {appeared} appeared and the one on action {resolved} was resolved"
    )
)
def findings_changed(review, appeared, resolved):
    new = {(f["code"], f["subject"]) for f in review["sections"]["changes-findings-new"]}
    gone = {(f["code"], f["subject"]) for f in review["sections"]["changes-findings-resolved"]}
    assert ("T103", f"{PLAN}:{appeared}") in new
    assert ("T103", f"{PLAN}:{resolved}") in gone


def build_pack(cpflow, folder):
    ok(cpflow("report", "pack", "--plan", PLAN, "--as-of", "2023-12-31", "-o", str(folder)))
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@given("the reviewer has built the review pack as of 2023-12-31")
def first_pack(cpflow, tmp_path, review):
    review["before"] = build_pack(cpflow, tmp_path / "before")


@when(parsers.parse("the co-lead records that action {code} was completed on {at}"))
def later_move(cpflow, code, at):
    ok(cpflow("move", f"{PLAN}:{code}", "complete", "--by", LEAD, "--at", at))


@when("the reviewer builds the review pack as of 2023-12-31 again")
def second_pack(cpflow, tmp_path, review):
    review["after"] = build_pack(cpflow, tmp_path / "after")


@then("every report in the two packs is byte-identical")
def same_reports(review):
    names = ("progress.xlsx", "compliance.xlsx", "report.html", "report.md", "findings.json")
    assert sorted(review["before"]) == sorted(review["after"]) == sorted((*names, "manifest.json"))
    for name in names:
        assert review["before"][name] == review["after"][name], name


@then("the manifests differ only in the event-log data they were built from")
def manifests_differ(review):
    before, after = (json.loads(review[k]["manifest.json"]) for k in ("before", "after"))
    assert before["data"] != after["data"] and after["data"]["events"] == before["data"]["events"] + 1
    assert {k: v for k, v in before.items() if k != "data"} == {k: v for k, v in after.items() if k != "data"}


@given(parsers.parse("the plan file gives action {code} the title {title}"))
def malicious_title(cpflow, review, code, title):
    path = review["plan_file"]
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf'(- code: "{re.escape(code)}"\n\s+title: )"[^\n]*"')
    text, count = pattern.subn(lambda m: m.group(1) + json.dumps(title), text)
    assert count == 1
    path.write_text(text, encoding="utf-8")
    ok(cpflow("load", str(path), "--by", LEAD))
    review["title"] = title


@when("the reviewer builds the review pack as of 2023-12-31")
def pack_for_title(cpflow, tmp_path, review):
    build_pack(cpflow, tmp_path / "pack")
    review["pack"] = tmp_path / "pack"


@then("the title is a plain text cell in both workbooks, never a formula")
def title_is_text(review):
    found = 0
    for name in ("progress.xlsx", "compliance.xlsx"):
        book = openpyxl.load_workbook(review["pack"] / name)
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, ws.title, cell.coordinate)
                    found += cell.value == review["title"]
    assert found >= 1


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


@then("the HTML report shows the title as text and holds no script")
def html_safe(review):
    page = _Page()
    page.feed((review["pack"] / "report.html").read_text(encoding="utf-8"))
    assert review["title"] in "".join(page.text)
    assert "script" not in page.tags
