"""A digest of each plan's activities, kept beside them, so a read notices a row edited by hand.

`audit verify` proves every activity row against the event log, but replaying the log on
every read would cost each report a tenth of its time. Instead every write that changes an
activity's content (a load or import of the plan, a restore, an upgrade) records, in the
same transaction, the plan's number of activity rows and a digest of their content:
`cache_digests(plan_id, tbl='activities', rows, digest)`. A read computes the same digest
from the rows it fetched anyway and refuses to answer when the two differ; `audit verify`
then names the row (it compares every row with the log, and the digests with the rows).

The digest is the sum, modulo 2**64, of a 64-bit BLAKE2b hash of each row's content
columns (every column but state, version and position, which are checked against the log
by other means) as the database driver returns them, read so that both backends return
the same values (`as_digested`): a backup restored on the other backend keeps its digests. A sum does not depend on the order
rows are read in. It is a consistency check, not a signature: whoever can write the tables
can write the digest too; the chain and its anchors are what prove the record.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from hashlib import blake2b

from sqlalchemy import JSON, Boolean, Connection, Integer, Select, Text, bindparam, cast, insert, select, update
from sqlalchemy.sql import ColumnElement

from cpflow.models import Activity, CacheDigest, Plan
from cpflow.replay import CacheMismatch, check_cache

TABLE = "activities"
# The content columns, in the table's order: what a load records for an activity.
COLUMNS: tuple[str, ...] = tuple(c.name for c in Activity.__table__.columns if c.name not in ("state", "version", "position"))
_MASK = (1 << 64) - 1
_CHUNK = 5_000


class Digests:
    """Rows and digest per plan id, summed from driver rows one at a time (see the module doc)."""

    def __init__(self) -> None:
        self.totals: dict[int, list[int]] = {}

    def add(self, key: int, values: Sequence[object]) -> None:
        """Take in one row's content values (in `COLUMNS` order) for the plan `key`."""
        text = "\x1f".join(map(str, values)).encode("utf-8", "surrogatepass")
        total = self.totals.get(key)
        if total is None:
            total = self.totals[key] = [0, 0]
        total[0] += 1
        total[1] += int.from_bytes(blake2b(text, digest_size=8).digest(), "little")

    def result(self) -> dict[int, tuple[int, int]]:
        """plan id -> (rows, digest as a signed 64-bit integer, as the column stores it)."""
        return {key: (rows, _signed(total & _MASK)) for key, (rows, total) in self.totals.items()}


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def as_digested(column: ColumnElement) -> ColumnElement:
    """A content column as digests read it: the same values from SQLite and PostgreSQL (JSON as
    its stored text, booleans as 0 or 1; dates already compare by their text, `str(date)`)."""
    if isinstance(column.type, JSON):
        return cast(column, Text)
    if isinstance(column.type, Boolean):
        return cast(column, Integer)
    return column


def content_query(plan_ids: Collection[int] = ()) -> Select:
    """The activities' plan id and content columns, for `compute`."""
    table = Activity.__table__
    query = select(table.c.plan_id, *(as_digested(table.c[name]) for name in COLUMNS))
    return query.where(table.c.plan_id.in_(sorted(plan_ids))) if plan_ids else query


def compute(conn: Connection, plan_ids: Collection[int] = ()) -> dict[int, tuple[int, int]]:
    """plan id -> (rows, digest) of the plans' activities as stored now (every plan when none given)."""
    digests = Digests()
    # On the driver's own cursor: the values exactly as a read's rows carry them, whatever
    # buffering the connection was set up for (a backup streams its reads).
    sql = str(content_query(plan_ids).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)  # integer ids only
        while rows := cursor.fetchmany(_CHUNK):
            for row in rows:
                digests.add(row[0], row[1:])
    finally:
        cursor.close()
    return digests.result()


def stored(conn: Connection, plan_ids: Collection[int] = ()) -> dict[int, tuple[int, int]]:
    """plan id -> (rows, digest) as recorded by the last write."""
    query = select(CacheDigest.plan_id, CacheDigest.rows, CacheDigest.digest).where(CacheDigest.tbl == TABLE)
    if plan_ids:
        query = query.where(CacheDigest.plan_id.in_(sorted(plan_ids)))
    return {plan_id: (rows, digest) for plan_id, rows, digest in conn.execute(query)}


def record(conn: Connection, plan_ids: Collection[int] = ()) -> None:
    """Record the plans' digests as their activities are now (every plan when none given):
    the last step of every write that changes an activity's content, in its transaction."""
    if not plan_ids:
        plan_ids = conn.execute(select(Plan.id)).scalars().all()
        if not plan_ids:
            return
    now = compute(conn, plan_ids)
    held = set(stored(conn, plan_ids))
    values = [{"b_plan": i, "b_rows": now.get(i, (0, 0))[0], "b_digest": now.get(i, (0, 0))[1]} for i in sorted(plan_ids)]
    # Updated in place, never deleted: writers hold no DELETE (docs/postgresql.md).
    changed = [v for v in values if v["b_plan"] in held]
    if changed:
        conn.execute(
            update(CacheDigest)
            .where(CacheDigest.plan_id == bindparam("b_plan"), CacheDigest.tbl == TABLE)
            .values(rows=bindparam("b_rows"), digest=bindparam("b_digest")),
            changed,
        )
    new = [{"plan_id": v["b_plan"], "tbl": TABLE, "rows": v["b_rows"], "digest": v["b_digest"]} for v in values
           if v["b_plan"] not in held]  # fmt: skip
    if new:
        conn.execute(insert(CacheDigest), new)


def difference(found: Mapping[int, tuple[int, int]], recorded: Mapping[int, tuple[int, int]], names: Mapping[int, str],
               plan_ids: Iterable[int]) -> str | None:  # fmt: skip
    """The first plan whose activities (`found`) differ from their recorded digest, as one line."""
    for plan_id in sorted(plan_ids, key=lambda i: names.get(i, "")):
        have, want = found.get(plan_id, (0, 0)), recorded.get(plan_id, (0, 0))
        if have == want:
            continue
        name = names.get(plan_id, f"plan #{plan_id}")
        if have[0] != want[0]:
            what = f"{have[0]} activity rows, cpflow last recorded {want[0]}"
        else:
            what = "the content of its activities (title, dates, lead, objective …) is not what cpflow last recorded"
        return f"activities of {name}: {what}"
    return None


def check(conn: Connection, plan_ids: Collection[int] = ()) -> None:
    """Raise CacheMismatch when the plans' activities (every plan when none given) differ from
    their recorded digests: one read of the content columns, hashed."""
    names = dict(conn.execute(select(Plan.id, Plan.slug)).all())
    ids = list(plan_ids) or list(names)
    check_found(conn, compute(conn, ids), {i: names[i] for i in ids if i in names})


def check_found(conn: Connection, found: Mapping[int, tuple[int, int]], names: Mapping[int, str]) -> None:
    """Raise CacheMismatch when the digests a read computed (`found`, for the plans in `names`)
    differ from the recorded ones."""
    problem = difference(found, stored(conn, list(names)), names, names)
    if problem:
        raise mismatch(problem)


def check_reads(conn: Connection, plan_ids: Collection[int] = ()) -> None:
    """What a read answering from the cached tables runs first, in its own read transaction:
    states, versions, measurements and the plans' own tables against the log
    (`replay.check_cache`), then the activities against their digests."""
    check_cache(conn, plan_ids)
    check(conn, plan_ids)


def recorded_difference(conn: Connection) -> str | None:
    """For `audit verify`, once every activity row is proved against the log: the first plan
    whose recorded digest is not its activities' own, as one line."""
    names = dict(conn.execute(select(Plan.id, Plan.slug)).all())
    found, recorded = compute(conn), stored(conn)
    for plan_id in sorted(set(names) | set(recorded), key=lambda i: names.get(i, "")):
        have, want = found.get(plan_id, (0, 0)), recorded.get(plan_id, (0, 0))
        if have != want:
            name = names.get(plan_id, f"#{plan_id}")
            return (f"cache_digests {name}: records {want[0]} activities with digest {want[1]}, "
                    f"its activities give {have[0]} with digest {have[1]}")  # fmt: skip
    return None


def mismatch(problem: str) -> CacheMismatch:
    return CacheMismatch(f"{problem}; the database was changed outside cpflow (run cpflow audit verify)")
