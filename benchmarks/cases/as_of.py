"""as_of: the state of every activity on a past date, replayed from the event log."""

from __future__ import annotations

from collections import Counter

from benchmarks import AS_OF, rawdb

NAME = "as_of"
TARGET = 1.5  # the target (was 2.0 while the listing was 1.6-1.7x the raw query)
DOES = "cpflow.read.queries.list_activities(as_of=…) over N activities and E events (`cpflow activities --as-of`)"
BASELINE = "one raw query returning the same rows (each activity's newest move by index seek, joined by id)"
REQUIRES = ("cpflow.read.queries", "cpflow.read.state")
BACKENDS = ("sqlite", "postgresql")


def cpflow(ctx):
    from cpflow.db import Database
    from cpflow.read.queries import list_activities

    db = Database(ctx.fixture_url)
    db.require_schema()

    def run():
        with db.read() as session:
            return list_activities(session, as_of=AS_OF)

    return run


def baseline(ctx):
    if ctx.backend == "postgresql":
        import psycopg

        from benchmarks.generate import psycopg_dsn

        conn = psycopg.connect(psycopg_dsn(ctx.pg_url))
        sql, params = rawdb.as_of_sql("format"), (AS_OF, AS_OF)

        def run():
            with conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall()
            conn.commit()
            return rows

        return run
    conn = rawdb.sqlite_connect(ctx.data.fixture_db)
    sql, params = rawdb.as_of_sql(), (AS_OF.isoformat(), AS_OF.isoformat())
    return lambda: conn.execute(sql, params).fetchall()


def summary(ctx, rows):
    """How many activities, in which state: both sides must replay the same states."""
    states = Counter(row["state"] if isinstance(row, dict) else row[-1] for row in rows)
    return {"activities": len(rows), "states": dict(sorted(states.items()))}
