"""Every built-in rule, firing and staying quiet, on two small plans.

`RICH` breaks each rule on purpose, next to a near miss that must stay quiet (the firing
cases assert the exact set of subjects); `CLEAN` breaks none. The cases are tables so a
meta-test can prove every built-in rule has both.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest

from cpflow.plugins.manager import DEFAULT_PLUGINS
from cpflow.rules.engine import registry_for
from cpflow.testing import Sandbox

RICH = """\
plan:
  slug: rt
  title: Rules test plan
  start: 2022-01-01
  end: 2025-12-31
  sectors: [health, education]
  cross_cutting: [Gender, AAP]
  countries: [Somalia, Kenya]
organisations:  # C505: A is a national NGO; the other named leads are international
  - {name: A, type: "23", national_or_local: true}
  - {name: B, type: "21"}
  - {name: C, type: "21"}
  - {name: D, type: "21"}
  - {name: E, type: "21"}
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
  - {key: years-3-4, name: "Years 3-4", kind: phase, start: 2024-01-01, end: 2025-12-31}
  - {key: "2022", name: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}
  - {key: "2023", name: "2023", kind: year, start: 2023-01-01, end: 2023-12-31}
units:
  - {key: wg, name: Working group, kind: working_group, leads: [Agency]}
  - {key: tf, name: Task force, kind: task_force}
  - {key: nb, name: Unbudgeted task force, kind: task_force}
outcomes:
  - {key: "1", title: First outcome}
  - {key: "2", title: Second outcome}
objectives:
  - code: "1"
    title: Objective with an indicator
    outcome: "1"
    unit: wg
    expected_results: [Strategy published]
    activities:
      - {code: "1.1", title: Done in time, phase: years-1-2, lead: A, sectors: [Health], cross_cutting: [gender],
         countries: [somalia], checklist: [a-1], expected_result: Referral pathways mapped}
      - {code: "1.2", title: Left undone, phase: years-1-2}
      - {code: "1.3", title: Later phase, phase: years-3-4}
  - code: "2"
    title: Objective without an indicator
    outcome: "2"
    unit: tf
    activities:
      - {code: "2.1", title: Own due date and no lead, due: 2022-06-30}
      - {code: "2.2", title: Started then silent, lead: B, expected_result: R}
      - {code: "2.3", title: Endorsed never started, lead: C, expected_result: R}
      - {code: "2.4", title: Loaded as in progress, lead: D, state: in_progress, expected_result: R}
      - {code: "2.5", title: Loaded as dropped, lead: E, state: dropped}
      - {code: "2.6", title: Dropped with a reason, lead: F}
      - {code: "3.1", title: Unbudgeted unit, unit: nb, lead: G, expected_result: R}
indicators:
  - code: IND-1
    name: Sectors engaged
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets: [{period: years-1-2, value: 10}]
  - {code: IND-2, name: Outcome measure, of: "outcome:1"}
budgets:
  - {unit: wg, period: "2022", budget: 1000, received: 100, declared_gap: 900}
  - {unit: tf, period: "2022", budget: 1000, received: 800, declared_gap: 100}
  - {unit: tf, period: "2023", budget: 100, received: 150}
checklists:
  - key: a
    title: Annex 1
    items:
      - {code: a-1, category: Response, text: Linked item}
      - {code: a-2, category: Prevention, text: Unlinked item}
"""

RICH_MOVES = [
    ("rt:1.1", "endorse", "2022-02-01"), ("rt:1.1", "start", "2022-03-01"), ("rt:1.1", "complete", "2023-06-01"),
    ("rt:2.2", "endorse", "2022-02-01"), ("rt:2.2", "start", "2022-03-01"),
    ("rt:2.3", "endorse", "2022-02-01"),
]  # fmt: skip

CLEAN = """\
plan:
  slug: ok
  title: Compliant plan
  start: 2022-01-01
  end: 2023-12-31
  sectors: [health]
  cross_cutting: [Gender]
  countries: [Kenya]
  records_expected_results: true
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
  - {key: "2022", name: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}
units:
  - {key: wg, name: Working group, kind: working_group, leads: [Agency]}
outcomes:
  - {key: "1", title: Outcome}
objectives:
  - code: "1"
    title: Objective
    outcome: "1"
    unit: wg
    activities:
      - {code: "1.1", title: On track, phase: years-1-2, lead: A, sectors: [Health], cross_cutting: [gender],
         countries: [Kenya], checklist: [c-1], expected_result: Done}
indicators:
  - code: IND-1
    name: Measure
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets: [{period: years-1-2, value: 10}]
budgets:
  - {unit: wg, period: "2022", budget: 1000, received: 800, declared_gap: 200}
checklists:
  - key: c
    title: Checklist
    items: [{code: c-1, text: Item}]
"""

# code -> (as_of, settings, the exact subjects expected)
FIRING = {
    "T101": ("2024-01-01", None, ["rt:1.2"]),
    "T102": ("2022-07-01", None, ["rt:2.1"]),
    "T103": ("2022-07-01", None, ["rt:1.1", "rt:2.2", "rt:2.4"]),
    "T104": ("2022-04-01", None, ["rt:2.3"]),
    "I201": ("2022-07-01", None, ["rt:2", "rt:outcome:2"]),
    "I202": ("2022-07-01", None, ["rt:IND-2"]),
    "I203": ("2024-01-02", None, ["rt:IND-1", "rt:IND-2"]),
    "I204": ("2023-01-01", None, ["rt:IND-1"]),
    "F301": ("2022-07-01", None, ["rt:wg"]),
    "F302": ("2022-07-01", None, ["rt:tf"]),
    "F303": ("2022-07-01", None, ["rt:tf"]),
    "F304": ("2022-07-01", None, ["rt:nb"]),
    "G401": ("2022-07-01", None, ["rt:2.1"]),
    "G402": ("2022-07-01", None, ["rt:2.1"]),
    "G403": ("2022-07-01", None, ["rt:2.4"]),
    "G404": ("2022-07-01", None, ["rt:2.5"]),
    "G405": ("2022-07-01", None, ["rt:1.2"]),
    "C501": ("2022-07-01", None, ["rt"]),
    "C502": ("2022-07-01", None, ["rt"]),
    "C503": ("2022-07-01", None, ["rt:a-2"]),
    "C504": ("2022-07-01", None, ["rt"]),
    "C505": ("2022-07-01", None, ["rt"]),  # below overall, naming objective 2 and units nb, tf; objective 1 (33%) is not
}

# code -> (plan, as_of, settings): the rule must report nothing.
QUIET = {
    "T101": ("rt", "2023-12-31", None),  # the phase has not ended yet
    "T102": ("rt", "2022-06-30", None),  # due today is not overdue
    "T103": ("rt", "2022-04-01", None),
    "T104": ("rt", "2022-02-15", None),
    "I201": ("ok", "2022-07-01", None),
    "I202": ("ok", "2022-07-01", None),
    "I203": ("rt", "2023-01-01", None),  # 2022 measured (IND-2 by date, without a period)
    "I204": ("rt", "2023-01-01", {"tolerance": "0.5"}),
    "F301": ("rt", "2022-07-01", {"threshold": "0.95"}),
    "F302": ("ok", "2022-07-01", None),
    "F303": ("ok", "2022-07-01", None),
    "F304": ("ok", "2022-07-01", None),
    "G401": ("ok", "2022-07-01", None),
    "G402": ("ok", "2022-07-01", None),
    "G403": ("ok", "2022-07-01", None),
    "G404": ("ok", "2022-07-01", None),
    "G405": ("rt", "2022-05-31", None),  # not submitted yet
    "C501": ("ok", "2022-07-01", None),
    "C502": ("ok", "2022-07-01", None),
    "C503": ("ok", "2022-07-01", None),
    "C504": ("ok", "2022-07-01", None),
    "C505": ("ok", "2022-07-01", None),  # declares no organisations: nothing to judge
}

BUILTIN_MODULES = [importlib.import_module(name) for name in DEFAULT_PLUGINS]


def _pending_submissions(box):
    """G405: a member's move submitted on 2022-06-01 (30 days before 2022-07-01), an indicator
    value submitted on 2022-06-20 (11 days: a near miss). Accounts come after the moves."""
    from sqlalchemy import update

    from cpflow.models import Submission
    from cpflow.teams.accounts import add_account, grant
    from cpflow.teams.submissions import Draft, create

    add_account(box.db, "admin", by=None, admin=True)
    add_account(box.db, "mo", by="admin")
    grant(box.db, "mo", "member", plan="rt", by="admin")
    for draft, day in ((Draft("move", "rt:1.2", "endorse", at=dt.date(2022, 6, 1)), "2022-06-01"),
                       (Draft("measure", "rt:IND-2", at=dt.date(2022, 6, 20), payload={"value": 6}), "2022-06-20")):  # fmt: skip
        ident = create(box.db, draft, by="mo")["id"]
        stamp = f"{day}T09:00:00.000000Z"
        box.db.write(lambda s, i=ident, t=stamp: s.execute(update(Submission).where(Submission.id == i).values(submitted_at=t)))


@pytest.fixture(scope="module")
def sandboxes():
    rich = Sandbox(RICH, plugins=BUILTIN_MODULES)
    for ident, trigger, at in RICH_MOVES:
        rich.move(ident, trigger, at, ref="minutes")
    rich.move("rt:2.6", "drop", "2022-05-01", reason="merged into 2.2")
    rich.measure("rt:IND-1", 1, "2022-12-31", period="2022")
    rich.measure("rt:IND-2", 5, "2022-06-30")
    _pending_submissions(rich)
    clean = Sandbox(CLEAN, plugins=BUILTIN_MODULES)
    clean.move("ok:1.1", "endorse", "2022-02-01", ref="minutes")
    clean.move("ok:1.1", "start", "2022-05-01")
    clean.measure("ok:IND-1", 3, "2022-06-30")
    yield {"rt": rich, "ok": clean}
    rich.close()
    clean.close()


def run(sandbox, code, as_of, settings):
    report = sandbox.check(as_of=as_of, select=[code], settings={code: settings} if settings else None)
    assert not [f for f in report.findings if f.code == "E001"], report.findings
    return report.findings


@pytest.mark.parametrize("code", sorted(FIRING))
def test_rule_fires(sandboxes, code):
    as_of, settings, subjects = FIRING[code]
    found = run(sandboxes["rt"], code, as_of, settings)
    assert [f.subject for f in found] == subjects
    assert {f.code for f in found} == {code}
    assert all(f.plan == "rt" and f.message for f in found)


@pytest.mark.parametrize("code", sorted(QUIET))
def test_rule_stays_quiet(sandboxes, code):
    plan, as_of, settings = QUIET[code]
    assert run(sandboxes[plan], code, as_of, settings) == []


def test_every_builtin_rule_has_a_firing_and_a_quiet_case(sandboxes):
    codes = set(registry_for(sandboxes["rt"].plugins).rules)
    assert set(FIRING) == codes
    assert set(QUIET) == codes


def test_every_builtin_rule_is_documented_and_codes_are_unique(sandboxes):
    registry = registry_for(sandboxes["rt"].plugins)
    assert not registry.problems
    rules = [rule for module in BUILTIN_MODULES for rule in module.RULES]
    assert len({rule.code for rule in rules}) == len(rules)
    for rule in rules:
        assert rule.problems() == [], rule
        assert rule.pack in ("timeline", "indicators", "funding", "governance", "coverage")
        assert rule.code[0] == rule.pack[0].upper()
        assert len(rule.description) > 40 and rule.title[0].isupper()


def test_t101_message_names_the_state_and_the_phase_end(sandboxes):
    (finding,) = run(sandboxes["rt"], "T101", "2024-01-01", None)
    assert finding.message == "rt:1.2 is proposed on 2024-01-01; Years 1-2 ended 2023-12-31"
    assert finding.data["phase_end"] == "2023-12-31" and finding.severity == "warning"


def test_i204_is_an_error_once_the_target_date_passed_unmet(sandboxes):
    (behind,) = run(sandboxes["rt"], "I204", "2023-01-01", None)
    (missed,) = run(sandboxes["rt"], "I204", "2024-01-02", None)
    assert behind.severity == "warning" and "behind the line" in behind.message
    assert missed.severity == "error" and "not met" in missed.message


def test_f301_reports_gap_and_ratio_in_its_data(sandboxes):
    (finding,) = run(sandboxes["rt"], "F301", "2022-07-01", None)
    assert finding.data["gap"] == 900 and finding.data["ratio"] == 0.9 and finding.data["period"] == "2022"
    assert "90%" in finding.message


def test_coverage_findings_name_what_is_missing(sandboxes):
    assert run(sandboxes["rt"], "C501", "2022-07-01", None)[0].data == {"sector": "education"}
    assert run(sandboxes["rt"], "C502", "2022-07-01", None)[0].data == {"theme": "AAP"}
    assert run(sandboxes["rt"], "C504", "2022-07-01", None)[0].data == {"country": "Kenya"}


def test_funding_events_count_as_of_their_date(sandboxes):
    """F301 reads received as of the check date: a later payment does not hide an earlier gap."""
    sandbox = Sandbox(CLEAN, plugins=BUILTIN_MODULES)
    try:
        sandbox.fund("ok:wg", "2022", "2022-09-01", received=100)
        assert [f.subject for f in run(sandbox, "F301", "2022-09-01", None)] == ["ok:wg"]
        assert run(sandbox, "F301", "2022-08-31", None) == []
    finally:
        sandbox.close()
