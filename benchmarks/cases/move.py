"""move: 2,000 single moves, each its own transaction, as people record them one by one."""

from __future__ import annotations

from benchmarks import ACTOR, NOW, rawdb
from benchmarks.generate import psycopg_dsn

NAME = "move"
TARGET = 3.0
DOES = "2,000 × cpflow.services.move (validate, guard hooks, update row, chain one event; one transaction each)"
BASELINE = "2,000 × (UPDATE activities + INSERT event + UPDATE chain_head) in one sqlite3/psycopg transaction each"
REQUIRES = ("cpflow.services",)
BACKENDS = ("sqlite", "postgresql")
MOVES = 2_000
# The next move from each state under the default lifecycle, with what it needs.
NEXT = {
    "proposed": ("endorse", "endorsed", None, "Coordination meeting minutes"),
    "endorsed": ("start", "in_progress", None, None),
    "in_progress": ("complete", "completed", None, "Final report shared"),
    "completed": ("reopen", "in_progress", "Follow-up requested at the review", None),
    "dropped": ("reinstate", "proposed", "Funding found; back on the plan", None),
}


def setup_run(data, scratch, backend):
    """Once per run, in the parent: a working copy both sides move on (SQLite); the
    fixture itself stays untouched for the next run."""
    if backend == "sqlite":
        import shutil

        target = scratch / "move.db"
        shutil.copyfile(data.fixture_db, target)
        return {"move_db": str(target)}
    return {}


def _connect(ctx):
    if ctx.backend == "postgresql":
        import psycopg

        return psycopg.connect(psycopg_dsn(ctx.pg_url)), "format"
    return rawdb.sqlite_connect(ctx.params["move_db"]), "qmark"


def _url(ctx):
    return ctx.pg_url if ctx.backend == "postgresql" else f"sqlite:///{ctx.params['move_db']}"


def _work(ctx):
    """The same activities on every side and repetition (spread over all plans), each with
    the next move its current state allows; read untimed."""
    conn, style = _connect(ctx)
    n = ctx.info["activities"]
    count = min(MOVES, max(1, n // 4))
    ids = [1 + i * n // count for i in range(count)]
    mark = "?" if style == "qmark" else "%s"
    cur = conn.cursor()
    cur.execute(
        f"SELECT a.id, a.plan_id, p.slug, a.code, a.state FROM activities a JOIN plans p ON p.id = a.plan_id "  # noqa: S608
        f"WHERE a.id IN ({', '.join([mark] * len(ids))}) ORDER BY a.id",
        ids,
    )
    rows = cur.fetchall()
    conn.commit()
    return conn, style, rows


def cpflow(ctx):
    from cpflow.db import Database
    from cpflow.plugins.manager import get_plugins
    from cpflow.services import move

    conn, _, rows = _work(ctx)
    conn.close()
    db = Database(_url(ctx))
    db.require_schema()
    plugins = get_plugins()
    work = [(f"{slug}:{code}", *NEXT[state]) for _, _, slug, code, state in rows]

    def run():
        for ident, trigger, _dest, reason, ref in work:
            move(db, ident, trigger, actor=ACTOR, at=NOW, reason=reason, ref=ref, now=NOW, plugins=plugins)
        return len(work)

    return run


def baseline(ctx):
    from cpflow.audit import utc_now

    conn, style, rows = _work(ctx)
    mark = "?" if style == "qmark" else "%s"
    update_sql = f"UPDATE activities SET state = {mark}, version = version + 1 WHERE id = {mark}"  # noqa: S608
    insert_sql = rawdb.insert_sql("transition_events", "qmark" if style == "qmark" else "format")
    head_sql = f"UPDATE chain_head SET seq = {mark}, hash = {mark} WHERE id = 1"  # noqa: S608
    cur = conn.cursor()
    cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1")
    seq, prev = cur.fetchone()
    conn.commit()
    sqlite = style == "qmark"

    def run():
        nonlocal seq, prev
        for activity_id, plan_id, _slug, _code, state in rows:
            trigger, dest, reason, ref = NEXT[state]
            fact = ("transition", ACTOR, NOW, plan_id, activity_id, trigger, state, dest, reason, ref, None)
            (event,) = rawdb.chained([fact], utc_now(), seq, prev)
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(update_sql, (dest, activity_id))
            cur.execute(insert_sql, event)
            seq, prev = event[0], event[-1]
            cur.execute(head_sql, (seq, prev))
            if sqlite:
                cur.execute("COMMIT")
            else:
                conn.commit()
        return len(rows)

    return run


def summary(ctx, value):
    return {"moves": value}
