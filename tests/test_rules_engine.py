"""The rules engine: selection, settings, severities, crashing rules, ordering, and the
`cpflow check` / `cpflow rules` commands."""

from __future__ import annotations

import csv
import importlib
import io
import json

import pytest

from cpflow.errors import BadInput
from cpflow.plugins import hookimpl
from cpflow.plugins.manager import DEFAULT_PLUGINS
from cpflow.rules import Finding, Option, Rule, findings
from cpflow.rules.engine import RuleRegistry, parse_settings
from cpflow.rules.selection import resolve, split_codes, unknown_entries
from cpflow.testing import Sandbox, plugins_with

CODES = ["C501", "F301", "F302", "F303", "T101", "T102", "T103", "T104"]
BUILTINS = [importlib.import_module(name) for name in DEFAULT_PLUGINS]

PLAN = """\
plan:
  slug: eng
  title: Engine plan
  start: 2022-01-01
  end: 2025-12-31
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
activities:
  - {code: "1", title: One, phase: years-1-2, lead: A}
  - {code: "2", title: Two, phase: years-1-2}
  - {code: "10", title: Ten, phase: years-1-2, lead: A}
"""


# --- selection ------------------------------------------------------------------------


def test_select_prefixes_and_ignore_a_code_like_ruff():
    assert resolve(CODES, select=["T", "F3"], ignore=["T103"]) == ["F301", "F302", "F303", "T101", "T102", "T104"]


def test_nothing_selected_means_everything():
    assert resolve(CODES) == sorted(CODES)
    assert resolve(CODES, select=["ALL"], ignore=["F"]) == ["C501", "T101", "T102", "T103", "T104"]


def test_the_most_specific_entry_wins():
    assert resolve(CODES, select=["T101"], ignore=["T"]) == ["T101"]


def test_command_line_select_replaces_the_plans_select_but_keeps_its_ignore():
    assert resolve(CODES, select=["T"], plan_select=["F"], plan_ignore=["T103"]) == ["T101", "T102", "T104"]
    # Naming the ignored rule on the command line brings it back.
    assert resolve(CODES, select=["T103"], plan_ignore=["T103"]) == ["T103"]
    assert resolve(CODES, plan_select=["F"], plan_ignore=["F302"]) == ["F301", "F303"]


def test_codes_are_split_on_commas_and_upper_cased():
    assert split_codes(["t,f3", " G401 ", ""]) == ["T", "F3", "G401"]
    assert unknown_entries(["T", "X9", "t1", "T1011"], CODES) == ["X9", "t1", "T1011"]


# --- settings -------------------------------------------------------------------------


def test_options_convert_command_line_text_and_check_ranges():
    assert Option(0.5, "x", minimum=0, maximum=1).parse("0.9") == 0.9
    assert Option(90, "x", minimum=1).parse("30") == 30
    assert Option(True, "x").parse("no") is False
    assert Option(["a"], "x").parse("b, c") == ["b", "c"]
    for option, value, message in [
        (Option(0.5, "x", maximum=1), "1.5", "at most 1"),
        (Option(0.5, "x"), "half", "expected a number"),
        (Option(90, "x"), "1.5", "whole number"),
        (Option(0.5, "x"), "nan", "finite"),
        (Option("year", "x", choices=("year", "quarter")), "week", "one of year, quarter"),
    ]:
        with pytest.raises(ValueError, match=message):
            option.parse(value)


def test_settings_are_parsed_from_code_dot_key_equals_value():
    assert parse_settings(["F301.threshold=0.9", "f301.severity=error", "T103.days = 30"]) == {
        "F301": {"threshold": "0.9", "severity": "error"}, "T103": {"days": "30"},
    }  # fmt: skip
    with pytest.raises(BadInput, match="expected CODE.SETTING=VALUE"):
        parse_settings(["F301=0.9"])


# --- the engine -------------------------------------------------------------------------


class Crashes(Rule):
    code = "X901"
    title = "Always crashes"
    description = "A rule that raises, to prove the others still run."

    def check(self, ctx):
        raise RuntimeError("boom")


class Unled(Rule):
    code = "X902"
    title = "No lead"
    description = "Activities without a lead, as a plain DataFrame rule."
    options = {"marker": Option("!", "text appended to messages")}

    def check(self, ctx):
        acts = ctx.activities
        rows = acts[acts["lead"].isna()]
        return findings(rows, rows["id"] + " has no lead" + ctx.config["marker"], data=["state"])


class Listed(Rule):
    code = "X903"
    title = "Returns Finding objects"
    severity = "info"
    description = "A rule returning a list of Finding objects instead of a frame."

    def check(self, ctx):
        return [Finding("ignored", "", "eng", "eng", "plan-level note")]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(PLAN, plugins=[Crashes(), Unled(), Listed()]) as box:
        yield box


def test_a_crashing_rule_becomes_one_e001_finding_and_the_others_still_run(sandbox):
    report = sandbox.check(as_of="2024-01-01")
    codes = [f.code for f in report.findings]
    assert codes.count("E001") == 1 and "X902" in codes and "X903" in codes
    (crash,) = [f for f in report.findings if f.code == "E001"]
    assert crash.severity == "error" and crash.subject == "eng"
    assert crash.message == "rule X901 (Always crashes) failed: RuntimeError: boom"
    assert "Traceback" in crash.data["traceback"]  # the sandbox runs with debug on
    assert report.counts == {"error": 1, "warning": 1, "info": 1}
    assert report.packs == {"engine": 1, "other": 2}


def test_findings_get_the_rules_code_and_severity(sandbox):
    report = sandbox.check(as_of="2024-01-01", select=["X903"])
    assert [(f.code, f.severity, f.message) for f in report.findings] == [("X903", "info", "plan-level note")]


def test_settings_and_severity_from_the_command_line(sandbox):
    report = sandbox.check(as_of="2024-01-01", select=["X902"], settings={"X902": {"marker": "?", "severity": "error"}})
    assert [(f.message, f.severity, f.data) for f in report.findings] == [("eng:2 has no lead?", "error", {"state": "proposed"})]


def test_bad_input_is_refused_before_any_rule_runs(sandbox):
    for kwargs, message in [
        ({"select": ["Q"]}, "unknown rule code or prefix 'Q'"),
        ({"ignore": ["X99"]}, "unknown rule code or prefix 'X99'"),
        ({"settings": {"X902": {"colour": "red"}}}, "X902 has no setting 'colour'"),
        ({"settings": {"Z100": {"a": "b"}}}, "unknown rule 'Z100'"),
        ({"settings": {"X902": {"severity": "fatal"}}}, "expected one of error, warning, info"),
    ]:
        with pytest.raises(BadInput, match=message):
            sandbox.check(as_of="2024-01-01", **kwargs)


def test_findings_are_sorted_by_plan_subject_and_code():
    with Sandbox(PLAN, plugins=BUILTINS) as box:
        report = box.check(as_of="2024-01-01", select=["T101", "G401"])
        again = box.check(as_of="2024-01-01", select=["G401", "T101"])
    keys = [(f.plan, f.subject, f.code) for f in report.findings]
    assert keys == sorted(keys) == [(f.plan, f.subject, f.code) for f in again.findings]
    assert keys[:3] == [("eng", "eng:1", "T101"), ("eng", "eng:10", "T101"), ("eng", "eng:2", "G401")]
    assert report.rules == ["G401", "T101"]


PLAN_WITH_RULES = (
    PLAN.replace("eng", "cfg")
    + """\
rules:
  select: [T, G]
  ignore: [G401]
  severity: {T101: error}
  config:
    T103: {days: 30}
    H999: {anything: 1}
"""
)


def test_the_plans_rules_section_applies_and_the_command_line_wins():
    with Sandbox(PLAN_WITH_RULES, plugins=BUILTINS) as box:
        plain = box.check(as_of="2024-01-01")
        assert set(plain.rules) == {"T101", "T102", "T103", "T104", "G402", "G403", "G404", "G405"}
        assert {f.severity for f in plain.findings if f.code == "T101"} == {"error"}
        assert "plan cfg: rules.config: unknown rule 'H999' ignored" in plain.notes
        cli = box.check(as_of="2024-01-01", select=["G401"], settings={"T101": {"severity": "info"}})
        assert cli.rules == ["G401"] and [f.subject for f in cli.findings] == ["cfg:2"]
        t101 = box.check(as_of="2024-01-01", select=["T101"], settings={"T101": {"severity": "info"}})
        assert {f.severity for f in t101.findings} == {"info"}


def test_a_bad_setting_in_the_plan_file_is_bad_input():
    # refused when the plan is loaded (validate_rule_settings on the load path), not at every later check
    plan = PLAN_WITH_RULES.replace("days: 30", "days: soon")
    with pytest.raises(BadInput, match=r"plan.yaml:\d+: rules.config.T103.days: expected a whole number, got 'soon'"):
        with Sandbox(plan, plugins=BUILTINS) as box:
            box.check(as_of="2024-01-01")


def test_plans_with_different_settings_are_checked_with_their_own():
    loose = PLAN.replace("slug: eng", "slug: loose") + "rules:\n  config:\n    T104: {days: 1000}\n"
    with Sandbox(PLAN, plugins=BUILTINS) as box:
        from cpflow.services import load_files

        path = box.db.sqlite_path.parent / "loose.yaml"
        path.write_text(loose, encoding="utf-8")
        load_files(box.db, [path], actor="t")
        for plan in ("eng", "loose"):
            for trigger in ("endorse",):
                box.move(f"{plan}:1", trigger, "2022-01-10")
        report = box.check(as_of="2023-01-01", select=["T104"])
    assert [f.subject for f in report.findings] == ["eng:1"]
    assert report.plans == ["eng", "loose"]


def test_a_rule_crashing_for_plans_with_different_settings_is_still_one_e001():
    second = PLAN.replace("slug: eng", "slug: two") + "rules:\n  config:\n    X902: {marker: '?'}\n"
    with Sandbox(PLAN, plugins=[Crashes(), Unled()]) as box:
        from cpflow.services import load_files

        path = box.db.sqlite_path.parent / "two.yaml"
        path.write_text(second, encoding="utf-8")
        load_files(box.db, [path], actor="t")
        report = box.check(as_of="2024-01-01")
    (crash,) = [f for f in report.findings if f.code == "E001"]
    assert (crash.plan, crash.data["plans"]) == ("eng", ["eng", "two"])
    assert [f.message for f in report.findings if f.code == "X902"] == ["eng:2 has no lead!", "two:2 has no lead?"]


# --- the registry ---------------------------------------------------------------------


class Untitled(Rule):
    code = "X904"
    title = ""
    description = "No title."

    def check(self, ctx):
        return []


class Duplicate(Unled):
    title = "Same code again"


def test_bad_and_duplicate_rules_are_skipped_and_recorded():
    class Broken:
        @hookimpl
        def register_rules(self, register):
            register(Listed())
            raise RuntimeError("half-way")

    registry = RuleRegistry.from_plugins(plugins_with(Unled(), Duplicate(), Untitled(), "not a rule", Broken()))
    assert list(registry.rules) == ["X902"]
    problems = "\n".join(error for _, error in registry.problems)
    assert "rule X902 skipped: the code is already registered by cpflow.testing" in problems
    assert "rule 'X904' skipped: no title" in problems
    assert "register_rules failed: RuntimeError: half-way" in problems


def test_rule_declarations_are_checked():
    class Lower(Rule):
        code = "t1"
        title = "x"
        description = "y"
        severity = "fatal"

    assert Lower().problems() == [
        "code 't1' is not 1-3 capital letters and 3 digits (e.g. H101)",
        "severity 'fatal' is not one of error, warning, info",
        "no check(ctx) method",
    ]


# --- the CLI --------------------------------------------------------------------------


@pytest.fixture
def loaded(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    return cpflow


def test_check_exits_by_fail_on(loaded):
    args = ("check", "--plan", "mini", "--as-of", "2024-01-01", "--select", "T101")
    assert loaded(*args).exit_code == 0  # T101 is a warning; the default fails on errors
    assert loaded(*args, "--fail-on", "warning").exit_code == 1
    assert loaded(*args, "--fail-on", "info").exit_code == 1
    assert loaded(*args, "--set", "T101.severity=error").exit_code == 1
    assert loaded(*args, "--set", "T101.severity=error", "--fail-on", "never").exit_code == 0
    assert loaded("check", "--plan", "mini", "--as-of", "2023-01-01", "--select", "T101", "--fail-on", "info").exit_code == 0


def test_check_renders_table_json_and_csv(loaded):
    args = ("check", "--plan", "mini", "--as-of", "2024-01-01", "--select", "T101")
    table = loaded(*args)
    assert table.stdout.splitlines()[0].split() == ["severity", "code", "subject", "message"]
    assert "2 findings (0 error, 2 warning, 0 info) from 1 rule in 1 plan as of 2024-01-01" in table.stderr
    report = json.loads(loaded(*args, "--format", "json").stdout)
    assert sorted(report) == [
        "as_of",
        "counts",
        "findings",
        "notes",
        "packs",
        "plans",
        "rules",
        "version",
        "waived",
        "waived_counts",
    ]
    assert report["version"] == 1 and report["as_of"] == "2024-01-01" and report["plans"] == ["mini"]
    assert report["rules"] == ["T101"] and report["counts"] == {"error": 0, "warning": 2, "info": 0}
    found = report["findings"]
    assert json.loads(loaded(*args, "--format", "json", "--json-list").stdout) == found
    assert [sorted(f) for f in found] == [["code", "data", "message", "plan", "severity", "subject"]] * 2
    assert [f["subject"] for f in found] == ["mini:1.1", "mini:1.2"]
    rows = list(csv.DictReader(io.StringIO(loaded(*args, "--format", "csv").stdout)))
    assert [r["subject"] for r in rows] == ["mini:1.1", "mini:1.2"] and json.loads(rows[0]["data"])["phase"] == "years-1-2"


@pytest.mark.parametrize("args, message", [
    (("--select", "Q1"), "error: unknown rule code or prefix 'Q1'"),
    (("--set", "F301.threshold=lots"), "error: --set F301.threshold: expected a number, got 'lots'"),
    (("--set", "F301.threshold=2"), "error: --set F301.threshold: expected at most 1, got 2.0"),
    (("--set", "threshold"), "error: --set 'threshold': expected CODE.SETTING=VALUE"),
    (("--plan", "nope"), "error: unknown plan 'nope'; plans are mini"),
    (("--as-of", "2024-02-30"), "'2024-02-30' is not a real date"),
])  # fmt: skip
def test_bad_check_input_is_one_line_and_exit_2(loaded, args, message):
    result = loaded("check", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    if message.startswith("error:"):
        assert result.stderr.count("\n") == 1


def test_a_plan_not_started_yet_is_noted(loaded):
    result = loaded("check", "--plan", "mini", "--as-of", "2021-06-01")
    assert result.exit_code == 0 and "note: plan mini starts after 2021-06-01; nothing to check" in result.stderr


def test_rules_lists_every_rule_with_its_plugin(cpflow):
    rows = json.loads(cpflow("rules", "--format", "json").stdout)
    codes = [r["code"] for r in rows]
    assert codes == sorted(codes) and {"T101", "I204", "F301", "G404", "C503"} <= set(codes)
    t101 = next(r for r in rows if r["code"] == "T101")
    assert t101 == {"code": "T101", "title": "Action not completed or dropped by the end of its phase",
                    "severity": "warning", "pack": "timeline", "plugin": "cpflow.rules.timeline"}  # fmt: skip
    assert [r["code"] for r in json.loads(cpflow("rules", "F3", "--format", "json").stdout)] == ["F301", "F302", "F303", "F304"]


def test_rules_code_explains_one_rule_with_its_settings(cpflow):
    result = cpflow("rules", "f301")
    assert result.exit_code == 0
    assert "threshold=0.5 (largest acceptable gap as a share of the budget (0-1))" in result.stdout
    assert "description" in result.stdout and "per unit and period" in result.stdout
    explained = json.loads(cpflow("rules", "T103", "--format", "json").stdout)
    assert explained["settings"] == {
        "days": {
            "default": 90,
            "help": "days without a move before an activity in progress is stale",
            "minimum": 1,
            "maximum": 36500,
        }
    }
    missing = cpflow("rules", "Z123")
    assert missing.exit_code == 2 and "unknown rule 'Z123'" in missing.stderr
