"""The hash-chained event log: appending facts and verifying the chain.

Each event's hash is SHA-256 over its predecessor's hash and the event's canonical
serialisation: a compact JSON array of its fields in a fixed order. The id is the chain
position, so an event removed, altered or moved breaks the chain at that point.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from cpflow.models import ChainHead, TransitionEvent

GENESIS = "0" * 64
# The order of fields in the canonical serialisation; never reorder (it would break every chain).
CANONICAL_FIELDS = (
    "id", "kind", "plan_id", "activity_id", "trigger", "from_state", "to_state",
    "actor", "at", "recorded_at", "reason", "ref", "data",
)  # fmt: skip


@dataclass(frozen=True)
class Fact:
    """An event about to be appended (the chain assigns id, recorded_at and hashes)."""

    kind: str
    actor: str
    at: dt.date
    plan_id: int | None = None
    activity_id: int | None = None
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    ref: str | None = None
    data: dict[str, Any] | None = None


def canonical_json(value: Any) -> str:
    """The one JSON form cpflow hashes and stores: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


# The encoder json.dumps builds for canonical_bytes, built once for verify's loop (same bytes).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_bytes(values: tuple) -> bytes:
    """Canonical serialisation of an event given its CANONICAL_FIELDS values (dates as ISO text)."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + payload).hexdigest()


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


APPEND_CHUNK = 20_000
_HEAD = select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)
_INSERT = TransitionEvent.__table__.insert()
_ADVANCE_HEAD = text("SELECT cpflow_advance_head(:h_seq, :h_hash)")
_MOVE_HEAD = update(ChainHead).where(ChainHead.id == 1).values(seq=bindparam("h_seq"), hash=bindparam("h_hash"))


def append(
    session: Session, facts: Iterable[Fact], *, recorded_at: str | None = None, head: tuple[int, str] | None = None
) -> range:
    """Append facts to the chain inside the caller's write transaction; returns their ids.

    This is the one path every writer uses (moves, measurements, funding, plan loads,
    imports, restores): it reads the head, chains each fact and inserts them with Core
    `executemany` in chunks, so a million facts stream through in bounded memory. The
    caller's transaction holds the write lock, so the head is stable; a caller that has
    already read it in the same transaction (a move) may pass it as `head`.
    """
    recorded_at = recorded_at or utc_now()
    connection = session.connection()
    seq, prev = head if head is not None else connection.execute(_HEAD).one()
    first = seq + 1
    batch: list[dict] = []
    for row in chained_rows(facts, seq, prev, recorded_at):
        batch.append(row)
        if len(batch) == APPEND_CHUNK:
            connection.execute(_INSERT, batch)
            batch = []
        seq, prev = row["id"], row["hash"]
    if batch:
        connection.execute(_INSERT, batch[0] if len(batch) == 1 else batch)
    if seq >= first:
        # On PostgreSQL writers hold no UPDATE on chain_head: the owner's function moves it (db.py, migration 0002).
        move_head = _ADVANCE_HEAD if connection.dialect.name == "postgresql" else _MOVE_HEAD
        connection.execute(move_head, {"h_seq": seq, "h_hash": prev})
    return range(first, seq + 1)


def chained_rows(facts: Iterable[Fact], seq: int, prev: str, recorded_at: str) -> Iterator[dict]:
    """The event rows that chain `facts` after the head (`seq`, `prev`): each with its id,
    canonical fields, `prev_hash` and `hash`, `at` as the date itself. The last row's id and
    hash are the new head. append inserts them; a move on the driver's cursor inserts its one."""
    for fact in facts:
        seq += 1
        data = canonical_json(fact.data) if fact.data is not None else None
        values = (
            seq, fact.kind, fact.plan_id, fact.activity_id, fact.trigger, fact.from_state, fact.to_state,
            fact.actor, fact.at.isoformat(), recorded_at, fact.reason, fact.ref, data,
        )  # fmt: skip
        digest = chain_hash(prev, canonical_bytes(values))
        row = dict(zip(CANONICAL_FIELDS, values))
        row.update(at=fact.at, prev_hash=prev, hash=digest)
        yield row
        prev = digest


@dataclass(frozen=True)
class Verification:
    """The outcome of `audit verify`."""

    ok: bool
    events: int
    head: str
    problem: str | None = None
    first_bad_event: int | None = None


def _event_rows(session: Session, batch: int = 50_000) -> Iterator[tuple]:
    columns = ", ".join(CANONICAL_FIELDS[:-1]) + ", data, prev_hash, hash"
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The DB-API cursor of the session's own connection (same transaction): plain tuples,
        # dates as the ISO text they are stored as, without a result wrapper per row.
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(f"SELECT {columns} FROM transition_events ORDER BY id")  # noqa: S608 (fixed column list)
            while rows := cursor.fetchmany(batch):
                yield from rows
        finally:
            cursor.close()
        return
    result = session.execute(
        text(f"SELECT {columns} FROM transition_events ORDER BY id"),  # noqa: S608 (fixed column list)
        execution_options={"stream_results": True, "yield_per": batch},
    )
    for partition in result.partitions(batch):
        yield from partition


def verify(session: Session, *, compare_tables: bool = True) -> Verification:
    """Recompute the chain, check each activity's states follow on, and compare every table
    that caches the log with its replay; name the first event or row that disagrees.
    Without `compare_tables`, only what a cpflow 0.1 log can prove (see cpflow.upgrade)."""
    from cpflow import digests
    from cpflow.replay import Replay

    replay = Replay()
    state, moved, fact = replay.state, replay.moved, replay.fact
    encode, sha256 = _CANONICAL.encode, hashlib.sha256  # canonical_bytes and chain_hash, inlined
    prev = GENESIS
    expected = 1
    for row in _event_rows(session):
        event_id = row[0]
        values = row[:13]
        if event_id != expected:
            problem = (
                f"event {expected} is missing (the next event is {event_id})"
                if event_id > expected
                else f"event {event_id} is out of order (expected event {expected})"
            )
            return Verification(False, expected - 1, prev, problem, expected)
        at = values[8]
        if not isinstance(at, str):
            values = values[:8] + (at.isoformat(),) + values[9:]
        if row[13] != prev:
            return Verification(
                False,
                expected - 1,
                prev,
                f"event {event_id} does not follow event {event_id - 1}: its previous hash was changed",
                event_id,
            )
        digest = sha256((prev + encode(values)).encode("utf-8")).hexdigest()
        if digest != row[14]:
            return Verification(
                False, expected - 1, prev, f"event {event_id} was altered: its content no longer matches its hash", event_id
            )
        prev = digest
        expected += 1
        activity_id = row[3]
        if row[6] is not None:  # a state change: it must start where the previous one ended
            if row[5] != state.get(activity_id):
                replay.broken(event_id, activity_id, row[4], row[5])
            state[activity_id] = row[6]
            moved.add(activity_id)
        elif row[12] is not None:
            fact(event_id, row[1], row[2], activity_id, values[8], row[7], row[11], row[12])
    count = expected - 1
    head_seq, head_hash = session.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)).one()
    if head_seq != count or head_hash != prev:
        if head_seq > count:
            problem = f"events {count + 1}..{head_seq} were removed from the end of the log"
            return Verification(False, count, prev, problem, count + 1)
        return Verification(
            False, count, prev, f"the chain head (event {head_seq}) does not match the last event ({count})", count
        )
    if replay.problem is not None:
        return Verification(False, count, prev, replay.problem, replay.problem_event)
    if not compare_tables:
        return Verification(True, count, prev)
    difference = replay.first_difference(session.connection()) or digests.recorded_difference(session.connection())
    if difference is not None:
        return Verification(False, count, prev, difference)
    return Verification(True, count, prev)


def head(session: Session) -> tuple[int, str]:
    """(number of events, hash of the last one): the fingerprint of everything recorded."""
    seq, digest = session.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)).one()
    return seq, digest
