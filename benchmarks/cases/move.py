"""move: 2,000 single moves, each its own transaction, as people record them one by one."""

from __future__ import annotations

from benchmarks import ACTOR, NOW, rawdb
from benchmarks.generate import psycopg_dsn

NAME = "move"
TARGET = 2.0
TARGET_BY_BACKEND = {"postgresql": 2.5}
DOES = "2,000 × cpflow.services.move (validate, guard hooks, update row, chain one event; one transaction each)"
BASELINE = "2,000 × (UPDATE activities + INSERT event + UPDATE chain_head) in one sqlite3/psycopg transaction each"
EXTRA_BASELINES = {
    "fair": {
        "target": 1.5,
        "baseline": "the same 2,000 moves with cpflow's reads and checks on the driver connection: activity, plan "
        "lifecycle and people, last move date and chain head in one SELECT; trigger, reason, roles and dates checked; "
        "versioned UPDATE, INSERT event, UPDATE chain_head (PostgreSQL: plus the advisory write lock)",
    }
}
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


def setup_run(data, scratch, backend, variant=None):
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


# cpflow.services._MOVE_TARGET, written out for the driver: the same columns, the same joins.
FAIR_READ = """
SELECT p.id, p.start, p.lifecycle, p.people, a.id, a.code, a.title, a.state, a.version, a.lead, a.sectors,
       a.unit_id, a.objective_id, a.phase, a.due,
       (SELECT max(e.at) FROM transition_events e WHERE e.activity_id = a.id AND e.kind = 'transition') AS last_at,
       h.seq, h.hash
FROM plans p JOIN activities a ON a.plan_id = p.id JOIN chain_head h ON h.id = 1
WHERE p.slug = {mark} AND a.code = {mark}{lock}
"""


def _lifecycle_table(definition: dict) -> dict:
    """trigger -> (sources, dest, reason required, roles), from a lifecycle definition."""
    table = {}
    roles = definition.get("roles") or {}
    for t in definition["transitions"]:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        table[t["trigger"]] = (frozenset(sources), t["dest"], t.get("reason") == "required", tuple(roles.get(t["trigger"], ())))
    return table


def baseline_fair(ctx):
    import datetime as dt
    import json
    from importlib.resources import files

    import yaml

    from cpflow.audit import utc_now

    conn, style, rows = _work(ctx)
    sqlite = style == "qmark"
    mark = "?" if sqlite else "%s"
    read_sql = FAIR_READ.format(mark=mark, lock="" if sqlite else " FOR UPDATE OF a")
    apply_sql = f"UPDATE activities SET state = {mark}, version = {mark} WHERE id = {mark} AND version = {mark}"  # noqa: S608
    insert_sql = rawdb.insert_sql("transition_events", "qmark" if sqlite else "format")
    head_sql = f"UPDATE chain_head SET seq = {mark}, hash = {mark} WHERE id = 1"  # noqa: S608
    default = _lifecycle_table(yaml.safe_load(files("cpflow").joinpath("lifecycle.yaml").read_text()))
    tables: dict[str, dict] = {}
    work = [(slug, code, *NEXT[state]) for _, _, slug, code, state in rows]
    date = (lambda v: dt.date.fromisoformat(v) if v is not None else None) if sqlite else (lambda v: v)
    decode = json.loads if sqlite else (lambda v: v)
    cur = conn.cursor()

    def one(slug, code, trigger, reason, ref):
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute("SELECT pg_advisory_xact_lock(4242, 1)")
        cur.execute(read_sql, (slug, code))
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"unknown activity {slug}:{code}")
        plan_id, plan_start, lifecycle, people, activity_id, _code, _title, state, version = row[:9]
        last_at, seq, prev = row[15:]
        table = default if lifecycle is None else tables.setdefault(str(lifecycle), _lifecycle_table(decode(lifecycle)))
        sources, dest, reason_required, roles = table[trigger]
        if state not in sources:
            raise ValueError(f"{slug}:{code}: cannot {trigger} from {state}")
        if reason_required and not reason:
            raise ValueError(f"{slug}:{code}: {trigger} needs a reason")
        people = decode(people) if people is not None else None
        if people and roles and not any(p["name"] == ACTOR and set(p.get("roles", [])) & set(roles) for p in people):
            raise ValueError(f"{slug}:{code}: {ACTOR} may not {trigger}")
        decode(row[10]) if row[10] is not None else None  # the sectors the guard hooks would see
        last_at = date(last_at)
        if NOW < date(plan_start) or (last_at is not None and NOW < last_at):
            raise ValueError(f"{slug}:{code}: {NOW} is before its last move")
        cur.execute(apply_sql, (dest, version + 1, activity_id, version))
        if cur.rowcount != 1:
            raise RuntimeError(f"{slug}:{code} changed meanwhile")
        fact = ("transition", ACTOR, NOW, plan_id, activity_id, trigger, state, dest, reason, ref, None)
        (event,) = rawdb.chained([fact], utc_now(), seq, prev)
        cur.execute(insert_sql, event)
        cur.execute(head_sql, (event[0], event[-1]))
        if sqlite:
            cur.execute("COMMIT")
        else:
            conn.commit()

    def run():
        for slug, code, trigger, _dest, reason, ref in work:
            one(slug, code, trigger, reason, ref)
        return len(work)

    return run
