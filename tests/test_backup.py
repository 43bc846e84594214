"""`cpflow backup` and `cpflow restore`: a consistent snapshot taken while others write,
restored into an empty database with every plan, event and hash; non-empty targets,
tampered and truncated backups refused without changing anything."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from contextlib import nullcontext

import pytest
from conftest import PG_URL, WORKFLOWS, pg_schema_url, proved, run_cli, snapshot
from sqlalchemy import select

from cpflow.db import Database
from cpflow.models import Activity, TransitionEvent


def ok(*args, db_url):
    result = run_cli(*args, db_url=db_url)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def history(db_url, mini_plan):
    """Seed plans plus moves, a measurement and a funding update: every kind of event."""
    ok("load", *sorted(str(p) for p in WORKFLOWS.glob("*.yaml")), str(mini_plan), "--by", "loader", db_url=db_url)
    ok("move", "mini:1.1", "endorse", "--by", "lead", "--at", "2022-03-01", "--ref", "minutes-1", db_url=db_url)
    ok("move", "mini:1.1", "start", "--by", "lead", "--at", "2022-04-01", db_url=db_url)
    ok("move", "mini:1.2", "drop", "--by", "lead", "--at", "2022-05-01", "--reason", "merged «into» 1.1 — ✓", db_url=db_url)
    return db_url


@pytest.fixture
def empty_url(db_url, tmp_path):
    """A second, empty database on the same backend."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        with pg_schema_url() as url:
            yield url


def test_backup_then_restore_into_an_empty_database_reproduces_every_row_and_hash(history, empty_url, tmp_path, capsys):
    backup = tmp_path / "cpflow.backup"
    ok("backup", str(backup), db_url=history)
    ok("restore", str(backup), db_url=empty_url)
    source, target = snapshot(history), snapshot(empty_url)
    assert target == source
    verify = ok("audit", "verify", db_url=empty_url)
    assert verify.stdout == ok("audit", "verify", db_url=history).stdout
    # The restored database is a working one: ids continue past the restored ones.
    ok("move", "mini:1.3", "endorse", "--by", "lead", db_url=empty_url)
    events = len(source["transition_events"])
    backend = "postgresql" if history.startswith("postgresql") else "sqlite"
    kind = "SQLite online backup" if backend == "sqlite" else "JSON-lines dump"
    proved(capsys, f"[backup/{backend}] {kind}: {sum(map(len, source.values()))} rows in {len(source)} tables, "
                   f"{events} events restored identical (every hash); restored database: {verify.stdout.strip()}")  # fmt: skip


def test_new_rows_after_a_restore_get_fresh_ids(history, empty_url, tmp_path):
    backup = tmp_path / "cpflow.jsonl"
    ok("backup", str(backup), db_url=history)
    ok("restore", str(backup), db_url=empty_url)
    plan = tmp_path / "extra.yaml"
    plan.write_text("plan: {slug: extra, title: Extra, start: 2022-01-01, end: 2022-12-31}\n"
                    "activities: [{code: '1', title: New}]\n", encoding="utf-8")  # fmt: skip
    ok("load", str(plan), "--by", "lead", db_url=empty_url)
    ok("move", "extra:1", "endorse", "--by", "lead", db_url=empty_url)
    ok("audit", "verify", db_url=empty_url)


def test_the_portable_dump_is_chosen_by_name_and_can_be_gzipped(history, empty_url, tmp_path):
    backup = tmp_path / "cpflow.jsonl.gz"
    assert "jsonl backup" in ok("backup", str(backup), db_url=history).stdout
    assert backup.read_bytes()[:2] == b"\x1f\x8b"
    ok("restore", str(backup), db_url=empty_url)
    assert snapshot(empty_url) == snapshot(history)


@pytest.mark.postgresql
def test_backups_move_between_sqlite_and_postgresql(tmp_path, mini_plan, capsys):
    if not PG_URL:
        pytest.skip("set CPFLOW_TEST_PG_URL")
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    ok("load", *sorted(str(p) for p in WORKFLOWS.glob("*.yaml")), str(mini_plan), "--by", "loader", db_url=sqlite_url)
    ok("move", "mini:1.1", "endorse", "--by", "lead", "--at", "2022-03-01", db_url=sqlite_url)
    with pg_schema_url() as pg_url:
        ok("backup", str(tmp_path / "a.bak"), db_url=sqlite_url)
        ok("restore", str(tmp_path / "a.bak"), db_url=pg_url)
        assert snapshot(pg_url) == snapshot(sqlite_url)
        ok("move", "mini:1.1", "start", "--by", "lead", db_url=pg_url)
        ok("backup", str(tmp_path / "b.jsonl"), db_url=pg_url)
        back = f"sqlite:///{tmp_path / 'b.db'}"
        ok("restore", str(tmp_path / "b.jsonl"), db_url=back)
        assert snapshot(back) == snapshot(pg_url)
        ok("audit", "verify", db_url=back)
    proved(capsys, "[backup/cross] SQLite -> PostgreSQL -> SQLite: every row and hash identical at each step")


def test_restore_into_a_database_that_holds_anything_is_refused_unless_forced(history, db_url, tmp_path, mini_plan):
    backup = tmp_path / "cpflow.backup"
    ok("backup", str(backup), db_url=history)
    ok("move", "mini:1.1", "complete", "--by", "lead", db_url=history)  # the database moves on
    before = snapshot(history)
    refused = run_cli("restore", str(backup), db_url=history)
    assert refused.exit_code == 2 and "is not empty" in refused.stderr and "--force" in refused.stderr
    assert snapshot(history) == before
    forced = ok("restore", str(backup), "--force", db_url=history)
    assert "replacing" in forced.stdout
    shown = json.loads(ok("show", "mini:1.1", "--format", "json", db_url=history).stdout)
    assert shown["state"] == "in_progress"  # back to the moment of the backup
    ok("audit", "verify", db_url=history)


def test_a_forced_restore_moves_changed_activities_past_the_versions_read_before_it(history, db_url, tmp_path, capsys):
    def version(code):
        return json.loads(ok("show", f"mini:{code}", "--format", "json", db_url=history).stdout)["version"]

    backup = tmp_path / "cpflow.jsonl"
    ok("backup", str(backup), db_url=history)
    at_backup = {code: version(code) for code in ("1.1", "1.2", "1.3")}
    ok("move", "mini:1.1", "complete", "--by", "lead", db_url=history)  # changes after the backup
    ok("move", "mini:1.1", "reopen", "--by", "lead", "--reason", "not done", db_url=history)
    ok("move", "mini:1.3", "endorse", "--by", "lead", db_url=history)
    read = {code: version(code) for code in ("1.1", "1.2", "1.3")}  # what a user read before the restore
    forced = ok("restore", str(backup), "--force", db_url=history)
    assert "2 changed activities got a restore event" in forced.stdout
    after = {code: version(code) for code in ("1.1", "1.2", "1.3")}
    assert after == {"1.1": read["1.1"] + 1, "1.2": at_backup["1.2"], "1.3": read["1.3"] + 1}
    ok("history", "mini:1.1", db_url=history)  # history lists moves; the restore events do not disturb it
    # A move on the version read before the restore is refused (exit 3), for each activity that changed ...
    for code in ("1.1", "1.3"):
        stale = run_cli("move", f"mini:{code}", "drop", "--by", "lead", "--reason", "x",
                        "--expect-version", str(read[code]), db_url=history)  # fmt: skip
        assert stale.exit_code == 3, stale.output
    # ... and even once later moves have brought the event count back up to it.
    ok("move", "mini:1.1", "complete", "--by", "lead", db_url=history)
    assert version("1.1") == read["1.1"] + 2
    # The one the restore did not change keeps its version, so a read of it stays good.
    ok("move", "mini:1.2", "reinstate", "--by", "lead", "--reason", "back", "--expect-version", str(read["1.2"]),
       db_url=history)  # fmt: skip
    verify = ok("audit", "verify", db_url=history)
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    proved(capsys, f"[backup/{backend}] forced restore: versions {read} before, {after} after; "
                   f"a stale --expect-version exits 3; {verify.stdout.strip()}")  # fmt: skip


@pytest.mark.parametrize(
    "damage", ["altered event", "cut short", "removed row", "not a backup", "truncated sqlite", "other schema"]
)
def test_a_damaged_backup_is_refused_and_changes_nothing(history, db_url, tmp_path, damage):
    dump = tmp_path / "cpflow.jsonl"
    ok("backup", str(dump), db_url=history)
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    if damage == "altered event":
        i = next(i for i, line in enumerate(lines) if "merged «into» 1.1" in line)
        lines[i] = lines[i].replace("merged «into» 1.1", "merged into nothing")
        bad.write_text("".join(lines), encoding="utf-8")
    elif damage == "cut short":
        bad.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    elif damage == "removed row":
        i = next(i for i, line in enumerate(lines) if "merged «into» 1.1" in line)
        bad.write_text("".join(lines[:i] + lines[i + 1 :]), encoding="utf-8")
    elif damage == "not a backup":
        bad.write_text("plan: {slug: x}\n", encoding="utf-8")
    elif damage == "truncated sqlite":
        sqlite_backup = tmp_path / "full.db"
        source = f"sqlite:///{tmp_path / 'src.db'}"
        ok("restore", str(dump), db_url=source)
        ok("backup", str(sqlite_backup), db_url=source)
        bad = tmp_path / "bad.db"
        bad.write_bytes(sqlite_backup.read_bytes()[: sqlite_backup.stat().st_size // 2])
    elif damage == "other schema":
        header = json.loads(lines[0])
        header["schema"] = "9999"
        bad.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}" if db_url.startswith("sqlite") else None
    with pg_schema_url() if target is None else nullcontext(target) as target:
        ok("init", db_url=target)
        before = snapshot(target)
        result = run_cli("restore", str(bad), db_url=target)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output
        assert snapshot(target) == before
        # Forced onto a database with content, a failed restore leaves that content alone.
        held = snapshot(history)
        forced = run_cli("restore", str(bad), "--force", db_url=history)
        assert forced.exit_code == 2 and snapshot(history) == held
    ok("audit", "verify", db_url=history)


def test_backup_does_not_overwrite_a_file_unless_forced(history, tmp_path):
    backup = tmp_path / "cpflow.backup"
    backup.write_text("precious", encoding="utf-8")
    refused = run_cli("backup", str(backup), db_url=history)
    assert refused.exit_code == 2 and "already exists" in refused.stderr
    assert backup.read_text(encoding="utf-8") == "precious"
    ok("backup", str(backup), "--force", db_url=history)
    assert backup.read_bytes() != b"precious"


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from cpflow.db import Database
    from cpflow.errors import CpflowError
    from cpflow.lifecycle import lifecycle_for
    from cpflow.plugins.manager import get_plugins
    from cpflow.read.queries import get_activity
    from cpflow.services import move

    url, stop, ids = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    db, plugins, lifecycle, done = Database(url), get_plugins(), lifecycle_for(None), 0
    deadline = time.time() + 120
    while not os.path.exists(stop) and time.time() < deadline:
        for ident in ids:
            with db.read() as s:
                state = get_activity(s, ident)[1].state
            try:
                move(db, ident, lifecycle.allowed(state)[0], actor="writer", reason="busy", plugins=plugins)
                done += 1
            except CpflowError:
                pass
    print(done)
    """
)


def event_count(db: Database) -> int:
    from cpflow.audit import head

    with db.read() as session:
        return head(session)[0]


def test_backups_taken_while_others_write_are_consistent(history, tmp_path, capsys):
    writer = tmp_path / "writer.py"
    writer.write_text(WRITER, encoding="utf-8")
    stop = tmp_path / "stop"
    ids = ",".join(f"mini:1.{i}" for i in (1, 2, 3))
    procs = [subprocess.Popen([sys.executable, str(writer), history, str(stop), ids], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "CPFLOW_PLUGINS": "none"}) for _ in range(2)]  # fmt: skip
    snapshots = []
    db = Database(history)
    try:
        start, deadline = event_count(db), time.monotonic() + 90
        while event_count(db) < start + 5:  # the writers are under way
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "the writers never started"
            time.sleep(0.1)
        for i in range(4):
            path = tmp_path / (f"during-{i}.backup" if i % 2 == 0 else f"during-{i}.jsonl")
            taken = event_count(db)
            ok("backup", str(path), db_url=history)
            snapshots.append(path)
            while event_count(db) < taken + 5 and time.monotonic() < deadline:  # let the writers move on
                time.sleep(0.05)
    finally:
        stop.touch()
        moves = [int(p.communicate(timeout=180)[0] or 0) for p in procs]
        db.dispose()
    events_seen = []
    for i, path in enumerate(snapshots):
        restored = f"sqlite:///{tmp_path / f'restored-{i}.db'}"
        ok("restore", str(path), db_url=restored)
        ok("audit", "verify", db_url=restored)
        db = Database(restored)
        with db.read() as session:
            events = session.execute(select(TransitionEvent.activity_id, TransitionEvent.to_state)
                                     .where(TransitionEvent.kind == "transition").order_by(TransitionEvent.id)).all()  # fmt: skip
            for activity in session.scalars(select(Activity)):
                own = [to for a, to in events if a == activity.id]
                assert activity.state == (own[-1] if own else activity.initial_state)
                assert activity.version == 1 + len(own)
            events_seen.append(len(events))
        db.dispose()
    assert sum(moves) > 0 and len(set(events_seen)) > 1, (moves, events_seen)
    backend = "postgresql" if history.startswith("postgresql") else "sqlite"
    proved(capsys, f"[backup/{backend}] {len(snapshots)} backups taken while 2 processes made {sum(moves)} moves: each restored, "
                   f"verified, every activity's state equal to its events' replay (moves in the snapshots: {events_seen})")  # fmt: skip


def _edit_row(lines: list[str], table: str, pick, change) -> list[str]:
    """The dump's lines with one row of `table` (the first for which pick(row) holds) changed."""
    out, current, columns = [], None, []
    done = False
    for line in lines:
        item = json.loads(line)
        if isinstance(item, dict) and "table" in item:
            current, columns = item["table"], item["columns"]
        elif isinstance(item, list) and current == table and not done:
            row = dict(zip(columns, item))
            if pick(row):
                change(row)
                line = json.dumps([row[c] for c in columns], ensure_ascii=False) + "\n"
                done = True
        out.append(line)
    assert done, table
    return out


@pytest.mark.parametrize(
    "table, pick, change, named",
    [
        ("activities", lambda r: r["title"] == "First action", lambda r: r.update(state="completed"), "activities mini:1.1: state is completed, the log says in_progress"),
        ("activities", lambda r: r["title"] == "Later action", lambda r: r.update(title="Rewritten"), "activities mini:1.3: title is Rewritten"),
        ("budget_lines", lambda r: True, lambda r: r.update(received_minor=(r["received_minor"] or 0) + 100), "budget_lines "),
        ("plans", lambda r: r["slug"] == "mini", lambda r: r.update(people=[{"name": "Mallory", "roles": ["lead"]}]), "plans mini: people is"),
    ],
)  # fmt: skip
def test_a_backup_whose_tables_were_edited_is_refused_naming_what_disagrees(
    history, empty_url, tmp_path, table, pick, change, named
):
    """Issue 13 section 8: restore verifies the restored database as `audit verify` does."""
    dump = tmp_path / "cpflow.jsonl"
    ok("backup", str(dump), db_url=history)
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "edited.jsonl"
    bad.write_text("".join(_edit_row(lines, table, pick, change)), encoding="utf-8")
    refused = run_cli("restore", str(bad), db_url=empty_url)
    assert refused.exit_code == 2, refused.output
    assert "does not verify" in refused.stderr and named in refused.stderr and "nothing was restored" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert run_cli("plans", "--format", "json", db_url=empty_url).stdout.strip() in ("", "[]")


def test_a_backup_carries_a_digest_of_its_content_and_an_edit_that_verifies_is_still_refused(history, empty_url, tmp_path):
    dump = tmp_path / "cpflow.jsonl"
    ok("backup", str(dump), db_url=history)
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    trailer = json.loads(lines[-1])
    assert trailer["sha256"] == hashlib.sha256("".join(lines[:-1]).encode("utf-8")).hexdigest()
    # A change no table replay can see (the header's creation time) still breaks the digest.
    header = json.loads(lines[0])
    header["created"] = "2000-01-01T00:00:00.000000Z"
    lines[0] = json.dumps(header) + "\n"
    bad = tmp_path / "edited.jsonl"
    bad.write_text("".join(lines), encoding="utf-8")
    refused = run_cli("restore", str(bad), db_url=empty_url)
    assert refused.exit_code == 2 and "does not match its digest" in refused.stderr
