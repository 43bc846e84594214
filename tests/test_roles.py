"""Roles: a plan that declares people holds each move to the roles its lifecycle requires
(by default endorse, drop, reopen and reinstate need a lead or co-lead). The actor comes
from --by, or CPFLOW_USER. Plans without people work as before."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import WORKFLOWS

ROLES_PLAN = """\
plan: {slug: roles, title: Plan with roles, start: 2022-01-01, end: 2025-12-31}
people:
  - {name: Amina Yusuf, roles: [lead]}
  - {name: UNHCR, roles: [co-lead]}
  - {name: Sam Member, roles: [member]}
  - {name: Rita Reviewer, roles: [reviewer]}
activities:
  - {code: "1", title: First action}
  - {code: "2", title: Second action}
"""

OWN_LIFECYCLE_PLAN = """\
plan: {slug: own-roles, title: Plan with its own role rules, start: 2022-01-01, end: 2025-12-31}
people:
  - {name: Lead, roles: [lead]}
  - {name: Member, roles: [member]}
  - {name: Reviewer, roles: [reviewer]}
lifecycle:
  initial: draft
  states: [draft, submitted, approved]
  transitions:
    - {trigger: submit, source: draft, dest: submitted}
    - {trigger: approve, source: submitted, dest: approved}
    - {trigger: return, source: submitted, dest: draft, reason: required}
  roles:
    submit: [member, lead]
    approve: [reviewer]
activities:
  - {code: "1", title: Reviewed action}
"""


@pytest.fixture
def roles(cpflow, tmp_path):
    for name, text in (("roles.yaml", ROLES_PLAN), ("own.yaml", OWN_LIFECYCLE_PLAN)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = cpflow("load", str(tmp_path / "roles.yaml"), str(tmp_path / "own.yaml"), "--by", "setup")
    assert result.exit_code == 0, result.output
    return cpflow


def state(cpflow, ident: str) -> tuple[str, int, int]:
    shown = json.loads(cpflow("show", ident, "--format", "json").stdout)
    history = json.loads(cpflow("history", ident, "--format", "json").stdout)
    return shown["state"], shown["version"], len(history)


def test_a_member_cannot_endorse_and_is_told_who_can(roles):
    before = state(roles, "roles:1")
    result = roles("move", "roles:1", "endorse", "--by", "Sam Member")
    assert result.exit_code == 2, result.output
    assert "'Sam Member' may not endorse" in result.stderr
    assert "lead or co-lead" in result.stderr and "Amina Yusuf" in result.stderr and "UNHCR" in result.stderr
    assert state(roles, "roles:1") == before


@pytest.mark.parametrize("who", ["Rita Reviewer", "Someone Unlisted"])
def test_reviewers_and_strangers_cannot_drop(roles, who):
    result = roles("move", "roles:1", "drop", "--by", who, "--reason", "not needed")
    assert result.exit_code == 2 and "may not drop" in result.stderr
    assert state(roles, "roles:1") == ("proposed", 1, 0)


def test_a_lead_endorses_with_by_and_a_co_lead_with_cpflow_user(roles):
    assert roles("move", "roles:1", "endorse", "--by", "Amina Yusuf").exit_code == 0
    result = roles("move", "roles:2", "endorse", env={"CPFLOW_USER": "UNHCR"})
    assert result.exit_code == 0, result.output
    history = json.loads(roles("history", "roles:2", "--format", "json").stdout)
    assert history[-1]["actor"] == "UNHCR"


def test_by_wins_over_cpflow_user(roles):
    result = roles("move", "roles:1", "endorse", "--by", "Sam Member", env={"CPFLOW_USER": "Amina Yusuf"})
    assert result.exit_code == 2 and "'Sam Member' may not endorse" in result.stderr


def test_names_match_without_regard_to_case(roles):
    assert roles("move", "roles:1", "endorse", "--by", "amina yusuf").exit_code == 0


def test_moves_without_a_role_requirement_are_open_to_anyone(roles):
    assert roles("move", "roles:1", "endorse", "--by", "Amina Yusuf").exit_code == 0
    # `start` requires no role in the default lifecycle: a member, or anyone, may record it.
    result = roles("move", "roles:1", "start", "--by", "Someone Unlisted")
    assert result.exit_code == 0, result.output


def test_a_plan_lifecycle_sets_its_own_roles(roles):
    refused = roles("move", "own-roles:1", "submit", "--by", "Reviewer")
    assert refused.exit_code == 2 and "member or lead" in refused.stderr
    assert roles("move", "own-roles:1", "submit", "--by", "Member").exit_code == 0
    refused = roles("move", "own-roles:1", "approve", "--by", "Lead")
    assert refused.exit_code == 2 and "reviewer" in refused.stderr and "Reviewer" in refused.stderr
    assert roles("move", "own-roles:1", "approve", "--by", "Reviewer").exit_code == 0
    assert state(roles, "own-roles:1") == ("approved", 3, 2)


def test_without_an_actor_a_move_is_refused(roles):
    result = roles("move", "roles:1", "endorse", env={"CPFLOW_USER": ""})
    assert result.exit_code == 2 and "an actor is required" in result.stderr


def test_plans_without_people_keep_working_as_before(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "setup").exit_code == 0
    assert cpflow("move", "mini:1.1", "endorse", "--by", "Anyone at all").exit_code == 0
    assert cpflow("move", "mini:1.1", "drop", "--by", "Someone else", "--reason", "merged").exit_code == 0


def test_the_seed_plans_declare_no_people():
    for path in WORKFLOWS.glob("*.yaml"):
        assert not yaml.safe_load(path.read_text(encoding="utf-8")).get("people"), path.name


def test_an_unknown_role_in_a_plan_file_is_refused(cpflow, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(ROLES_PLAN.replace("roles: [member]", "roles: [boss]"), encoding="utf-8")
    assert cpflow("init").exit_code == 0
    result = cpflow("load", str(path), "--by", "setup")
    assert result.exit_code == 2 and "people[2].roles[0]" in result.stderr
    assert cpflow("plans", "--format", "json").stdout.strip() == "[]"


# --- roles through load and import (issue 13 section 5, third bullet) -------------------------


def test_a_member_cannot_reload_the_plan_making_themselves_lead(roles, tmp_path, db_url):
    from conftest import snapshot

    before = snapshot(db_url)
    hijack = tmp_path / "hijack.yaml"
    hijack.write_text(ROLES_PLAN.replace("{name: Sam Member, roles: [member]}", "{name: Sam Member, roles: [lead]}"))
    result = roles("load", str(hijack), "--by", "Sam Member")
    assert result.exit_code == 2, result.output
    assert "'Sam Member' may not load or import into this plan; it needs the role lead (held by Amina Yusuf)" in result.stderr
    # Nor can anyone drop an activity by reloading the file without it.
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(ROLES_PLAN.replace('  - {code: "2", title: Second action}\n', ""))
    assert roles("load", str(shorter), "--by", "UNHCR").exit_code == 2  # a co-lead is not the lead
    assert snapshot(db_url) == before


def test_the_lead_changes_people_and_is_recorded_as_declared(roles, tmp_path):
    staffed = tmp_path / "staffed.yaml"
    staffed.write_text(ROLES_PLAN.replace("{name: Sam Member, roles: [member]}", "{name: Sam Member, roles: [co-lead]}"))
    result = roles("load", str(staffed), "--by", "AMINA yusuf")
    assert result.exit_code == 0, result.output
    assert roles("move", "roles:1", "endorse", "--by", "sam member").exit_code == 0
    history = json.loads(roles("history", "roles:1", "--format", "json").stdout)
    assert history[-1]["actor"] == "Sam Member"
    assert roles("audit", "verify").exit_code == 0


def test_an_import_into_a_plan_with_roles_needs_its_lead(roles, tmp_path):
    sheet = tmp_path / "tracker.csv"
    sheet.write_text("Code,Activity\n3,Third action from a sheet\n", encoding="utf-8")
    refused = roles("import", str(sheet), "--plan", "roles", "--by", "Sam Member")
    assert refused.exit_code == 2, refused.output
    assert "needs the role lead" in refused.stderr
    allowed = roles("import", str(sheet), "--plan", "roles", "--by", "Amina Yusuf")
    assert allowed.exit_code == 0, allowed.output
    assert roles("audit", "verify").exit_code == 0
