"""Accounts, roles per plan, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi) and only ever given from a prompt or
stdin; API tokens are 32 random bytes, shown once, stored as their SHA-256 (right for a
high-entropy secret: no stretching is needed), revocable and expiring. Adding, disabling,
granting, revoking, a password change and a token's issue or revocation are events in the
chain; none of them carries a password, a token or a hash.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpflow import audit
from cpflow.audit import Fact
from cpflow.clock import today
from cpflow.db import Database
from cpflow.errors import BadInput
from cpflow.lifecycle import ROLES
from cpflow.models import Account, ApiToken, PlanRole
from cpflow.read.lookup import find_plan
from cpflow.read.team import active_account, find_account, has_accounts, normal_login

TOKEN_PREFIX = "cpf_"
TOKEN_DAYS = 90
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def _check_password_text(password: str | None) -> str:
    password = (password or "").rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"a password needs at least {MIN_PASSWORD} characters; nothing was written")
    if len(password) > 1024:
        raise BadInput("a password is at most 1024 characters; nothing was written")
    return password


def _require_admin(session: Session, by: str | None, what: str) -> str:
    """Where accounts exist, account work needs an enabled admin account named by --by."""
    if not (by or "").strip():
        raise BadInput(f"{what} needs an admin: name one with --by", field="actor")
    account = active_account(session, by, what)
    if not account.is_admin:
        raise BadInput(f"{what}: {account.login} is not an admin; nothing was written")
    return account.login


def _event(session: Session, kind: str, actor: str, data: dict[str, Any], plan_id: int | None = None) -> int:
    (event_id,) = audit.append(session, [Fact(kind, actor, today(), plan_id=plan_id, data=data)])
    return event_id


@dataclass
class AccountResult:
    login: str
    action: str
    event_id: int
    detail: str = ""


def add_account(
    db: Database,
    login: str,
    *,
    by: str | None,
    name: str | None = None,
    email: str | None = None,
    admin: bool = False,
    password: str | None = None,
) -> AccountResult:
    """Add an account. The database's first account needs no --by and must be an admin."""
    login = normal_login(login)
    password_hash = hash_password(_check_password_text(password)) if password is not None else None
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 320 or any(c.isspace() for c in email)):
        raise BadInput(f"{email!r} is not an e-mail address; nothing was written")
    db.ensure_schema()

    def work(session: Session) -> AccountResult:
        if has_accounts(session):
            actor = _require_admin(session, by, f"adding the account {login}")
            if find_account(session, login) is not None:
                raise BadInput(f"the account {login} already exists; nothing was written")
        else:
            if not admin:
                raise BadInput(f"{login} would be this database's first account: the first account must be --admin")
            actor = login
        session.add(
            Account(
                login=login, name=(name or "").strip() or None, email=email, is_admin=admin, disabled=False,
                password_hash=password_hash, created_at=audit.utc_now(),
            )
        )  # fmt: skip
        session.flush()
        data = {"action": "add", "login": login, "name": (name or "").strip() or None, "email": email, "admin": admin}
        return AccountResult(login, "add", _event(session, "account", actor, data))

    return db.write(work)


def set_password(db: Database, login: str, password: str, *, by: str | None = None) -> AccountResult:
    """Set an account's password: by the account itself, or by an admin."""
    login = normal_login(login)
    password_hash = hash_password(_check_password_text(password))

    def work(session: Session) -> AccountResult:
        account = active_account(session, login, "setting a password")
        actor = login
        if by is not None and normal_login(by) != login:
            actor = _require_admin(session, by, f"setting the password of {login}")
        account.password_hash = password_hash
        return AccountResult(login, "password", _event(session, "account", actor, {"action": "password", "login": login}))

    return db.write(work)


@functools.cache
def _decoy_hash() -> str:
    """A hash of nothing anyone knows, verified when there is no account's hash to check, so a
    sign-in takes the same time whether the account exists or not."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(secrets.token_urlsafe(32))


def check_password(db: Database, login: str, password: str) -> bool:
    """True when `password` is the enabled account's password (for the web app's sign-in).
    An unknown or disabled account costs one Argon2 verification too: timing tells nothing."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    with db.read() as session:
        account = find_account(session, login)
        hashed = account.password_hash if account is not None and not account.disabled else None
        usable = hashed is not None
        stored = hashed if hashed is not None else _decoy_hash()
    try:
        return PasswordHasher().verify(stored, password) and usable
    except (VerificationError, InvalidHashError):
        return False


def set_disabled(db: Database, login: str, *, by: str | None, disabled: bool = True) -> AccountResult:
    """Disable (or enable again) an account; its tokens stop working while it is disabled."""
    login = normal_login(login)

    def work(session: Session) -> AccountResult:
        actor = _require_admin(session, by, f"disabling {login}")
        account = find_account(session, login)
        if account is None:
            raise BadInput(f"unknown account {login!r}; nothing was written")
        if account.login == actor and disabled:
            raise BadInput(f"{login} cannot disable their own account; ask another admin")
        account.disabled = disabled
        action = "disable" if disabled else "enable"
        return AccountResult(login, action, _event(session, "account", actor, {"action": action, "login": login}))

    return db.write(work)


def _role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def grant(db: Database, login: str, role: str, *, plan: str, by: str | None) -> AccountResult:
    """Give an account a role in a plan (an event in the chain)."""
    login, role = normal_login(login), _role(role)

    def work(session: Session) -> AccountResult:
        actor = _require_admin(session, by, f"granting {role} in {plan}")
        target = find_plan(session, plan)
        account = active_account(session, login, f"granting {role} in {plan}")
        held = session.execute(
            select(PlanRole).where(PlanRole.account_id == account.id, PlanRole.plan_id == target.id, PlanRole.role == role)
        ).scalar_one_or_none()
        if held is not None:
            return AccountResult(login, "grant", 0, f"{login} already holds {role} in {target.slug}; nothing changed")
        session.add(PlanRole(account_id=account.id, plan_id=target.id, role=role))
        data = {"action": "grant", "login": login, "role": role, "plan": target.slug}
        return AccountResult(login, "grant", _event(session, "role", actor, data, target.id), f"{role} in {target.slug}")

    return db.write(work)


def revoke(db: Database, login: str, role: str, *, plan: str, by: str | None) -> AccountResult:
    """Take a role in a plan away from an account (an event in the chain)."""
    login, role = normal_login(login), _role(role)

    def work(session: Session) -> AccountResult:
        actor = _require_admin(session, by, f"revoking {role} in {plan}")
        target = find_plan(session, plan)
        account = find_account(session, login)
        held = None
        if account is not None:
            held = session.execute(
                select(PlanRole).where(PlanRole.account_id == account.id, PlanRole.plan_id == target.id, PlanRole.role == role)
            ).scalar_one_or_none()
        if held is None:
            raise BadInput(f"{login} does not hold {role} in {target.slug}; nothing was written")
        session.delete(held)
        data = {"action": "revoke", "login": login, "role": role, "plan": target.slug}
        return AccountResult(login, "revoke", _event(session, "role", actor, data, target.id), f"{role} in {target.slug}")

    return db.write(work)


# --- API tokens ---------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class TokenResult:
    login: str
    token_id: int
    token: str  # shown once, never stored
    expires_at: str
    event_id: int


def issue_token(db: Database, login: str, *, by: str | None, days: int = TOKEN_DAYS) -> TokenResult:
    """A new API token for `login` (by the account itself or an admin), expiring in `days`."""
    login = normal_login(login)
    if not 1 <= days <= 366:
        raise BadInput(f"a token lives 1 to 366 days, not {days}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def work(session: Session) -> TokenResult:
        account = active_account(session, login, "issuing a token")
        actor = login
        if normal_login(by or login) != login:
            actor = _require_admin(session, by, f"issuing a token for {login}")
        row = ApiToken(
            account_id=account.id, token_sha256=token_digest(token), created_at=audit.utc_now(), expires_at=expires, revoked=False
        )
        session.add(row)
        session.flush()
        data = {"action": "token", "login": login, "token_id": row.id, "expires_at": expires}
        return TokenResult(login, row.id, token, expires, _event(session, "account", actor, data))

    return db.write(work)


def revoke_token(db: Database, token_id: int, *, by: str | None) -> AccountResult:
    """Revoke a token by its id (the account itself or an admin)."""

    def work(session: Session) -> AccountResult:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise BadInput(f"unknown token {token_id}; nothing was written")
        owner = session.get_one(Account, row.account_id)  # a token's account is never deleted
        actor = active_account(session, by, f"revoking token {token_id}").login
        if actor != owner.login:
            actor = _require_admin(session, by, f"revoking token {token_id}")
        row.revoked = True
        data = {"action": "token-revoke", "login": owner.login, "token_id": token_id}
        return AccountResult(owner.login, "token-revoke", _event(session, "account", actor, data))

    return db.write(work)


def account_for_token(db: Database, token: str) -> str | None:
    """The login a token belongs to, or None when it is unknown, revoked, expired or its account disabled."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with db.read() as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).scalar_one_or_none()
        if row is None or row.revoked or row.expires_at <= now:
            return None
        account = session.get(Account, row.account_id)
        return None if account is None or account.disabled else account.login


def list_tokens(db: Database, login: str) -> list[dict[str, Any]]:
    with db.read() as session:
        account = find_account(session, login)
        if account is None:
            raise BadInput(f"unknown account {login!r}")
        rows = session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id))
        return [{"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at, "revoked": t.revoked} for t in rows]
