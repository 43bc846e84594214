"""Crash safety: a load, an import or a move killed with SIGKILL leaves the database exactly
as it was, or (when the kill came after the commit) with the whole plan loaded; a rerun
succeeds.

Loads of a generated plan with hundreds of thousands of activities are killed at random
points of their write phase (the moment the process opens the database is watched for,
then a random delay); the failpoints `load:before-events` and `load:before-commit` (which
`cpflow import` passes too) and `move:after-update` kill deterministically between two
writes of one transaction.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import MINI_PLAN, proved, run_cli, snapshot
from sqlalchemy import func, select, text

from cpflow.audit import head, verify
from cpflow.db import Database
from cpflow.models import Activity, Plan

# CI kills a 20,000-activity load; `make test-slow` one of 200,000.
BIG = int(os.environ.get("CPFLOW_CRASH_ACTIVITIES", "20000"))
SMALL = 10_000
SMALL_KILLS = int(os.environ.get("CPFLOW_CRASH_SMALL_KILLS", "3"))
RUN_LIMIT_S = 600  # one load; far above what one takes, so only a hang trips it


def write_plan(path: Path, slug: str, activities: int) -> Path:
    """A plan shaped like the real ones: periods, units, objectives each holding many actions."""
    per_objective = 1000
    parts = [
        f"plan: {{slug: {slug}, title: Generated plan {slug}, start: 2022-01-01, end: 2025-12-31}}\n",
        "periods:\n",
        '  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}\n',
        '  - {key: years-3-4, name: "Years 3-4", kind: phase, start: 2024-01-01, end: 2025-12-31}\n',
        "units:\n  - {key: wg, name: Working group, kind: working_group, leads: [Lead agency]}\n",
        "objectives:\n",
    ]
    for o in range(0, activities, per_objective):
        parts.append(
            f'  - code: "{o // per_objective + 1}"\n    title: Objective {o // per_objective + 1}\n    unit: wg\n    activities:\n'
        )
        parts.extend(
            f'      - {{code: "{o // per_objective + 1}.{i + 1}", title: Action {o // per_objective + 1}.{i + 1}, '
            f'phase: years-{1 + 2 * (i % 2)}-{2 + 2 * (i % 2)}}}\n'
            for i in range(min(per_objective, activities - o))
        )  # fmt: skip
    path.write_text("".join(parts), encoding="utf-8")
    return path


def check_all_or_nothing(url: str, before: dict, slug: str, activities: int) -> str:
    """The database equals `before`, or `before` plus the whole plan `slug`; which one."""
    after = snapshot(url)
    if after == before:
        return "nothing"
    db = Database(url)
    try:
        with db.read() as session:
            plan_id = session.scalar(select(Plan.id).where(Plan.slug == slug))
            assert plan_id is not None, "the database changed but the plan is not there"
            count = session.scalar(select(func.count()).select_from(Activity).where(Activity.plan_id == plan_id))
            assert count == activities, f"a partial load: {count} of {activities} activities"
            result = verify(session)
            assert result.ok, result.problem
            assert head(session)[0] == len(before["transition_events"]) + activities + 1
    finally:
        db.dispose()
    for table, rows in before.items():
        if table != "chain_head":
            now = {row[0]: row for row in after[table]}  # every table's key is its first column, id
            assert all(now.get(row[0]) == row for row in rows), f"rows of {table} changed under a load of another plan"
    return "everything"


def database_opened(proc: subprocess.Popen, url: str, app: str, watcher: Database) -> bool:
    """True once the loading process has opened the database (validation is over)."""
    if url.startswith("sqlite"):
        target = os.path.realpath(url.removeprefix("sqlite:///"))
        try:
            return any(os.path.realpath(f"/proc/{proc.pid}/fd/{fd}") == target for fd in os.listdir(f"/proc/{proc.pid}/fd"))
        except OSError:
            return False
    with watcher.connect() as conn:
        return bool(conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE application_name = :a"), {"a": app}).first())


def wait_for_backend_gone(url: str, app: str) -> None:
    """PostgreSQL rolls a dead client's transaction back as soon as it notices; wait for that."""
    if url.startswith("sqlite"):
        return
    db = Database(url)
    deadline = time.monotonic() + 60
    with db.connect() as conn:
        while conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE application_name = :a"), {"a": app}).first():
            assert time.monotonic() < deadline, "the killed load's server session never ended"
            time.sleep(0.05)
            conn.rollback()
    db.dispose()


def cpflow_process(url: str, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    app = f"cpflow-crash-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cpflow", "--db", url, *args],
        env={**os.environ, "PGAPPNAME": app, "CPFLOW_PLUGINS": "none", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return proc, app


@pytest.fixture(scope="module")
def plan_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash-plans")
    big = write_plan(folder / "big.yaml", "big", BIG)
    small = [write_plan(folder / f"small-{k}.yaml", f"small-{k}", SMALL) for k in range(SMALL_KILLS)]
    mid = write_plan(folder / "mid.yaml", "mid", SMALL)
    mini = folder / "mini.yaml"
    mini.write_text(MINI_PLAN, encoding="utf-8")
    return big, small, mid, mini


@pytest.fixture
def used_db(db_url, plan_files):
    """A database with history: the mini plan loaded and moved, so 'as before' means something."""
    mini = plan_files[-1]
    assert run_cli("load", str(mini), "--by", "lead", db_url=db_url).exit_code == 0
    assert run_cli("move", "mini:1.1", "endorse", "--by", "lead", "--at", "2022-03-01", db_url=db_url).exit_code == 0
    return db_url


def kill_load_at_random(url: str, path: Path, activities: int, max_delay: float, rng: random.Random) -> str:
    """Start `cpflow load`, wait until it opens the database, SIGKILL it after a random delay;
    check the database holds nothing of the plan or all of it. Returns what happened."""
    before = snapshot(url)
    proc, app = cpflow_process(url, "load", str(path), "--by", "crash-test")
    watcher = Database(url)
    started = time.monotonic()
    try:
        while proc.poll() is None and not database_opened(proc, url, app, watcher):
            assert time.monotonic() - started < RUN_LIMIT_S, "the load never reached the database"
            time.sleep(0.02)
    finally:
        watcher.dispose()
    opened = time.monotonic() - started
    delay = rng.uniform(0, max_delay)
    deadline = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode in (-signal.SIGKILL, 0), stderr
    wait_for_backend_gone(url, app)
    state = check_all_or_nothing(url, before, path.stem, activities)
    killed = proc.returncode == -signal.SIGKILL
    # A kill after the commit (before the process exits) rightly leaves the whole plan.
    assert killed or state == "everything", (proc.returncode, state)
    return f"{'killed' if killed else 'finished'} {delay:.1f}s after validating for {opened:.1f}s: {state} written"


def test_load_killed_at_random_points_leaves_nothing_or_everything_and_a_rerun_succeeds(used_db, plan_files, capsys):
    big, small, _, _ = plan_files
    seed = int(os.environ.get("CPFLOW_CRASH_SEED", str(time.time_ns() % 10**9)))
    rng = random.Random(seed)
    small_outcomes = [kill_load_at_random(used_db, path, SMALL, 1.5, rng) for path in small]
    big_outcome = kill_load_at_random(used_db, big, BIG, 10.0, rng)
    # A rerun succeeds and loads all of it.
    before = snapshot(used_db) if big_outcome.endswith("nothing written") else None
    started = time.monotonic()
    proc, _ = cpflow_process(used_db, "load", str(big), "--by", "crash-test")
    stdout, stderr = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == 0, stderr
    if before is not None:
        assert f"loaded {BIG} activities" in stdout
        assert check_all_or_nothing(used_db, before, "big", BIG) == "everything"
    verify_run = run_cli("audit", "verify", db_url=used_db)
    assert verify_run.exit_code == 0, verify_run.output
    backend = "postgresql" if used_db.startswith("postgresql") else "sqlite"
    proved(
        capsys,
        f"[crash/{backend}] SIGKILL of `cpflow load` at random points (seed {seed}): {BIG:,} activities: {big_outcome}; "
        f"rerun loaded all {BIG:,} in {time.monotonic() - started:.0f}s; {SMALL:,} activities: "
        + "; ".join(small_outcomes)
        + f"; {verify_run.stdout.strip()}",
    )


@pytest.mark.parametrize("failpoint", ["load:before-events", "load:before-commit"])
def test_load_killed_at_a_failpoint_leaves_nothing_and_a_rerun_succeeds(used_db, plan_files, failpoint, capsys):
    mid = plan_files[2]
    before = snapshot(used_db)
    proc, app = cpflow_process(used_db, "load", str(mid), "--by", "crash-test", env={"CPFLOW_FAILPOINT": failpoint})
    _, stderr = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == -signal.SIGKILL, f"the failpoint did not fire: {proc.returncode} {stderr}"
    wait_for_backend_gone(used_db, app)
    assert snapshot(used_db) == before, "a load killed before its commit left rows behind"
    rerun = run_cli("load", str(mid), "--by", "crash-test", db_url=used_db)
    assert rerun.exit_code == 0 and f"loaded {SMALL} activities" in rerun.stdout, rerun.output
    assert check_all_or_nothing(used_db, before, "mid", SMALL) == "everything"
    backend = "postgresql" if used_db.startswith("postgresql") else "sqlite"
    proved(capsys, f"[crash/{backend}] `cpflow load` ({SMALL:,} activities) killed at {failpoint}: "
                   "every table unchanged; rerun loaded the whole plan; chain verified")  # fmt: skip


def write_sheet(path: Path, rows: int) -> Path:
    lines = ["Code,Objective,Activity,Start,Due,Status"]
    lines += [
        f"{i // 1000 + 1}.{i % 1000 + 1},{i // 1000 + 1},Imported action {i},2022-01-01,2023-12-31,proposed" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kill", ["load:before-events", "load:before-commit", "random"])
def test_import_killed_leaves_nothing_or_everything_and_a_rerun_succeeds(used_db, tmp_path, kill, capsys):
    sheet = write_sheet(tmp_path / "sheet.csv", SMALL)
    before = snapshot(used_db)
    args = ("import", str(sheet), "--plan", "sheet", "--by", "crash-test")
    proc, app = cpflow_process(used_db, *args, env={"CPFLOW_FAILPOINT": kill} if kill != "random" else None)
    if kill == "random":
        watcher = Database(used_db)
        try:
            while proc.poll() is None and not database_opened(proc, used_db, app, watcher):
                time.sleep(0.02)
        finally:
            watcher.dispose()
        time.sleep(random.uniform(0, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode in ((-signal.SIGKILL,) if kill != "random" else (-signal.SIGKILL, 0)), stderr
    wait_for_backend_gone(used_db, app)
    state = check_all_or_nothing(used_db, before, "sheet", SMALL)
    assert state == ("nothing" if proc.returncode == -signal.SIGKILL else "everything")
    rerun = run_cli(*args, db_url=used_db)
    assert rerun.exit_code == 0, rerun.output
    assert check_all_or_nothing(used_db, before, "sheet", SMALL) == "everything"
    backend = "postgresql" if used_db.startswith("postgresql") else "sqlite"
    how = "at a random point" if kill == "random" else f"at {kill}"
    proved(capsys, f"[crash/{backend}] `cpflow import` ({SMALL:,} rows) killed {how}: {state} written; "
                   "rerun imported the whole sheet; chain verified")  # fmt: skip


def test_move_killed_between_row_update_and_event_leaves_nothing_and_a_rerun_succeeds(used_db, capsys):
    before = snapshot(used_db)
    proc, app = cpflow_process(
        used_db, "move", "mini:1.1", "start", "--by", "lead", env={"CPFLOW_FAILPOINT": "move:after-update"}
    )
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, f"the failpoint did not fire: {proc.returncode} {stderr}"
    wait_for_backend_gone(used_db, app)
    assert snapshot(used_db) == before, "a move killed after its row update left a trace"
    rerun = run_cli("move", "mini:1.1", "start", "--by", "lead", db_url=used_db)
    assert rerun.exit_code == 0, rerun.output
    shown = run_cli("show", "mini:1.1", "--format", "json", db_url=used_db).stdout
    assert '"state": "in_progress"' in shown and '"version": 3' in shown
    verify_run = run_cli("audit", "verify", db_url=used_db)
    assert verify_run.exit_code == 0, verify_run.output
    backend = "postgresql" if used_db.startswith("postgresql") else "sqlite"
    proved(capsys, f"[crash/{backend}] `cpflow move` killed at move:after-update: state, version and log unchanged; "
                   f"rerun moved it once; {verify_run.stdout.strip()}")  # fmt: skip
