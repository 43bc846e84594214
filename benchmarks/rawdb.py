"""The raw side of the benchmarks: plain sqlite3 / psycopg with no cpflow in the data path.

Baselines and the fixture builder share this code. It writes exactly the rows cpflow's
schema holds (cpflow creates the schema; nothing here defines tables), opens SQLite with
the same settings cpflow's engine uses, and chains events with cpflow's own canonical
bytes so both sides hash the same payloads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from cpflow.audit import CANONICAL_FIELDS, GENESIS, canonical_bytes, canonical_json

# cpflow.db._configure_sqlite sets these on every connection; `same_settings` checks at run
# time that cpflow still does, so a baseline never runs with cheaper settings than cpflow.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
)
COMPARED_PRAGMAS = ("journal_mode", "synchronous", "cache_size", "foreign_keys", "temp_store", "mmap_size")

COLUMNS: dict[str, tuple[str, ...]] = {
    "plans": (
        "id", "slug", "title", "owner", "framework", "currency", "start", "end", "description", "source",
        "about", "sectors", "countries", "cross_cutting", "records_expected_results", "people", "rules",
        "lifecycle", "file_sha256",
    ),
    "periods": ("id", "plan_id", "key", "name", "kind", "start", "end"),
    "units": ("id", "plan_id", "key", "name", "kind", "outcome", "leads", "members"),
    "outcomes": ("id", "plan_id", "key", "title", "description"),
    "objectives": (
        "id", "plan_id", "code", "title", "description", "outcome_id", "unit_id", "targets",
        "expected_results", "position",
    ),
    "checklist_items": ("id", "plan_id", "checklist", "checklist_title", "code", "category", "text", "position"),
    "indicators": (
        "id", "plan_id", "code", "name", "measure", "direction", "of", "baseline_value", "baseline_date", "targets",
    ),
    "budget_lines": (
        "id", "plan_id", "unit_id", "period", "currency", "budget_minor", "received_minor", "declared_gap_minor",
    ),
    "activities": (
        "id", "plan_id", "code", "title", "description", "objective_id", "unit_id", "lead", "contributors",
        "phase", "schedule", "start", "due", "sectors", "countries", "cross_cutting", "activity_type",
        "expected_result", "checklist", "notes", "initial_state", "state", "version", "in_source", "position",
        "objectives",  # last, so the positions of the columns before it stay put
    ),
    "transition_events": CANONICAL_FIELDS + ("prev_hash", "hash"),
    "measurements": ("id", "indicator_id", "value", "at", "period", "source", "actor", "event_id"),
}  # fmt: skip
# Insert order that satisfies the foreign keys.
TABLES = tuple(COLUMNS)
RULES_DEFAULT = {"select": [], "ignore": [], "severity": {}, "config": {}}


def _q(name: str) -> str:
    return f'"{name}"'


def insert_sql(table: str, paramstyle: str = "qmark") -> str:
    columns = COLUMNS[table]
    mark = "?" if paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table} ({', '.join(map(_q, columns))}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608


# --- connections ------------------------------------------------------------------------


def sqlite_connect(path) -> sqlite3.Connection:
    """A sqlite3 connection with cpflow's settings, in autocommit mode (explicit BEGIN)."""
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def pragma_values(execute) -> dict[str, Any]:
    return {name: execute(f"PRAGMA {name}") for name in COMPARED_PRAGMAS}


def same_settings(path) -> dict[str, Any]:
    """Compare the settings of a cpflow connection and a baseline connection on `path`;
    raise if they differ (a baseline must never run with cheaper settings). Returns them."""
    from sqlalchemy import text

    from cpflow.db import Database

    db = Database(f"sqlite:///{path}")
    try:
        with db.connect() as conn:
            theirs = pragma_values(lambda sql: conn.execute(text(sql)).scalar())
    finally:
        db.dispose()
    raw = sqlite_connect(path)
    try:
        ours = pragma_values(lambda sql: raw.execute(sql).fetchone()[0])
    finally:
        raw.close()
    if theirs != ours:
        raise RuntimeError(f"baseline SQLite settings {ours} differ from cpflow's {theirs}: update rawdb.SQLITE_PRAGMAS")
    return ours


# --- plan rows ----------------------------------------------------------------------------


def _iso(value: dt.date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _json(value: Any) -> str:
    # SQLAlchemy's JSON type stores json.dumps(value) with the default separators.
    return json.dumps(value)


def _minor(value: Any) -> int | None:
    if value is None:
        return None
    return int(value) * 100 if isinstance(value, int) else round(float(value) * 100)


class Ids:
    """Sequential ids per table: a fresh database numbers rows 1, 2, … in insert order."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        value = self.next.get(table, 0) + 1
        self.next[table] = value
        return value


def plan_rows(
    spec: dict, ids: Ids, *, sha256: str | None = None
) -> tuple[dict[str, list[tuple]], dict[str, int], dict[str, int]]:
    """The rows a plan file (as parsed from YAML) puts in each table, with the defaults
    cpflow's loader applies (activity start/due from schedule, phase or plan).
    Returns (rows by table, activity code -> id, indicator code -> id)."""
    meta = spec["plan"]
    plan_id = ids.take("plans")
    rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
    rules = dict(RULES_DEFAULT, **(spec.get("rules") or {}))
    rows["plans"].append((
        plan_id, meta["slug"], meta["title"], meta.get("owner"), meta.get("framework"), meta.get("currency", "USD"),
        _iso(meta["start"]), _iso(meta["end"]), meta.get("description"), meta.get("source"),
        _json(meta.get("about", {})), _json(meta.get("sectors", [])), _json(meta.get("countries", [])),
        _json(meta.get("cross_cutting", [])), int(bool(meta.get("records_expected_results", False))),
        _json([{"name": p["name"], "roles": p.get("roles", [])} for p in spec.get("people", [])]), _json(rules),
        _json(spec["lifecycle"]) if spec.get("lifecycle") is not None else None, sha256,
    ))  # fmt: skip
    periods = {}
    for p in spec.get("periods", []):
        periods[p["key"]] = p
        rows["periods"].append(
            (
                ids.take("periods"),
                plan_id,
                p["key"],
                p.get("name") or p["key"],
                p.get("kind", "other"),
                _iso(p["start"]),
                _iso(p["end"]),
            )
        )
    units = {}
    for u in spec.get("units", []):
        units[u["key"]] = ids.take("units")
        rows["units"].append(
            (
                units[u["key"]],
                plan_id,
                u["key"],
                u["name"],
                u.get("kind", "other"),
                u.get("outcome"),
                _json(u.get("leads", [])),
                _json(u.get("members", [])),
            )
        )
    outcomes = {}
    for o in spec.get("outcomes", []):
        outcomes[o["key"]] = ids.take("outcomes")
        rows["outcomes"].append((outcomes[o["key"]], plan_id, o["key"], o["title"], o.get("description")))
    objectives, objective_units = {}, {}
    for position, o in enumerate(spec.get("objectives", [])):
        objectives[o["code"]] = ids.take("objectives")
        objective_units[o["code"]] = o.get("unit")
        rows["objectives"].append((
            objectives[o["code"]], plan_id, o["code"], o["title"], o.get("description"), outcomes.get(o.get("outcome")),
            units.get(o.get("unit")), _json([{"period": t["period"], "text": t["text"]} for t in o.get("targets", [])]),
            _json(o.get("expected_results", [])), position,
        ))  # fmt: skip
    for c in spec.get("checklists", []):
        for position, item in enumerate(c.get("items", [])):
            rows["checklist_items"].append(
                (
                    ids.take("checklist_items"),
                    plan_id,
                    c["key"],
                    c["title"],
                    item["code"],
                    item.get("category"),
                    item["text"],
                    position,
                )
            )
    indicators = {}
    for i in spec.get("indicators", []):
        indicators[i["code"]] = ids.take("indicators")
        baseline = i.get("baseline") or {}
        rows["indicators"].append((
            indicators[i["code"]], plan_id, i["code"], i["name"], i.get("measure"), i.get("direction", "increase"),
            i.get("of", "plan"), float(baseline["value"]) if baseline else None, _iso(baseline.get("date")),
            _json([{"period": t["period"], "value": float(t["value"])} for t in i.get("targets", [])]),
        ))  # fmt: skip
    for b in spec.get("budgets", []):
        rows["budget_lines"].append((
            ids.take("budget_lines"), plan_id, units[b["unit"]], b["period"], b.get("currency") or meta.get("currency", "USD"),
            _minor(b.get("budget")), _minor(b.get("received")), _minor(b.get("declared_gap")),
        ))  # fmt: skip
    activities = {}
    nested = [(o["code"], a) for o in spec.get("objectives", []) for a in o.get("activities", [])]
    loose = [(a.get("objective"), a) for a in spec.get("activities", [])]
    plan_start, plan_end = meta["start"], meta["end"]
    for position, (objective, a) in enumerate(nested + loose):
        objective = a.get("objective", objective)
        schedule = a.get("schedule", [])
        phase = periods.get(a["phase"]) if a.get("phase") else None
        if a.get("start"):
            start = a["start"]
        elif schedule:
            start = min(periods[k]["start"] for k in schedule)
        else:
            start = phase["start"] if phase else plan_start
        if a.get("due"):
            due = a["due"]
        elif schedule:
            due = max(periods[k]["end"] for k in schedule)
        else:
            due = phase["end"] if phase else plan_end
        state = a.get("state") or "proposed"
        contributes = ([objective] if objective is not None else []) + [c for c in a.get("objectives", []) if c != objective]
        activities[a["code"]] = ids.take("activities")
        rows["activities"].append((
            activities[a["code"]], plan_id, a["code"], a["title"], a.get("description"), objectives.get(objective),
            units.get(a.get("unit") or objective_units.get(objective)), a.get("lead"), _json(a.get("contributors", [])),
            a.get("phase"), _json(schedule), _iso(start), _iso(max(due, start)), _json(a.get("sectors", [])),
            _json(a.get("countries", [])), _json(a.get("cross_cutting", [])), a.get("type"), a.get("expected_result"),
            _json(a.get("checklist", [])), a.get("notes"), state, state, 1, 1, position, _json(list(dict.fromkeys(contributes))),
        ))  # fmt: skip
    return rows, activities, indicators


def insert_rows(conn, rows: dict[str, list[tuple]], paramstyle: str = "qmark") -> None:
    """executemany per table, in foreign-key order, on a DB-API connection."""
    cursor = conn.cursor()
    for table in TABLES:
        if rows.get(table):
            cursor.executemany(insert_sql(table, paramstyle), rows[table])


# --- the hash chain -----------------------------------------------------------------------


def chained(
    facts: Iterable[tuple], recorded_at: str, seq: int = 0, prev: str = GENESIS, out: list | None = None
) -> Iterator[tuple]:
    """Event rows (CANONICAL_FIELDS + prev_hash, hash) for fact tuples in cpflow.audit.Fact
    field order, chained from (seq, prev) with cpflow's canonical bytes. When `out` is
    given, [seq, head hash] is kept up to date in it as rows are produced."""
    sha256 = hashlib.sha256
    for kind, actor, at, plan_id, activity_id, trigger, from_state, to_state, reason, ref, data in facts:
        seq += 1
        values = (
            seq, kind, plan_id, activity_id, trigger, from_state, to_state, actor, at.isoformat(), recorded_at,
            reason, ref, canonical_json(data) if data is not None else None,
        )  # fmt: skip
        digest = sha256(prev.encode("ascii") + canonical_bytes(values)).hexdigest()
        yield (*values, prev, digest)
        prev = digest
        if out is not None:
            out[0], out[1] = seq, prev


def append_events(conn, facts: Iterable[tuple], recorded_at: str, paramstyle: str = "qmark") -> tuple[int, str]:
    """Append chained events and move the chain head, streaming (constant memory)."""
    cursor = conn.cursor()
    seq, prev = cursor.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    head = [seq, prev]
    cursor.executemany(insert_sql("transition_events", paramstyle), chained(facts, recorded_at, seq, prev, head))
    mark = "?" if paramstyle == "qmark" else "%s"
    cursor.execute(f"UPDATE chain_head SET seq = {mark}, hash = {mark} WHERE id = 1", head)  # noqa: S608
    return head[0], head[1]


# --- the as-of query ----------------------------------------------------------------------

# The same rows and order as cpflow.read.queries.list_activities(as_of=…): each activity's
# newest move on or before the date found through the (activity_id, at, id) index and
# joined by id. (Until issue 17 both sides used row_number() over the log, which makes
# SQLite sort every event up to the date: 0.38 s against 0.07 s at small.)
AS_OF_SQL = """
SELECT a.id, p.slug, a.code, a.title, o.code, u.key, a.lead, a.phase, a.start, a.due, a.sectors,
       COALESCE(lm.to_state, a.initial_state) AS state
FROM activities a
JOIN plans p ON p.id = a.plan_id
LEFT JOIN objectives o ON o.id = a.objective_id
LEFT JOIN units u ON u.id = a.unit_id
LEFT JOIN transition_events lm ON lm.id = (
    SELECT e.id FROM transition_events e
    WHERE e.activity_id = a.id AND e.kind = 'transition' AND e.at <= {mark}
    ORDER BY e.at DESC, e.id DESC LIMIT 1
)
WHERE p.start <= {mark}
ORDER BY p.slug, a.position, a.id
"""
# The window-function form the as_of baseline used before (kept to show the difference).
AS_OF_WINDOW_SQL = """
SELECT a.id, p.slug, a.code, a.title, o.code, u.key, a.lead, a.phase, a.start, a.due, a.sectors,
       COALESCE(lm.to_state, a.initial_state) AS state
FROM activities a
JOIN plans p ON p.id = a.plan_id
LEFT JOIN objectives o ON o.id = a.objective_id
LEFT JOIN units u ON u.id = a.unit_id
LEFT JOIN (
    SELECT activity_id, to_state,
           row_number() OVER (PARTITION BY activity_id ORDER BY at DESC, id DESC) AS rn
    FROM transition_events
    WHERE kind = 'transition' AND at <= {mark}
) lm ON lm.activity_id = a.id AND lm.rn = 1
WHERE p.start <= {mark}
ORDER BY p.slug, a.position, a.id
"""


def as_of_sql(paramstyle: str = "qmark") -> str:
    return AS_OF_SQL.format(mark="?" if paramstyle == "qmark" else "%s")


def check_columns() -> None:
    """Raise when cpflow's models and COLUMNS disagree (a baseline must write every column)."""
    from cpflow.models import Base

    for table, columns in COLUMNS.items():
        model = {c.name for c in Base.metadata.tables[table].columns}
        if model != set(columns):
            raise RuntimeError(
                f"benchmarks/rawdb.py COLUMNS[{table!r}] is out of date: differs on {sorted(model ^ set(columns))}"
            )
