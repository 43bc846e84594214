"""What the web app keeps in the database beside the record: the session-signing secret
and the sign-in throttle. Both live in the database, never in a worker's memory, so any
number of workers (or machines) in front of one database agree on them.

These tables hold no recorded fact (nothing here is in the event chain, a backup or a
replay); they are created when the app starts, if missing."""

from __future__ import annotations

import os
import secrets
import time

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cpflow.db import Database

metadata = MetaData()
settings = Table(
    "web_settings",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)
failures = Table(
    "web_sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),
    Column("at", Float, nullable=False),
)

WINDOW_S = 15 * 60
ACCOUNT_LIMIT = 5  # failed sign-ins per account in the window
ADDRESS_LIMIT = 20  # failed sign-ins from one client address in the window


def ensure_tables(db: Database) -> None:
    """Create the web app's tables when missing (several workers may race: the loser re-checks)."""
    db.require_schema()
    try:
        metadata.create_all(db.engine, checkfirst=True)
    except (OperationalError, ProgrammingError, IntegrityError):
        metadata.create_all(db.engine, checkfirst=True)


def signing_secret(db: Database) -> str:
    """CPFLOW_SECRET_KEY, or the secret generated once and stored in the database."""
    configured = os.environ.get("CPFLOW_SECRET_KEY", "").strip()
    if configured:
        return configured
    with db.engine.begin() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == "secret_key")).scalar()
    if value:
        return value
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(settings).values(key="secret_key", value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another worker stored one first: use theirs
    with db.engine.begin() as conn:
        return conn.execute(select(settings.c.value).where(settings.c.key == "secret_key")).scalar_one()


def throttle_keys(login: str, address: str | None) -> tuple[str, str]:
    return f"account:{(login or '').strip().lower()[:100]}", f"address:{address or 'unknown'}"


def blocked_for(db: Database, login: str, address: str | None, *, now: float | None = None) -> int:
    """Seconds until this account or address may try again (0: it may now)."""
    now = time.time() if now is None else now
    account_key, address_key = throttle_keys(login, address)
    waits = []
    with db.engine.connect() as conn:
        for key, limit in ((account_key, ACCOUNT_LIMIT), (address_key, ADDRESS_LIMIT)):
            count, oldest = conn.execute(
                select(func.count(), func.min(failures.c.at)).where(failures.c.key == key, failures.c.at > now - WINDOW_S)
            ).one()
            if count >= limit:
                waits.append(int(oldest + WINDOW_S - now) + 1)
    return max(waits, default=0)


def record_failure(db: Database, login: str, address: str | None, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    with db.engine.begin() as conn:
        conn.execute(insert(failures), [{"key": key, "at": now} for key in throttle_keys(login, address)])
        conn.execute(delete(failures).where(failures.c.at < now - 2 * WINDOW_S))


def clear_failures(db: Database, login: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(failures).where(failures.c.key == throttle_keys(login, None)[0]))
