"""Step definitions for scenarios/rules.feature."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import WORKFLOWS
from pytest_bdd import given, parsers, scenarios, then, when
from test_plugins_entrypoint import install_dist_info

scenarios("rules.feature")

CPMS = "cpms-wg-2022-2025"
ALLIANCE = "alliance-2018-2020"
LEAD = "CPMS WG co-lead"

HEALTH_PLAN = """\
plan: {slug: hp, title: Health sector actions, start: 2024-01-01, end: 2025-12-31, sectors: [health]}
activities:
  - {code: "1", title: Vaccination outreach with child-protection messages, sectors: [health]}
  - {code: "2", title: Clinic referral pathway, sectors: [health], lead: WHO}
"""

CRASHY = """\
from cpflow.plugins import hookimpl
from cpflow.rules import Rule


class Fragile(Rule):
    code = "Z901"
    title = "A rule with a bug"
    description = "Divides by the number of budget lines, which is zero in the CPMS framework."

    def check(self, ctx):
        return 1 / len(ctx.budgets)


@hookimpl
def register_rules(register):
    register(Fragile())
"""


@pytest.fixture(autouse=True)
def backend(db_url):
    """Run every journey on SQLite and PostgreSQL."""
    return db_url


@pytest.fixture
def outcome():
    return {"site": []}


def phase_codes(phase: str) -> set[str]:
    spec = yaml.safe_load((WORKFLOWS / f"{CPMS}.yaml").read_text(encoding="utf-8"))
    nested = [a for objective in spec["objectives"] for a in objective.get("activities", [])]
    return {f"{CPMS}:{a['code']}" for a in nested + spec.get("activities", []) if a.get("phase") == phase}


def cpflow_with_plugins(outcome, db_url, tmp_path, *args):
    """Run cpflow in a fresh process that sees the installed plugins (as after pip install)."""
    env = {**os.environ, "CPFLOW_DB": db_url, "CPFLOW_USER": "author",
           "PYTHONPATH": os.pathsep.join(map(str, outcome["site"]))}  # fmt: skip
    env.pop("CPFLOW_PLUGINS", None)
    return subprocess.run([sys.executable, "-m", "cpflow", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=300)  # fmt: skip


def exit_code(result):
    """The exit code of an in-process run (conftest.Result) or of a subprocess."""
    return result.exit_code if hasattr(result, "exit_code") else result.returncode


def check(outcome, *args):
    result = outcome["check"] = outcome["run"]("check", *args, "--format", "json")
    assert exit_code(result) in (0, 1), result.stdout + result.stderr
    outcome["findings"] = json.loads(result.stdout)["findings"]
    return outcome["findings"]


# --- given -------------------------------------------------------------------------------


@given("the CPMS Working Group's 2022-2025 framework is loaded")
def cpms_loaded(cpflow, outcome):
    assert cpflow("load", str(WORKFLOWS / f"{CPMS}.yaml"), "--by", LEAD).exit_code == 0
    outcome["run"] = cpflow


@given("the Alliance 2018-2020 work plan is loaded")
def alliance_loaded(cpflow, outcome):
    assert cpflow("load", str(WORKFLOWS / f"{ALLIANCE}.yaml"), "--by", "reviewer").exit_code == 0
    outcome["run"] = cpflow


@given(parsers.parse("the co-lead has recorded that action {code} was completed on {at}"))
def completed(cpflow, code, at):
    for trigger in ("endorse", "start", "complete"):
        result = cpflow("move", f"{CPMS}:{code}", trigger, "--by", LEAD, "--at", at, "--ref", "minutes")
        assert result.exit_code == 0, result.output


@given("a health plan with an unled health action in progress is loaded")
def health_plan(cpflow, tmp_path):
    path = tmp_path / "health.yaml"
    path.write_text(HEALTH_PLAN, encoding="utf-8")
    assert cpflow("load", str(path), "--by", "author").exit_code == 0
    for code in ("1", "2"):
        for trigger, at in (("endorse", "2024-02-01"), ("start", "2024-03-01")):
            assert cpflow("move", f"hp:{code}", trigger, "--by", "author", "--at", at, "--ref", "m").exit_code == 0


@given("the plugin author has installed the cpflow-health plugin")
def health_installed(outcome, db_url, tmp_path):
    outcome["site"].append(install_dist_info(tmp_path / "site-health"))
    outcome["run"] = lambda *args: cpflow_with_plugins(outcome, db_url, tmp_path, *args)


@given("a plugin whose rule crashes is installed")
def crashy_installed(outcome, db_url, tmp_path):
    site = tmp_path / "site-crashy"
    info = site / "cpflow_crashy-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "cpflow_crashy.py").write_text(CRASHY, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cpflow-crashy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cpflow]\ncrashy = cpflow_crashy\n")
    outcome["site"].append(site)
    outcome["run"] = lambda *args: cpflow_with_plugins(outcome, db_url, tmp_path, *args)


# --- when --------------------------------------------------------------------------------


@when(parsers.parse("the lead checks the framework as of {as_of} for actions not finished by the end of their phase"))
def check_t101(outcome, as_of):
    check(outcome, "--plan", CPMS, "--as-of", as_of, "--select", "T101")


@when(parsers.parse("the lead checks the framework as of {as_of}"))
def check_all(outcome, as_of):
    check(outcome, "--plan", CPMS, "--as-of", as_of, "--select", "T101,Z")


@when(parsers.parse("the reviewer checks the funding gaps with a threshold of {threshold}"))
def check_gaps(outcome, threshold):
    check(outcome, "--plan", ALLIANCE, "--select", "F301", "--set", f"F301.threshold={threshold}")


@when("the reviewer checks the declared gaps")
def check_declared(outcome):
    check(outcome, "--plan", ALLIANCE, "--select", "F302")


@when("the plugin author lists the rules")
def list_rules(outcome):
    result = outcome["run"]("rules", "--format", "json")
    assert exit_code(result) == 0, result.stderr
    outcome["rules"] = json.loads(result.stdout)


@when("the plugin author checks the health plan")
def check_health(outcome):
    check(outcome, "--plan", "hp", "--as-of", "2024-06-01")


# --- then --------------------------------------------------------------------------------


@then("every unfinished Years 1-2 action is flagged once")
def years_1_2_flagged(outcome):
    subjects = [f["subject"] for f in outcome["findings"] if f["code"] == "T101"]
    assert len(subjects) == len(set(subjects))
    assert set(subjects) == phase_codes("years-1-2") - {f"{CPMS}:1.1"}


@then(parsers.parse("action {code} is not flagged"))
def not_flagged(outcome, code):
    assert f"{CPMS}:{code}" not in {f["subject"] for f in outcome["findings"]}


@then("no Years 3-4 action is flagged")
def years_3_4_quiet(outcome):
    assert not phase_codes("years-3-4") & {f["subject"] for f in outcome["findings"]}


@then("the check passes, since these findings are warnings")
def passes(outcome):
    assert exit_code(outcome["check"]) == 0
    assert {f["severity"] for f in outcome["findings"]} == {"warning"}


@then(parsers.parse("the units flagged for 2018 are {units}"))
def units_flagged(outcome, units):
    expected = sorted(u.strip() for u in units.replace(" and ", ", ").split(","))
    assert sorted(f["subject"].split(":")[1] for f in outcome["findings"]) == expected
    assert {f["data"]["period"] for f in outcome["findings"]} == {"2018"}


@then("no declared gap differs from budget minus received")
def declared_match(outcome):
    assert outcome["findings"] == [] and exit_code(outcome["check"]) == 0


@then("H101 is listed as coming from the health plugin")
def h101_listed(outcome):
    assert {"code": "H101", "plugin": "health", "pack": "health"}.items() <= next(
        r for r in outcome["rules"] if r["code"] == "H101"
    ).items()


@then("H101 flags the unled health action")
def h101_flags(outcome):
    assert [(f["code"], f["subject"]) for f in outcome["findings"] if f["code"] == "H101"] == [("H101", "hp:1")]


@then("the crash is reported as one error naming the rule and the exception")
def crash_reported(outcome):
    crashes = [f for f in outcome["findings"] if f["code"] == "E001"]
    assert len(crashes) == 1
    assert crashes[0]["severity"] == "error"
    assert crashes[0]["message"] == "rule Z901 (A rule with a bug) failed: ZeroDivisionError: division by zero"


@then("the unfinished Years 1-2 actions are still flagged")
def still_flagged(outcome):
    assert {f["subject"] for f in outcome["findings"] if f["code"] == "T101"} == phase_codes("years-1-2")


@then("the check fails, since an error was found")
def fails(outcome):
    assert exit_code(outcome["check"]) == 1


# --- waivers -------------------------------------------------------------------------------

LEADS_WAIVED = 'rules:\n  G401: {reason: "Leads are named in the annual work plans (footnote 9)"}\n'


@given("the CPMS Working Group's 2022-2025 framework is loaded with leads waived for the whole plan")
def cpms_waived(cpflow, outcome, tmp_path):
    spec = yaml.safe_load((WORKFLOWS / f"{CPMS}.yaml").read_text(encoding="utf-8"))
    spec.setdefault("rules", {})["G401"] = yaml.safe_load(LEADS_WAIVED)["rules"]["G401"]
    path = tmp_path / f"{CPMS}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = cpflow("load", str(path), "--by", LEAD)
    assert result.exit_code == 0, result.output
    outcome["run"] = cpflow


@when("the lead checks the framework for actions without a lead")
def check_leads(outcome):
    check(outcome, "--plan", CPMS, "--as-of", "2024-01-01", "--select", "G401")


@then("no action is flagged for having no lead")
def no_lead_findings(outcome):
    assert [f for f in outcome["findings"] if f["code"] == "G401"] == []


@then("the summary says how many findings were waived")
def waived_summary(outcome):
    summary = outcome["check"].stderr.strip().splitlines()[-1]
    waived = int(summary.split("; ")[1].split(" waived")[0])
    assert waived > 50  # the framework names no lead for most of its actions


@then("the check passes")
def check_passes(outcome):
    assert exit_code(outcome["check"]) == 0
