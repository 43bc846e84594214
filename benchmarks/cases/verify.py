"""verify: `cpflow audit verify` over the fixture: the hash chain, state continuity, and every
cached table compared with the log's replay."""

from __future__ import annotations

from benchmarks import rawdb
from cpflow.audit import CANONICAL_FIELDS, GENESIS

NAME = "verify"
TARGET = 1.5
DOES = "cpflow.audit.verify over the fixture's E events: the chain, state continuity, every cached table against the replay"
BASELINE = (
    "raw sqlite3 replay doing the same work: fetch the events, recompute each hash, check each move starts where the "
    "last ended, keep each row's last recorded content, then compare every cached table (plan tables, activities' "
    "content, state and version, measurements) row by row and the chain head"
)
REQUIRES = ("cpflow.audit",)
BACKENDS = ("sqlite",)
# The plan tables in the order verify compares them; activities and measurements follow.
PLAN_TABLES = ("plans", "periods", "units", "outcomes", "objectives", "checklist_items", "indicators", "budget_lines")
NOT_CONTENT = {"activities": ("id", "state", "version", "position")}


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
    import json

    from cpflow.audit import canonical_json

    conn = rawdb.sqlite_connect(ctx.data.fixture_db)
    columns = ", ".join(CANONICAL_FIELDS) + ", prev_hash, hash"
    declared = {
        table: [(row[1], (row[2] or "").upper()) for row in conn.execute(f"PRAGMA table_info({table})")]
        for table in (*PLAN_TABLES, "activities")
    }  # fmt: skip
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def stored(table):
        """id -> content of each row (JSON parsed, booleans as bool), as the log records it."""
        names = declared[table]
        skip = NOT_CONTENT.get(table, ("id",))
        for values in conn.execute(f'SELECT * FROM "{table}" ORDER BY id'):  # noqa: S608 (fixed names)
            row = {}
            for (name, kind), value in zip(names, values):
                if name in skip:
                    continue
                if value is not None and kind == "JSON":
                    value = json.loads(value)
                elif value is not None and kind == "BOOLEAN":
                    value = bool(value)
                row[name] = value
            yield values[0], values, row

    def run():
        sha256 = hashlib.sha256
        prev, count = GENESIS, 0
        state, moved, texts, measurements = {}, set(), {}, {}
        rows = {table: {} for table in PLAN_TABLES}
        for row in conn.execute(f"SELECT {columns} FROM transition_events ORDER BY id"):  # noqa: S608
            if row[0] != count + 1 or row[13] != prev:
                return [False, count, prev]
            digest = sha256((prev + encode(row[:13])).encode("utf-8")).hexdigest()
            if digest != row[14]:
                return [False, count, prev]
            prev, count = digest, count + 1
            activity = row[3]
            if row[6] is not None:  # a move: it starts where the one before ended
                if activity in state and row[5] != state[activity]:
                    return [False, count, prev]
                state[activity] = row[6]
                moved.add(activity)
            elif row[12] is not None:
                if row[1] == "measurement":
                    measurements[row[0]] = (row[2], row[8], row[7], row[11], json.loads(row[12]))
                elif activity is not None and ',"row":{' in row[12]:
                    texts[activity] = row[12]
                    if activity not in moved:
                        start = row[12].index('"initial_state":"') + 17
                        state[activity] = row[12][start : row[12].index('"', start)]
                else:
                    data = json.loads(row[12])
                    if data.get("row") is not None and data.get("table") in rows:
                        rows[data["table"]][data["id"]] = data["row"]
                    for name, items in (data.get("rows") or {}).items():
                        for item in items:
                            rows[name][item["id"]] = {k: v for k, v in item.items() if k != "id"}
        head = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        if tuple(head) != (count, prev):
            return [False, count, prev]
        for table in PLAN_TABLES:
            seen = 0
            for row_id, _values, content in stored(table):
                if rows[table].get(row_id) != content:
                    return [False, count, prev]
                seen += 1
            if seen != len(rows[table]):
                return [False, count, prev]
        events = dict(conn.execute(
            "SELECT activity_id, COUNT(*) FROM transition_events WHERE activity_id IS NOT NULL GROUP BY activity_id"
        ).fetchall())  # fmt: skip
        names = [name for name, _ in declared["activities"]]
        at_state, at_version = names.index("state"), names.index("version")
        seen = 0
        for row_id, values, content in stored("activities"):
            text = texts.get(row_id)
            if text is None or not (text.endswith('"row":' + canonical_json(content) + "}")
                                    or json.loads(text)["row"] == content):  # fmt: skip
                return [False, count, prev]
            if values[at_state] != state.get(row_id) or values[at_version] != events.get(row_id, 0):
                return [False, count, prev]
            seen += 1
        if seen != len(texts):
            return [False, count, prev]
        indicators = {(row["plan_id"], row["code"]): row_id for row_id, row in rows["indicators"].items()}
        seen = 0
        for _id, indicator, value, at, period, source, actor, event in conn.execute(
            "SELECT id, indicator_id, value, at, period, source, actor, event_id FROM measurements ORDER BY event_id, id"
        ):
            want = measurements.get(event)
            if want is None:
                return [False, count, prev]
            plan, logged_at, logged_actor, logged_source, data = want
            if (indicator, value, at, period, source, actor) != (
                indicators.get((plan, data.get("indicator"))), data.get("value"), logged_at, data.get("period"),
                logged_source, logged_actor,
            ):  # fmt: skip
                return [False, count, prev]
            seen += 1
        return [seen == len(measurements), count, prev]

    return run


def summary(ctx, value):
    if isinstance(value, list):
        return value
    return [value.ok, value.events, value.head]
