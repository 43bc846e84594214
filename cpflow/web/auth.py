"""Who is asking: the signed session cookie, API tokens, CSRF, and the role checks every
route depends on. Nothing is kept in memory: the cookie is signed with the database's
secret and every request re-reads the account, so a disabled account or a changed
password ends its sessions on every worker at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from fastapi import Depends, Request
from sqlalchemy import select

from cpflow.models import Account, Plan
from cpflow.read.team import four_eyes, roles_in
from cpflow.roles import DECIDERS, SUBMITTERS
from cpflow.web.errors import Forbidden, NotSignedIn, PageNotFound

SESSION_COOKIE = "cpflow_session"
SESSION_SECONDS = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class WebSession:
    """What the cookie carries: a random id, the CSRF token, and the signed-in login (or None)."""

    sid: str
    csrf: str
    login: str | None = None
    fingerprint: str | None = None

    @classmethod
    def fresh(cls, login: str | None = None, fingerprint: str | None = None) -> WebSession:
        return cls(secrets.token_urlsafe(18), secrets.token_urlsafe(24), login, fingerprint)


@dataclass
class Viewer:
    login: str
    name: str | None
    is_admin: bool
    account_id: int
    via: str  # session or token
    csrf: str = ""


@dataclass
class Access:
    """The signed-in account's standing in one plan (from the database, on every request)."""

    viewer: Viewer
    slug: str
    plan_id: int
    title: str
    roles: set[str] = field(default_factory=set)
    four_eyes: bool = False

    @property
    def decides(self) -> bool:
        """Records a fact directly (a lead or co-lead, unless the plan asks for four eyes)."""
        return bool(self.roles & DECIDERS) and not self.four_eyes

    @property
    def submits(self) -> bool:
        return bool(self.roles & SUBMITTERS)

    @property
    def reviews(self) -> bool:
        return bool(self.roles & DECIDERS)

    def role_text(self) -> str:
        return ", ".join(sorted(self.roles)) or ("admin, no role" if self.viewer.is_admin else "no role")


def _serializer(request: Request):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(request.app.state.secret, salt="cpflow-session")


def fingerprint(request: Request, password_hash: str | None) -> str:
    """A keyed digest of the password hash: a new password ends the old sessions."""
    key = request.app.state.secret.encode()
    return hmac.new(key, (password_hash or "").encode(), hashlib.sha256).hexdigest()[:24]


def read_session(request: Request) -> WebSession | None:
    if "web_session" in request.state._state:
        return request.state.web_session
    from itsdangerous import BadSignature

    found = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=SESSION_SECONDS)
            found = WebSession(str(data["s"]), str(data["c"]), data.get("l"), data.get("p"))
        except (BadSignature, KeyError, TypeError, ValueError):
            found = None
    request.state.web_session = found
    return found


def write_session(request: Request, response, session: WebSession) -> None:
    """Set the cookie: HttpOnly, SameSite=Lax, Secure when the request came over https."""
    value = _serializer(request).dumps({"s": session.sid, "c": session.csrf, "l": session.login, "p": session.fingerprint})
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    request.state.web_session = session


def anonymous_session(request: Request) -> tuple[WebSession, bool]:
    """The visitor's session (for the sign-in form's CSRF token); True when it is new."""
    session = read_session(request)
    if session is None:
        return WebSession.fresh(), True
    return session, False


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _account_viewer(request: Request, login: str, via: str, csrf: str = "") -> Viewer | None:
    with request.app.state.db.read() as session:
        account = session.execute(select(Account).where(Account.login == login)).scalar_one_or_none()
        if account is None or account.disabled:
            return None
        if via == "session":
            web = read_session(request)
            if web is None or not hmac.compare_digest(web.fingerprint or "", fingerprint(request, account.password_hash)):
                return None
        return Viewer(account.login, account.name, account.is_admin, account.id, via, csrf)


def current_viewer(request: Request) -> Viewer | None:
    """The signed-in account (session cookie or `Authorization: Bearer` token), or None."""
    if "viewer" in request.state._state:
        return request.state.viewer
    viewer = None
    token = _bearer(request)
    if token is not None:
        from cpflow.teams.accounts import account_for_token

        login = account_for_token(request.app.state.db, token)
        viewer = _account_viewer(request, login, "token") if login else None
    else:
        web = read_session(request)
        if web is not None and web.login:
            viewer = _account_viewer(request, web.login, "session", web.csrf)
    request.state.viewer = viewer
    return viewer


def signed_in(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:
        raise NotSignedIn("sign in first" if _bearer(request) is None else "the API token is unknown, revoked or expired")
    return viewer


def admin(viewer: Viewer = Depends(signed_in)) -> Viewer:
    if not viewer.is_admin:
        raise Forbidden("account administration needs an admin account")
    return viewer


def unknown_plan(slug: str) -> PageNotFound:
    # Never the list of plans there are: a plan the account holds no role in does not exist for it.
    return PageNotFound(f"unknown plan {slug!r}")


def plan_access(request: Request, plan: str, viewer: Viewer = Depends(signed_in)) -> Access:
    """The viewer's roles in the plan of the URL; a plan they hold no role in is 404 (admins read every plan)."""
    with request.app.state.db.read() as session:
        row = session.execute(select(Plan).where(Plan.slug == plan)).scalar_one_or_none()
        if row is None:
            raise unknown_plan(plan)
        roles = roles_in(session, viewer.account_id, row.id)
        if not roles and not viewer.is_admin:
            raise unknown_plan(plan)
        return Access(viewer, row.slug, row.id, row.title, roles, four_eyes(row))


def require_submitter(access: Access, what: str) -> None:
    if not access.submits:
        raise Forbidden(f"{what} needs the role lead, co-lead or member in {access.slug}; you hold {access.role_text()}")


def require_decider(access: Access, what: str) -> None:
    if not access.reviews:
        raise Forbidden(f"{what} needs the role lead or co-lead in {access.slug}; you hold {access.role_text()}")


async def csrf_guard(request: Request) -> None:
    """Every state-changing request carries the session's CSRF token (form field
    `csrf_token` or header `X-CSRF-Token`); a request authenticated by an API token
    carries no ambient credential and needs none."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    session = read_session(request)
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if session is None or not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden("the form's security token (CSRF) is missing or wrong; reload the page and try again")
