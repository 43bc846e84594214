"""Signing in and out, changing one's password, and the API documentation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from cpflow.errors import BadInput
from cpflow.web import store
from cpflow.web.auth import Viewer, WebSession, anonymous_session, fingerprint, signed_in, write_session
from cpflow.web.errors import Throttled
from cpflow.web.render import json_response, page

pages = APIRouter(tags=["session"])
api = APIRouter(tags=["session"])

SIGN_IN_FAILED = "the login or password is wrong"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to another origin.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/plans"


def _login_page(request: Request, *, next_: str | None, error: str | None = None, status: int = 200, login: str = ""):
    session, new = anonymous_session(request)
    if new:
        request.state.web_session = session
    from cpflow.read.team import has_accounts

    with request.app.state.db.read() as s:
        accounts = has_accounts(s)
    response = page(request, "login.html.j2", {"next": _safe_next(next_), "error": error, "login": login,
                                               "accounts": accounts}, status_code=status)  # fmt: skip
    if new:
        write_session(request, response, session)
    return response


@pages.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/plans", status_code=303)


@pages.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None):
    return _login_page(request, next_=next)


@pages.post("/login", include_in_schema=False)
def login(request: Request, login: str = Form(""), password: str = Form(""), next: str = Form("/plans")):
    """Check the password (Argon2, cpflow.teams), throttled per account and per address;
    the same message for an unknown account and a wrong password; a new session id."""
    from cpflow.read.team import find_account
    from cpflow.teams.accounts import check_password

    db = request.app.state.db
    address = request.client.host if request.client else None
    wait = store.blocked_for(db, login, address)
    if wait:
        minutes = max(1, round(wait / 60))
        raise Throttled(f"too many failed sign-ins; try again in about {minutes} minute{'s' if minutes != 1 else ''}")
    if not login.strip() or not check_password(db, login, password[:1024]):
        store.record_failure(db, login, address)
        return _login_page(request, next_=next, error=SIGN_IN_FAILED, status=401, login=login)
    store.clear_failures(db, login)
    with db.read() as s:
        account = find_account(s, login)
        assert account is not None
        session = WebSession.fresh(account.login, fingerprint(request, account.password_hash))
    response = RedirectResponse(_safe_next(next), status_code=303)
    write_session(request, response, session)
    return response


@pages.post("/logout", include_in_schema=False)
def logout(request: Request):
    response = RedirectResponse("/login", status_code=303)
    write_session(request, response, WebSession.fresh())
    return response


@pages.get("/account/password", include_in_schema=False)
def password_form(request: Request, viewer: Viewer = Depends(signed_in)):
    return page(request, "password.html.j2", {"error": None, "done": False})


@pages.post("/account/password", include_in_schema=False)
def change_password(
    request: Request,
    viewer: Viewer = Depends(signed_in),
    current: str = Form(""),
    new: str = Form(""),
    confirm: str = Form(""),
):
    from cpflow.read.team import find_account
    from cpflow.teams.accounts import check_password, set_password

    db = request.app.state.db
    error = None
    if not check_password(db, viewer.login, current[:1024]):
        error = "the current password is wrong"
    elif new != confirm:
        error = "the new password and its confirmation differ"
    if error is None:
        try:
            set_password(db, viewer.login, new, by=viewer.login)
        except BadInput as exc:
            error = str(exc)
    if error is not None:
        return page(request, "password.html.j2", {"error": error, "done": False}, status_code=400)
    with db.read() as s:
        account = find_account(s, viewer.login)
        session = WebSession.fresh(viewer.login, fingerprint(request, account.password_hash if account else None))
    response = page(request, "password.html.j2", {"error": None, "done": True})
    write_session(request, response, session)
    return response


@pages.get("/api/docs", include_in_schema=False)
def api_docs(request: Request, viewer: Viewer = Depends(signed_in)):
    """The OpenAPI description rendered here (Swagger UI would load scripts from a CDN)."""
    spec = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "doc": op.get("description", "")}
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]
    return page(request, "api_docs.html.j2", {"operations": operations})


@api.get("/me")
def me(viewer: Viewer = Depends(signed_in)):
    """The signed-in account."""
    return json_response({"login": viewer.login, "name": viewer.name, "admin": viewer.is_admin, "via": viewer.via})
