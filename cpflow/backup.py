"""Backup and restore: a consistent snapshot of every cpflow table, and its faithful return.

A SQLite database is copied with SQLite's online backup API (one step under one read
transaction, so writers carry on and the copy is one consistent moment). PostgreSQL, or
any FILE ending in `.jsonl` / `.jsonl.gz`, gets a portable dump read in one REPEATABLE
READ snapshot: JSON lines, a header, then per table a `{"table": …}` line and one JSON
array per row, then a trailer with the row counts, the chain head and the SHA-256 of every
line before it (a file without its trailer was cut short and is refused).

Restore accepts either kind into either backend, inserts everything in one transaction,
verifies the result as `audit verify` does (the chain, and every table against the log's
replay) and checks the dump's digest before committing, and refuses a database that already holds
anything unless forced (then the schema is dropped and recreated in that same
transaction, so a failed restore still leaves the database as it was).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Date, MetaData, Table, bindparam, create_engine, func, insert, select, text, update
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from cpflow import audit
from cpflow.db import SCHEMA_REVISION, Database
from cpflow.errors import BadInput
from cpflow.models import Activity, Base, ChainHead, Plan
from cpflow.upgrade import OLD_REVISION

FORMAT_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
BATCH = 5_000


def tables() -> list[Table]:
    """cpflow's tables, parents before children (the order to insert them in)."""
    return list(Base.metadata.sorted_tables)


def table_rows(conn: Connection) -> dict[str, list[tuple]]:
    """Every row of every cpflow table, ordered by primary key: the database's whole content."""
    out = {}
    for table in tables():
        out[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
    return out


def row_counts(conn: Connection) -> dict[str, int]:
    return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in tables()}


@dataclass
class BackupResult:
    path: Path
    format: str  # "sqlite" or "jsonl"
    rows: dict[str, int]
    events: int
    head: str
    verified: bool
    problem: str | None = None

    @property
    def data_rows(self) -> int:
        """Rows of every table but the one-row chain head."""
        return _data_rows(self.rows)


@dataclass
class RestoreResult:
    path: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    events: int = 0
    head: str = audit.GENESIS
    replaced: bool = False
    upgraded_from: str | None = None  # the schema of a cpflow 0.1 backup, upgraded after restoring it
    bumped: int = 0  # activities whose version a restore over them moved past the replaced one

    @property
    def data_rows(self) -> int:
        """Rows of every table but the one-row chain head."""
        return _data_rows(self.rows)


def _data_rows(rows: dict[str, int]) -> int:
    return sum(n for name, n in rows.items() if name != "chain_head")


# --- backup ---------------------------------------------------------------------------------


def backup(db: Database, path: str | Path, *, force: bool = False) -> BackupResult:
    """Write a consistent snapshot of `db` to `path` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    if len(f".{path.name}.{os.getpid()}.tmp".encode()) > 255:
        raise BadInput(f"{path.name[:40]}…: a file name longer than the file system allows; nothing was written")
    if path.exists() and not force:
        raise BadInput(f"{path} already exists; choose another name or pass --force to overwrite it")
    if path.is_dir():
        raise BadInput(f"{path} is a directory; give a file name for the backup")
    if not path.parent.is_dir():
        raise BadInput(f"{path}: {path.parent} is not an existing folder; nothing was written")
    db.require_schema()
    portable = not db.is_sqlite or path.name.endswith((".jsonl", ".jsonl.gz"))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if portable:
            result = _dump_jsonl(db, tmp, path, zipped=path.name.endswith(".gz"))
        else:
            result = _backup_sqlite(db, tmp, path)
        os.replace(tmp, path)
    except OSError as exc:
        raise BadInput(f"cannot write the backup {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return result


def _backup_sqlite(db: Database, tmp: Path, path: Path) -> BackupResult:
    import sqlite3

    with db.connect() as conn:
        source = conn.connection.driver_connection
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)  # all pages in one step: one consistent moment
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            target.commit()
        finally:
            target.close()
    with _sqlite_file(tmp) as conn, Session(bind=conn) as session:
        rows = row_counts(conn)
        verification = audit.verify(session)
    _fsync(tmp)
    return BackupResult(path, "sqlite", rows, verification.events, verification.head, verification.ok, verification.problem)


def _dump_jsonl(db: Database, tmp: Path, path: Path, *, zipped: bool) -> BackupResult:
    with db.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), gzip.open(tmp, "wt", encoding="utf-8") if zipped else open(tmp, "w", encoding="utf-8") as out:
            if not db.is_sqlite:
                conn.execute(text("SET TRANSACTION READ ONLY"))
            header = {
                "cpflow_backup": FORMAT_VERSION, "schema": SCHEMA_REVISION, "source": conn.dialect.name,
                "created": audit.utc_now(), "tables": [t.name for t in tables()],
            }  # fmt: skip
            digest = hashlib.sha256()

            def write(line: str) -> None:  # every line before the trailer goes into its digest
                out.write(line)
                digest.update(line.encode("utf-8"))

            write(json.dumps(header) + "\n")
            rows = {}
            for table in tables():
                write(json.dumps({"table": table.name, "columns": [c.name for c in table.columns]}) + "\n")
                count = 0
                result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                    select(table).order_by(*table.primary_key.columns)
                )
                for row in result:
                    write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")
                    count += 1
                rows[table.name] = count
            with Session(bind=conn) as session:
                verification = audit.verify(session)
            trailer = {"end": True, "rows": rows, "events": verification.events, "head": verification.head,
                       "sha256": digest.hexdigest()}  # fmt: skip
            out.write(json.dumps(trailer) + "\n")
    _fsync(tmp)
    return BackupResult(path, "jsonl", rows, verification.events, verification.head, verification.ok, verification.problem)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _sqlite_file(path: Path) -> Iterator[Connection]:
    """A read-only connection to a SQLite file, without cpflow's pragmas (they would write)."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        try:
            conn = engine.connect()
            problems = [row[0] for row in conn.execute(text("PRAGMA quick_check"))]
        except SQLAlchemyDatabaseError as exc:
            raise BadInput(f"{path}: cannot read it as a SQLite database: {exc.orig}") from None
        with conn:
            if problems != ["ok"]:
                raise BadInput(f"{path}: a damaged SQLite file ({problems[0]})")
            yield conn
    finally:
        engine.dispose()


# --- restore ---------------------------------------------------------------------------------


def restore(db: Database, path: str | Path, *, force: bool = False) -> RestoreResult:
    """Restore a backup into `db` in one transaction; refuse a non-empty database unless forced."""
    path = Path(path)
    kind = _backup_kind(path)
    with _source(path, kind) as source:  # opened once here so a bad file is refused before any write
        revision = source.revision
        if revision == SCHEMA_REVISION:
            next(iter(source), None)
    db.ensure_schema()

    def work(session: Session) -> RestoreResult:
        conn = session.connection()
        result = RestoreResult(path, kind)
        held = {name: n for name, n in row_counts(conn).items() if n and name != ChainHead.__tablename__}
        replaced: dict[tuple[str, str], tuple[int, str, str]] = {}
        granted = None
        if held or audit.head(session)[0]:
            if not force:
                what = ", ".join(f"{n} {name}" for name, n in held.items())
                raise BadInput(
                    f"{db.display_url} is not empty ({what}); restore refuses to overwrite it: "
                    "restore into a new database, or pass --force to replace everything in it"
                )
            replaced = _activity_versions(conn)
            granted = _recreate_schema(conn, revision)
            result.replaced = True
        elif revision != SCHEMA_REVISION:
            granted = _recreate_schema(conn, revision)  # an empty database, at the backup's schema
        with _source(path, kind) as source:
            if revision != SCHEMA_REVISION:
                source.tables = _reflected(conn)
            deferred = None
            for table, rows in source:
                if table.name == ChainHead.__tablename__:  # its guard lets it move only once the events are in
                    deferred = (table, list(rows))
                    continue
                result.rows[table.name] = _insert(conn, table, rows, path)
            if deferred is not None:
                result.rows[deferred[0].name] = _insert(conn, deferred[0], iter(deferred[1]), path)
        restored_head = audit.head(session)
        if revision != SCHEMA_REVISION:
            # A cpflow 0.1 backup: proved by the 0.1 rules, migrated and baselined as `cpflow init` does.
            from cpflow.db import _upgrade
            from cpflow.errors import DatabaseError

            try:
                _upgrade(conn, revision, db.display_url)
            except DatabaseError as exc:
                raise BadInput(f"{path}: {exc}; nothing was restored") from None
            result.upgraded_from = revision
        if granted is not None:
            from cpflow.db import restore_privileges

            restore_privileges(conn, granted)
        if not db.is_sqlite:
            _reset_sequences(conn)
        # The same check as `audit verify`: the chain, and every table against its replay.
        verification = audit.verify(session)
        if not verification.ok:
            raise BadInput(f"{path}: the restored database does not verify ({verification.problem}); nothing was restored")
        recorded = getattr(source, "trailer", None)
        if recorded is not None and recorded.get("sha256") not in (None, source.sha256):
            raise BadInput(
                f"{path}: the backup's content does not match its digest (edited after it was written); nothing was restored"
            )
        if recorded is not None and (recorded.get("rows"), recorded.get("events"), recorded.get("head")) != (
            result.rows,
            *restored_head,
        ):
            raise BadInput(f"{path}: the restored rows or chain head differ from what the backup recorded; nothing was restored")
        result.events, result.head = restored_head
        # Versions never go back: activities the restore changed are moved past their replaced version.
        result.bumped = _bump_versions(session, replaced, verification.head)
        return result

    return db.write(work)


def _activity_versions(conn: Connection) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(plan slug, code) -> (version, state, content) of every activity, read before a forced restore."""
    from cpflow.replay import content

    slugs = dict(conn.execute(select(Plan.id, Plan.slug)).all())
    rows = conn.execute(select(Activity.__table__)).mappings()
    return {
        (slugs.get(row["plan_id"], f"#{row['plan_id']}"), row["code"]): (
            row["version"],
            row["state"],
            audit.canonical_json(content("activities", row)),
        )
        for row in rows
    }


def _bump_versions(session: Session, replaced: dict[tuple[str, str], tuple[int, str, str]], restored_head: str) -> int:
    """After a forced restore: every activity that changed gets `restore` events until its
    version is past the one it had in the replaced database, so a version read before the
    restore is stale (`--expect-version` exits 3) and no later move can bring it back."""
    if not replaced:
        return 0
    from cpflow.replay import content

    conn = session.connection()
    slugs = dict(conn.execute(select(Plan.id, Plan.slug)).all())
    facts: list[audit.Fact] = []
    versions: dict[int, int] = {}
    from cpflow.clock import today as clock_today

    today = clock_today()
    for row in conn.execute(select(Activity.__table__).order_by(Activity.id)).mappings():
        before = replaced.get((slugs.get(row["plan_id"], f"#{row['plan_id']}"), row["code"]))
        if before is None or row["version"] > before[0]:
            continue
        now = (row["version"], row["state"], audit.canonical_json(content("activities", row)))
        if now == before:
            continue
        steps = before[0] + 1 - row["version"]
        data = {"restored_head": restored_head, "replaced_version": before[0], "restored_version": row["version"]}
        facts.extend(
            audit.Fact(kind="restore", actor="cpflow restore", at=today, plan_id=row["plan_id"], activity_id=row["id"],
                       data={**data, "step": step}) for step in range(1, steps + 1)
        )  # fmt: skip
        versions[row["id"]] = before[0] + 1
    if not facts:
        return 0
    audit.append(session, facts)
    conn.execute(
        update(Activity.__table__).where(Activity.__table__.c.id == bindparam("a_id")).values(version=bindparam("a_version")),
        [{"a_id": k, "a_version": v} for k, v in versions.items()],
    )
    return len(versions)


def _backup_kind(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            start = f.read(16)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a backup file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(GZIP_MAGIC) or start.startswith(b'{"cpflow_backup"'):
        return "jsonl"
    raise BadInput(f"{path}: not a cpflow backup (expected a SQLite file or a cpflow JSON-lines dump)")


def _source(path: Path, kind: str):
    return _SqliteSource(path) if kind == "sqlite" else _JsonlSource(path)


class _SqliteSource:
    """Rows of a SQLite backup file, table by table."""

    def __init__(self, path: Path):
        self.path = path
        self.revision: str | None = None
        self.tables: list[Table] | None = None  # set for a backup at an older schema

    def __enter__(self):
        self._context = _sqlite_file(self.path)
        self.conn = self._context.__enter__()
        try:
            revision = self.conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # noqa: BLE001 (any failure here means: not a cpflow database)
            self.__exit__(None, None, None)
            raise BadInput(f"{self.path}: a SQLite file, but not a cpflow database") from None
        if revision not in (SCHEMA_REVISION, OLD_REVISION):
            self.__exit__(None, None, None)
            raise BadInput(f"{self.path}: a backup at schema {revision}; this cpflow restores schema {SCHEMA_REVISION}")
        self.revision = revision
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

    def __iter__(self) -> Iterator[tuple[Table, Iterator[dict]]]:
        if self.tables is None:
            for table in tables():
                yield table, self._rows(table, table)
            return
        # An older schema: each target table read from the file's own table of that name.
        held = MetaData()
        held.reflect(self.conn, only=[t.name for t in self.tables])
        for table in self.tables:
            yield table, self._rows(table, held.tables[table.name])

    def _rows(self, table: Table, source: Table) -> Iterator[dict]:
        # Only the backup file is read here, so a database error is the file's fault.
        try:
            result = self.conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                select(source).order_by(*source.primary_key.columns)
            )
            for row in result:
                yield row._asdict()
        except SQLAlchemyDatabaseError as exc:
            raise BadInput(f"{self.path}: table {table.name} cannot be read: {exc.orig}; nothing was restored") from None


class _JsonlSource:
    """Rows of a JSON-lines dump, table by table; `trailer` is set once the end is read."""

    def __init__(self, path: Path):
        self.path = path
        self.trailer: dict | None = None
        self.revision: str | None = None
        self.tables: list[Table] | None = None  # set for a backup at an older schema
        self._order: list | None = None
        self._line = 0
        self._digest = hashlib.sha256()  # of every line before the trailer
        self._pending = ""

    def __enter__(self):
        with open(self.path, "rb") as f:
            zipped = f.read(2) == GZIP_MAGIC
        self._file = gzip.open(self.path, "rt", encoding="utf-8") if zipped else open(self.path, encoding="utf-8")
        try:
            header = self._next()
            if not isinstance(header, dict) or header.get("cpflow_backup") != FORMAT_VERSION:
                raise BadInput(f"{self.path}: not a cpflow backup (no cpflow_backup header)")
            if header.get("schema") not in (SCHEMA_REVISION, OLD_REVISION):
                raise BadInput(
                    f"{self.path}: a backup at schema {header.get('schema')}; this cpflow restores schema {SCHEMA_REVISION}"
                )
            self.revision = header["schema"]
            self._order = header.get("tables")
        except BaseException:
            self._file.close()
            raise
        return self

    def __exit__(self, *exc):
        self._file.close()

    @property
    def sha256(self) -> str:
        """The digest of the lines read so far, the last one left out (the trailer, once read)."""
        return self._digest.hexdigest()

    def _bad(self, message: str) -> BadInput:
        return BadInput(f"{self.path}:{self._line}: {message}; nothing was restored")

    def _next(self) -> Any:
        try:
            line = self._file.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise self._bad(f"unreadable ({type(exc).__name__}: {exc})") from None
        self._line += 1
        if not line:
            raise self._bad("the backup ends early (no trailer); it was cut short")
        self._digest.update(self._pending.encode("utf-8"))  # one line behind: the trailer stays out
        self._pending = line
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise self._bad(f"not JSON ({exc.msg})") from None

    def __iter__(self) -> Iterator[tuple[Table, Iterator[dict]]]:
        held = tables() if self.tables is None else self.tables
        by_name = {t.name: t for t in held}
        expected = [t.name for t in held]
        if self.tables is not None:  # an older schema: its tables in the order its writer used
            if not isinstance(self._order, list) or sorted(map(str, self._order)) != sorted(expected):
                raise self._bad(f"the header's tables differ from a schema-{self.revision} database")
            expected = self._order
        item = self._next()
        for name in expected:
            if not isinstance(item, dict) or item.get("table") != name:
                raise self._bad(f"expected the rows of table {name!r}")
            table = by_name[name]
            columns = [c.name for c in table.columns]
            if item.get("columns") != columns:
                raise self._bad(f"table {name}: columns differ from schema {self.revision}")
            block = _Block(self, columns, table)
            yield table, iter(block)
            item = block.after
        if not isinstance(item, dict) or item.get("end") is not True:
            raise self._bad("expected the trailer after the last table")
        self.trailer = item


class _Block:
    """The row lines of one table; `after` holds the line that ended them."""

    def __init__(self, source: _JsonlSource, columns: list[str], table: Table):
        self.source, self.columns, self.table = source, columns, table
        self.dates = {c.name for c in table.columns if isinstance(c.type, Date)}
        self.after = None

    def __iter__(self) -> Iterator[dict]:
        while True:
            item = self.source._next()
            if not isinstance(item, list):
                self.after = item
                return
            if len(item) != len(self.columns):
                raise self.source._bad(f"table {self.table.name}: a row with {len(item)} values, expected {len(self.columns)}")
            row = dict(zip(self.columns, item))
            for name in self.dates:
                if row[name] is not None:
                    try:
                        row[name] = dt.date.fromisoformat(row[name])
                    except (TypeError, ValueError):
                        raise self.source._bad(f"table {self.table.name}: {name} is not a date: {row[name]!r}") from None
            yield row


def _insert(conn: Connection, table: Table, rows: Iterator[dict], path: Path) -> int:
    count = 0
    batch: list[dict] = []

    def flush() -> None:
        if not batch:
            return
        try:
            if table.name == ChainHead.__tablename__:
                for row in batch:  # the migration created the head row; take the backup's values
                    conn.execute(update(table).where(table.c.id == row["id"]).values(seq=row["seq"], hash=row["hash"]))
            else:
                conn.execute(insert(table), batch)
        except (IntegrityError, DataError) as exc:
            first = str(exc.orig).strip().splitlines()[0]
            raise BadInput(f"{path}: table {table.name} cannot be restored: {first}; nothing was restored") from None
        batch.clear()

    for row in rows:
        batch.append(row)
        count += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    return count


def _reflected(conn: Connection) -> list[Table]:
    """The tables as the database holds them (a cpflow 0.1 schema), parents first."""
    names = {t.name for t in tables()}
    existing = MetaData()
    existing.reflect(conn, only=lambda name, _: name in names)
    return list(existing.sorted_tables)


def _recreate_schema(conn: Connection, revision: str = SCHEMA_REVISION) -> list:
    """Drop cpflow's tables and build them again at `revision`, inside the caller's transaction;
    returns the grants they had, which the caller gives back once the schema is final."""
    from cpflow.db import table_privileges
    from cpflow.migrate import upgrade

    granted = table_privileges(conn)  # the grants as they were: default privileges would hand out more
    names = {t.name for t in tables()} | {"alembic_version"}
    existing = MetaData()
    existing.reflect(conn, only=lambda name, _: name in names)
    existing.drop_all(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP FUNCTION IF EXISTS cpflow_append_only() CASCADE"))
    upgrade(conn, revision)
    return granted


def _reset_sequences(conn: Connection) -> None:
    """Point PostgreSQL's id sequences past the restored ids, so new rows do not collide."""
    for table in tables():
        if "id" not in table.c:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if sequence:
            conn.execute(
                text(f"SELECT setval(:s, COALESCE((SELECT MAX(id) FROM {table.name}), 1), "  # noqa: S608 (model table names)
                     f"(SELECT MAX(id) IS NOT NULL FROM {table.name}))"),
                {"s": sequence},
            )  # fmt: skip
