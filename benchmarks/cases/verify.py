"""verify: recompute the whole hash chain of the fixture's events."""

from __future__ import annotations

from benchmarks import rawdb
from cpflow.audit import CANONICAL_FIELDS, GENESIS, canonical_bytes

NAME = "verify"
TARGET = 1.5
DOES = "cpflow.audit.verify over the fixture's E events (`cpflow audit verify`)"
BASELINE = "sqlite3 fetch of the same rows + hashlib over cpflow.audit.canonical_bytes in a loop"
REQUIRES = ("cpflow.audit",)
BACKENDS = ("sqlite",)


def cpflow(ctx):
    from cpflow.audit import verify
    from cpflow.db import Database

    db = Database(ctx.fixture_url)
    db.require_schema()

    def run():
        with db.read() as session:
            return verify(session)

    return run


def baseline(ctx):
    import hashlib

    conn = rawdb.sqlite_connect(ctx.data.fixture_db)
    columns = ", ".join(CANONICAL_FIELDS) + ", prev_hash, hash"

    def run():
        sha256 = hashlib.sha256
        prev, count = GENESIS, 0
        for row in conn.execute(f"SELECT {columns} FROM transition_events ORDER BY id"):  # noqa: S608
            if (
                row[0] != count + 1
                or row[13] != prev
                or sha256(prev.encode("ascii") + canonical_bytes(row[:13])).hexdigest() != row[14]
            ):
                return [False, count, prev]
            prev = row[14]
            count += 1
        head = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return [tuple(head) == (count, prev), count, prev]

    return run


def summary(ctx, value):
    if isinstance(value, list):
        return value
    return [value.ok, value.events, value.head]
