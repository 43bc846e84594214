"""One move path: a move on a database with accounts, and an approval, run on the driver's
cursor like every other move, and record exactly what the Session path recorded before it
was deleted (the expectations below were captured from that path), refuse with the same
line and exit code, and write nothing when they refuse."""

from __future__ import annotations

import datetime as dt
import json
import os

from conftest import snapshot
from sqlalchemy import text

from cpflow import audit
from cpflow.db import Database

# (argv, exit code): a lead's, co-lead's, member's, reviewer's
# moves and approvals, in this order, on the team fixture.
STEPS = [
    (("move", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-03-01"), 2),
    (("move", "mini:1.1", "endorse", "--by", "rev", "--at", "2022-03-01"), 2),
    (("move", "mini:1.1", "endorse", "--by", "nobody", "--at", "2022-03-01"), 2),
    (("move", "mini:1.1", "endorse", "--by", "ghost", "--at", "2022-03-01"), 2),
    (("move", "mini:1.1", "endorse", "--by", "admin", "--at", "2022-03-01"), 2),
    (("move", "mini:1.9", "endorse", "--by", "lea", "--at", "2022-03-01"), 2),
    (("move", "mini:1.1", "endorse", "--by", "LEA", "--at", "2022-03-01", "--ref", "Minutes 3"), 0),
    (("move", "mini:1.1", "start", "--by", "col", "--at", "2022-03-02", "--expect-version", "1"), 3),
    (("move", "mini:1.1", "start", "--by", "mo", "--at", "2022-03-02", "--expect-version", "1"), 3),
    (("move", "mini:1.1", "start", "--by", "col", "--at", "2022-02-01"), 2),
    (("move", "mini:1.1", "start", "--by", "col", "--at", "2022-03-02"), 0),
    (("submit", "mini:1.2", "endorse", "--by", "mo", "--at", "2022-04-01"), 0),
    (("review", "approve", "1", "--by", "mo"), 2),
    (("review", "approve", "1", "--by", "col"), 0),
    (("review", "approve", "1", "--by", "lea"), 3),
    (("submit", "mini:1.2", "drop", "--by", "mo", "--at", "2022-04-02", "--reason", "No funds"), 0),
    (("move", "mini:1.2", "start", "--by", "lea", "--at", "2022-04-03"), 0),
    (("review", "approve", "2", "--by", "lea"), 3),
    (("users", "disable", "col", "--by", "admin"), 0),
    (("move", "mini:1.2", "complete", "--by", "col", "--at", "2022-04-04"), 2),
    (("move", "mini:1.2", "complete", "--by", "lea", "--at", "2022-04-04"), 0),
]
FOUR_EYES = [
    (("move", "mini:1.3", "endorse", "--by", "lea", "--at", "2022-05-01"), 2),
    (("submit", "mini:1.3", "endorse", "--by", "lea", "--at", "2022-05-01", "--ref", "R1"), 0),
    (("review", "approve", "1", "--by", "lea"), 2),
    (("review", "approve", "1", "--by", "admin"), 2),
    (("review", "approve", "1", "--by", "lea2"), 0),
]


def _events(db_url: str) -> list[list]:
    """Every transition event's canonical fields but recorded_at; the data without its approval time."""
    database = Database(db_url)
    try:
        with database.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT "
                    + ", ".join(audit.CANONICAL_FIELDS)
                    + " FROM transition_events WHERE kind = 'transition' ORDER BY id"
                )
            ).all()
    finally:
        database.dispose()
    out = []
    for row in rows:
        data = json.loads(row[12]) if row[12] else None
        if data:
            data = {k: v for k, v in data.items() if k not in ("approved_at", "submitted_at")}
        out.append([row[1], *(str(v) if isinstance(v, dt.date) else v for v in row[4:9]), row[10], row[11], data])
    return out


def _run(team, db_url, steps) -> list[list]:
    """Each step's exit code and stderr; each refusal is checked to have written nothing."""
    outcomes = []
    for argv, code in steps:
        before = snapshot(db_url) if code else None
        result = team(*argv)
        assert result.exit_code == code, (argv, result.output)
        if code:
            assert snapshot(db_url) == before, argv
        outcomes.append([list(argv), result.exit_code, result.stderr.strip()])
    return outcomes


def _record(name: str, value) -> None:
    """While capturing expectations (H4_CAPTURE=DIR), write what the run saw."""
    target = os.environ.get("H4_CAPTURE")
    if target:
        with open(os.path.join(target, name + ".json"), "w", encoding="utf-8") as out:
            json.dump(value, out, indent=1, ensure_ascii=False)


def test_moves_and_approvals_with_accounts_record_what_the_session_path_recorded(team, db_url):
    outcomes = _run(team, db_url, STEPS)
    events = _events(db_url)
    _record("steps", [outcomes, events])
    assert [outcomes, events] == EXPECTED_STEPS
    database = Database(db_url)
    try:
        with database.read() as session:
            assert audit.verify(session).ok
    finally:
        database.dispose()


def test_four_eyes_moves_and_approvals_record_what_the_session_path_recorded(team, db_url, tmp_path, mini_plan):
    assert team("users", "add", "lea2", "--by", "admin").exit_code == 0
    assert team("users", "grant", "lea2", "lead", "--plan", "mini", "--by", "admin").exit_code == 0
    four_eyes = tmp_path / "mini4.yaml"
    four_eyes.write_text(mini_plan.read_text().replace("  title: Mini plan\n", "  title: Mini plan\n  four_eyes: true\n"))
    assert team("load", str(four_eyes), "--by", "lea").exit_code == 0
    outcomes = _run(team, db_url, FOUR_EYES)
    events = _events(db_url)
    _record("four_eyes", [outcomes, events])
    assert [outcomes, events] == EXPECTED_FOUR_EYES


# Captured from the Session path (commit d97e7dc), identical on SQLite and PostgreSQL.
EXPECTED_STEPS = [
    [
        [
            ["move", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-03-01"],
            2,
            "error: mini:1.1: mo is a member of mini; a member's update waits for a lead: use `cpflow submit mini:1.1 endorse "
            "--by mo`; nothing was written",
        ],
        [
            ["move", "mini:1.1", "endorse", "--by", "rev", "--at", "2022-03-01"],
            2,
            "error: mini:1.1: rev holds a reviewer, who reads and records nothing in mini; nothing was written",
        ],
        [
            ["move", "mini:1.1", "endorse", "--by", "nobody", "--at", "2022-03-01"],
            2,
            "error: mini:1.1: nobody holds no role in mini; nothing was written",
        ],
        [
            ["move", "mini:1.1", "endorse", "--by", "ghost", "--at", "2022-03-01"],
            2,
            "error: mini:1.1: 'ghost' has no account; where a database has accounts, --by names an account login (see `cpflow "
            "users list`); nothing was written (pass --by WHO or set CPFLOW_USER)",
        ],
        [
            ["move", "mini:1.1", "endorse", "--by", "admin", "--at", "2022-03-01"],
            2,
            "error: mini:1.1: admin holds no role in mini; nothing was written",
        ],
        [
            ["move", "mini:1.9", "endorse", "--by", "lea", "--at", "2022-03-01"],
            2,
            "error: unknown activity mini:1.9: plan mini has no activity '1.9'; did you mean '1.3'?",
        ],
        [["move", "mini:1.1", "endorse", "--by", "LEA", "--at", "2022-03-01", "--ref", "Minutes 3"], 0, ""],
        [
            ["move", "mini:1.1", "start", "--by", "col", "--at", "2022-03-02", "--expect-version", "1"],
            3,
            "error: mini:1.1 changed since you read it (version 1, now 2, state endorsed); nothing was written — read it "
            "again and retry",
        ],
        [
            ["move", "mini:1.1", "start", "--by", "mo", "--at", "2022-03-02", "--expect-version", "1"],
            3,
            "error: mini:1.1 changed since you read it (version 1, now 2, state endorsed); nothing was written — read it "
            "again and retry",
        ],
        [
            ["move", "mini:1.1", "start", "--by", "col", "--at", "2022-02-01"],
            2,
            "error: mini:1.1: 2022-02-01 is before its last move on 2022-03-01; moves are recorded in date order",
        ],
        [["move", "mini:1.1", "start", "--by", "col", "--at", "2022-03-02"], 0, ""],
        [["submit", "mini:1.2", "endorse", "--by", "mo", "--at", "2022-04-01"], 0, ""],
        [
            ["review", "approve", "1", "--by", "mo"],
            2,
            "error: submission 1 (mini:1.2): mo is not a lead or co-lead of mini; nothing was written",
        ],
        [["review", "approve", "1", "--by", "col"], 0, ""],
        [
            ["review", "approve", "1", "--by", "lea"],
            3,
            "error: submission 1 (mini:1.2) is already approved by col; nothing was written",
        ],
        [["submit", "mini:1.2", "drop", "--by", "mo", "--at", "2022-04-02", "--reason", "No funds"], 0, ""],
        [["move", "mini:1.2", "start", "--by", "lea", "--at", "2022-04-03"], 0, ""],
        [
            ["review", "approve", "2", "--by", "lea"],
            3,
            "error: submission 2 (mini:1.2): the activity changed since it was submitted: submitted against version 2 "
            "(endorsed), now version 3 (in_progress, last moved by lea (start on 2022-04-03)); nothing was written — return "
            "it so mo can resubmit",
        ],
        [["users", "disable", "col", "--by", "admin"], 0, ""],
        [
            ["move", "mini:1.2", "complete", "--by", "col", "--at", "2022-04-04"],
            2,
            "error: mini:1.2: the account col is disabled; nothing was written",
        ],
        [["move", "mini:1.2", "complete", "--by", "lea", "--at", "2022-04-04"], 0, ""],
    ],
    [
        ["transition", "endorse", "proposed", "endorsed", "lea", "2022-03-01", None, "Minutes 3", None],
        ["transition", "start", "endorsed", "in_progress", "col", "2022-03-02", None, None, None],
        [
            "transition",
            "endorse",
            "proposed",
            "endorsed",
            "mo",
            "2022-04-01",
            None,
            None,
            {"approved_by": "col", "revision": 1, "submission": 1, "submitted_by": "mo"},
        ],
        ["transition", "start", "endorsed", "in_progress", "lea", "2022-04-03", None, None, None],
        ["transition", "complete", "in_progress", "completed", "lea", "2022-04-04", None, None, None],
    ],
]
EXPECTED_FOUR_EYES = [
    [
        [
            ["move", "mini:1.3", "endorse", "--by", "lea", "--at", "2022-05-01"],
            2,
            "error: mini:1.3: mini has four_eyes: a lead's own update is approved by another lead: use `cpflow submit "
            "mini:1.3 endorse --by lea`; nothing was written",
        ],
        [["submit", "mini:1.3", "endorse", "--by", "lea", "--at", "2022-05-01", "--ref", "R1"], 0, ""],
        [
            ["review", "approve", "1", "--by", "lea"],
            2,
            "error: submission 1 (mini:1.3): lea submitted it; nobody approves their own submission; nothing was written",
        ],
        [
            ["review", "approve", "1", "--by", "admin"],
            2,
            "error: submission 1 (mini:1.3): admin is not a lead or co-lead of mini; nothing was written",
        ],
        [["review", "approve", "1", "--by", "lea2"], 0, ""],
    ],
    [
        [
            "transition",
            "endorse",
            "proposed",
            "endorsed",
            "lea",
            "2022-05-01",
            None,
            "R1",
            {"approved_by": "lea2", "revision": 1, "submission": 1, "submitted_by": "lea"},
        ]
    ],
]
