"""Every registered rule holds on every plan shape: an empty plan, each seed plan, generated
plans with random histories and a plan with its own lifecycle, at many as-of dates
(before the start, each month end, after the end). A rule that crashes shows up as an
E001 finding; there must be none."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from conftest import WORKFLOWS

from benchmarks.generate import MOVES, REASONS, make_plan, plan_yaml
from cpflow.plugins.manager import build
from cpflow.rules.engine import registry_for, run_checks
from cpflow.services import load_files, move

EMPTY_PLAN = """\
plan:
  slug: empty
  title: A plan with nothing in it yet
  start: 2022-01-01
  end: 2022-12-31
"""

# Renamed states, an extra "on hold", tags saying what each state means.
CUSTOM_LIFECYCLE_PLAN = """\
plan:
  slug: own-cycle
  title: A plan with its own lifecycle
  start: 2022-01-01
  end: 2023-12-31
  sectors: [health]
periods:
  - {key: p1, name: "Phase 1", kind: phase, start: 2022-01-01, end: 2022-12-31}
  - {key: p2, name: "Phase 2", kind: phase, start: 2023-01-01, end: 2023-12-31}
units:
  - {key: wg, name: Working group, kind: working_group}
budgets:
  - {unit: wg, period: p1, budget: 1000, received: 100}
objectives:
  - code: "1"
    title: Objective
    unit: wg
    activities:
      - {code: "1.1", title: Agreed and done, phase: p1, lead: A, sectors: [health]}
      - {code: "1.2", title: Put on hold, phase: p1}
      - {code: "1.3", title: Cancelled, phase: p2}
      - {code: "1.4", title: Doing without agreement, phase: p2, due: 2023-03-31}
lifecycle:
  initial: idea
  states: [idea, agreed, doing, on_hold, done, cancelled]
  final: [done, cancelled]
  tags: {agreed: [endorsed], doing: [active], on_hold: [paused], done: [done], cancelled: [cancelled]}
  transitions:
    - {trigger: agree, source: idea, dest: agreed}
    - {trigger: begin, source: [idea, agreed, on_hold], dest: doing}
    - {trigger: hold, source: doing, dest: on_hold}
    - {trigger: finish, source: doing, dest: done}
    - {trigger: cancel, source: [idea, agreed, doing, on_hold], dest: cancelled, reason: required}
  iati_status: {idea: 1, agreed: 1, doing: 2, on_hold: 4, done: 3, cancelled: 5}
"""
CUSTOM_MOVES = [
    ("own-cycle:1.1", "agree", "2022-02-01"), ("own-cycle:1.1", "begin", "2022-03-01"),
    ("own-cycle:1.1", "finish", "2022-06-01"), ("own-cycle:1.2", "begin", "2022-03-01"),
    ("own-cycle:1.2", "hold", "2022-04-01"), ("own-cycle:1.3", "cancel", "2022-05-01", "merged into 1.1"),
    ("own-cycle:1.4", "begin", "2023-01-15"),
]  # fmt: skip


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """The day before the start, every month end from start to end, and a day after the end."""
    dates, year, month = [start - dt.timedelta(days=1)], start.year, start.month
    while dt.date(year, month, 1) <= end:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        dates.append(following - dt.timedelta(days=1))
        year, month = following.year, following.month
    return dates + [end + dt.timedelta(days=1)]


def crashes(db, plugins, dates) -> dict[str, list[str]]:
    """E001 messages by as-of date, for every registered rule over every plan in the database."""
    found = {}
    with db.read() as session:
        for as_of in dates:
            report = run_checks(session, as_of=as_of, plugins=plugins, debug=True)
            errors = [f"{f.message}\n{f.data.get('traceback', '')}" for f in report.findings if f.code == "E001"]
            if errors:
                found[str(as_of)] = errors
    return found


@pytest.fixture(scope="module")
def plugins():
    everything = build("all")
    assert len(registry_for(everything).rules) >= 20 and not everything.failures
    return everything


def load_text(db, tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    load_files(db, [path], actor="test", now=dt.date(2030, 1, 1))


def test_every_rule_holds_on_an_empty_plan(db, tmp_path, plugins):
    load_text(db, tmp_path, "empty", EMPTY_PLAN)
    assert crashes(db, plugins, month_ends(dt.date(2022, 1, 1), dt.date(2022, 12, 31))) == {}


def test_every_rule_holds_on_every_seed_plan_at_every_month_end(db, plugins):
    paths = sorted(WORKFLOWS.glob("*.yaml"))
    assert len(paths) >= 5
    load_files(db, paths, actor="test", now=dt.date(2030, 1, 1))
    # The seed plans span 2018-2025: every month end of those years, and the edges.
    assert crashes(db, plugins, month_ends(dt.date(2018, 1, 1), dt.date(2025, 12, 31))) == {}


def random_history(db, spec: dict, rng: random.Random) -> int:
    """Legal moves of the default lifecycle, in date order, for a third of the activities."""
    start, end = spec["plan"]["start"], spec["plan"]["end"]
    moved = 0
    codes = [a["code"] for objective in spec["objectives"] for a in objective["activities"]]
    for code in rng.sample(codes, max(1, len(codes) // 3)):
        state, at = "proposed", start
        for _ in range(rng.randint(1, 4)):
            trigger, dest, _weight = rng.choice(MOVES[state])
            at = at + dt.timedelta(days=rng.randint(0, 200))
            if at > end:
                break
            move(db, f"{spec['plan']['slug']}:{code}", trigger, actor="test", at=at, reason=REASONS.get(trigger),
                 ref="minutes", now=dt.date(2030, 1, 1), plugins=build("none"))  # fmt: skip
            state, moved = dest, moved + 1
    return moved


@pytest.mark.parametrize("seed", [11, 2024])
def test_every_rule_holds_on_generated_plans_with_random_histories(db, tmp_path, plugins, seed):
    rng = random.Random(seed)
    specs = [make_plan(rng, index, shape, rng.randint(1, 30)) for index, shape in enumerate(("framework", "network", "country"))]
    for spec in specs:
        load_text(db, tmp_path, spec["plan"]["slug"], plan_yaml(spec))
    assert sum(random_history(db, spec, rng) for spec in specs) > 0
    first = min(spec["plan"]["start"] for spec in specs)
    last = max(spec["plan"]["end"] for spec in specs)
    dates = month_ends(first, last)
    assert crashes(db, plugins, dates[:1] + dates[1:-1:3] + dates[-1:]) == {}


def custom_plan(db, tmp_path):
    load_text(db, tmp_path, "own-cycle", CUSTOM_LIFECYCLE_PLAN)
    for ident, trigger, at, *reason in CUSTOM_MOVES:
        move(db, ident, trigger, actor="lead", at=dt.date.fromisoformat(at), reason=reason[0] if reason else None,
             now=dt.date(2030, 1, 1), plugins=build("none"))  # fmt: skip


def test_every_rule_holds_on_a_plan_with_its_own_lifecycle(db, tmp_path, plugins):
    custom_plan(db, tmp_path)
    assert crashes(db, plugins, month_ends(dt.date(2022, 1, 1), dt.date(2023, 12, 31))) == {}


def test_rules_judge_a_custom_lifecycle_by_its_tags_not_by_state_names(db, tmp_path, plugins):
    custom_plan(db, tmp_path)
    with db.read() as session:
        found = run_checks(session, as_of=dt.date(2024, 1, 1), plugins=plugins).findings
    by_code: dict[str, set[str]] = {}
    for finding in found:
        by_code.setdefault(finding.code, set()).add(finding.subject)
    # Final states (done, cancelled) are never late for their phase; on hold and doing are.
    assert by_code["T101"] == {"own-cycle:1.2", "own-cycle:1.4"}
    # Begun without being agreed: the doing one and the one on hold; 1.1 was agreed first.
    assert by_code["G403"] == {"own-cycle:1.2", "own-cycle:1.4"}
    # "doing" is the active state: stale since its last move; on hold is not judged stale.
    assert by_code["T103"] == {"own-cycle:1.4"}
    # The cancelled action is not live: it has a reason and needs no lead.
    assert "own-cycle:1.3" not in by_code.get("G401", set()) | by_code.get("G404", set())
    assert "E001" not in by_code


def test_every_report_on_a_plan_with_its_own_lifecycle_reads_its_tags(db, tmp_path, plugins):
    from cpflow.reports import html, jsonout, markdown
    from cpflow.reports.build import ReportOptions, build_reports

    custom_plan(db, tmp_path)
    (progress, compliance), _ = build_reports(db, ("progress", "compliance"), ReportOptions(as_of=dt.date(2024, 1, 1)), plugins)
    figures = {f.key: f.value for f in progress.figures}
    assert figures["activities"] == 4 and figures["dropped"] == 1  # "cancelled" is this plan's dropped
    assert figures["not_completed_p1"] == 1  # of p1's two live actions, only the one on hold is not done
    status = dict(zip(progress.section("activities").table["id"], progress.section("activities").table["status"]))
    assert status == {"own-cycle:1.1": "completed", "own-cycle:1.2": "overdue", "own-cycle:1.3": "dropped",
                      "own-cycle:1.4": "overdue"}  # fmt: skip
    dropped = progress.section("dropped").table
    assert dropped[["id", "reason"]].to_dict("records") == [{"id": "own-cycle:1.3", "reason": "merged into 1.1"}]
    assert "E001" not in set(compliance.findings["code"]) and len(compliance.findings) > 0
    for rendered in (html.render([progress, compliance]), markdown.render([progress, compliance]), jsonout.render(progress)):
        assert "own-cycle:1.3" in rendered
