"""IATI 2.03 export (issue 16): every seed's file passes the official schema shipped in the
package and the code-list checks; figures and statuses match the database; a broken file
is refused naming the problem, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from cpflow.exports.iati import SCHEMA, check, codelist
from tests.conftest import WORKFLOWS

SEEDS = sorted(p.stem for p in WORKFLOWS.glob("*.yaml"))
TODAY = dt.date.today()


def _export(cpflow, tmp_path, slug, *extra):
    out = tmp_path / f"{slug}.xml"
    result = cpflow("export", slug, "--format", "iati", "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out, etree.parse(str(out))


@pytest.mark.parametrize("slug", SEEDS)
def test_each_seed_exports_a_file_the_official_schema_and_code_lists_accept(seeded, tmp_path, slug):
    out, tree = _export(seeded, tmp_path, slug, "--reporting-org", "XM-TEST-1")
    assert etree.XMLSchema(etree.parse(str(SCHEMA))).validate(tree)
    assert check(out.read_bytes(), TODAY) == []
    activities = tree.getroot().findall("iati-activity")
    parent, children = activities[0], activities[1:]
    assert parent.get("hierarchy") == "1" and children and all(c.get("hierarchy") == "2" for c in children)
    parent_id = parent.findtext("iati-identifier")
    assert parent_id == f"XM-TEST-1-{slug}"
    assert {r.get("ref") for r in parent.iterfind("related-activity")} == {c.findtext("iati-identifier") for c in children}
    assert all(c.find("related-activity[@type='1']").get("ref") == parent_id for c in children)
    for status in tree.iter("activity-status"):
        assert status.get("code") in codelist("ActivityStatus")


def test_the_alliance_2018_budget_and_received_funds_are_the_databases(seeded, db_url, tmp_path):
    from sqlalchemy import func, select

    from cpflow.models import BudgetLine, Plan
    from tests.conftest import session_for

    _out, tree = _export(seeded, tmp_path, "alliance-2018-2020", "--reporting-org", "XM-TEST-1")
    parent = tree.getroot().find("iati-activity")
    budgets = parent.findall("budget")
    assert [(b.find("period-start").get("iso-date"), b.find("period-end").get("iso-date")) for b in budgets] == [
        ("2018-01-01", "2018-12-31")
    ]  # the 2018-2020 line is three years long: not an IATI budget, left out with a note
    with session_for(db_url) as session:
        totals = session.execute(
            select(func.sum(BudgetLine.budget_minor), func.sum(BudgetLine.received_minor))
            .join(Plan, Plan.id == BudgetLine.plan_id)
            .where(Plan.slug == "alliance-2018-2020", BudgetLine.period == "2018")
        ).one()  # fmt: skip
    assert budgets[0].find("value").text == f"{totals[0] / 100:.2f}" == "3750272.00"
    received = parent.find("transaction")
    assert received.find("transaction-type").get("code") == "1"  # Incoming Funds
    assert received.find("value").text == f"{totals[1] / 100:.2f}" == "1098622.00"
    assert received.find("value").get("value-date") == "2018-12-31"


def test_cpms_statuses_and_actual_dates_follow_the_recorded_moves(seeded, tmp_path):
    for code, trigger, at in (("1.1", "endorse", "2022-02-01"), ("1.1", "start", "2022-03-01"), ("1.1", "complete", "2023-06-30"),
                              ("1.2", "endorse", "2022-02-01"), ("1.2", "start", "2022-04-15"),
                              ("1.3", "drop", "2022-05-01")):  # fmt: skip
        extra = ("--reason", "merged into 1.2") if trigger == "drop" else ()
        result = seeded("move", f"cpms-wg-2022-2025:{code}", trigger, "--at", at, "--by", "test", *extra)
        assert result.exit_code == 0, result.output
    _out, tree = _export(seeded, tmp_path, "cpms-wg-2022-2025", "--reporting-org", "XM-TEST-1")
    by_id = {a.findtext("iati-identifier"): a for a in tree.getroot().iterfind("iati-activity")}

    def facts(code):
        a = by_id[f"XM-TEST-1-cpms-wg-2022-2025-{code}"]
        return a.find("activity-status").get("code"), {d.get("type"): d.get("iso-date") for d in a.iterfind("activity-date")}

    status, days = facts("1.1")
    assert status == "3" and days["2"] == "2022-03-01" and days["4"] == "2023-06-30"  # completed: finalisation
    status, days = facts("1.2")
    assert status == "2" and days["2"] == "2022-04-15" and "4" not in days  # in progress: implementation
    status, days = facts("1.3")
    assert status == "5" and "2" not in days and days["4"] == "2022-05-01"  # dropped: cancelled
    assert days["1"] <= days["3"]


def test_export_without_a_reporting_org_is_refused_and_writes_nothing(seeded, tmp_path):
    out = tmp_path / "x.xml"
    result = seeded("export", "cp-swg-2025", "--format", "iati", "-o", str(out))
    assert result.exit_code == 2 and "reporting organisation" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_the_plan_files_iati_section_gives_the_reporting_org_and_prefix(cpflow, tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "plan: {slug: p, title: P, start: 2024-01-01, end: 2024-12-31, iati: {reporting_org: XM-DAC-41122, prefix: XM-DAC-41122-CP}}\n"
        "organisations:\n  - {name: UNICEF, iati_id: XM-DAC-41122, type: 40}\n"
        "activities:\n  - {code: a1, title: One, lead: UNICEF}\n"
    )
    assert cpflow("load", str(plan), "--by", "t").exit_code == 0
    _out, tree = _export(cpflow, tmp_path, "p")
    first = tree.getroot().find("iati-activity")
    assert first.findtext("iati-identifier") == "XM-DAC-41122-CP-p"
    assert first.find("reporting-org").get("type") == "40" and first.findtext("reporting-org/narrative") == "UNICEF"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda a: a.insert(0, a.find("activity-status")), "Element 'activity-status': This element is not expected"),
        (lambda a: a.find("budget/value").attrib.pop("value-date"), "The attribute 'value-date' is required"),
        (lambda a: a.find("activity-status").set("code", "9"), "'9'> is not in the IATI ActivityStatus code list"),
        (
            lambda a: a.find("activity-date[@type='2']").set("iso-date", (TODAY + dt.timedelta(days=3)).isoformat()),
            "is in the future",
        ),
        (lambda a: a.find("activity-date[@type='1']").set("iso-date", "2030-01-01"), "is after planned end"),
        (lambda a: a.find("budget/period-end").set("iso-date", "2019-06-30"), "is not within one year"),
        (lambda a: a.find("sector").set("code", "XYZ"), "is not an IASC global cluster"),
    ],
)
def test_a_broken_file_is_refused_naming_the_problem(seeded, tmp_path, breakage, expected):
    out, tree = _export(seeded, tmp_path, "alliance-2018-2020", "--reporting-org", "XM-TEST-1")
    breakage(tree.getroot().find("iati-activity"))
    problems = check(etree.tostring(tree), TODAY)
    assert problems and expected in problems[0], problems
    assert problems[0].startswith("XM-TEST-1-alliance-2018-2020") or "line" in problems[0]


def test_an_identifier_with_a_slash_is_refused(cpflow, tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text("plan: {slug: p, title: P, start: 2024-01-01, end: 2024-12-31}\nactivities:\n  - {code: a/1, title: One}\n")
    assert cpflow("load", str(plan), "--by", "t").exit_code == 0
    result = cpflow("export", "p", "--format", "iati", "--reporting-org", "XM-TEST-1", "-o", str(tmp_path / "p.xml"))
    assert result.exit_code == 2 and "p:a/1" in result.stderr and not (tmp_path / "p.xml").exists(), result.output
