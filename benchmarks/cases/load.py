"""load: a plan file with all the size's activities — parse, validate, write."""

from __future__ import annotations

import hashlib

from benchmarks import ACTOR, NOW, rawdb

NAME = "load"
TARGET = 3.0
DOES = "cpflow.services.load_files on one plan file of N activities (parse, validate, upsert, events)"
BASELINE = "yaml.load (CSafeLoader) of the same file + sqlite3 executemany of its rows"
REQUIRES = ("cpflow.services",)
BACKENDS = ("sqlite",)


def cpflow(ctx):
    from cpflow.db import Database
    from cpflow.services import load_files

    path = ctx.scratch_copy(ctx.data.empty_db)
    db = Database(f"sqlite:///{path}")
    db.require_schema()
    ctx.path = path
    return lambda: load_files(db, [ctx.data.plan_yaml], actor=ACTOR, now=NOW)


def baseline(ctx):
    import yaml

    path = ctx.scratch_copy(ctx.data.empty_db)
    conn = rawdb.sqlite_connect(path)
    ctx.path = path

    def run():
        data = ctx.data.plan_yaml.read_bytes()
        spec = yaml.load(data.decode("utf-8"), Loader=yaml.CSafeLoader)  # noqa: S506 (CSafeLoader)
        rows, _, _ = rawdb.plan_rows(spec, rawdb.Ids(), sha256=hashlib.sha256(data).hexdigest())
        conn.execute("BEGIN IMMEDIATE")
        rawdb.insert_rows(conn, rows)
        conn.execute("COMMIT")

    return run


def summary(ctx, _value):
    """Rows per table after the load: both sides must write the same plan."""
    conn = rawdb.sqlite_connect(ctx.path)
    try:
        tables = [t for t in rawdb.TABLES if t not in ("transition_events", "measurements")]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608
    finally:
        conn.close()
