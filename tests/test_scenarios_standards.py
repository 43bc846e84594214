"""Step definitions for scenarios/standards.feature (issue 16): the IM officer's IATI, HXL,
IPTT and localisation journeys, through the CLI, checked with each standard's own tools."""

from __future__ import annotations

import datetime as dt
import json

import hxl
import pytest
from lxml import etree
from pytest_bdd import given, parsers, scenarios, then, when

from cpflow.exports.hxl import validate_hxl
from cpflow.exports.iati import SCHEMA, check
from tests.conftest import WORKFLOWS
from tests.test_hxl_import import HDX_3W
from tests.test_iptt import IPTT_PLAN, MEASURES
from tests.test_localisation import LOCAL_PLAN
from tests.test_report_iptt import _xlsx_rows

scenarios("standards.feature")

ALLIANCE = "alliance-2018-2020"
OFFICER = "Alliance IM officer"


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL (pytest-bdd asks for fixtures lazily)."""
    return db_url


@pytest.fixture
def journey():
    return {}


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def _load(cpflow, tmp_path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    ok(cpflow("load", str(path), "--by", OFFICER))


@given("the Alliance's 2018-2020 work plan is loaded")
def alliance_loaded(cpflow, tmp_path):
    _load(cpflow, tmp_path, ALLIANCE, (WORKFLOWS / f"{ALLIANCE}.yaml").read_text(encoding="utf-8"))


@when(parsers.parse("I export the work plan as IATI for the reporting organisation {ref}"))
def export_iati(cpflow, tmp_path, journey, ref):
    journey["xml"] = tmp_path / "alliance-iati.xml"
    journey["result"] = cpflow("export", ALLIANCE, "--format", "iati", "--reporting-org", ref, "-o", str(journey["xml"]))


@then("the file passes the official IATI 2.03 schema and the code-list checks")
def iati_valid(journey):
    ok(journey["result"])
    tree = etree.parse(str(journey["xml"]))
    assert etree.XMLSchema(etree.parse(str(SCHEMA))).validate(tree)
    assert check(journey["xml"].read_bytes(), dt.date.today()) == []


@then(parsers.parse("it holds the work plan as the parent activity and each of its {count:d} actions as a child"))
def iati_hierarchy(journey, count):
    activities = etree.parse(str(journey["xml"])).getroot().findall("iati-activity")
    assert [a.get("hierarchy") for a in activities] == ["1"] + ["2"] * count
    assert activities[0].findtext("iati-identifier") == f"XM-TEST-1-{ALLIANCE}"


@then(parsers.parse('the export is refused in one line that names the reporting organisation and the "{char}"'))
def iati_refused(journey, char):
    result = journey["result"]
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "reporting organisation" in line and "XM-DAC/47035" in line and char in line


@then("no IATI file is written")
def no_iati_file(journey):
    assert not journey["xml"].exists()
    assert not list(journey["xml"].parent.glob("*.xml*"))  # no temporary file left either


@when("I export the activities as a HXL 3W table")
def export_hxl(cpflow, tmp_path, journey):
    journey["csv"] = tmp_path / "alliance-3w.csv"
    ok(cpflow("export", ALLIANCE, "--format", "hxl", "-o", str(journey["csv"])))


@then("libhxl reads the table, one row per action, and it passes its HXL schema")
def hxl_reads(cpflow, journey):
    rows = list(hxl.data(str(journey["csv"]), hxl.InputOptions(allow_local=True)))
    actions = json.loads(ok(cpflow("activities", "--plan", ALLIANCE, "--format", "json")).stdout)
    assert [row.get("#activity+code") for row in rows] == [a["code"] for a in actions]
    assert validate_hxl(journey["csv"], "activities") == []
    journey["rows"] = {row.get("#activity+code"): row for row in rows}


@then(parsers.parse('the lead organisation of action {code} reads "{lead}"'))
def hxl_lead(journey, code, lead):
    assert journey["rows"][code].get("#org+lead") == lead


@given("a 3W sheet from HDX with a row of headers, a row of HXL hashtags and 3 activities")
def hdx_sheet(tmp_path, journey):
    journey["sheet"] = tmp_path / "iraq-3w.csv"
    journey["sheet"].write_text(HDX_3W, encoding="utf-8")


@when(parsers.parse("I import the sheet as the new plan {slug}"))
def import_sheet(cpflow, journey, slug):
    journey["slug"] = slug
    ok(cpflow("import", str(journey["sheet"]), "--plan", slug, "--by", OFFICER, "--status-date", "2024-07-15"))


@then(parsers.parse("the plan has the {count:d} activities, the hashtag row is not one of them"))
def imported_activities(cpflow, journey, count):
    actions = json.loads(ok(cpflow("activities", "--plan", journey["slug"], "--format", "json")).stdout)
    assert [a["code"] for a in actions] == ["CP-01", "CP-02", "CP-03"][:count]
    assert not any(a["title"].startswith("#") for a in actions)
    journey["actions"] = {a["code"]: a for a in actions}


@then(parsers.parse("activity {code} is led by {lead} with {partner}, in {country}, in progress, from {start} to {due}"))
def imported_fields(cpflow, journey, code, lead, partner, country, start, due):
    shown = json.loads(ok(cpflow("show", f"{journey['slug']}:{code}", "--format", "json")).stdout)
    activity = shown.get("activity", shown)
    assert (activity["lead"], activity["contributors"], activity["countries"]) == (lead, [partner], [country])
    assert (activity["state"], activity["start"], activity["due"]) == ("in_progress", start, due)


@given("a monitoring plan with quarterly targets and the measurements of the first half of 2024")
def monitoring_plan(cpflow, tmp_path):
    _load(cpflow, tmp_path, "m", IPTT_PLAN)
    for code, value, at, period in MEASURES:
        ok(cpflow("measure", f"m:{code}", value, "--at", at, "--by", OFFICER, *(("--period", period) if period else ())))


@when(parsers.parse("I build the indicator performance tracking table as of {as_of} in Excel"))
def build_iptt(cpflow, tmp_path, journey, as_of):
    out = tmp_path / "iptt.xlsx"
    ok(cpflow("report", "iptt", "--plan", "m", "--as-of", as_of, "-o", str(out)))
    journey["iptt"] = _xlsx_rows(out)


@then(
    parsers.parse("caseworkers trained in {period} shows {actual:d} against a target of {target:d}, {pct:d}% of target, on track")
)
def iptt_on_track(journey, period, actual, target, pct):
    got_target, got_actual, got_pct, _cumulative, status = journey["iptt"]["trained", period]
    assert (got_target, got_actual, round(got_pct * 100), status) == (target, actual, pct, "on track")


@then(parsers.parse("caseworkers trained in {period} shows {actual:d} against {target:d}, {to_date:d} to date, off track"))
def iptt_off_track(journey, period, actual, target, to_date):
    assert journey["iptt"]["trained", period] == (target, actual, actual / target, to_date, "off track")


@then(parsers.parse("caseworkers trained in {period}, not reported yet, is blank and not 0"))
def iptt_blank(journey, period):
    assert journey["iptt"]["trained", period][1:] == (None, None, None, "no data")


@given("a plan whose organisations say which are national or local actors")
def localisation_plan(cpflow, tmp_path):
    _load(cpflow, tmp_path, "loc", LOCAL_PLAN)


@when(parsers.parse("I build the progress report as of {as_of}"))
def progress_report(cpflow, journey, as_of):
    journey["report"] = json.loads(ok(cpflow("report", "progress", "--plan", "loc", "--as-of", as_of, "--format", "json")).stdout)


@then(parsers.parse("the report shows {share} of live activities led or co-led by national or local actors"))
def localisation_share(journey, share):
    figure = next(f for f in journey["report"]["figures"] if f["key"] == "localisation_share")
    assert f"{figure['value'] * 100:.1f}%" == share


@then(parsers.parse("it says {count:d} activity could not be classified"))
def unclassified(journey, count):
    figure = next(f for f in journey["report"]["figures"] if f["key"] == "localisation_share")
    assert f"{count} could not be classified" in figure["detail"]


@then(parsers.parse("it lists {name} as a national or local actor and why"))
def national_actor(journey, name):
    section = next(s for s in journey["report"]["sections"] if s["key"] == "national-local-actors")
    (row,) = [r for r in section["rows"] if r["name"] == name]
    assert row["why"] == "declared national or local (National NGO)"
