"""What the web app keeps in the database beside the record: the session-signing secret,
the sign-in throttle and the one-time notes a redirect carries (a new API token). Both live in the database, never in a worker's memory, so any
number of workers (or machines) in front of one database agree on them.

These tables hold no recorded fact (nothing here is in the event chain, a backup or a
replay); they are created when the app starts, if missing."""

from __future__ import annotations

import hashlib
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

flashes = Table(
    "web_flashes",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the one-time key in the redirect's URL
    Column("account_id", Integer, nullable=False),
    Column("value", String(400), nullable=False),  # the note XOR a pad drawn from the key: unreadable without it
    Column("at", Float, nullable=False),
)

WINDOW_S = 15 * 60
FLASH_S = 10 * 60  # a one-time note not read within this is gone
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


# --- one-time notes across a redirect ------------------------------------------------------
# POST, then redirect, then GET: the GET must show what the POST made (a new token) once,
# on whichever worker it lands. The note is kept in the database, padded with a key that
# only the redirect's URL holds, and deleted when read: a database reader cannot read it,
# a replayed URL finds nothing, and a note nobody read is dropped after FLASH_S.


def _pad(key: str, size: int) -> bytes:
    return hashlib.shake_256(b"cpflow-flash:" + key.encode()).digest(size)


def put_flash(db: Database, account_id: int, note: str, *, now: float | None = None) -> str:
    """Keep `note` for the account's next read; returns the one-time key for the redirect."""
    now = time.time() if now is None else now
    key = secrets.token_urlsafe(32)
    data = note.encode()
    sealed = bytes(a ^ b for a, b in zip(data, _pad(key, len(data)), strict=True)).hex()
    with db.engine.begin() as conn:
        conn.execute(delete(flashes).where(flashes.c.at < now - FLASH_S))
        conn.execute(insert(flashes).values(id=hashlib.sha256(key.encode()).hexdigest(), account_id=account_id,
                                            value=sealed, at=now))  # fmt: skip
    return key


def take_flash(db: Database, account_id: int, key: str, *, now: float | None = None) -> str | None:
    """The note kept under `key` for this account, deleted as it is read (None: read already,
    expired, or another account's)."""
    now = time.time() if now is None else now
    ident = hashlib.sha256(key.encode()).hexdigest()
    with db.engine.begin() as conn:
        gone = conn.execute(delete(flashes).where(flashes.c.id == ident, flashes.c.account_id == account_id,
                                                  flashes.c.at >= now - FLASH_S).returning(flashes.c.value)).first()  # fmt: skip
    if gone is None:
        return None
    data = bytes.fromhex(gone[0])
    return bytes(a ^ b for a, b in zip(data, _pad(key, len(data)), strict=True)).decode()
