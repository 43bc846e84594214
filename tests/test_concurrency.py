"""Concurrent leads: many processes moving the same activities at once.

Each worker process reads an activity (state and version), picks a move the lifecycle
allows from that state, and makes it with `expected_version` set to what it read, so a
worker that lost the race gets a conflict. Afterwards the test proves, from the workers'
own records and the database: every accepted move is in the log exactly once, every
refused move left no trace, each activity's state and version equal the replay of its
events, and `cpflow audit verify` passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import proved, run_cli
from sqlalchemy import func, select

from cpflow.db import Database
from cpflow.models import Activity, Plan, TransitionEvent

WORKERS = int(os.environ.get("CPFLOW_RACE_WORKERS", "8"))
MOVES = int(os.environ.get("CPFLOW_RACE_MOVES", "200"))
TIME_LIMIT_S = 300  # the whole race; workers stop themselves well before

# The default lifecycle cycles through reopen, drop and reinstate; the second plan brings
# its own lifecycle, a plain cycle, so per-plan lifecycles are raced too.
DEFAULT_PLAN = """\
plan: {slug: race, title: Race plan, start: 2022-01-01, end: 2030-12-31}
activities:
""" + "".join(f'  - {{code: "{i}", title: "Contended action {i}"}}\n' for i in range(1, 9))

CYCLE_PLAN = """\
plan: {slug: race-cycle, title: Cyclic race plan, start: 2022-01-01, end: 2030-12-31}
lifecycle:
  initial: open
  states: [open, review, closed]
  transitions:
    - {trigger: submit, source: open, dest: review}
    - {trigger: approve, source: review, dest: closed}
    - {trigger: send-back, source: review, dest: open, reason: required}
    - {trigger: reopen, source: closed, dest: open, reason: required}
activities:
""" + "".join(f'  - {{code: "c{i}", title: "Cycled action {i}"}}\n' for i in range(1, 5))

ACTIVITIES = [f"race:{i}" for i in range(1, 9)] + [f"race-cycle:c{i}" for i in range(1, 5)]

DRIVER = textwrap.dedent(
    """
    import json, random, sys, time
    from pathlib import Path
    from sqlalchemy import select
    from cpflow.db import Database
    from cpflow.errors import BusyError, ConflictError, CpflowError
    from cpflow.lifecycle import lifecycle_for
    from cpflow.models import Activity, Plan
    from cpflow.plugins.manager import get_plugins
    from cpflow.services import move

    url, worker, moves, ids, out, go, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), Path(sys.argv[5]), Path(sys.argv[6]), float(sys.argv[7])
    db = Database(url)
    plugins = get_plugins()
    rng = random.Random(worker)
    lifecycles = {}
    Path(f"{out}.ready").touch()
    while not go.exists():  # start together: the race is the point
        if time.time() > deadline:
            sys.exit("never got the start signal")
        time.sleep(0.01)
    with open(out, "w") as log:
        for i in range(moves):
            if time.time() > deadline:
                break
            ident = rng.choice(ids)
            slug, code = ident.split(":")
            with db.read() as s:
                state, version, definition = s.execute(
                    select(Activity.state, Activity.version, Plan.lifecycle).join(Plan)
                    .where(Plan.slug == slug, Activity.code == code)
                ).one()
            if slug not in lifecycles:
                lifecycles[slug] = lifecycle_for(definition)
            trigger = rng.choice(lifecycles[slug].allowed(state))
            if rng.random() < 0.3:
                time.sleep(rng.uniform(0, 0.002))  # widen the window between read and write
            tag = f"w{worker}-m{i}"
            record = {"tag": tag, "id": ident, "trigger": trigger, "from": state, "read_version": version}
            try:
                result = move(db, ident, trigger, actor=f"lead-{worker}", reason=f"race {tag}", ref=tag,
                              expected_version=version, plugins=plugins)
                record.update(outcome="accepted", event=result.event_id, version=result.version, to=result.dest)
            except ConflictError as exc:
                record.update(outcome="conflict", message=str(exc))
            except BusyError as exc:
                record.update(outcome="busy", message=str(exc))
            except CpflowError as exc:
                record.update(outcome="error", kind=type(exc).__name__, message=str(exc))
            log.write(json.dumps(record) + "\\n")
            log.flush()
    """
)


@pytest.fixture
def race_db(db_url, tmp_path):
    for name, text in (("race.yaml", DEFAULT_PLAN), ("race-cycle.yaml", CYCLE_PLAN)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run_cli("load", str(tmp_path / "race.yaml"), str(tmp_path / "race-cycle.yaml"), "--by", "setup", db_url=db_url)
    assert result.exit_code == 0, result.output
    return db_url


def run_race(url: str, tmp_path: Path) -> list[dict]:
    """Start the workers together, wait for them (bounded), return every attempt they logged."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    go = tmp_path / "go"
    deadline = time.time() + TIME_LIMIT_S - 30
    logs = [tmp_path / f"worker-{w}.jsonl" for w in range(WORKERS)]
    env = {**os.environ, "CPFLOW_PLUGINS": "none"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(driver), url, str(w), str(MOVES), ",".join(ACTIVITIES), str(log), str(go), str(deadline)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for w, log in enumerate(logs)
    ]
    try:
        while not all(Path(f"{log}.ready").exists() for log in logs):
            assert all(p.poll() is None for p in procs), "a worker died before the start: " + "".join(
                p.stderr.read() for p in procs if p.poll() is not None
            )
            assert time.time() < deadline, "workers did not start in time"
            time.sleep(0.05)
        go.touch()
        errors = []
        for proc in procs:
            try:
                _, stderr = proc.communicate(timeout=max(deadline + 25 - time.time(), 1))
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
            if proc.returncode != 0:
                errors.append(f"worker exited {proc.returncode}: {stderr[-2000:]}")
        assert not errors, "\n".join(errors)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [json.loads(line) for log in logs for line in log.read_text(encoding="utf-8").splitlines()]


def transitions(db: Database) -> tuple[list, dict]:
    with db.read() as session:
        events = session.execute(
            select(TransitionEvent.id, TransitionEvent.activity_id, TransitionEvent.trigger, TransitionEvent.from_state,
                   TransitionEvent.to_state, TransitionEvent.ref, TransitionEvent.actor)
            .where(TransitionEvent.kind == "transition").order_by(TransitionEvent.id)
        ).all()  # fmt: skip
        activities = {
            f"{slug}:{a.code}": (a.id, a.initial_state, a.state, a.version)
            for a, slug in session.execute(select(Activity, Plan.slug).join(Plan))
        }
    return events, activities


def test_concurrent_moves_are_all_or_nothing_and_the_log_replays_to_the_state(race_db, tmp_path, capsys):
    db = Database(race_db)
    with db.read() as session:
        from cpflow.audit import head

        events_before = head(session)[0]
    started = time.monotonic()
    attempts = run_race(race_db, tmp_path)
    elapsed = time.monotonic() - started

    outcomes = Counter(a["outcome"] for a in attempts)
    per_worker = Counter(a["tag"].split("-")[0] for a in attempts)
    assert len(per_worker) == WORKERS and min(per_worker.values()) >= MOVES, f"workers stopped early: {per_worker}"
    unexpected = [a for a in attempts if a["outcome"] == "error"]
    assert not unexpected, f"a stale move must be refused as a conflict, got: {unexpected[:3]}"
    accepted = [a for a in attempts if a["outcome"] == "accepted"]
    refused = [a for a in attempts if a["outcome"] != "accepted"]
    assert accepted and outcomes["conflict"], f"the race must produce both successes and conflicts: {outcomes}"
    for attempt in outcomes.keys() - {"accepted", "conflict", "busy"}:
        pytest.fail(f"unknown outcome {attempt}")
    for a in refused:
        assert "nothing was written" in a["message"], a

    events, activities = transitions(db)
    by_ref = Counter(e.ref for e in events)
    event_by_id = {e.id: e for e in events}
    # Every accepted move is in the log exactly once, as the event the worker was told about.
    for a in accepted:
        assert by_ref[a["tag"]] == 1, f"{a['tag']} is in the log {by_ref[a['tag']]} times"
        event = event_by_id[a["event"]]
        assert (event.ref, event.trigger, event.from_state, event.to_state) == (a["tag"], a["trigger"], a["from"], a["to"])
    # Every refused move left no trace, and nothing else was written.
    for a in refused:
        assert by_ref[a["tag"]] == 0, f"refused {a['tag']} left an event"
    with db.read() as session:
        from cpflow.audit import head

        events_after = head(session)[0]
    assert events_after - events_before == len(accepted) == len(events)
    # Versions handed out per activity are 2, 3, … with none given twice.
    versions: dict[str, list[int]] = {}
    for a in accepted:
        versions.setdefault(a["id"], []).append(a["version"])
    for ident, given in versions.items():
        assert sorted(given) == list(range(2, len(given) + 2)), ident
    # Each activity's cached state and version equal the replay of its events.
    replayed = 0
    for ident, (activity_id, initial, state, version) in activities.items():
        current, count = initial, 0
        for event in (e for e in events if e.activity_id == activity_id):
            assert event.from_state == current, (
                f"{ident}: event {event.id} starts from {event.from_state}, replay is at {current}"
            )
            current, count = event.to_state, count + 1
        assert (state, version) == (current, 1 + count), (
            f"{ident}: row says {state} v{version}, events say {current} v{1 + count}"
        )
        replayed += count
    verify = subprocess.run(
        [sys.executable, "-m", "cpflow", "--db", race_db, "audit", "verify"], capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stderr
    assert f"ok: {events_after} events" in verify.stdout
    backend = "postgresql" if race_db.startswith("postgresql") else "sqlite"
    proved(
        capsys,
        f"[concurrency/{backend}] {WORKERS} processes x {MOVES} moves on {len(ACTIVITIES)} shared activities in "
        f"{elapsed:.1f}s: {len(attempts)} attempted, {len(accepted)} accepted (each in the log exactly once), "
        f"{len(refused)} refused ({outcomes['conflict']} conflicts, {outcomes['busy']} busy; no trace left); "
        f"{replayed} moves replayed to every activity's state and version; audit verify ok over {events_after} events",
    )


def test_a_move_on_a_stale_version_exits_3_and_writes_nothing(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    assert cpflow("move", "mini:1.1", "endorse", "--by", "a", "--expect-version", "1").exit_code == 0
    before = cpflow("history", "mini:1.1", "--format", "json").stdout
    result = cpflow("move", "mini:1.1", "start", "--by", "b", "--expect-version", "1")
    assert result.exit_code == 3, result.output
    assert "changed since you read it" in result.stderr and "nothing was written" in result.stderr
    assert cpflow("history", "mini:1.1", "--format", "json").stdout == before


def test_a_stale_move_is_a_conflict_even_when_the_trigger_no_longer_fits(cpflow, mini_plan):
    """Two leads read 1.1 as proposed; both endorse. The second must hear 'conflict', not
    'cannot endorse': it acted on a stale read."""
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    assert cpflow("move", "mini:1.1", "endorse", "--by", "a", "--expect-version", "1").exit_code == 0
    result = cpflow("move", "mini:1.1", "endorse", "--by", "b", "--expect-version", "1")
    assert result.exit_code == 3, result.output
    assert "changed since you read it" in result.stderr


def test_busy_database_is_retried_then_reported_with_exit_4(db_url, mini_plan, monkeypatch):
    if not db_url.startswith("sqlite"):
        pytest.skip("the lock is held through SQLite's file lock")
    import sqlite3

    import cpflow.db as dbmod

    assert run_cli("load", str(mini_plan), "--by", "lead", db_url=db_url).exit_code == 0
    monkeypatch.setenv("CPFLOW_LOCK_TIMEOUT", "0.2")
    monkeypatch.setattr(dbmod.time, "sleep", lambda s: None)
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for the whole test
    try:
        result = run_cli("move", "mini:1.1", "endorse", "--by", "a", db_url=db_url)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 4, result.output
    assert "stayed busy" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.output and "locked" not in result.output
    assert run_cli("history", "mini:1.1", "--format", "json", db_url=db_url).stdout.strip() == "[]"


READERS_WRITER = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from cpflow.db import Database
    from cpflow.services import measure
    db = Database(sys.argv[1])
    stop = time.time() + float(sys.argv[2])
    n = 0
    while time.time() < stop:
        n += 1
        measure(db, "snap:IND-1", n, at=dt.date(2022, 6, 1), actor="writer")
    print(n)
    """
)

SNAPSHOT_PLAN = """\
plan: {slug: snap, title: Snapshot plan, start: 2022-01-01, end: 2025-12-31}
objectives:
  - code: "1"
    title: Objective
    activities: [{code: "1.1", title: Action}]
indicators:
  - {code: IND-1, name: Reached, measure: people, direction: increase, of: "objective:1"}
"""


def test_verify_and_pack_beside_writers_never_see_a_false_alarm_or_a_torn_report(db_url, tmp_path, capsys):
    """Issue 13 section 3: on PostgreSQL verify read events and the head in two statements at
    READ COMMITTED and reported 'events N..N were removed' in 11 of 25 runs beside a writer."""
    plan = tmp_path / "snap.yaml"
    plan.write_text(SNAPSHOT_PLAN, encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "setup", db_url=db_url).exit_code == 0
    script = tmp_path / "writer.py"
    script.write_text(READERS_WRITER, encoding="utf-8")
    seconds = os.environ.get("CPFLOW_SNAPSHOT_SECONDS", "12")
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), db_url, seconds], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    verifies, packs = 0, []
    try:
        deadline = time.monotonic() + float(seconds) - 1
        while time.monotonic() < deadline:
            result = run_cli("audit", "verify", db_url=db_url)
            assert result.exit_code == 0, f"false alarm beside writers: {result.stderr}"
            verifies += 1
            if verifies % 10 == 0:
                folder = tmp_path / f"pack-{len(packs)}"
                result = run_cli("report", "pack", "-o", str(folder), db_url=db_url, env={"CPFLOW_PLUGINS": "none"})
                assert result.exit_code == 0, result.output
                packs.append(folder)
    finally:
        outputs = [w.communicate(timeout=120) for w in writers]
    assert all(w.returncode == 0 for w in writers), outputs
    written = sum(int(out) for out, _ in outputs)
    assert written > 0 and verifies >= 10
    # Each pack read one snapshot: its manifest's head is still the event at its position.
    anchors = [arg for folder in packs for arg in ("--anchor", str(folder))]
    result = run_cli("audit", "verify", *anchors, db_url=db_url)
    assert result.exit_code == 0, result.output
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    proved(capsys, f"[snapshots/{backend}] {verifies} verifies and {len(packs)} packs beside 2 writers "
                   f"({written} measurements): 0 false alarms, every pack's head still in the log")  # fmt: skip


# --- the review loop (issue 14): members submit, leads approve or return, all at once ------

TEAM_WORKERS = 8  # 4 members submitting, 4 leads deciding
TEAM_OPS = int(os.environ.get("CPFLOW_TEAM_RACE_OPS", "25"))
TEAM_SECONDS = float(os.environ.get("CPFLOW_TEAM_RACE_SECONDS", "30"))  # each worker stops itself by then

TEAM_DRIVER = textwrap.dedent(
    """
    import datetime as dt, json, random, sys, time
    from pathlib import Path
    from sqlalchemy import select
    from cpflow.db import Database
    from cpflow.errors import BusyError, ConflictError, CpflowError
    from cpflow.lifecycle import lifecycle_for
    from cpflow.models import Activity, Plan, Submission
    from cpflow.teams.submissions import Draft, approve, create, return_submission

    url, worker, ops, ids, out, go, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), Path(sys.argv[5]), Path(sys.argv[6]), float(sys.argv[7])
    db = Database(url)
    rng = random.Random(worker)
    lifecycle = lifecycle_for({})
    member = worker < 4
    login = f"m{worker}" if member else f"l{worker}"
    Path(f"{out}.ready").touch()
    while not go.exists():
        if time.time() > deadline:
            sys.exit("never got the start signal")
        time.sleep(0.01)
    with open(out, "w") as log:
        for i in range(ops):
            if time.time() > deadline:
                break
            tag = f"{login}-{i}"
            record = {"tag": tag, "login": login}
            try:
                if member:
                    ident = rng.choice(ids)
                    with db.read() as s:
                        state = s.execute(select(Activity.state).join(Plan)
                                          .where(Plan.slug == "race", Activity.code == ident.split(":")[1])).scalar_one()
                    trigger = rng.choice(lifecycle.allowed(state))
                    record.update(action="submit", id=ident, trigger=trigger)
                    row = create(db, Draft("move", ident, trigger, dt.date(2022, 6, 1), f"race {tag}", tag, tag), by=login)
                    record.update(outcome="accepted", submission=row["id"])
                else:
                    with db.read() as s:
                        pending = s.scalars(select(Submission.id).where(Submission.status == "pending")).all()
                    if not pending:
                        time.sleep(0.02)
                        record.update(action="idle", outcome="idle")
                    else:
                        sub = rng.choice(pending)
                        record.update(action="approve", submission=sub)
                        try:
                            row = approve(db, sub, by=login)
                            record.update(outcome="accepted", event=row["event"])
                        except ConflictError as exc:
                            record.update(outcome="conflict", message=str(exc))
                            if "changed since it was submitted" in str(exc):
                                record.update(action="return")
                                return_submission(db, sub, by=login, comment=f"changed meanwhile ({tag})")
                                record.update(outcome="accepted")
            except ConflictError as exc:
                record.update(outcome="conflict", message=str(exc))
            except BusyError as exc:
                record.update(outcome="busy", message=str(exc))
            except CpflowError as exc:
                record.update(outcome="refused", kind=type(exc).__name__, message=str(exc))
            log.write(json.dumps(record) + "\\n")
            log.flush()
    """
)


@pytest.fixture
def team_race_db(db_url, tmp_path):
    (tmp_path / "race.yaml").write_text(DEFAULT_PLAN, encoding="utf-8")
    assert run_cli("load", str(tmp_path / "race.yaml"), "--by", "setup", db_url=db_url).exit_code == 0
    assert run_cli("users", "add", "admin", "--admin", db_url=db_url).exit_code == 0
    for worker in range(TEAM_WORKERS):
        login, role = (f"m{worker}", "member") if worker < 4 else (f"l{worker}", "lead")
        assert run_cli("users", "add", login, "--by", "admin", db_url=db_url).exit_code == 0
        assert run_cli("users", "grant", login, role, "--plan", "race", "--by", "admin", db_url=db_url).exit_code == 0
    return db_url


def test_members_submitting_and_leads_approving_at_once_lose_and_duplicate_nothing(team_race_db, tmp_path, capsys):
    from cpflow.models import Submission

    ids = [f"race:{i}" for i in range(1, 9)]
    driver = tmp_path / "team_driver.py"
    driver.write_text(TEAM_DRIVER, encoding="utf-8")
    go, deadline = tmp_path / "go", time.time() + TEAM_SECONDS
    logs = [tmp_path / f"team-{w}.jsonl" for w in range(TEAM_WORKERS)]
    procs = [
        subprocess.Popen([sys.executable, str(driver), team_race_db, str(w), str(TEAM_OPS), ",".join(ids), str(log), str(go),
                          str(deadline)], env={**os.environ, "CPFLOW_PLUGINS": "none"}, stderr=subprocess.PIPE, text=True)
        for w, log in enumerate(logs)
    ]  # fmt: skip
    started = time.monotonic()
    try:
        while not all(Path(f"{log}.ready").exists() for log in logs):
            assert all(p.poll() is None for p in procs), "a worker died before the start"
            assert time.time() < deadline, "workers did not start in time"
            time.sleep(0.05)
        go.touch()
        errors = []
        for proc in procs:
            _, stderr = proc.communicate(timeout=TEAM_SECONDS + 60)
            if proc.returncode != 0:
                errors.append(f"worker exited {proc.returncode}: {stderr[-2000:]}")
        assert not errors, "\n".join(errors)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - started
    attempts = [json.loads(line) for log in logs for line in log.read_text(encoding="utf-8").splitlines()]
    refused = [a for a in attempts if a["outcome"] == "refused"]
    # A member's submit may be refused only because the activity moved between its read and its submit.
    assert all(a["action"] == "submit" and "cannot" in a["message"] for a in refused), refused[:3]

    db = Database(team_race_db)
    with db.read() as session:
        subs = {s.id: SimpleNamespace(**{c: getattr(s, c) for c in ("id", "submitted_by", "ref", "trigger", "status",
                                                                    "event_id", "decided_by")})
                for s in session.scalars(select(Submission))}  # fmt: skip
        events = session.execute(
            select(TransitionEvent.id, TransitionEvent.kind, TransitionEvent.ref, TransitionEvent.data, TransitionEvent.actor)
            .where(TransitionEvent.kind.in_(("transition", "submission"))).order_by(TransitionEvent.id)
        ).all()  # fmt: skip
    db.dispose()
    submitted = [a for a in attempts if a["action"] == "submit" and a["outcome"] == "accepted"]
    approved = [a for a in attempts if a["action"] == "approve" and a["outcome"] == "accepted"]
    # Lose nothing: every submission a member was told about is stored once, as submitted.
    assert sorted(a["submission"] for a in submitted) == sorted(subs)
    for a in submitted:
        sub = subs[a["submission"]]
        assert (sub.submitted_by, sub.ref, sub.trigger) == (a["login"], a["tag"], a["trigger"])
    # Duplicate nothing: each approval recorded exactly one move, the one the lead was told about.
    moves = [(e, json.loads(e.data)) for e in events if e.kind == "transition"]
    per_submission = Counter(data.get("submission") for _, data in moves)
    assert all(count == 1 for key, count in per_submission.items() if key is not None), per_submission.most_common(3)
    assert sorted(a["submission"] for a in approved) == sorted(s.id for s in subs.values() if s.status == "approved")
    for a in approved:
        sub = subs[a["submission"]]
        assert sub.event_id == a["event"] and sub.decided_by == a["login"]
    assert len(moves) == len(approved) and all(data.get("submission") for _, data in moves)
    # Every step is in the chain: one submit event per submission, one per return.
    actions = Counter((json.loads(e.data)["action"], json.loads(e.data)["submission"]) for e in events if e.kind == "submission")
    assert all(actions[("submit", sid)] == 1 for sid in subs)
    returned = [s for s in subs.values() if s.status == "returned"]
    assert all(actions[("return", s.id)] == 1 for s in returned)
    assert approved and submitted, "the race must approve something"
    verify = subprocess.run([sys.executable, "-m", "cpflow", "--db", team_race_db, "audit", "verify"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    conflicts = sum(1 for a in attempts if a["action"] in ("approve", "return") and "message" in a)
    backend = "postgresql" if team_race_db.startswith("postgresql") else "sqlite"
    proved(
        capsys,
        f"[team-race/{backend}] 4 members + 4 leads, {len(attempts)} attempts in {elapsed:.1f}s: {len(submitted)} submitted, "
        f"{len(approved)} approved (each one move in the log), {conflicts} approvals refused as conflicts (nothing written), "
        f"{len(returned)} returned, {len(refused)} submits refused as stale; audit verify ok",
    )


# --- everything at once (issue 13): every kind of writer beside verify, check and pack --------

MIXED_PLAN = """\
plan: {{slug: mix, title: Mixed plan, start: 2022-01-01, end: 2025-12-31}}
periods:
  - {{key: "2022", start: 2022-01-01, end: 2022-12-31}}
units:
  - {{key: wg, name: Working group}}
objectives:
  - code: "1"
    title: Objective
    activities:
{activities}
indicators:
  - {{code: IND-1, name: Reached, measure: people, direction: increase, of: "objective:1"}}
budgets:
  - {{unit: wg, period: "2022", budget: 100000, received: 0}}
"""
MIXED_ACTIVITIES = [f"mix:{i}" for i in range(1, 11)]
MIXED_SECONDS = float(os.environ.get("CPFLOW_MIXED_SECONDS", "10"))

MIXED_DRIVER = textwrap.dedent(
    """
    import datetime as dt, json, random, sys, time
    from decimal import Decimal
    from pathlib import Path
    from sqlalchemy import select
    from cpflow.db import Database
    from cpflow.errors import BusyError, ConflictError, CpflowError
    from cpflow.importers.service import import_file
    from cpflow.lifecycle import lifecycle_for
    from cpflow.models import Activity, Plan
    from cpflow.plugins.manager import get_plugins
    from cpflow.services import fund, load_files, measure, move

    url, worker, out, seconds = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    plans = [Path(p) for p in sys.argv[5].split(",")]
    ids = sys.argv[6].split(",")
    db, plugins, rng = Database(url), get_plugins("none"), random.Random(worker)
    lifecycle = lifecycle_for(None)
    stop = time.time() + seconds
    with open(out, "w") as log:
        i = 0
        while time.time() < stop:
            i += 1
            tag = f"w{worker}-{i}"
            kind = rng.choice(["move", "move", "measure", "fund", "load", "import"])
            record = {"tag": tag, "kind": kind}
            try:
                if kind == "move":
                    ident = rng.choice(ids)
                    slug, code = ident.split(":")
                    with db.read() as s:
                        state, version = s.execute(select(Activity.state, Activity.version).join(Plan)
                                                   .where(Plan.slug == slug, Activity.code == code)).one()
                    trigger = rng.choice(lifecycle.allowed(state))
                    move(db, ident, trigger, actor="lead", reason=f"mixed {tag}", ref=tag, at=dt.date(2022, 6, 1),
                         expected_version=version, plugins=plugins)
                elif kind == "measure":
                    measure(db, "mix:IND-1", i, actor="lead", at=dt.date(2022, 6, 1), source=tag)
                elif kind == "fund":
                    fund(db, "mix:wg", period="2022", received=Decimal(i), actor="lead", at=dt.date(2022, 6, 1), reason=tag)
                elif kind == "load":
                    load_files(db, [rng.choice(plans)], actor="lead")
                else:
                    sheet = out.with_name(f"{tag}.csv")
                    sheet.write_text("Code,Activity\\n1.1,First\\n1.2,Second\\n1.3,Third\\n", encoding="utf-8")
                    import_file(db, sheet, plan=f"imp-{tag}", actor="im")
                record["outcome"] = "accepted"
            except (ConflictError, BusyError) as exc:
                record.update(outcome=type(exc).__name__, message=str(exc))
            except CpflowError as exc:
                record.update(outcome="error", message=f"{type(exc).__name__}: {exc}")
            log.write(json.dumps(record) + "\\n")
            log.flush()
    """
)


def test_every_kind_of_writer_beside_verify_check_and_pack_loses_and_duplicates_nothing(db_url, tmp_path, capsys):
    """8 processes record moves, measurements, funds, reloads (two versions of the file) and
    imports while this one runs audit verify, check and report pack; afterwards every accepted
    fact is in the log exactly once, nothing refused is, and the tables replay from the log."""
    lines = "\n".join(f'      - {{code: "{i}", title: "Action {i}"}}' for i in range(1, 11))
    versions = []
    for n, title in enumerate(("Action 10", "Action ten")):
        path = tmp_path / f"mix-{n}.yaml"
        path.write_text(MIXED_PLAN.format(activities=lines.replace('"Action 10"', f'"{title}"')), encoding="utf-8")
        versions.append(path)
    assert run_cli("load", str(versions[0]), "--by", "lead", db_url=db_url).exit_code == 0
    driver = tmp_path / "mixed.py"
    driver.write_text(MIXED_DRIVER, encoding="utf-8")
    logs = [tmp_path / f"mixed-{w}.jsonl" for w in range(8)]
    procs = [
        subprocess.Popen([sys.executable, str(driver), db_url, str(w), str(log), str(MIXED_SECONDS),
                          ",".join(map(str, versions)), ",".join(MIXED_ACTIVITIES)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for w, log in enumerate(logs)
    ]  # fmt: skip
    reads = {"verify": 0, "check": 0, "pack": 0}
    try:
        deadline = time.monotonic() + MIXED_SECONDS
        while time.monotonic() < deadline:
            result = run_cli("audit", "verify", db_url=db_url)
            assert result.exit_code == 0, f"false alarm beside writers: {result.stderr}"
            reads["verify"] += 1
            result = run_cli("check", "--plan", "mix", "--fail-on", "never", db_url=db_url, env={"CPFLOW_PLUGINS": "none"})
            assert result.exit_code == 0, result.output
            reads["check"] += 1
            if reads["verify"] % 4 == 1:
                folder = tmp_path / f"pack-{reads['pack']}"
                result = run_cli(
                    "report", "pack", "--plan", "mix", "-o", str(folder), db_url=db_url, env={"CPFLOW_PLUGINS": "none"}
                )
                assert result.exit_code == 0, result.output
                reads["pack"] += 1
    finally:
        outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    records = [json.loads(line) for log in logs for line in log.read_text(encoding="utf-8").splitlines()]
    assert not [r for r in records if r["outcome"] == "error"], [r for r in records if r["outcome"] == "error"][:5]
    accepted = {kind: {r["tag"] for r in records if r["kind"] == kind and r["outcome"] == "accepted"} for kind in
                ("move", "measure", "fund", "load", "import")}  # fmt: skip
    refused = {r["tag"] for r in records if r["outcome"] != "accepted"}

    db = Database(db_url)
    try:
        with db.read() as session:
            events = session.execute(
                select(TransitionEvent.kind, TransitionEvent.ref, TransitionEvent.reason, TransitionEvent.data)
            ).all()
            slugs = set(session.scalars(select(Plan.slug)))
            imported = dict(session.execute(select(Plan.slug, func.count(Activity.id)).join(Activity).group_by(Plan.slug)).all())
    finally:
        db.dispose()
    move_refs = [ref for kind, ref, _, _ in events if kind == "transition" and ref]
    assert sorted(move_refs) == sorted(accepted["move"]), "a move lost or duplicated"
    sources = [ref for kind, ref, _, _ in events if kind == "measurement"]  # a measurement's source is its event's ref
    assert sorted(s for s in sources if s) == sorted(accepted["measure"]), "a measurement lost or duplicated"
    reasons = [reason for kind, _, reason, _ in events if kind == "funding"]
    assert sorted(r for r in reasons if r) == sorted(accepted["fund"]), "a fund lost or duplicated"
    assert {f"imp-{tag}" for tag in accepted["import"]} == {s for s in slugs if s.startswith("imp-")}
    assert all(imported[f"imp-{tag}"] == 3 for tag in accepted["import"])
    result = run_cli("audit", "verify", db_url=db_url)
    assert result.exit_code == 0, result.output  # every cached table equals the replay of the log
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    counts = ", ".join(f"{len(v)} {k}s" for k, v in accepted.items())
    proved(capsys, f"[mixed/{backend}] 8 writers for {MIXED_SECONDS:g} s accepted {counts}; {len(refused)} refused "
                   f"(conflict or busy); beside {reads['verify']} verifies, {reads['check']} checks, {reads['pack']} packs: "
                   "0 lost, 0 duplicated, 0 false alarms, tables = replay")  # fmt: skip
