"""Role x action matrix (issue 14), the no-secret-in-output check, and two leads approving
the same submission at once."""

from __future__ import annotations

import io
import json
import sys
import threading

import openpyxl
import pytest
from conftest import MINI_PLAN, run_cli, snapshot

ROLES = ("none", "member", "reviewer", "lead", "co-lead", "admin")
LOGIN = {"none": "nobody", "member": "mo", "reviewer": "rev", "lead": "lea", "co-lead": "col", "admin": "admin"}
# The documented outcome (docs/team.md): 0 allowed, 2 refused with nothing written.
# The admin flag manages accounts; it gives no role in a plan.
MATRIX = {
    "submit":         {"none": 2, "member": 0, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "approve":        {"none": 2, "member": 2, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "return":         {"none": 2, "member": 2, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "withdraw":       {"none": 2, "member": 2, "reviewer": 2, "lead": 2, "co-lead": 2, "admin": 2},
    "direct move":    {"none": 2, "member": 2, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "grant":          {"none": 2, "member": 2, "reviewer": 2, "lead": 2, "co-lead": 2, "admin": 0},
    "tracker export": {"none": 0, "member": 0, "reviewer": 0, "lead": 0, "co-lead": 0, "admin": 0},
    "tracker import": {"none": 2, "member": 0, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "load":           {"none": 2, "member": 2, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "import":         {"none": 2, "member": 2, "reviewer": 2, "lead": 0, "co-lead": 0, "admin": 2},
    "load new plan":  {"none": 2, "member": 2, "reviewer": 2, "lead": 2, "co-lead": 2, "admin": 0},
}  # fmt: skip
# `withdraw` is the submitter's alone: the pending submission here is a member's, made by
# `mo2` (also a member), so every role in the matrix is someone else; its own submitter's
# withdraw is tested in test_team_loop.


def _pending(team) -> int:
    result = team("submit", "mini:1.1", "endorse", "--by", "mo2", "--at", "2022-05-12", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["id"]


@pytest.mark.parametrize("action", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(team, db_url, tmp_path, role, action):
    team("users", "add", "mo2", "--by", "admin")
    team("users", "grant", "mo2", "member", "--plan", "mini", "--by", "admin")
    login = LOGIN[role]
    tracker = tmp_path / "t.xlsx"
    if action in ("approve", "return", "withdraw"):
        sub = str(_pending(team))
    if action == "tracker import":
        assert team("tracker", "export", "--plan", "mini", "-o", str(tracker)).exit_code == 0
        book = openpyxl.load_workbook(tracker)
        book["Activities"]["D2"], book["Activities"]["E2"] = "endorsed", "2022-05-12"
        book.save(tracker)
    plan_file, sheet, new_plan = tmp_path / "mini.yaml", tmp_path / "mini.csv", tmp_path / "new.yaml"
    plan_file.write_text(MINI_PLAN.replace("Second action", "Second action renamed"), encoding="utf-8")
    sheet.write_text("Code,Activity\n1.4,From the sheet\n", encoding="utf-8")
    new_plan.write_text(MINI_PLAN.replace("slug: mini", "slug: newplan"), encoding="utf-8")
    before = snapshot(db_url)
    args = {
        "submit": ("submit", "mini:1.1", "endorse", "--by", login, "--at", "2022-05-12"),
        "approve": ("review", "approve", sub if action == "approve" else "", "--by", login),
        "return": ("review", "return", sub if action == "return" else "", "--by", login, "--comment", "why?"),
        "withdraw": ("review", "withdraw", sub if action == "withdraw" else "", "--by", login),
        "direct move": ("move", "mini:1.1", "endorse", "--by", login, "--at", "2022-05-12"),
        "grant": ("users", "grant", "nobody", "member", "--plan", "mini", "--by", login),
        "tracker export": ("tracker", "export", "--plan", "mini", "-o", str(tmp_path / f"{login}.xlsx")),
        "tracker import": ("tracker", "import", str(tracker), "--by", login),
        "load": ("load", str(plan_file), "--by", login),
        "import": ("import", str(sheet), "--plan", "mini", "--by", login),
        "load new plan": ("load", str(new_plan), "--by", login),
    }[action]
    result = team(*args)
    assert result.exit_code == MATRIX[action][role], result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) >= 1 and "Traceback" not in result.stderr
        assert snapshot(db_url) == before
    assert team("audit", "verify").exit_code == 0


def test_no_password_token_or_hash_appears_in_any_output(team, db_url, tmp_path, monkeypatch):
    password = "very secret horse staple 42"
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert team("users", "passwd", "mo", "--password-stdin").exit_code == 0
    issued = team("users", "token", "mo", "--by", "mo")
    assert issued.exit_code == 0
    token = issued.stdout.strip()
    assert token.startswith("cpf_") and len(token) > 40
    from cpflow.db import Database
    from cpflow.models import Account, ApiToken
    from cpflow.teams.accounts import account_for_token, check_password

    database = Database(db_url)
    try:
        assert account_for_token(database, token) == "mo" and check_password(database, "mo", password)
        with database.read() as session:
            secrets = [password, token, session.query(Account).filter_by(login="mo").one().password_hash,
                       session.query(ApiToken).one().token_sha256]  # fmt: skip
    finally:
        database.dispose()
    secrets.append(secrets[2].split("$")[-1])  # the bare Argon2 digest too
    outputs = [issued.stderr]
    sub = json.loads(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json").stdout)
    team("review", "approve", str(sub["id"]), "--by", "lea")
    for args in (
        ("users", "list"), ("users", "list", "--format", "json"), ("users", "list", "--format", "csv"),
        ("users", "token", "mo", "--list"), ("review", "--all", "--format", "json"), ("history", "mini:1.1", "--format", "json"),
        ("audit", "verify"), ("report", "progress", "--plan", "mini", "--format", "md"),
        ("export", "mini", "--format", "csv", "-o", "-"), ("backup", str(tmp_path / "backup.jsonl")),
    ):  # fmt: skip
        outputs.append(team(*args).output)
    # The backup file itself holds the Argon2 hashes and token digests (a restore must bring the
    # accounts back): docs/team.md says to keep backups as safe as the database.
    tracker = tmp_path / "t.xlsx"
    team("tracker", "export", "--plan", "mini", "-o", str(tracker))
    outputs.append(tracker.read_bytes().decode("latin-1"))
    from sqlalchemy import select

    from cpflow.models import TransitionEvent

    database = Database(db_url)
    try:
        with database.read() as session:
            outputs += [f"{e.actor} {e.reason} {e.ref} {e.data}" for e in session.scalars(select(TransitionEvent))]
    finally:
        database.dispose()
    revoked = team("users", "token", "mo", "--revoke", "1", "--by", "mo")
    assert revoked.exit_code == 0
    outputs.append(revoked.output)
    database = Database(db_url)
    try:
        assert account_for_token(database, token) is None
    finally:
        database.dispose()
    for text in outputs:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("attempt", range(3))
def test_two_leads_approving_the_same_submission_at_once_exactly_one_succeeds(team, db_url, attempt):
    sub = json.loads(team("submit", "mini:1.1", "endorse", "--by", "mo", "--at", "2022-05-12", "--format", "json").stdout)
    from cpflow.db import Database
    from cpflow.errors import CpflowError
    from cpflow.teams.submissions import approve

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(login: str) -> None:
        database = Database(db_url)
        try:
            barrier.wait()
            outcomes[login] = approve(database, sub["id"], by=login)["status"]
        except CpflowError as exc:
            outcomes[login] = exc.exit_code
        finally:
            database.dispose()

    threads = [threading.Thread(target=decide, args=(login,)) for login in ("lea", "col")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values(), key=str) == [3, "approved"], outcomes
    history = json.loads(run_cli("history", "mini:1.1", "--format", "json", db_url=db_url).stdout)
    assert len(history) == 1 and history[0]["approved_by"] in ("lea", "col")
    assert run_cli("audit", "verify", db_url=db_url).exit_code == 0
