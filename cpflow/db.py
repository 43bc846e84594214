"""Engine, transactions and schema management for SQLite and PostgreSQL.

SQLite runs with WAL, foreign keys on and a busy timeout; every write transaction opens
with BEGIN IMMEDIATE so writers queue at the start instead of failing half-way. On
PostgreSQL every write first takes cpflow's transaction-scoped advisory lock for the
schema, which orders all writers (the event log is one hash chain) and rules out
deadlocks; it needs no UPDATE right on any table, so writers never hold the chain head.
Writes wait for that lock at most CPFLOW_LOCK_TIMEOUT seconds in all, are retried, and
then fail with exit 4 naming the session that holds it. Every read is one read-only
snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite).
"""

from __future__ import annotations

import os
import random
import socket
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from cpflow.errors import BusyError, DatabaseError

DEFAULT_URL = "sqlite:///cpflow.db"
LOCK_TIMEOUT_S = 30.0  # default of CPFLOW_LOCK_TIMEOUT: how long one write waits for others, all attempts together
STATEMENT_TIMEOUT_S = 600.0  # default of CPFLOW_STATEMENT_TIMEOUT: the longest one statement of a write may run
IDLE_TIMEOUT_S = 120.0  # default of CPFLOW_IDLE_TIMEOUT: a stopped writer loses its transaction (and lock) after this
WRITE_ATTEMPTS = 4
# Advisory lock keys (the first of the two int4 keys; the second is the schema's oid).
WRITE_LOCK, SCHEMA_LOCK = 0x63700001, 0x63700002
_SCHEMA_OID = "COALESCE((SELECT oid FROM pg_namespace WHERE nspname = current_schema())::int, 0)"

# Bump together with a new Alembic revision; a test keeps the two in step.
SCHEMA_REVISION = "0004"

T = TypeVar("T")
DBAPICursor = Any  # the driver's own cursor (sqlite3.Cursor or psycopg.Cursor)


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else $CPFLOW_DB, else ./cpflow.db.

    A plain file path is accepted as shorthand for a SQLite URL.
    """
    url = url or os.environ.get("CPFLOW_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"not a database URL: {url!r} (expected sqlite:///FILE or postgresql+psycopg://…)") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r} in {url!r}: use SQLite or PostgreSQL")
    return parsed


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise DatabaseError(f"{name}={raw!r}: expected a number of seconds between 0 and 86400")
    return value


class Database:
    """One cpflow database: an engine plus the transaction helpers services use."""

    def __init__(self, url: str | None = None):
        self.url = _parse_url(resolve_url(url))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.lock_timeout = _seconds("CPFLOW_LOCK_TIMEOUT", LOCK_TIMEOUT_S)
        self.statement_timeout = _seconds("CPFLOW_STATEMENT_TIMEOUT", STATEMENT_TIMEOUT_S)
        self.idle_timeout = _seconds("CPFLOW_IDLE_TIMEOUT", IDLE_TIMEOUT_S)
        self.engine = self._create_engine()
        self._spare: list = []  # write_raw's idle driver connection, (pid, connection), at most one
        # A Database dropped without dispose() still checks its spare back in (no SAWarning from the pool).
        weakref.finalize(self, _close_spare, self._spare)

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or self.url.database in (None, "", ":memory:"):
            return None
        return Path(self.url.database)

    @property
    def _attempt_wait(self) -> float:
        return self.lock_timeout / WRITE_ATTEMPTS

    def _create_engine(self) -> Engine:
        try:
            if self.is_sqlite:
                engine = create_engine(self.url, connect_args={"timeout": self._attempt_wait})
                _configure_sqlite(engine, self._attempt_wait)
            else:
                # The name other sessions see in pg_stat_activity, so a busy message can say who holds the lock.
                name = f"cpflow pid {os.getpid()} on {socket.gethostname()}"[:63]
                engine = create_engine(self.url, pool_pre_ping=False, connect_args={"application_name": name})
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            hint = " (install cpflow[postgres] for psycopg)" if not self.is_sqlite else ""
            raise DatabaseError(f"no driver for {self.display_url}: {exc}{hint}") from None
        return engine

    def exists(self) -> bool:
        """False only for a SQLite file that is not there yet."""
        path = self.sqlite_path
        return path is None or path.exists()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            self._refuse(exc)
            raise

    def _refuse(self, exc: DBAPIError) -> None:
        """Raise the one-line DatabaseError for a database cpflow cannot open or may not write."""
        if isinstance(exc, OperationalError) and _is_connect_failure(exc):
            raise DatabaseError(f"cannot open database {self.display_url}: {_first_line(exc)}") from None
        if _is_permission_denied(exc):
            # A read-only role (or file): one clear line, not an internal error.
            raise DatabaseError(f"{self.display_url} refused: {_first_line(exc)}; nothing was written") from None
        if _is_not_a_database(exc):
            raise DatabaseError(f"{self.display_url} is not a database cpflow can open: {_first_line(exc)}") from None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session in one transaction: every statement sees the same snapshot."""
        self.require_schema()
        with self.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with Session(bind=conn) as session, session.begin():
                yield session

    def write(self, work: Callable[[Session], T], *, require_schema: bool = True) -> T:
        """Run `work(session)` in one write transaction, retrying while the database is busy.

        The whole function is re-run on a lock timeout or a serialization failure, so it
        must do all its reading inside the transaction. After WRITE_ATTEMPTS (at most
        CPFLOW_LOCK_TIMEOUT seconds of waiting) the caller gets BusyError naming the
        holder when the server can tell; a failure of any other kind rolls back and propagates.
        """
        if require_schema:
            self.require_schema()
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.connect() as conn:
                    if self.is_sqlite:
                        conn = conn.execution_options(cpflow_immediate=True)
                    with Session(bind=conn) as session, session.begin():
                        if not self.is_sqlite:
                            self._take_write_lock(session.connection())
                        return work(session)
            except DBAPIError as exc:
                self._retry_or_raise(exc, attempt)
        raise AssertionError("unreachable")

    def write_raw(self, work: Callable[[DBAPICursor], T], *, require_schema: bool = True) -> T:
        """`write` for a service that runs its own precompiled statements: `work(cursor)` gets
        the driver's cursor (sqlite3 or psycopg, no Session, no SQLAlchemy result objects) in
        the same write transaction — BEGIN IMMEDIATE on SQLite, the advisory write lock and
        timeouts on PostgreSQL — with the same retries and the same messages. Anything `work`
        raises rolls the transaction back."""
        if require_schema:
            self.require_schema()
        driver_error = self.engine.dialect.loaded_dbapi.Error
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                try:
                    conn = self._raw_connection()
                    try:
                        cursor = conn.cursor()
                        if self.is_sqlite:
                            cursor.execute("BEGIN IMMEDIATE")
                        else:
                            for statement in self._write_lock_statements():
                                cursor.execute(statement)
                        result = work(cursor)
                        conn.commit()
                    except BaseException:
                        _quiet_rollback(conn, driver_error)
                        conn.close()
                        raise
                    self._keep_raw_connection(conn)
                    return result
                except driver_error as exc:
                    # The same exception SQLAlchemy would have raised, so every check below applies.
                    wrapped = DBAPIError.instance(None, None, exc, driver_error, dialect=self.engine.dialect)
                    if isinstance(wrapped, DBAPIError):
                        self._refuse(wrapped)
                    raise wrapped from exc
            except DBAPIError as exc:
                self._retry_or_raise(exc, attempt)
        raise AssertionError("unreachable")

    def _raw_connection(self):
        """A pooled driver connection; the one a previous write_raw left (one at most, this
        process's) saves the pool's check-out and reset, about a fifth of a move's own time."""
        spare = self._spare
        try:
            pid, conn = spare.pop()
        except IndexError:
            return self.engine.raw_connection()
        return conn if pid == os.getpid() else self.engine.raw_connection()

    def _keep_raw_connection(self, conn) -> None:
        """After a committed write_raw: keep the connection for the next one, or give it back
        to the pool when a spare is already kept (concurrent writers)."""
        if self._spare:
            conn.close()
        else:
            self._spare.append((os.getpid(), conn))

    def _retry_or_raise(self, exc: DBAPIError, attempt: int) -> None:
        """After a failed attempt: wait and return (busy, attempts left), else raise."""
        if _is_statement_timeout(exc):
            raise BusyError(
                f"a statement on {self.display_url} ran longer than CPFLOW_STATEMENT_TIMEOUT="
                f"{self.statement_timeout:g}s and was cancelled; nothing was written"
            ) from None
        if not _is_busy(exc):
            raise exc
        if attempt == WRITE_ATTEMPTS:
            holder = "" if self.is_sqlite else self._lock_holder()
            raise BusyError(
                f"database {self.display_url} stayed busy after {WRITE_ATTEMPTS} attempts "
                f"(CPFLOW_LOCK_TIMEOUT={self.lock_timeout:g}s){holder}; nothing was written"
            ) from None
        time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))

    def _take_write_lock(self, conn: Connection) -> None:
        for statement in self._write_lock_statements():
            conn.execute(text(statement))

    def _write_lock_statements(self) -> tuple[str, ...]:
        """What every PostgreSQL write runs first: its timeouts, then cpflow's advisory write lock."""
        ms = lambda seconds: f"{max(1, int(seconds * 1000))}ms"  # noqa: E731
        return (
            f"SET LOCAL lock_timeout = '{ms(self._attempt_wait)}'",
            f"SET LOCAL statement_timeout = '{ms(self.statement_timeout)}'",
            f"SET LOCAL idle_in_transaction_session_timeout = '{ms(self.idle_timeout)}'",
            f"SELECT pg_advisory_xact_lock({WRITE_LOCK}, {_SCHEMA_OID})",
        )

    def _lock_holder(self) -> str:
        """Who holds cpflow's write lock, as far as the server tells this role ('' if it cannot)."""
        query = text(
            "SELECT l.pid, a.application_name, a.usename, a.state, "
            "EXTRACT(EPOCH FROM now() - a.xact_start)::int AS held "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            f"WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = {WRITE_LOCK} "
            f"AND l.objid::bigint = ({_SCHEMA_OID})::bigint & 4294967295 AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except DBAPIError:
            return ""
        if row is None:
            return ""
        parts = [f"server process {row.pid}"]
        parts += [str(value) for value in (row.application_name, row.usename and f"user {row.usename}", row.state) if value]
        if row.held is not None:
            parts.append(f"in its transaction for {row.held}s")
        return "; the write lock is held by " + ", ".join(parts)

    # --- schema -------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None for an empty database."""
        with self.connect() as conn:
            return _revision(conn)

    def require_schema(self) -> None:
        """Refuse, with a clear message, a database cpflow has not initialised."""
        if getattr(self, "_schema_ok", False):
            return
        if not self.exists():
            raise DatabaseError(f"no cpflow database at {self.sqlite_path}: run `cpflow init` or `cpflow load FILE` first")
        revision = self.schema_revision()
        if revision is None:
            raise DatabaseError(f"{self.display_url} is not a cpflow database yet: run `cpflow init`")
        if revision != SCHEMA_REVISION:
            _refuse_newer(self.display_url, revision)
            raise DatabaseError(
                f"{self.display_url} is at schema {revision}, this cpflow needs {SCHEMA_REVISION}: run `cpflow init`"
            )
        self._schema_ok = True

    def init(self) -> tuple[str | None, str]:
        """Create or upgrade the schema to the current revision; returns (before, after).

        Concurrent first uses are serialised (an advisory lock on PostgreSQL, BEGIN
        IMMEDIATE on SQLite) and the revision is read again under the lock, so four
        processes starting on an empty database create the schema once.
        """
        before = self.schema_revision()
        if before != SCHEMA_REVISION:
            _refuse_newer(self.display_url, before)
            with self.connect() as conn:
                if self.is_sqlite:
                    conn = conn.execution_options(cpflow_immediate=True)
                conn.begin()
                if not self.is_sqlite:
                    conn.execute(text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'"))
                    conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK}, {_SCHEMA_OID})"))
                before = _revision(conn)
                if before != SCHEMA_REVISION:
                    _refuse_newer(self.display_url, before)
                    _upgrade(conn, before, self.display_url)
                conn.commit()
        self._schema_ok = True
        return before, SCHEMA_REVISION

    def ensure_schema(self) -> None:
        """Initialise an empty database; refuse one at another revision."""
        if self.exists() and self.schema_revision() not in (None, SCHEMA_REVISION):
            self.require_schema()
        if not getattr(self, "_schema_ok", False):
            self.init()

    def dispose(self) -> None:
        _close_spare(self._spare)
        self.engine.dispose()


def _upgrade(conn: Connection, before: str | None, display_url: str) -> None:
    """Migrate inside the caller's transaction; a 0.1 database (0001) is verified by the 0.1
    rules first and its tables baselined into the log after (cpflow.upgrade)."""
    from cpflow import digests
    from cpflow import upgrade as old
    from cpflow.clock import today
    from cpflow.migrate import upgrade

    if before == old.OLD_REVISION:
        old.check_old_record(conn, display_url)
    upgrade(conn)
    if before == old.OLD_REVISION:
        old.record_baseline(conn, today=today())
    # Databases from before 0004 get the activity digests their reads now compare with.
    digests.record(conn)


def _revision(conn: Connection) -> str | None:
    if not conn.dialect.has_table(conn, "alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _refuse_newer(display_url: str, revision: str | None) -> None:
    """A database at a revision this cpflow does not know was made by a newer cpflow: init cannot help."""
    if revision is not None and revision not in _known_revisions():
        raise DatabaseError(
            f"{display_url} is at schema {revision}, newer than this cpflow knows (it needs {SCHEMA_REVISION}): "
            "use the cpflow that created it, or upgrade cpflow"
        )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from cpflow.migrate import alembic_config

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={max(1, int(busy_timeout_s * 1000))}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("cpflow_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _close_spare(spare: list) -> None:
    """Give write_raw's kept connection back to the pool (only in the process that took it)."""
    while spare:
        pid, conn = spare.pop()
        if pid == os.getpid():
            conn.close()


def _quiet_rollback(conn, driver_error: type[Exception]) -> None:
    """Roll back after a failure; a connection that cannot even do that is discarded by the pool."""
    try:
        conn.rollback()
    except driver_error:
        conn.invalidate()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _is_busy(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01", "55P03")  # serialization failure, deadlock, lock not available


def _is_statement_timeout(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "57014" and "statement timeout" in str(exc.orig)


def _is_permission_denied(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
        return True
    return "attempt to write a readonly database" in str(exc.orig).lower()


def _is_not_a_database(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "file is not a database" in message or "database disk image is malformed" in message


def _is_connect_failure(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    markers = (
        "connection", "could not", "unable to open", "no such host", "timeout expired", "password", "does not exist",
        "failed to resolve host", "name or service not known", "nodename nor servname",
    )  # fmt: skip
    return exc.connection_invalidated or any(marker in message for marker in markers)


# --- grants on PostgreSQL (docs/postgresql.md) ------------------------------------------------

# What no role but the owner may hold, whatever the grants or default privileges say: the
# log is append-only, the head moves only through cpflow_advance_head, migrations are the owner's.
FORBIDDEN_PRIVILEGES = {
    "transition_events": ("UPDATE", "DELETE", "TRUNCATE"),
    "chain_head": ("INSERT", "UPDATE", "DELETE", "TRUNCATE"),
    "alembic_version": ("INSERT", "UPDATE", "DELETE", "TRUNCATE"),
}

_GRANTS = text(
    "SELECT c.relname, c.relkind, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
    "a.privilege_type, a.is_grantable FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'S', 'p') AND a.grantee <> c.relowner "
    "ORDER BY 1, 3, 4"
)


def table_privileges(conn: Connection) -> list[tuple[str, str, str, str, bool]]:
    """(table, kind, grantee, privilege, grantable) for every grant to a role other than the owner."""
    if conn.dialect.name != "postgresql":
        return []
    return [tuple(row) for row in conn.execute(_GRANTS)]


def restore_privileges(conn: Connection, saved: list[tuple[str, str, str, str, bool]]) -> None:
    """Give cpflow's tables exactly the grants `saved` recorded, whatever default privileges
    granted when they were created again (restore --force), then lock history down."""
    if conn.dialect.name != "postgresql":
        return
    for table, kind, grantee in sorted({row[:3] for row in table_privileges(conn)}):
        on = "SEQUENCE" if kind == "S" else "TABLE"
        conn.execute(text(f'REVOKE ALL ON {on} "{table}" FROM {grantee}'))
    existing = {
        row[0] for row in conn.execute(text("SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"))
    }
    for table, kind, grantee, privilege, grantable in saved:
        if table in existing:
            on = "SEQUENCE" if kind == "S" else "TABLE"
            option = " WITH GRANT OPTION" if grantable else ""
            conn.execute(text(f'GRANT {privilege} ON {on} "{table}" TO {grantee}{option}'))
    lock_down_history(conn)


def lock_down_history(conn: Connection) -> None:
    """Revoke FORBIDDEN_PRIVILEGES from every role but the owner (after init, migrate, restore)."""
    for table, _kind, grantee, privilege, _grantable in table_privileges(conn):
        if privilege in FORBIDDEN_PRIVILEGES.get(table, ()):
            conn.execute(text(f'REVOKE {privilege} ON TABLE "{table}" FROM {grantee}'))
