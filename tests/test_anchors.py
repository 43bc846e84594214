"""Anchors and signed checkpoints (issue 13 section 2): attacks a chain stored beside the
data cannot see on its own, caught by a head kept elsewhere or a key kept outside."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli

from cpflow.anchors import sign
from cpflow.audit import GENESIS, Fact, append, canonical_bytes, chain_hash
from cpflow.db import Database


def note(url: str, text: str) -> int:
    """Append a fact that no table caches (the tests' stand-in for an attacker who also fixes
    the tables: `audit verify` replays the log against every table, so only the log is left)."""
    database = Database(url)
    try:
        (event_id,) = database.write(lambda s: append(s, [Fact("note", "lead", dt.date(2022, 5, 1), reason=text)]))
    finally:
        database.dispose()
    return event_id


@pytest.fixture
def history(tmp_path, mini_plan):
    """A SQLite database with a plan, a few moves and notes; returns its URL."""
    url = f"sqlite:///{tmp_path / 'cpflow.db'}"
    assert run_cli("load", str(mini_plan), "--by", "lead", db_url=url).exit_code == 0
    for code, trigger, at in (("1.1", "endorse", "2022-02-01"), ("1.1", "start", "2022-03-01")):
        assert run_cli("move", f"mini:{code}", trigger, "--by", "lead", "--at", at, db_url=url).exit_code == 0
    note(url, "minutes of the May meeting")
    assert run_cli("move", "mini:1.2", "endorse", "--by", "lead", "--at", "2022-04-01", db_url=url).exit_code == 0
    note(url, "a second note")
    note(url, "a third note")
    return url


def note_ids(url: str) -> list[int]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return [row[0] for row in conn.execute("SELECT id FROM transition_events WHERE kind = 'note' ORDER BY id")]
    finally:
        conn.close()


def head_of(url: str) -> str:
    result = run_cli("audit", "head", db_url=url)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def rewrite(url: str, *, keep=lambda event_id, seq: True, alter=None) -> None:
    """What someone who can write the file can do: switch the triggers off, drop events, and
    re-hash the rest with cpflow's own code so the chain verifies again."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("BEGIN")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    columns = "id, kind, plan_id, activity_id, trigger, from_state, to_state, actor, at, recorded_at, reason, ref, data"
    rows = conn.execute(f"SELECT {columns} FROM transition_events ORDER BY id").fetchall()
    conn.execute("DELETE FROM transition_events")
    prev, seq = GENESIS, 0
    for row in rows:
        if not keep(row[0], seq):
            continue
        seq += 1
        values = (seq, *row[1:])
        if alter:
            values = alter(values)
        digest = chain_hash(prev, canonical_bytes(tuple(values)))
        conn.execute(
            f"INSERT INTO transition_events ({columns}, prev_hash, hash) VALUES ({', '.join('?' * 15)})", (*values, prev, digest)
        )
        prev = digest
    conn.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    conn.execute("COMMIT")
    conn.close()


def test_audit_head_prints_the_head_verify_reports(history):
    head = head_of(history)
    seq, digest = head.split(":")
    verify = run_cli("audit", "verify", db_url=history)
    assert verify.stdout.startswith(f"ok: {seq} events, chain head {digest[:16]}")
    as_json = json.loads(run_cli("audit", "head", "--format", "json", db_url=history).stdout)
    assert as_json == {"seq": int(seq), "hash": digest}


def test_removing_the_last_events_passes_plain_verify_but_not_the_anchor(history):
    anchor = head_of(history)
    count = int(anchor.split(":")[0])
    rewrite(history, keep=lambda event_id, seq: event_id <= count - 2)
    assert run_cli("audit", "verify", db_url=history).exit_code == 0  # what the chain alone cannot see
    result = run_cli("audit", "verify", "--anchor", anchor, db_url=history)
    assert result.exit_code == 1, result.output
    assert f"anchor {anchor}" in result.stderr and f"the log ends at event {count - 2}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_middle_event_removed_and_the_rest_rehashed_fails_every_later_anchor(history, tmp_path):
    early = head_of(history)
    assert (
        run_cli("move", "mini:1.3", "drop", "--by", "lead", "--reason", "merged", "--at", "2022-05-01", db_url=history).exit_code
        == 0
    )
    late = head_of(history)
    heads = tmp_path / "heads.txt"
    heads.write_text(f"# heads kept by the steering group\n{early}\n{late}\n", encoding="utf-8")
    assert run_cli("audit", "verify", "--anchor", str(heads), db_url=history).exit_code == 0
    victim = note_ids(history)[0]  # a fact before the early anchor: the anchor covers it
    rewrite(history, keep=lambda event_id, seq: event_id != victim)
    assert run_cli("audit", "verify", db_url=history).exit_code == 0
    result = run_cli("audit", "verify", "--anchor", str(heads), db_url=history)
    assert result.exit_code == 1, result.output
    assert f"{heads}:2" in result.stderr and "no longer matches" in result.stderr and "(and 1 more anchors)" in result.stderr


def test_pack_manifests_and_backups_are_anchors(history, tmp_path):
    pack = tmp_path / "pack"
    assert run_cli("report", "pack", "-o", str(pack), db_url=history).exit_code == 0
    jsonl, sqlite_backup = tmp_path / "b.jsonl", tmp_path / "b.db"
    assert run_cli("backup", str(jsonl), db_url=history).exit_code == 0
    assert run_cli("backup", str(sqlite_backup), db_url=history).exit_code == 0
    anchors = [str(pack), str(pack / "manifest.json"), str(jsonl), str(sqlite_backup)]
    args = [arg for a in anchors for arg in ("--anchor", a)]
    ok = run_cli("audit", "verify", *args, db_url=history)
    assert ok.exit_code == 0 and "4 anchors still in the log" in ok.stdout, ok.output
    # An edit after the anchors were taken: the head moves on, the anchors still hold.
    assert run_cli("move", "mini:1.2", "start", "--by", "lead", "--at", "2022-06-01", db_url=history).exit_code == 0
    assert run_cli("audit", "verify", *args, db_url=history).exit_code == 0
    victim = note_ids(history)[0]
    rewrite(history, alter=lambda v: (*v[:10], "rewritten" if v[0] == victim else v[10], *v[11:]))
    for anchor in anchors:
        result = run_cli("audit", "verify", "--anchor", anchor, db_url=history)
        assert result.exit_code == 1, (anchor, result.output)
        assert "no longer matches" in result.stderr and ("manifest" in result.stderr or "backup" in result.stderr)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "neither a head SEQ:HASH"),
        ("12:abc\n", "expected a head SEQ:HASH"),
        ('{"data": {}}', "neither a cpflow pack manifest nor a checkpoint"),
        ('{"data": {"events": -1, "head_sha256": "x"}}', "not an event number and a hash"),
        ("{not json", "not JSON"),
        ("", "holds no head"),
        ('{"cpflow_backup": 1}\n{"table": "x"}\n', "without its trailer"),
    ],
)
def test_a_bad_anchor_is_one_line_exit_2(history, tmp_path, content, message):
    spec = "no-such-anchor"
    if content is not None:
        spec = str(tmp_path / "anchor.txt")
        Path(spec).write_text(content, encoding="utf-8")
    result = run_cli("audit", "verify", "--anchor", spec, db_url=history)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_signed_checkpoint_cannot_be_re_signed_after_a_rewrite(history, tmp_path):
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    env = {"CPFLOW_AUDIT_KEY": str(key)}
    signed = run_cli("audit", "checkpoint", "--by", "IM officer", "-o", str(tmp_path / "cp.json"), db_url=history, env=env)
    assert signed.exit_code == 0, signed.output
    assert run_cli("move", "mini:1.2", "start", "--by", "lead", "--at", "2022-06-01", db_url=history).exit_code == 0
    ok = run_cli("audit", "verify", db_url=history, env=env)
    assert ok.exit_code == 0 and "1 signed checkpoint verified" in ok.stdout, ok.output
    assert run_cli("audit", "verify", "--anchor", str(tmp_path / "cp.json"), db_url=history).exit_code == 0
    # Remove the first move and re-hash everything: the chain verifies, the signature does not.
    victim = note_ids(history)[0]
    rewrite(history, keep=lambda event_id, seq: event_id != victim)
    assert run_cli("audit", "verify", db_url=history).exit_code == 0
    result = run_cli("audit", "verify", db_url=history, env=env)
    assert result.exit_code == 1, result.output
    assert "audit failed: " in result.stderr and "checkpoint event" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_checkpoint_forged_with_another_key_is_named(history, tmp_path):
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    forger = tmp_path / "forger.key"
    forger.write_bytes(b"f" * 32)
    assert run_cli("audit", "checkpoint", "--by", "x", db_url=history, env={"CPFLOW_AUDIT_KEY": str(forger)}).exit_code == 0
    result = run_cli("audit", "verify", db_url=history, env={"CPFLOW_AUDIT_KEY": str(key)})
    assert result.exit_code == 1 and "signed with another key" in result.stderr, result.output
    assert sign(b"k" * 32, 1, GENESIS) != sign(b"f" * 32, 1, GENESIS)


def test_checkpoint_without_a_usable_key_is_exit_2_and_writes_nothing(history, tmp_path):
    before = head_of(history)
    short = tmp_path / "short.key"
    short.write_bytes(b"abc")
    for env in ({}, {"CPFLOW_AUDIT_KEY": str(short)}, {"CPFLOW_AUDIT_KEY": str(tmp_path / "missing.key")}):
        result = run_cli("audit", "checkpoint", "--by", "x", db_url=history, env=env)
        assert result.exit_code == 2, (env, result.output)
        assert len(result.stderr.strip().splitlines()) == 1
    assert head_of(history) == before
