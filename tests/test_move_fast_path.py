"""A move runs on the driver's cursor (Database.write_raw), outside the ORM Session: it must
record exactly what the deleted Session path recorded, refuse exactly what it refused with
nothing written, and leave the connection it keeps fit for the next write."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest
from conftest import snapshot
from sqlalchemy import text

from cpflow import audit
from cpflow.db import Database
from cpflow.errors import BadInput, BusyError, ConflictError, GuardVeto, IllegalTransition
from cpflow.plugins import hookimpl
from cpflow.services import load_files, move
from cpflow.testing import plugins_with

PLAN = """\
plan: {slug: fast, title: Fast path plan, start: 2022-01-01, end: 2025-12-31}
people:
  - {name: Amina Yusuf, roles: [lead]}
  - {name: Sam Member, roles: [member]}
activities:
  - {code: "1", title: First action, sectors: [protection], due: 2023-06-30}
  - {code: "2", title: Second action}
"""
OWN = """\
plan: {slug: own, title: Own lifecycle, start: 2022-01-01, end: 2025-12-31}
people:
  - {name: Lead, roles: [lead]}
  - {name: Reviewer, roles: [reviewer]}
lifecycle:
  initial: draft
  states: [draft, submitted, approved]
  transitions:
    - {trigger: submit, source: draft, dest: submitted}
    - {trigger: approve, source: submitted, dest: approved}
    - {trigger: return, source: submitted, dest: draft, reason: required}
  roles:
    approve: [reviewer]
activities:
  - {code: "1", title: Reviewed action}
"""
NOW = dt.date(2026, 1, 1)
# (ident, trigger, actor, date, reason, ref): moves both paths record, in this order.
MOVES = [
    ("fast:1", "endorse", "amina yusuf", "2022-03-01", None, "March minutes"),
    ("fast:1", "start", "Sam Member", "2022-04-01", None, None),
    ("fast:2", "drop", "Amina Yusuf", "2022-04-01", "Merged into 1", None),
    ("own:1", "submit", "Lead", "2022-05-01", None, None),
    ("own:1", "return", "Lead", "2022-05-02", "Needs numbers", None),
    ("own:1", "submit", "Lead", "2022-05-03", None, None),
    ("own:1", "approve", "Reviewer", "2022-05-04", None, "Review 7"),
    ("fast:1", "complete", "Sam Member", "2022-06-01", None, None),
]


class Recorder:
    """A real plugin: what both hooks saw."""

    def __init__(self, veto: str | None = None):
        self.calls: list[tuple] = []
        self.veto = veto

    @hookimpl
    def guard_transition(self, activity, trigger, source, dest, actor, at, reason, ref):
        self.calls.append(("guard", dict(activity), trigger, source, dest, actor, at, reason, ref))
        return self.veto

    @hookimpl
    def after_transition(self, activity, trigger, source, dest, actor, at, reason, ref, event_id):
        self.calls.append(("after", dict(activity), trigger, source, dest, actor, at, reason, ref, event_id))


@pytest.fixture
def plans(db, tmp_path):
    for name, body in (("fast.yaml", PLAN), ("own.yaml", OWN)):
        (tmp_path / name).write_text(body, encoding="utf-8")
    load_files(db, [tmp_path / "fast.yaml", tmp_path / "own.yaml"], actor="setup", now=NOW)
    return db


def _move(db, ident, trigger, actor="Amina Yusuf", at="2022-03-01", reason=None, ref=None, plugins=None, **kwargs):
    plugins = plugins if plugins is not None else plugins_with()
    return move(db, ident, trigger, actor=actor, at=dt.date.fromisoformat(at), reason=reason, ref=ref, now=NOW,
                plugins=plugins, **kwargs)  # fmt: skip


def _events(db: Database) -> list[tuple]:
    """Every event's canonical fields but recorded_at (and so the hashes, which cover it)."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT " + ", ".join(audit.CANONICAL_FIELDS) + " FROM transition_events ORDER BY id"))
        return [tuple(str(v) if isinstance(v, dt.date) else v for v in row[:9]) + tuple(row[10:]) for row in rows]


def _verified(db: Database) -> audit.Verification:
    with db.read() as session:
        return audit.verify(session)


def _record_all(db, recorder):
    results = [_move(db, *spec, plugins=plugins_with(recorder)) for spec in MOVES]
    return results


# What the deleted Session path recorded for MOVES (captured at d97e7dc, where a test held
# the two paths equal): each event's kind, trigger, states, actor, date, reason, ref, data.
EXPECTED_EVENTS = [
    ("transition", "endorse", "proposed", "endorsed", "Amina Yusuf", "2022-03-01", None, "March minutes", None),
    ("transition", "start", "endorsed", "in_progress", "Sam Member", "2022-04-01", None, None, None),
    ("transition", "drop", "proposed", "dropped", "Amina Yusuf", "2022-04-01", "Merged into 1", None, None),
    ("transition", "submit", "draft", "submitted", "Lead", "2022-05-01", None, None, None),
    ("transition", "return", "submitted", "draft", "Lead", "2022-05-02", "Needs numbers", None, None),
    ("transition", "submit", "draft", "submitted", "Lead", "2022-05-03", None, None, None),
    ("transition", "approve", "submitted", "approved", "Reviewer", "2022-05-04", None, "Review 7", None),
    ("transition", "complete", "in_progress", "completed", "Sam Member", "2022-06-01", None, None, None),
]
# (id, trigger, source, dest, actor, at, version, warnings) of each result, captured with them.
EXPECTED_RESULTS = [
    ("fast:1", "endorse", "proposed", "endorsed", "amina yusuf", "2022-03-01", 2, []),
    ("fast:1", "start", "endorsed", "in_progress", "Sam Member", "2022-04-01", 3, []),
    ("fast:2", "drop", "proposed", "dropped", "Amina Yusuf", "2022-04-01", 2, []),
    ("own:1", "submit", "draft", "submitted", "Lead", "2022-05-01", 2, []),
    ("own:1", "return", "submitted", "draft", "Lead", "2022-05-02", 3, []),
    ("own:1", "submit", "draft", "submitted", "Lead", "2022-05-03", 4, []),
    ("own:1", "approve", "submitted", "approved", "Reviewer", "2022-05-04", 5, []),
    ("fast:1", "complete", "in_progress", "completed", "Sam Member", "2022-06-01", 4, []),
]


def test_the_driver_path_records_what_the_session_path_recorded(plans):
    recorder = Recorder()
    results = _record_all(plans, recorder)
    assert len(plans._spare) == 1  # write_raw's connection: the moves went the driver's way
    events = _events(plans)
    assert _verified(plans).ok
    assert [e[1:2] + e[4:] for e in events[-len(MOVES) :]] == EXPECTED_EVENTS
    assert [(r.id, r.trigger, r.source, r.dest, r.actor, str(r.at), r.version, r.warnings) for r in results] == (EXPECTED_RESULTS)
    # Each move asked the guard hook, then told the after hook, with what it moved.
    assert [c[0] for c in recorder.calls] == ["guard", "after"] * len(MOVES)
    for (ident, trigger, actor, at, reason, ref), result, guard, after in zip(
        MOVES, results, recorder.calls[::2], recorder.calls[1::2]
    ):
        slug, code = ident.split(":")
        moved = (trigger, result.source, result.dest, actor, dt.date.fromisoformat(at), reason, ref)
        assert guard[1]["id"] == ident and guard[2:] == moved
        assert after[1:] == ({"id": ident, "plan": slug, "code": code}, *moved, result.event_id)
    assert recorder.calls[0][1] == {"id": "fast:1", "plan": "fast", "code": "1", "title": "First action",
                                    "state": "proposed", "version": 1, "lead": None, "sectors": ["protection"],
                                    "unit": None, "objective": None, "phase": None, "due": dt.date(2023, 6, 30)}  # fmt: skip
    assert [r.event_id for r in results] == [e[0] for e in events[-len(MOVES) :]]


@pytest.mark.parametrize(
    "spec, error, message",
    [
        (("fast:2", "complete"), IllegalTransition, "fast:2 is proposed: cannot complete"),
        (("fast:1", "approve"), BadInput, "unknown trigger 'approve'"),
        (("fast:2", "drop"), BadInput, "drop needs a reason"),
        (("fast:2", "endorse", "Sam Member"), BadInput, "'Sam Member' may not endorse in this plan"),
        (("fast:2", "endorse", "Amina Yusuf", "2021-12-31"), BadInput, "before the plan starts"),
        (("fast:1", "start", "Amina Yusuf", "2022-02-01"), BadInput, "before its last move on 2022-03-01"),
        (("own:1", "approve", "Reviewer"), IllegalTransition, "own:1 is draft: cannot approve"),
        (("fast:9", "endorse"), BadInput, "unknown activity fast:9"),
    ],
)
def test_a_refused_move_writes_nothing_and_the_next_move_goes_through(plans, db_url, spec, error, message):
    _move(plans, "fast:1", "endorse", ref="minutes")
    before = snapshot(db_url)
    with pytest.raises(error) as refused:
        _move(plans, *spec)
    assert message in str(refused.value)
    assert snapshot(db_url) == before
    after = _move(plans, "fast:1", "start", at="2022-03-02")  # the kept connection is clean
    assert (after.source, after.dest, after.version) == ("endorsed", "in_progress", 3)
    assert _verified(plans).ok


def test_a_stale_version_and_a_veto_write_nothing(plans, db_url):
    first = _move(plans, "fast:1", "endorse")
    before = snapshot(db_url)
    with pytest.raises(ConflictError, match=r"fast:1 changed since you read it \(version 1, now 2, state endorsed\)"):
        _move(plans, "fast:1", "start", expected_version=1)
    vetoing = Recorder(veto="not before the review")
    with pytest.raises(GuardVeto, match="fast:1: start refused: not before the review"):
        _move(plans, "fast:1", "start", plugins=plugins_with(vetoing))
    assert [c[0] for c in vetoing.calls] == ["guard"]  # no after_transition for a refused move
    assert snapshot(db_url) == before
    done = _move(plans, "fast:1", "start", expected_version=first.version)
    assert done.version == 3 and done.event_id == first.event_id + 1


def test_a_busy_sqlite_database_is_retried_then_refused_with_nothing_written(plans, db_url, monkeypatch):
    if not plans.is_sqlite:
        pytest.skip("SQLite's file lock")
    monkeypatch.setenv("CPFLOW_LOCK_TIMEOUT", "0.4")
    busy = Database(db_url)
    before = snapshot(db_url)
    holder = sqlite3.connect(busy.sqlite_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BusyError, match="stayed busy after 4 attempts"):
            _move(busy, "fast:1", "endorse")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert snapshot(db_url) == before
    assert _move(busy, "fast:1", "endorse").event_id == audit_head(busy)
    busy.dispose()


def audit_head(db: Database) -> int:
    with db.read() as session:
        return audit.head(session)[0]


def test_concurrent_moves_from_threads_each_record_once_on_one_chain(plans):
    codes = ["fast:1", "fast:2", "own:1"]
    triggers = {"fast:1": "endorse", "fast:2": "endorse", "own:1": "submit"}
    actors = {"own:1": "Lead"}
    results, errors = [], []

    def one(ident):
        try:
            results.append(_move(plans, ident, triggers[ident], actor=actors.get(ident, "Amina Yusuf")))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(ident,)) for ident in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.id for r in results) == sorted(codes)
    assert len({r.event_id for r in results}) == 3
    assert _verified(plans).ok
    plans.dispose()  # the kept connection is closed with the engine
    assert plans._spare == []


def test_an_account_database_decides_by_its_grants_on_the_driver_path(team):
    """With accounts, a move is authorised against them (cpflow.read.team), not the plan's people
    (tests/test_move_one_path.py has every refusal and approval)."""
    refused = team("move", "mini:1.1", "endorse", "--by", "mo")
    assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
    assert "cpflow submit mini:1.1 endorse --by mo" in refused.stderr
    assert team("history", "mini:1.1", "--format", "json").stdout.strip() == "[]"
    done = team("move", "mini:1.1", "endorse", "--by", "LEA")
    assert done.exit_code == 0, done.output
    assert "(endorse by LEA" in done.stdout
    assert '"actor": "lea"' in team("history", "mini:1.1", "--format", "json").stdout
