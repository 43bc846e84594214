"""Organisations and localisation (issue 16): `cpflow orgs`, rule C505 and the share of live
activities led or co-led by national or local actors, hand-counted on a small plan."""

from __future__ import annotations

import json

import pytest

from cpflow.rules.localisation import NATIONAL, UNCLASSIFIED, Organisations, classify

LOCAL_PLAN = """\
plan:
  slug: loc
  title: Localisation plan
  start: 2024-01-01
  end: 2025-12-31
organisations:
  - {name: Local NGO, acronym: LNGO, type: 22, national_or_local: true}
  - {name: International NGO, acronym: INGO, type: 21}
  - {name: UN Agency, acronym: UNA, type: 40, iati_id: XM-DAC-0001}
units:
  - {key: u1, name: Field unit, leads: [Local NGO]}
objectives:
  - code: O1
    title: First
    activities:
      - {code: a1, title: Co-led, lead: "LNGO and International NGO"}
      - {code: a2, title: International, lead: INGO}
      - {code: a3, title: Free text, lead: Somebody Else}
      - {code: a4, title: UN, lead: "UN Agency (UNA)"}
      - {code: a5, title: Dropped local, lead: Local NGO, state: dropped}
  - code: O2
    title: Second
    activities:
      - {code: b1, title: International, lead: INGO, contributors: [Partner X]}
      - {code: b2, title: UN, lead: UNA}
      - {code: b3, title: Unit-led, unit: u1}
"""
# Live (not dropped): a1 a2 a3 a4 b1 b2 b3 = 7; national/local-led: a1 (co-led), b3 (its unit's lead) = 2,
# so 2/7 = 28.6% overall; O1 1/4 = 25%; O2 1/3 = 33.3%; unit u1 1/1 = 100%; a3 is unclassified.


@pytest.fixture
def loc(cpflow, tmp_path):
    path = tmp_path / "loc.yaml"
    path.write_text(LOCAL_PLAN, encoding="utf-8")
    result = cpflow("load", str(path), "--by", "test")
    assert result.exit_code == 0, result.output
    return cpflow


def _c505(cpflow, *extra):
    result = cpflow("check", "--plan", "loc", "--select", "C505", "--as-of", "2024-06-01", "--format", "json", *extra)
    assert result.exit_code in (0, 1), result.output
    return {f["subject"]: f for f in json.loads(result.stdout)["findings"]}


def test_a_lead_is_matched_by_name_acronym_or_name_with_acronym_and_split_on_and():
    orgs = Organisations.of({"standards": {"organisations": [
        {"name": "Local NGO", "acronym": "LNGO", "national_or_local": True}, {"name": "Ministry of Health and Welfare"}]}})  # fmt: skip
    assert orgs.split("LNGO and Somebody") == ["LNGO", "Somebody"]
    assert orgs.split("Ministry of Health and Welfare") == ["Ministry of Health and Welfare"]  # a declared name is not split
    assert orgs.find("local ngo (LNGO)")["name"] == "Local NGO"
    assert classify(["Somebody", "LNGO"], orgs) == (NATIONAL, ["Local NGO"])
    assert classify([], orgs) == (UNCLASSIFIED, [])


def test_c505_is_silent_at_the_default_25_percent(loc):
    assert _c505(loc) == {}  # 28.6% overall, O1 exactly 25% (not below), O2 33.3%


def test_c505_names_a_plan_below_the_threshold_once_with_its_objectives_below_and_the_unclassified_count(loc):
    found = _c505(loc, "--set", "C505.threshold=30")
    assert set(found) == {"loc"}  # one finding per gap: O1 (25%) is named in the plan's, not reported apart
    assert found["loc"]["message"] == (
        "loc: 2 of 7 live activities (28.6%) are led or co-led by national or local actors, below 30%; "
        "1 could not be classified; 1 objective below too (O1)"
    )
    assert found["loc"]["data"]["below"] == ["objective O1"]


def test_c505_names_each_objective_below_the_threshold_in_a_plan_that_meets_it(loc):
    found = _c505(loc, "--set", "C505.threshold=26")  # the plan 28.6%, O1 25%, O2 33.3%
    assert set(found) == {"loc:O1"}
    assert found["loc:O1"]["data"]["share"] == 25.0 and found["loc:O1"]["data"]["live"] == 4
    assert found["loc:O1"]["message"].startswith("loc:O1 (objective O1): 1 of 4 live activities (25%)")


def test_c505_reports_the_alliance_once_not_once_per_objective_and_unit(seeded):
    """The Alliance's leads are its global working groups and task forces: 0% everywhere is
    one gap, not 50 findings."""
    result = seeded("check", "--plan", "alliance-2018-2020", "--select", "C505", "--format", "json")
    found = json.loads(result.stdout)["findings"]
    assert [f["subject"] for f in found] == ["alliance-2018-2020"], result.output
    assert "objectives below too" in found[0]["message"] and "units below too" in found[0]["message"]


def test_c505_judges_only_plans_that_declare_organisations(seeded):
    result = seeded("check", "--plan", "cpms-wg-2022-2025", "--select", "C505", "--format", "json", "--set", "C505.threshold=100")
    assert json.loads(result.stdout)["findings"] == [], result.output


def test_orgs_lists_declared_organisations_and_the_names_that_declare_none(loc):
    result = loc("orgs", "--plan", "loc", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["Local NGO"]["declared"] and rows["Local NGO"]["national_or_local"] and rows["Local NGO"]["used"] == 3
    assert rows["UN Agency"]["type_name"] == "Multilateral"
    assert not rows["Somebody Else"]["declared"] and rows["Somebody Else"]["where"] == "lead of a3"
    assert not rows["Partner X"]["declared"] and rows["Partner X"]["where"] == "contributor to b1"


def test_orgs_on_an_unknown_plan_is_one_line_and_exit_2(loc):
    result = loc("orgs", "--plan", "nope")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("  - {name: Local NGO}\n  - {name: local ngo}\n", "already names organisations[0]"),
        ("  - {name: X, iati_id: 'GB/1'}\n", "may not contain / & | ?"),
        ("  - {name: X, type: 99}\n", "organisations[0].type"),
    ],
)
def test_bad_organisations_are_refused_with_their_path(cpflow, tmp_path, snippet, message):
    path = tmp_path / "bad.yaml"
    path.write_text("plan: {slug: bad, title: Bad, start: 2024-01-01, end: 2024-12-31}\norganisations:\n" + snippet)
    result = cpflow("load", str(path), "--by", "test")
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_the_alliance_declares_its_lead_agencies(seeded):
    rows = json.loads(seeded("orgs", "--plan", "alliance-2018-2020", "--format", "json").stdout)
    declared = {row["name"] for row in rows if row["declared"]}
    assert {
        "Save the Children",
        "UNICEF",
        "Terre des hommes",
        "International Rescue Committee",
        "CPC Learning Network",
    } <= declared
    leads = [row for row in rows if "lead of" in row["where"] and not row["declared"]]
    assert leads == [], [row["name"] for row in leads]
