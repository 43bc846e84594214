"""Engine, transactions and schema management for SQLite and PostgreSQL.

SQLite runs with WAL, foreign keys on and a busy timeout; every write transaction opens
with BEGIN IMMEDIATE so writers queue at the start instead of failing half-way. On
PostgreSQL every write first locks the single chain-head row, which orders all writers
(the event log is one hash chain) and rules out deadlocks.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from cpflow.errors import BusyError, DatabaseError

DEFAULT_URL = "sqlite:///cpflow.db"
BUSY_TIMEOUT_S = 10.0
WRITE_ATTEMPTS = 8

# Bump together with a new Alembic revision; a test keeps the two in step.
SCHEMA_REVISION = "0002"

T = TypeVar("T")


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


class Database:
    """One cpflow database: an engine plus the transaction helpers services use."""

    def __init__(self, url: str | None = None):
        self.url = _parse_url(resolve_url(url))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine()

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

    def _create_engine(self) -> Engine:
        try:
            if self.is_sqlite:
                engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_S})
                _configure_sqlite(engine)
            else:
                engine = create_engine(self.url, pool_pre_ping=False)
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
            if isinstance(exc, OperationalError) and _is_connect_failure(exc):
                raise DatabaseError(f"cannot open database {self.display_url}: {_first_line(exc)}") from None
            if _is_permission_denied(exc):
                # A read-only role (or file): one clear line, not an internal error.
                raise DatabaseError(f"{self.display_url} refused: {_first_line(exc)}; nothing was written") from None
            raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session in one transaction (a consistent snapshot)."""
        self.require_schema()
        with self.connect() as conn, Session(bind=conn) as session:
            with session.begin():
                yield session

    def write(self, work: Callable[[Session], T], *, require_schema: bool = True) -> T:
        """Run `work(session)` in one write transaction, retrying while the database is busy.

        The whole function is re-run on a lock timeout or a serialization failure, so it
        must do all its reading inside the transaction. After WRITE_ATTEMPTS the caller
        gets BusyError; a failure of any other kind rolls back and propagates.
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
                            session.execute(text("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE"))
                        return work(session)
            except DBAPIError as exc:
                if not _is_busy(exc):
                    raise
                if attempt == WRITE_ATTEMPTS:
                    raise BusyError(
                        f"database {self.display_url} stayed busy after {WRITE_ATTEMPTS} attempts; nothing was written"
                    ) from None
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # --- schema -------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None for an empty database."""
        with self.connect() as conn:
            if not conn.dialect.has_table(conn, "alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

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
            raise DatabaseError(
                f"{self.display_url} is at schema {revision}, this cpflow needs {SCHEMA_REVISION}: run `cpflow init`"
            )
        self._schema_ok = True

    def init(self) -> tuple[str | None, str]:
        """Create or upgrade the schema to the current revision; returns (before, after)."""
        from cpflow.migrate import upgrade

        before = self.schema_revision()
        if before != SCHEMA_REVISION:
            with self.connect() as conn:
                upgrade(conn)
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
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("cpflow_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _is_busy(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01", "55P03")  # serialization failure, deadlock, lock not available


def _is_permission_denied(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
        return True
    return "attempt to write a readonly database" in str(exc.orig).lower()


def _is_connect_failure(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    markers = ("connection", "could not", "unable to open", "no such host", "timeout expired", "password", "does not exist")
    return exc.connection_invalidated or any(marker in message for marker in markers)
