"""`cpflow load` and `cpflow import` where accounts exist (issue 14, "one source of truth"):
the database's grants decide who loads a plan, never the plan file's `people:`. A plan is
reloaded or imported into by its lead or co-lead account; a new plan is loaded by an admin.
Every refusal is one line, exit 2, and writes nothing. On both backends."""

from __future__ import annotations

import json

import pytest
from conftest import MINI_PLAN, session_for, snapshot
from sqlalchemy import select

from cpflow.models import TransitionEvent

SHEET = "Code,Activity\n1.1,First action\n1.4,A fourth action from the sheet\n"
# The plan file names its own lead in `people:`; with accounts that name decides nothing.
PEOPLE = MINI_PLAN.replace("periods:\n", "people:\n  - {name: File Lead, roles: [lead]}\nperiods:\n", 1).replace(
    "Second action", "Second action renamed"
)


@pytest.fixture
def files(tmp_path):
    reload = tmp_path / "mini-renamed.yaml"
    reload.write_text(MINI_PLAN.replace("Second action", "Second action renamed"), encoding="utf-8")
    sheet = tmp_path / "mini.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    new = tmp_path / "new.yaml"
    new.write_text(MINI_PLAN.replace("slug: mini", "slug: newplan"), encoding="utf-8")
    people = tmp_path / "mini-people.yaml"
    people.write_text(PEOPLE, encoding="utf-8")
    return {"reload": reload, "sheet": sheet, "new": new, "people": people}


def titles(cpflow) -> dict[str, str]:
    result = cpflow("activities", "--plan", "mini", "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["id"]: row["title"] for row in json.loads(result.stdout)}


@pytest.mark.parametrize("login", ["lea", "col"])
def test_the_plans_lead_or_co_lead_reloads_it_and_the_log_names_the_account(team, db_url, files, login):
    result = team("load", str(files["reload"]), "--by", login)
    assert result.exit_code == 0, result.output
    assert titles(team)["mini:1.2"] == "Second action renamed"
    with session_for(db_url) as session:
        edit = session.execute(
            select(TransitionEvent.actor).where(TransitionEvent.kind == "edit").order_by(TransitionEvent.id.desc())
        ).first()
    assert edit.actor == login
    assert team("audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("login", "says"),
    [
        ("mo", "mo may not load or import into this plan; it needs the role lead or co-lead (held by col, lea)"),
        ("rev", "rev may not load or import into this plan"),
        ("nobody", "nobody may not load or import into this plan"),
        ("admin", "admin may not load or import into this plan"),
        ("setup", "'setup' has no account"),
    ],
)
def test_anyone_else_is_refused_in_one_line_and_nothing_is_written(team, db_url, files, login, says):
    before = snapshot(db_url)
    for args in (("load", str(files["reload"])), ("import", str(files["sheet"]), "--plan", "mini")):
        result = team(*args, "--by", login)
        assert result.exit_code == 2, result.output
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "nothing was written" in result.stderr
        assert snapshot(db_url) == before


def test_a_disabled_lead_account_is_refused(team, db_url, files):
    assert team("users", "disable", "col", "--by", "admin").exit_code == 0
    before = snapshot(db_url)
    result = team("load", str(files["reload"]), "--by", "col")
    assert result.exit_code == 2 and "disabled" in result.stderr
    assert snapshot(db_url) == before


@pytest.mark.parametrize("login", ["lea", "col"])
def test_the_lead_imports_a_sheet_into_the_plan(team, files, login):
    result = team("import", str(files["sheet"]), "--plan", "mini", "--by", login)
    assert result.exit_code == 0, result.output
    assert titles(team)["mini:1.4"] == "A fourth action from the sheet"
    assert team("audit", "verify").exit_code == 0


def test_the_plan_files_people_do_not_decide_once_accounts_exist(team, db_url, files):
    """The file declares 'File Lead' as lead: with accounts, that name is no account and the
    account lea (lead by grant) still loads it; the people list is kept as description."""
    before = snapshot(db_url)
    refused = team("load", str(files["people"]), "--by", "File Lead")
    assert refused.exit_code == 2 and "has no account" in refused.stderr
    assert snapshot(db_url) == before
    assert team("load", str(files["people"]), "--by", "lea").exit_code == 0
    # Reloading again: the stored `people:` (now naming File Lead) still gives lea the plan.
    assert team("load", str(files["reload"]), "--by", "lea").exit_code == 0
    assert team("load", str(files["people"]), "--by", "mo").exit_code == 2


def test_a_new_plan_is_loaded_by_an_admin_only(team, db_url, files):
    before = snapshot(db_url)
    for login in ("lea", "mo", "nobody"):
        result = team("load", str(files["new"]), "--by", login)
        assert result.exit_code == 2 and f"{login} may not load a new plan" in result.stderr, result.output
        assert "cpflow users grant" in result.stderr
    assert snapshot(db_url) == before
    assert team("load", str(files["new"]), "--by", "admin").exit_code == 0
    assert team("users", "grant", "lea", "lead", "--plan", "newplan", "--by", "admin").exit_code == 0
    assert team("load", str(files["new"]), "--by", "lea").exit_code == 0


def test_without_accounts_load_behaves_as_before(cpflow, mini_plan, files):
    assert cpflow("load", str(mini_plan), "--by", "anyone").exit_code == 0
    assert cpflow("load", str(files["reload"]), "--by", "someone else").exit_code == 0
    assert cpflow("import", str(files["sheet"]), "--plan", "mini", "--by", "a third").exit_code == 0
