"""The event log replayed: what every table that caches it must hold, and where it does not.

Plan loads record the content of each row they create or change (`row`, every column but
the id; a new plan's `create` event carries its periods, units … as `rows`); funding
events carry the budget line after the update; measurements are their events; an
activity's state is its last event's to-state (its loaded initial state before any) and
its version the number of events about it. `Replay` is fed the events in chain order by
`cpflow.audit.verify`, then `first_difference` compares every cached table with it in one
set-based read per table and names the first row that disagrees.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Float, Integer, Table, case, func, literal_column, select, text
from sqlalchemy.sql import ColumnElement

from cpflow.audit import canonical_json
from cpflow.errors import EXIT_FINDINGS, CpflowError
from cpflow.models import (
    Activity,
    BudgetLine,
    ChecklistItem,
    Indicator,
    Measurement,
    Objective,
    Outcome,
    Period,
    Plan,
    TransitionEvent,
    Unit,
)

# The tables whose rows plan loads and funding updates record, parents first.
CONTENT_TABLES: tuple[Table, ...] = tuple(
    m.__table__ for m in (Plan, Period, Unit, Outcome, Objective, ChecklistItem, Indicator, BudgetLine, Activity)
)
# Plan tables a new plan's `create` event carries in full (activities get one event each).
PLAN_TABLES: tuple[Table, ...] = CONTENT_TABLES[1:-1]
# The plan row and its tables: what reads check row by row on every read (activities: `show`).
PLAN_CONTENT_TABLES: tuple[Table, ...] = CONTENT_TABLES[:-1]
# Not content: the id is the event's subject; state and version are derived from the
# events; position is only the file's order (a reorder is not a fact).
_NOT_CONTENT = {"activities": frozenset({"id", "state", "version", "position"})}
_ID_ONLY = frozenset({"id"})
# How a row is named in a message: its plan's slug and this column.
_NAME_COLUMN = {"plans": "slug", "periods": "key", "units": "key", "outcomes": "key", "objectives": "code",
                "checklist_items": "code", "indicators": "code", "activities": "code"}  # fmt: skip
SELECT_CHUNK = 500
_EVENTS_PER_ACTIVITY = (
    select(TransitionEvent.activity_id, func.count())
    .where(TransitionEvent.activity_id.is_not(None))
    .group_by(TransitionEvent.activity_id)
)
# An activity event's data is canonical JSON with the keys changes, code, row: `row` is last.
_ROW_KEY = ',"row":{'
_INITIAL_STATE = '"initial_state":"'


def content(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row's recorded content: JSON-ready (ISO dates), without the columns that are not content."""
    skip = _NOT_CONTENT.get(table, _ID_ONLY)
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items() if k not in skip}


def read_content(conn: Connection, table: Table, where: ColumnElement | None = None) -> dict[int, dict[str, Any]]:
    """id -> content of the table's rows (those matching `where`), as stored."""
    query = select(table).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    return {row["id"]: content(table.name, row) for row in conn.execute(query).mappings()}


def read_content_by_ids(conn: Connection, table: Table, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), SELECT_CHUNK):
        out.update(read_content(conn, table, table.c.id.in_(ids[start : start + SELECT_CHUNK])))
    return out


class Replay:
    """What the events say each cached table holds, built event by event in chain order."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, dict]] = {t.name: {} for t in CONTENT_TABLES}
        self.state: dict[int, str] = {}  # activity id -> state after the events so far
        self.moved: set[int] = set()  # activities with a state-changing event
        self.count: dict[int, int] = {}  # activity id -> events about it (its version), read at compare
        self.measurements: dict[int, tuple] = {}  # event id -> (plan id, at, actor, source, data)
        self.activity_text: dict[int, str] = {}  # activity id -> its last load event's data, unparsed
        self.problem: str | None = None  # the first break in state continuity
        self.problem_event: int | None = None
        # activity id -> (event, trigger, from-state) of a first move that no earlier event
        # gave a start state for (a cpflow 0.1 load recorded no row): checked against the
        # initial state its baseline records (cpflow.upgrade), which a move never changes.
        self.unproved_start: dict[int, tuple[int, str | None, str | None]] = {}

    def fact(self, event_id: int, kind: str, plan_id: int | None, activity_id: int | None, at: Any, actor: str,
             ref: str | None, data_text: str) -> None:  # fmt: skip
        """Take in a non-transition event that carries data."""
        if activity_id is not None and data_text.endswith("}}") and _ROW_KEY in data_text and '"table":' not in data_text:
            # An activity's load event, the most frequent kind: kept as text and parsed only
            # if the stored row does not match it (see _activity_matches).
            self.activity_text[activity_id] = data_text
            if activity_id not in self.moved:
                start = data_text.find(_INITIAL_STATE)
                if start >= 0:
                    start += len(_INITIAL_STATE)
                    self.state[activity_id] = data_text[start : data_text.index('"', start)]
            return
        data = json.loads(data_text)
        if kind == "measurement":
            self.measurements[event_id] = (plan_id, at if isinstance(at, str) else at.isoformat(), actor, ref, data)
            return
        row = data.get("row")
        if row is None:
            return
        if activity_id is not None and "table" not in data:
            self.rows["activities"][activity_id] = row
            if activity_id not in self.moved:
                self.state[activity_id] = row.get("initial_state")
            return
        table = self.rows.get(data.get("table"))
        if table is not None and data.get("id") is not None:
            table[data["id"]] = row
        for name, rows in (data.get("rows") or {}).items():
            target = self.rows.get(name)
            if target is not None:
                for item in rows:
                    target[item["id"]] = {k: v for k, v in item.items() if k != "id"}

    def broken(self, event_id: int, activity_id: int, trigger: str | None, source: str | None) -> None:
        """Record that an event's from-state is not the state the previous events left."""
        if activity_id not in self.state:
            self.unproved_start.setdefault(activity_id, (event_id, trigger, source))
            return
        if self.problem is not None:
            return
        before = self.state.get(activity_id)
        self.problem_event = event_id
        self.problem = (
            f"event {event_id} ({self.activity_name(activity_id)} {trigger}) starts from {source}, "
            f"but the events before it leave it {before if before is not None else 'not created'}"
        )

    def plan_slug(self, plan_id: Any) -> str:
        plan = self.rows["plans"].get(plan_id)
        return plan["slug"] if plan else f"plan #{plan_id}"

    def activity_name(self, activity_id: int) -> str:
        row = self.rows["activities"].get(activity_id)
        if row is None and activity_id in self.activity_text:
            row = json.loads(self.activity_text[activity_id])["row"]
        return f"{self.plan_slug(row['plan_id'])}:{row['code']}" if row else f"activity #{activity_id}"

    def name(self, table: str, row_id: int, row: dict | None) -> str:
        if row is None:
            return f"#{row_id}"
        if table == "plans":
            return row["slug"]
        slug = self.plan_slug(row.get("plan_id"))
        if table == "budget_lines":
            unit = self.rows["units"].get(row.get("unit_id"))
            return f"{slug}:{unit['key'] if unit else row.get('unit_id')}/{row.get('period')}"
        return f"{slug}:{row.get(_NAME_COLUMN[table])}"

    # --- the comparison ---------------------------------------------------------------

    def first_difference(self, conn: Connection) -> str | None:
        """The first row of a cached table that disagrees with the replay, as one line; None when all agree."""
        # Its version is the number of events about an activity (counted by the database).
        self.count = dict(conn.execute(_EVENTS_PER_ACTIVITY).all())
        problem = self._check_unproved_starts()
        if problem:
            return problem
        for table in CONTENT_TABLES:
            problem = self._compare(conn, table)
            if problem:
                return problem
        return self._compare_measurements(conn)

    def _check_unproved_starts(self) -> str | None:
        for activity_id, (event_id, trigger, source) in sorted(self.unproved_start.items(), key=lambda item: item[1]):
            text = self.activity_text.get(activity_id)
            row = json.loads(text)["row"] if text is not None else self.rows["activities"].get(activity_id)
            if row is not None and row.get("initial_state") != source:
                return (
                    f"event {event_id} ({self.activity_name(activity_id)} {trigger}) starts from {source}, "
                    f"but the log records its initial state as {row.get('initial_state')}"
                )
        return None

    def _compare(self, conn: Connection, table: Table, plan_ids: Collection[int] = (), derived: bool = True) -> str | None:
        """The first row of `table` (of those plans, when given) that disagrees with the replay;
        with `derived`, an activity's state and version too."""
        name = table.name
        expected = self.rows[name]
        texts = self.activity_text if name == "activities" else None
        check_derived = texts is not None and derived
        seen = 0
        for row in _stored_rows(conn, table, plan_ids):
            row_id = row["id"]
            stored = content(name, row)
            text = texts.pop(row_id, None) if texts is not None else None
            if text is not None and text.endswith('"row":' + canonical_json(stored) + "}"):
                expected[row_id] = want = stored  # the log says exactly this (the frequent case)
            else:
                if text is not None and (logged := json.loads(text).get("row")) is not None:
                    expected[row_id] = logged
                want = expected.get(row_id)
                if want is None:
                    return f"{name} {self.name(name, row_id, stored)}: not in the log (the row was added outside cpflow)"
                if stored != want:
                    for column in sorted(set(stored) | set(want)):
                        if stored.get(column) != want.get(column):
                            return (f"{name} {self.name(name, row_id, want)}: {column} is {_show(stored.get(column))}, "
                                    f"the log says {_show(want.get(column))}")  # fmt: skip
            seen += 1
            if check_derived:
                if row["state"] != self.state.get(row_id):
                    return (
                        f"{name} {self.name(name, row_id, want)}: state is {row['state']}, the log says {self.state.get(row_id)}"
                    )
                if row["version"] != self.count.get(row_id, 0):
                    return (f"{name} {self.name(name, row_id, want)}: version is {row['version']}, "
                            f"the log says {self.count.get(row_id, 0)}")  # fmt: skip
        if texts is not None:
            for row_id, text in texts.items():  # in the log, not in the table
                if (logged := json.loads(text).get("row")) is not None:
                    expected[row_id] = logged
        if seen != len(expected):
            stored_ids = set(conn.execute(select(table.c.id)).scalars())
            gone = min(i for i in expected if i not in stored_ids)
            return f"{name} {self.name(name, gone, expected[gone])}: in the log but missing from the table"
        return None

    def _activities_agree(self, conn: Connection, plan_ids: Collection[int]) -> bool:
        """True when every activity row (of those plans) is, as canonical JSON text, exactly the
        row its last load event recorded, and no logged activity is missing: the frequent case,
        decided without building a dict per row. False sends the caller to `_compare`, which
        names the row (or finds that the texts differed only in form)."""
        texts = self.activity_text
        seen = 0
        for row_id, canonical in _canonical_rows(conn, Activity.__table__, plan_ids):
            logged = texts.get(row_id)
            if logged is None or not logged.endswith('"row":' + canonical + "}"):
                return False
            seen += 1
        return seen == len(texts)

    def _compare_measurements(self, conn: Connection) -> str | None:
        indicators = {(row["plan_id"], row["code"]): row_id for row_id, row in self.rows["indicators"].items()}
        table = Measurement.__table__
        seen: set[int] = set()
        for row in conn.execute(select(table).order_by(table.c.event_id, table.c.id)).mappings():
            want = self.measurements.get(row["event_id"])
            if want is None or row["event_id"] in seen:
                return f"measurements #{row['id']}: not in the log (no measurement event {row['event_id']} of its own)"
            seen.add(row["event_id"])
            plan_id, at, actor, source, data = want
            label = f"measurements {self.plan_slug(plan_id)}:{data.get('indicator')} (event {row['event_id']})"
            expected = {
                "indicator_id": indicators.get((plan_id, data.get("indicator"))), "value": data.get("value"), "at": at,
                "period": data.get("period"), "source": source, "actor": actor,
            }  # fmt: skip
            stored = content("measurements", row)
            for column, value in expected.items():
                if stored.get(column) != value:
                    return f"{label}: {column} is {_show(stored.get(column))}, the log says {_show(value)}"
        if len(seen) != len(self.measurements):
            gone = min(e for e in self.measurements if e not in seen)
            return f"measurements (event {gone}): in the log but missing from the table"
        return None


def _plan_filter(table: Table, plan_ids: Collection[int]) -> ColumnElement | None:
    if not plan_ids:
        return None
    return (table.c.id if table.name == "plans" else table.c.plan_id).in_(sorted(plan_ids))


def _stored_rows(conn: Connection, table: Table, plan_ids: Collection[int] = ()) -> Iterable[dict[str, Any]]:
    """The table's rows (of those plans, when given) as `content` expects them. On SQLite they
    are read through the session's own DB-API cursor: dates are ISO text already, equal JSON
    texts are parsed once, which makes comparing a large table several times cheaper."""
    where = _plan_filter(table, plan_ids)
    if conn.dialect.name != "sqlite":
        query = select(table).order_by(table.c.id)
        yield from conn.execute(query if where is None else query.where(where)).mappings()
        return
    names = [c.name for c in table.columns]
    json_at = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
    bool_at = [i for i, c in enumerate(table.columns) if isinstance(c.type, Boolean)]
    parsed: dict[str, Any] = {}
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        columns = ", ".join(f'"{name}"' for name in names)
        only = ""
        if plan_ids:  # integer ids from the database itself
            ids = ", ".join(str(int(i)) for i in sorted(plan_ids))
            only = f" WHERE {'id' if table.name == 'plans' else 'plan_id'} IN ({ids})"
        cursor.execute(f'SELECT {columns} FROM "{table.name}"{only} ORDER BY id')  # noqa: S608 (model names, int ids)
        while rows := cursor.fetchmany(5_000):
            for values in rows:
                values = list(values)
                for i in json_at:
                    text = values[i]
                    if text is not None:
                        if text not in parsed:
                            parsed[text] = json.loads(text)
                        values[i] = parsed[text]
                for i in bool_at:
                    if values[i] is not None:
                        values[i] = bool(values[i])
                yield dict(zip(names, values))
    finally:
        cursor.close()


def _canonical_rows(conn: Connection, table: Table, plan_ids: Collection[int] = ()) -> Iterator[tuple[int, str]]:
    """(id, canonical JSON of its content) for each row of a SQLite table (of those plans),
    built column by column from the stored values: the text `canonical_json(content(row))`
    gives, without a dict per row."""
    skip = _NOT_CONTENT.get(table.name, _ID_ONLY)
    columns = sorted((c for c in table.columns if c.name not in skip), key=lambda c: c.name)
    canonical: dict[str, str] = {}

    def as_json(text: str | None) -> str:
        if text is None:
            return "null"
        found = canonical.get(text)
        if found is None:
            found = canonical[text] = canonical_json(json.loads(text))
        return found

    def as_bool(value: Any) -> str:
        return "null" if value is None else ("true" if value else "false")

    def as_number(value: Any) -> str:
        return "null" if value is None else _ENCODE(value)

    def as_text(value: Any) -> str:
        return "null" if value is None else _STRING(value)

    # One expression per table, written out from the model's column names (no user text), so
    # a row costs one call per column and one string concatenation.
    parts = []
    for i, column in enumerate(columns, start=1):
        kind = column.type
        encode = ("as_json" if isinstance(kind, JSON) else "as_bool" if isinstance(kind, Boolean)
                  else "as_number" if isinstance(kind, Integer | Float) else "as_text")  # fmt: skip
        parts.append(f"{('{' if i == 1 else ',') + json.dumps(column.name) + ':'!r} + {encode}(row[{i}])")
    build = eval(  # noqa: S307 (built above from the model's column names only)
        f"lambda row: {' + '.join(parts)} + '}}'",
        {"as_json": as_json, "as_bool": as_bool, "as_number": as_number, "as_text": as_text},
    )
    names = ", ".join(f'"{c.name}"' for c in columns)
    only = ""
    if plan_ids:  # integer ids read from the database itself
        only = f" WHERE {'id' if table.name == 'plans' else 'plan_id'} IN ({', '.join(str(int(i)) for i in sorted(plan_ids))})"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f'SELECT id, {names} FROM "{table.name}"{only}')  # noqa: S608 (model names, int ids)
        while rows := cursor.fetchmany(5_000):
            for row in rows:
                yield row[0], build(row)
    finally:
        cursor.close()


_ENCODE = json.JSONEncoder().encode
_STRING = json.encoder.encode_basestring  # type: ignore[attr-defined]  # the C escaper json.dumps(ensure_ascii=False) uses


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


# --- the cheap check for reads --------------------------------------------------------------


class CacheMismatch(CpflowError):
    """A cached table disagrees with the event log: reads refuse to answer from it."""

    exit_code = EXIT_FINDINGS


# The kinds of event that carry rows of the content tables (plan loads, imports' plan
# changes, funding, the 0.1 baseline). A new kind that carries rows must be added here: until
# it is, reads would find its rows "not as the log says" (a loud error, never a silent pass).
ROW_KINDS = ("create", "edit", "baseline", "funding")


def content_difference(conn: Connection, plan_ids: Collection[int] = (), *, activities: bool = True) -> str | None:
    """The first row of the plans' content tables (the plan row with its people, roles and
    settings, periods, units, outcomes, objectives, checklist items, indicators, budget lines
    with their received funds, and with `activities` the activities' title, dates, lead ...)
    that differs from what the log last recorded for it, or None when all agree: the plans'
    row-carrying events replayed (through the (plan, kind) index; no moves, no measurements)
    and each row compared with its replayed content."""
    if not plan_ids:
        plan_ids = conn.execute(select(Plan.id)).scalars().all()
        if not plan_ids:
            return None
    replay = Replay()
    plans = ", ".join(str(int(i)) for i in sorted(plan_ids))  # integer ids read from the database itself
    kinds = ", ".join(f"'{kind}'" for kind in ROW_KINDS)
    where = f"plan_id IN ({plans}) AND kind IN ({kinds}) AND data IS NOT NULL"
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT id, kind, plan_id, activity_id, at, actor, ref, data FROM transition_events "  # noqa: S608 (int ids)
                f"INDEXED BY ix_events_plan WHERE {where} AND activity_id IS NULL ORDER BY id"
            )
            for row in cursor.fetchall():
                replay.fact(*row)
            if activities:  # their load events: the last one's text is the row, compared as text (below)
                cursor.execute(
                    "SELECT activity_id, data FROM transition_events INDEXED BY ix_events_plan "  # noqa: S608 (int ids)
                    f"WHERE {where} AND activity_id IS NOT NULL ORDER BY id"
                )
                while rows := cursor.fetchmany(5_000):
                    replay.activity_text.update(rows)
        finally:
            cursor.close()
    else:
        if not activities:
            where += " AND activity_id IS NULL"
        query = f"SELECT id, kind, plan_id, activity_id, at, actor, ref, data FROM transition_events WHERE {where} ORDER BY id"
        for row in conn.execute(text(query)):  # noqa: S608 (int ids)
            replay.fact(*row)
    for table in CONTENT_TABLES if activities else PLAN_CONTENT_TABLES:
        if table.name == "activities" and conn.dialect.name == "sqlite" and replay._activities_agree(conn, plan_ids):
            continue
        problem = replay._compare(conn, table, plan_ids, derived=False)
        if problem:
            return problem
    return None


def check_cache(conn: Connection, plan_ids: Collection[int] = ()) -> None:
    """Raise CacheMismatch when a cached table read by reports disagrees with the log: an
    activity's state or version, the measurement rows (a few set-based queries), and every row
    of the plans' own tables (the plan row with its people, roles and settings, periods, units,
    outcomes, objectives, checklist items, indicators, budget lines with received funds:
    `content_difference`), for reports and check to call inside their read transaction. An
    activity's own content is checked by `show` (`check_activity`) and `audit verify`: comparing
    every activity row here cost 10 % of `check` at the small benchmark size."""
    # One pass over the log: each activity's number of events and its last move's id.
    last = (
        select(
            TransitionEvent.activity_id,
            func.count().label("events"),
            func.max(case((TransitionEvent.to_state.is_not(None), TransitionEvent.id))).label("last_move"),
        )
        .where(TransitionEvent.activity_id.is_not(None))
        .group_by(TransitionEvent.activity_id)
        .subquery()
    )
    final = TransitionEvent.__table__.alias("final")
    query = (
        select(
            Plan.slug,
            Activity.code,
            Activity.state,
            Activity.version,
            func.coalesce(final.c.to_state, Activity.initial_state),
            func.coalesce(last.c.events, 0),
        )  # fmt: skip
        .join(Plan, Plan.id == Activity.plan_id)
        .outerjoin(last, last.c.activity_id == Activity.id)
        .outerjoin(final, final.c.id == last.c.last_move)
        .where(
            (Activity.state != func.coalesce(final.c.to_state, Activity.initial_state))
            | (Activity.version != func.coalesce(last.c.events, 0))
        )
        .order_by(Plan.slug, Activity.id)
        # A literal LIMIT: with a bound one SQLite scans every activity once per plan
        # (2.82 s against 1.22 s at 100k activities).
        .limit(literal_column("1"))
    )
    if plan_ids:
        query = query.where(Activity.plan_id.in_(list(plan_ids)))
    bad = conn.execute(query).first()
    if bad is not None:
        raise _activity_mismatch(*bad)
    rows = conn.execute(select(func.count()).select_from(Measurement)).scalar_one()
    events = conn.execute(select(func.count()).where(TransitionEvent.kind == "measurement")).scalar_one()
    linked = conn.execute(
        select(func.count()).select_from(Measurement).join(TransitionEvent, TransitionEvent.id == Measurement.event_id)
        .where(TransitionEvent.kind == "measurement", TransitionEvent.at == Measurement.at,
               TransitionEvent.actor == Measurement.actor)
    ).scalar_one()  # fmt: skip
    if not rows == events == linked:
        raise CacheMismatch(
            f"measurements: {rows} rows, {events} measurement events, {linked} rows matching their event; "
            "the database was changed outside cpflow (run cpflow audit verify)"
        )
    problem = content_difference(conn, plan_ids, activities=False)
    if problem:
        raise CacheMismatch(f"{problem}; the database was changed outside cpflow (run cpflow audit verify)")


def _activity_mismatch(slug: str, code: str, state: str, version: int, logged_state: str, events: int) -> CacheMismatch:
    what = (
        f"state is {state}, the log says {logged_state}"
        if state != logged_state
        else f"version is {version}, the log says {events}"
    )
    return CacheMismatch(f"activities {slug}:{code}: {what}; the database was changed outside cpflow (run cpflow audit verify)")


def check_activity(conn: Connection, slug: str, activity: Activity) -> None:
    """`check_cache` for one activity (what `show` reads): its state, version and content
    against its events (index lookups), and its plan's own tables."""
    events = conn.execute(select(func.count()).where(TransitionEvent.activity_id == activity.id)).scalar_one()
    logged = conn.execute(
        select(TransitionEvent.to_state)
        .where(TransitionEvent.activity_id == activity.id, TransitionEvent.to_state.is_not(None))
        .order_by(TransitionEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    logged_state = logged or activity.initial_state
    if activity.state != logged_state or activity.version != events:
        raise _activity_mismatch(slug, activity.code, activity.state, activity.version, logged_state, events)
    problem = _activity_content(conn, slug, activity.id) or content_difference(conn, [activity.plan_id], activities=False)
    if problem:
        raise CacheMismatch(f"{problem}; the database was changed outside cpflow (run cpflow audit verify)")


def _activity_content(conn: Connection, slug: str, activity_id: int) -> str | None:
    """How one activity row differs from the row its last load event recorded, or None."""
    texts = conn.execute(
        select(TransitionEvent.data)
        .where(TransitionEvent.activity_id == activity_id, TransitionEvent.kind.in_(ROW_KINDS),
               TransitionEvent.data.is_not(None))
        .order_by(TransitionEvent.id.desc())
    ).scalars()  # fmt: skip
    want = next((row for row in (json.loads(t).get("row") for t in texts) if row is not None), None)
    stored = read_content_by_ids(conn, Activity.__table__, [activity_id])[activity_id]
    label = f"activities {slug}:{stored.get('code')}"
    if want is None:
        return f"{label}: not in the log (the row was added outside cpflow)"
    for column in sorted(set(stored) | set(want)):
        if stored.get(column) != want.get(column):
            return f"{label}: {column} is {_show(stored.get(column))}, the log says {_show(want.get(column))}"
    return None
