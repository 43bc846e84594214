"""history: append the size's events, hash-chained, through cpflow's bulk event path."""

from __future__ import annotations

from benchmarks import RECORDED_AT, rawdb
from benchmarks.generate import load_facts

NAME = "history"
TARGET = 2.0
DOES = "cpflow.audit.append of E events (the path load, import and restore use) in one Database.write"
BASELINE = "sqlite3 executemany of the same rows + hashlib chain over cpflow.audit.canonical_bytes"
REQUIRES = ("cpflow.audit",)
BACKENDS = ("sqlite",)


def cpflow(ctx):
    from cpflow import audit
    from cpflow.db import Database

    facts = load_facts(ctx.data)
    ctx.path = ctx.scratch_copy(ctx.data.template_db)
    db = Database(f"sqlite:///{ctx.path}")
    db.require_schema()

    def run():
        # Facts are built as the bulk path consumes them, as load and import build theirs.
        return db.write(lambda session: len(audit.append(session, (audit.Fact(*f) for f in facts), recorded_at=RECORDED_AT)))

    return run


def baseline(ctx):
    facts = load_facts(ctx.data)
    ctx.path = ctx.scratch_copy(ctx.data.template_db)
    conn = rawdb.sqlite_connect(ctx.path)

    def run():
        conn.execute("BEGIN IMMEDIATE")
        rawdb.append_events(conn, facts, RECORDED_AT)
        conn.execute("COMMIT")

    return run


def summary(ctx, _value):
    """The chain head: both sides must produce the very same chain."""
    conn = rawdb.sqlite_connect(ctx.path)
    try:
        return list(conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone())
    finally:
        conn.close()
