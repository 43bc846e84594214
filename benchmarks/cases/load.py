"""load: a plan file with all the size's activities — parse, validate, write, chain events."""

from __future__ import annotations

import hashlib
from collections import Counter

from benchmarks import ACTOR, NOW, rawdb

NAME = "load"
TARGET = 1.5
DOES = "cpflow.services.load_files on one plan file of N activities (parse, validate, upsert, create events)"
BASELINE = (
    "yaml.load (CSafeLoader) + pydantic validation (benchmarks/planschema.py: types, dates, unique codes, references) "
    "+ sqlite3 executemany of its rows + the hash-chained `create` events (plan and each activity)"
)
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

    from benchmarks.planschema import validate
    from cpflow.audit import utc_now

    path = ctx.scratch_copy(ctx.data.empty_db)
    conn = rawdb.sqlite_connect(path)
    ctx.path = path

    def run():
        data = ctx.data.plan_yaml.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        spec = validate(yaml.load(data.decode("utf-8"), Loader=yaml.CSafeLoader))  # noqa: S506 (CSafeLoader)
        rows, activities, _ = rawdb.plan_rows(spec, rawdb.Ids(), sha256=sha256)
        (plan_id,) = (row[0] for row in rows["plans"])
        slug = spec["plan"]["slug"]
        facts = [("create", ACTOR, NOW, plan_id, None, None, None, None, None, None,
                  {"table": "plans", "key": slug, "file_sha256": sha256})]  # fmt: skip
        facts.extend(
            ("create", ACTOR, NOW, plan_id, activity_id, None, None, None, None, None, {"code": code})
            for code, activity_id in activities.items()
        )
        conn.execute("BEGIN IMMEDIATE")
        rawdb.insert_rows(conn, rows)
        rawdb.append_events(conn, facts, utc_now())
        conn.execute("COMMIT")

    return run


def summary(ctx, _value):
    """Rows per table and events by kind after the load: both sides must write the same plan
    and the same chained events."""
    conn = rawdb.sqlite_connect(ctx.path)
    try:
        tables = [t for t in rawdb.TABLES if t not in ("transition_events", "measurements")]
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608
        kinds = Counter(kind for (kind,) in conn.execute("SELECT kind FROM transition_events"))
        out["events"] = dict(sorted(kinds.items()))
        out["chain_length"] = conn.execute("SELECT seq FROM chain_head WHERE id = 1").fetchone()[0]
        return out
    finally:
        conn.close()
