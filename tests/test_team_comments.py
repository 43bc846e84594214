"""Comment-only submissions (issue 14: "a member's move, indicator value, funding update or
comment is a submission"): `cpflow submit comment PLAN:CODE --comment TEXT --by LOGIN`. It
changes nothing until a lead approves it; then it is an event in the chain shown in the
activity's history with submitter and approver, and leaves the activity's state and version
(its optimistic lock) alone. On both backends."""

from __future__ import annotations

import json

from conftest import snapshot


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _show(team, ident="mini:1.1"):
    return _json(team("show", ident, "--format", "json"))


def test_an_approved_comment_joins_the_history_with_both_names(team):
    sub = _json(team("submit", "comment", "mini:1.1", "--comment", "Venue booked for the training", "--by", "mo",
                     "--at", "2022-05-20", "--ref", "https://example.org/booking", "--format", "json"))  # fmt: skip
    assert (sub["status"], sub["kind"], sub["comment"], sub["trigger"]) == (
        "pending",
        "comment",
        "Venue booked for the training",
        None,
    )
    queue = _json(team("review", "--plan", "mini", "--format", "json"))
    assert [(r["id"], r["kind"], r["activity"]) for r in queue] == [(sub["id"], "comment", "mini:1.1")]
    assert _json(team("history", "mini:1.1", "--format", "json")) == []  # nothing until approved
    before = _show(team)
    approved = team("review", "approve", str(sub["id"]), "--by", "lea")
    assert approved.exit_code == 0, approved.output
    (row,) = _json(team("history", "mini:1.1", "--format", "json"))
    assert (row["trigger"], row["comment"], row["actor"], row["submitted_by"], row["approved_by"]) == (
        "comment", "Venue booked for the training", "mo", "mo", "lea",
    )  # fmt: skip
    assert (row["at"], row["ref"], row["from"], row["to"]) == ("2022-05-20", "https://example.org/booking", None, None)
    after = _show(team)
    assert (after["state"], after["version"]) == (before["state"], before["version"])
    table = team("history", "mini:1.1")
    assert "Venue booked for the training" in table.stdout and "lea" in table.stdout
    assert team("audit", "verify").exit_code == 0
    assert team("check", "--plan", "mini").exit_code in (0, 1)  # the frames' cache check agrees with the log


def test_a_move_pending_on_the_activity_still_applies_after_a_comment_is_approved(team):
    move = _json(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json"))
    note = _json(team("submit", "comment", "mini:1.1", "--comment", "minutes to follow", "--by", "mo", "--at", "2022-05-20",
                      "--format", "json"))  # fmt: skip
    # Approved first, the comment (dated 2022-05-20) still follows the move of 2022-05-12 in the history.
    assert team("review", "approve", str(note["id"]), "--by", "col").exit_code == 0
    result = team("review", "approve", str(move["id"]), "--by", "lea")
    assert result.exit_code == 0, result.output
    history = _json(team("history", "mini:1.1", "--format", "json"))
    assert [(r["trigger"], r["approved_by"]) for r in history] == [("endorse", "lea"), ("comment", "col")]


def test_a_comment_says_something_and_a_reviewer_cannot_submit_one(team, db_url):
    before = snapshot(db_url)
    for args, says in (
        (("--comment", "   ", "--by", "mo"), "pass --comment TEXT"),
        (("--by", "mo"), "--comment"),
        (("--comment", "hello", "--by", "rev"), "rev is a reviewer"),
        (("--comment", "hello", "--by", "nobody"), "nobody holds no role"),
    ):
        result = team("submit", "comment", "mini:1.1", *args)
        assert result.exit_code == 2 and says in result.stderr, result.output
    unknown = team("submit", "comment", "mini:9.9", "--comment", "hello", "--by", "mo")
    assert unknown.exit_code == 2 and "9.9" in unknown.stderr
    assert snapshot(db_url) == before


def test_a_returned_comment_is_revised_and_nobody_approves_their_own(team):
    sub = _json(team("submit", "comment", "mini:1.2", "--comment", "done", "--by", "mo", "--format", "json"))
    assert team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "say what was done").exit_code == 0
    revised = team("review", "resubmit", str(sub["id"]), "--by", "mo", "--comment", "Two trainings held in Gedo")
    assert revised.exit_code == 0, revised.output
    own = _json(team("submit", "comment", "mini:1.2", "--comment", "agreed", "--by", "lea", "--format", "json"))
    assert team("review", "approve", str(own["id"]), "--by", "lea").exit_code == 2
    assert team("review", "approve", str(sub["id"]), "--by", "lea").exit_code == 0
    (row,) = _json(team("history", "mini:1.2", "--format", "json"))
    assert row["comment"] == "Two trainings held in Gedo" and row["approved_by"] == "lea"
    assert team("audit", "verify").exit_code == 0


def test_the_activity_page_shows_an_approved_comment_as_a_comment(web):
    from conftest import run_cli

    sub = _json(run_cli("submit", "comment", "mini:1.1", "--comment", "Venue <b>booked</b>", "--by", "mo", "--format", "json",
                        db_url=web.url))  # fmt: skip
    assert run_cli("review", "approve", str(sub["id"]), "--by", "lea", db_url=web.url).exit_code == 0
    page = web.client("lea").get("/plans/mini/activities/1.1")
    assert page.status_code == 200
    assert "comment by mo" in page.text and "Venue &lt;b&gt;booked&lt;/b&gt;" in page.text
    assert "None → None" not in page.text and "approved by lea" in page.text
