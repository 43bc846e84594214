"""Facts a plan states once (waivers), imported statuses as starting points, the check
report's shape, rule settings and lifecycle values validated at load."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import MINI_PLAN

from cpflow import audit
from cpflow.audit import Fact
from cpflow.models import Activity, Plan
from cpflow.plugins.manager import build
from cpflow.rules.engine import REPORT_VERSION, registry_for, run_checks
from cpflow.rules.settings import validate_rule_settings
from cpflow.services import load_files, move

WAIVED_PLAN = MINI_PLAN.replace(
    "      - {code: \"1.2\", title: Second action, phase: years-1-2}",
    "      - {code: \"1.2\", title: Second action, phase: years-1-2, waive: {T101: \"folded into 1.1 at the May meeting\"}}",
).replace("units:\n  - {key: wg, name: Working group, kind: working_group, leads: [Lead agency]}",
          "units:\n  - {key: wg, name: Working group, kind: working_group}") + """\
rules:
  G401: {reason: "The framework leaves leads to the annual work plan (footnote 9)"}
"""  # fmt: skip


def check(db, as_of="2024-01-02", **kwargs):
    with db.read() as session:
        return run_checks(session, as_of=dt.date.fromisoformat(as_of), plugins=build("builtin"), **kwargs)


def load(db, tmp_path, text, name="plan"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    load_files(db, [path], actor="test", now=dt.date(2030, 1, 1))


def test_waived_findings_are_counted_and_listed_apart_with_their_reason(db, tmp_path):
    load(db, tmp_path, WAIVED_PLAN)
    report = check(db, select=["G401", "T101"])
    kept = {(f.code, f.subject) for f in report.findings}
    waived = {(f.code, f.subject): f.waived for f in report.waived}
    assert kept == {("T101", "mini:1.1")}
    assert waived == {
        ("G401", "mini:1.2"): "The framework leaves leads to the annual work plan (footnote 9)",
        ("G401", "mini:1.3"): "The framework leaves leads to the annual work plan (footnote 9)",
        ("T101", "mini:1.2"): "folded into 1.1 at the May meeting",
    }
    assert report.counts == {"error": 0, "warning": 1, "info": 0}
    assert report.waived_counts == {"error": 0, "warning": 3, "info": 0}
    assert "; 3 waived" in report.summary()
    assert report.fails("warning")  # the one kept T101 still fails the check


def test_a_waived_finding_never_makes_the_check_fail(db, tmp_path):
    load(db, tmp_path, WAIVED_PLAN)
    report = check(db, select=["G401"])
    assert report.findings == [] and len(report.waived) == 2 and not report.fails("info")


def test_check_report_to_dict_carries_version_counts_notes_findings_and_waived(db, tmp_path):
    load(db, tmp_path, WAIVED_PLAN)
    shape = check(db, select=["G401", "T101"]).to_dict()
    assert list(shape) == ["version", "as_of", "plans", "rules", "counts", "packs", "notes", "findings", "waived",
                           "waived_counts"]  # fmt: skip
    assert (shape["version"], shape["as_of"], shape["plans"], shape["rules"]) == (REPORT_VERSION, "2024-01-02", ["mini"],
                                                                                  ["G401", "T101"])  # fmt: skip
    assert [f["subject"] for f in shape["findings"]] == ["mini:1.1"] and "waived" not in shape["findings"][0]
    assert {f["waived"] for f in shape["waived"]} == {"The framework leaves leads to the annual work plan (footnote 9)",
                                                       "folded into 1.1 at the May meeting"}  # fmt: skip
    assert json.loads(json.dumps(shape)) == shape


@pytest.mark.parametrize("bad, message", [
    ("rules:\n  G401: {reason: \"\"}\n", "a waiver needs a reason"),
    ("rules:\n  G401: because\n", "G401"),
    ("rules:\n  nonsense: 1\n", "nonsense"),
])  # fmt: skip
def test_a_waiver_without_a_reason_is_refused_at_load(cpflow, tmp_path, bad, message):
    path = tmp_path / "plan.yaml"
    path.write_text(MINI_PLAN + bad, encoding="utf-8")
    result = cpflow("load", str(path), "--by", "test")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


@pytest.fixture
def imports(db, tmp_path):
    load(db, tmp_path, MINI_PLAN)

    def record(ident, to_state, at):
        def work(session):
            slug, code = ident.split(":")
            plan = session.query(Plan).filter_by(slug=slug).one()
            activity = session.query(Activity).filter_by(plan_id=plan.id, code=code).one()
            audit.append(session, [Fact("transition", "importer", dt.date.fromisoformat(at), plan_id=plan.id,
                                        activity_id=activity.id, trigger="import", from_state=activity.state,
                                        to_state=to_state, reason=f'imported status "{to_state}" (tracker.xlsx)')])  # fmt: skip
            activity.state = to_state
            activity.version += 1

        db.write(work)

    return record


def test_an_imported_status_is_a_starting_point_not_a_skipped_endorsement(db, imports):
    imports("mini:1.1", "in_progress", "2023-06-30")
    imports("mini:1.3", "completed", "2023-06-30")
    move(db, "mini:1.2", "endorse", actor="lead", at=dt.date(2022, 2, 1), ref="minutes", now=dt.date(2030, 1, 1),
         plugins=build("none"))  # fmt: skip
    move(db, "mini:1.2", "start", actor="lead", at=dt.date(2022, 3, 1), now=dt.date(2030, 1, 1), plugins=build("none"))
    # Before the sheet's date the imported actions were still proposed: nothing to judge.
    assert check(db, "2023-06-29", select=["G403"]).findings == []
    assert check(db, "2023-07-01", select=["G403"]).findings == []


def test_a_started_action_without_endorsement_is_still_flagged(db, imports, tmp_path):
    # Loaded as in progress (no history): G403 still judges it.
    text = MINI_PLAN.replace("slug: mini", "slug: loaded").replace("title: Later action, phase: years-3-4",
                                                                   "title: Later action, phase: years-3-4, state: in_progress")  # fmt: skip
    load(db, tmp_path, text, name="loaded")
    assert [f.subject for f in check(db, "2023-07-01", select=["G403"]).findings] == ["loaded:1.3"]


def test_stale_counts_from_the_imported_status_date(db, imports):
    imports("mini:1.1", "in_progress", "2023-06-30")
    days = {f.subject: f.data["days"] for f in check(db, "2023-12-31", select=["T103"]).findings}
    assert days == {"mini:1.1": 184}
    assert check(db, "2023-09-27", select=["T103"]).findings == []  # 89 days after the sheet's date


def test_not_started_counts_from_the_later_of_planned_start_and_imported_status(db, imports):
    imports("mini:1.2", "endorsed", "2023-06-30")
    days = {f.subject: f.data["days"] for f in check(db, "2023-12-31", select=["T104"]).findings}
    assert days == {"mini:1.2": 184}  # from 2023-06-30, not from the phase start in 2022
    assert check(db, "2023-08-28", select=["T104"]).findings == []


def test_validate_rule_settings_names_each_bad_setting():
    problems = validate_rule_settings({
        "config": {"T103": {"days": 1e308}, "F301": {"threshold": "abc"}, "T104": {"days": 30}},
        "select": ["T", "x!"], "severity": {"G402": "loud"}, "G401": {"reason": " "},
    })  # fmt: skip
    assert problems == [
        "rules.select: 'X!' is not a rule code or prefix (such as T, F3, T103)",
        "rules.severity.G402: expected one of error, warning, info, got 'loud'",
        "rules.config.T103.days: expected a whole number, got 1e+308",
        "rules.config.F301.threshold: expected a number, got 'abc'",
        "rules.G401.reason: a waiver needs a reason",
    ]
    assert validate_rule_settings({"config": {"T103": {"days": 100000}}}) == [
        "rules.config.T103.days: expected at most 36500, got 100000"
    ]
    assert validate_rule_settings({"config": {"H999": {"anything": 1}}, "G401": {"reason": "ok"}}) == []
    assert validate_rule_settings(None) == [] and validate_rule_settings([1]) == ["rules: expected a mapping, got [1]"]


def test_rule_lookup_and_explanation_are_one_function_on_the_registry():
    registry = registry_for(build("builtin"))
    assert registry.get(" t103 ").code == "T103"
    assert [r.code for r in registry.matching("f3")] == ["F301", "F302", "F303", "F304"]
    explained = registry.explain("f301")
    assert explained["plugin"] == "cpflow.rules.funding"
    assert explained["settings"]["threshold"] == {"default": 0.5, "help": "largest acceptable gap as a share of the budget (0-1)",
                                                  "minimum": 0.0, "maximum": 1.0}  # fmt: skip
    from cpflow.errors import BadInput

    with pytest.raises(BadInput, match="unknown rule 'Z1'"):
        registry.matching("Z1")
