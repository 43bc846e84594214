"""The submit / review loop from the CLI (issue 14): every step an event, approvals through
the same service as a direct move, conflicts at approval, no self-approval."""

from __future__ import annotations

import json

from conftest import session_for, snapshot


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _verified(cpflow):
    result = cpflow("audit", "verify")
    assert result.exit_code == 0, result.output


def test_member_submission_approved_by_lead_records_both_names(team):
    sub = _json(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--ref", "May minutes",
                     "--format", "json"))  # fmt: skip
    assert sub["status"] == "pending" and sub["activity"] == "mini:1.1" and sub["submitted_by"] == "mo"
    assert _json(team("show", "mini:1.1", "--format", "json"))["state"] == "proposed"
    queue = _json(team("review", "--plan", "mini", "--format", "json"))
    assert [(q["id"], q["kind"], q["trigger"], q["status"]) for q in queue] == [(sub["id"], "move", "endorse", "pending")]
    assert {"id", "activity", "kind", "trigger", "at", "submitted_by", "status", "comment"} <= set(queue[0])
    approved = team("review", "approve", str(sub["id"]), "--by", "lea")
    assert approved.exit_code == 0, approved.output
    history = _json(team("history", "mini:1.1", "--format", "json"))
    assert [(h["trigger"], h["submitted_by"], h["approved_by"], h["at"]) for h in history] == [
        ("endorse", "mo", "lea", "2022-05-12")
    ]
    assert _json(team("review", "--plan", "mini", "--format", "json")) == []
    _verified(team)


def test_return_resubmit_with_reference_then_approve_keeps_versions(team, db_url):
    sub = _json(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json"))
    returned = _json(team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "please attach the minutes",
                          "--format", "json"))  # fmt: skip
    assert returned["status"] == "returned" and returned["decision_comment"] == "please attach the minutes"
    assert team("review", "approve", str(sub["id"]), "--by", "lea").exit_code == 3  # not pending
    again = _json(team("review", "resubmit", str(sub["id"]), "--by", "mo", "--ref", "minutes-2022-05.pdf", "--format", "json"))
    assert again["status"] == "pending" and again["revision"] == 2 and again["ref"] == "minutes-2022-05.pdf"
    assert team("review", "approve", str(sub["id"]), "--by", "col").exit_code == 0
    history = _json(team("history", "mini:1.1", "--format", "json"))
    assert (history[-1]["ref"], history[-1]["approved_by"]) == ("minutes-2022-05.pdf", "col")
    from cpflow.models import Submission

    with session_for(db_url) as session:
        stored = session.get(Submission, sub["id"])
        assert [v["revision"] for v in stored.revisions] == [1] and stored.revisions[0]["ref"] is None
    _verified(team)


def test_nobody_approves_their_own_submission_and_nothing_is_written(team, db_url):
    sub = _json(team("submit", "mini:1.1", "endorse", "--by", "lea", "--at", "2022-05-12", "--format", "json"))
    before = snapshot(db_url)
    result = team("review", "approve", str(sub["id"]), "--by", "lea")
    assert result.exit_code == 2 and "own submission" in result.stderr
    assert snapshot(db_url) == before


def test_member_direct_move_is_refused_with_a_pointer_to_submit(team, db_url):
    before = snapshot(db_url)
    result = team("move", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12")
    assert result.exit_code == 2
    assert "cpflow submit mini:1.1 endorse --by mo" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(db_url) == before


def test_reviewer_and_roleless_accounts_cannot_submit(team, db_url):
    before = snapshot(db_url)
    for login in ("rev", "nobody", "ghost"):
        result = team("submit", "mini:1.1", "endorse", "--by", login, "--at", "2022-05-12")
        assert result.exit_code == 2, (login, result.output)
    assert "reviewer" in team("submit", "mini:1.1", "endorse", "--by", "rev").stderr
    assert snapshot(db_url) == before


def test_lead_records_directly_unless_four_eyes(team, tmp_path, mini_plan):
    result = team("move", "mini:1.1", "endorse", "--by", "lea", "--at", "2022-05-12")
    assert result.exit_code == 0, result.output
    four_eyes = tmp_path / "mini4.yaml"
    four_eyes.write_text(mini_plan.read_text().replace("  title: Mini plan\n", "  title: Mini plan\n  four_eyes: true\n"))
    assert team("load", str(four_eyes), "--by", "lea").exit_code == 0, "reload"
    refused = team("move", "mini:1.2", "endorse", "--by", "lea", "--at", "2022-05-12")
    assert refused.exit_code == 2 and "four_eyes" in refused.stderr and "cpflow submit" in refused.stderr
    sub = _json(team("submit", "mini:1.2", "endorse", "--by", "lea", "--at", "2022-05-12", "--format", "json"))
    assert team("review", "approve", str(sub["id"]), "--by", "lea").exit_code == 2
    assert team("review", "approve", str(sub["id"]), "--by", "col").exit_code == 0
    _verified(team)


def test_approval_after_the_activity_moved_is_a_conflict_showing_both_versions(team, db_url):
    sub = _json(team("submit", "mini:1.1", "drop", "--by", "mo", "--at", "2022-05-12", "--reason", "no funds",
                     "--format", "json"))  # fmt: skip
    assert team("move", "mini:1.1", "endorse", "--by", "lea", "--at", "2022-06-01").exit_code == 0
    before = snapshot(db_url)
    result = team("review", "approve", str(sub["id"]), "--by", "lea")
    assert result.exit_code == 3, result.output
    assert "version 1 (proposed)" in result.stderr and "now version 2 (endorsed" in result.stderr
    assert snapshot(db_url) == before


def test_approval_reruns_the_checks(team, db_url):
    """A submission dated before a move recorded since is refused at approval like a direct move."""
    first = _json(team("submit", "mini:1.2", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json"))
    assert team("review", "approve", str(first["id"]), "--by", "lea").exit_code == 0
    late = _json(team("submit", "mini:1.2", "start", "--by", "mo", "--at", "2022-06-01", "--format", "json"))
    assert late["status"] == "pending"
    early = team("submit", "mini:1.2", "start", "--by", "mo", "--at", "2022-01-01")
    assert early.exit_code == 2 and "before its last move" in early.stderr


def test_withdraw_only_by_the_submitter(team):
    sub = _json(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json"))
    assert team("review", "withdraw", str(sub["id"]), "--by", "lea").exit_code == 2
    assert _json(team("review", "withdraw", str(sub["id"]), "--by", "mo", "--format", "json"))["status"] == "withdrawn"
    assert team("review", "approve", str(sub["id"]), "--by", "lea").exit_code == 3
    mine = _json(team("review", "--mine", "--by", "mo", "--all", "--format", "json"))
    assert [m["status"] for m in mine] == ["withdrawn"]


def test_measure_and_fund_submissions_are_recorded_on_approval(team, db_url):
    fund = _json(team("submit", "fund", "mini:wg", "--period", "years-1-2", "--received", "1500.50", "--by", "mo",
                      "--at", "2022-05-12", "--format", "json"))  # fmt: skip
    assert team("fund", "mini:wg", "--period", "years-1-2", "--received", "10", "--by", "mo").exit_code == 2
    assert team("review", "approve", str(fund["id"]), "--by", "lea").exit_code == 0
    units = _json(team("units", "--plan", "mini", "--format", "json"))
    assert units[0]["budgets"][0]["received"] == 1500.5
    _verified(team)


def test_every_step_is_an_event_in_the_chain(team, db_url):
    from sqlalchemy import select

    from cpflow.models import TransitionEvent

    sub = _json(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json"))
    team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "minutes?")
    team("review", "resubmit", str(sub["id"]), "--by", "mo", "--ref", "m.pdf")
    team("review", "approve", str(sub["id"]), "--by", "lea")
    with session_for(db_url) as session:
        kinds = [(e.kind, json.loads(e.data).get("action") if e.data else None) for e in session.scalars(select(TransitionEvent))]
    assert ("account", "add") in kinds and ("role", "grant") in kinds
    assert [a for k, a in kinds if k == "submission"] == ["submit", "return", "revise"]
    assert kinds[-1] == ("transition", None)
    _verified(team)


def test_a_database_without_accounts_behaves_as_before(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "x").exit_code == 0
    assert cpflow("move", "mini:1.1", "endorse", "--by", "Anyone", "--at", "2022-05-12").exit_code == 0
    history = _json(cpflow("history", "mini:1.1", "--format", "json"))
    assert history[0]["actor"] == "Anyone" and history[0]["approved_by"] is None
    result = cpflow("submit", "mini:1.2", "endorse", "--by", "anyone")
    assert result.exit_code == 2 and "users add" in result.stderr
