"""Accounts (admins only): add, disable and enable, grant and revoke roles, and (on the page)
set another account's password, through the same services as `cpflow users`. Listings
never carry a password hash or a token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from cpflow.errors import CpflowError
from cpflow.web.auth import Viewer, admin
from cpflow.web.errors import message_for, status_for
from cpflow.web.render import json_response, page

pages = APIRouter(tags=["accounts"])
api = APIRouter(tags=["accounts"])


class AccountIn(BaseModel):
    login: str = Field(max_length=100)
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    admin: bool = False
    password: str | None = Field(None, max_length=1024)


class RoleIn(BaseModel):
    role: str = Field(max_length=20)
    plan: str = Field(max_length=200)


def accounts(request: Request) -> list[dict]:
    from cpflow.read.team import list_accounts

    with request.app.state.db.read() as session:
        return list_accounts(session)


def add(request: Request, viewer: Viewer, body: AccountIn) -> dict:
    from cpflow.teams.accounts import add_account

    result = add_account(request.app.state.db, body.login, by=viewer.login, name=body.name, email=body.email,
                         admin=body.admin, password=body.password or None)  # fmt: skip
    return {"login": result.login, "action": result.action, "event": result.event_id}


def change(request: Request, viewer: Viewer, login: str, action: str, body: RoleIn | None = None) -> dict:
    from cpflow.teams import accounts as service

    db = request.app.state.db
    if action in ("disable", "enable"):
        result = service.set_disabled(db, login, by=viewer.login, disabled=action == "disable")
    elif action in ("grant", "revoke"):
        if body is None:
            from cpflow.errors import BadInput

            raise BadInput(f'{action} needs the role and the plan (JSON {{"role": ..., "plan": ...}})')
        act = service.grant if action == "grant" else service.revoke
        result = act(db, login, body.role, plan=body.plan, by=viewer.login)
    else:
        from cpflow.errors import BadInput

        raise BadInput(f"unknown account action {action!r}; actions are disable, enable, grant, revoke")
    return {"login": result.login, "action": result.action, "event": result.event_id, "detail": result.detail}


@api.get("/accounts")
def accounts_api(request: Request, viewer: Viewer = Depends(admin)):
    """Accounts with their roles (`plan:role`)."""
    return json_response(accounts(request))


@api.post("/accounts", status_code=201)
def add_api(request: Request, body: AccountIn, viewer: Viewer = Depends(admin)):
    """Add an account (a password is optional: the person sets it with `cpflow users passwd`)."""
    return json_response(add(request, viewer, body), status_code=201)


@api.post("/accounts/{login}/{action}")
def change_api(request: Request, login: str, action: str, body: RoleIn | None = None, viewer: Viewer = Depends(admin)):
    """`disable`, `enable`, or `grant` / `revoke` with `{"role", "plan"}`."""
    return json_response(change(request, viewer, login, action, body))


def accounts_view(request: Request, *, error: str | None = None, status: int = 200):
    from cpflow.lifecycle import ROLES
    from cpflow.web.routes.plans import visible_plans

    plans = [p["slug"] for p in visible_plans(request, request.state.viewer)]
    context = {"accounts": accounts(request), "roles": ROLES, "plans": plans, "error": error}
    return page(request, "accounts.html.j2", context, status_code=status)


@pages.get("/accounts", include_in_schema=False)
def accounts_page(request: Request, viewer: Viewer = Depends(admin)):
    return accounts_view(request)


@pages.post("/accounts", include_in_schema=False)
def add_form(request: Request, viewer: Viewer = Depends(admin), login: str = Form(""), name: str = Form(""),
             email: str = Form(""), is_admin: str = Form(""), password: str = Form("")):  # fmt: skip
    try:
        add(request, viewer, AccountIn(login=login[:100], name=name or None, email=email or None, admin=bool(is_admin),
                                       password=password or None))  # fmt: skip
    except CpflowError as exc:
        return accounts_view(request, error=message_for(exc), status=status_for(exc))
    return RedirectResponse("/accounts", status_code=303)


@pages.post("/accounts/{login}/password", include_in_schema=False)
def password_form(request: Request, login: str, viewer: Viewer = Depends(admin), password: str = Form("")):
    """An admin sets another account's password (`cpflow users passwd LOGIN --by ADMIN`); its sessions end."""
    from cpflow.teams.accounts import set_password

    try:
        set_password(request.app.state.db, login, password[:1024], by=viewer.login)
    except CpflowError as exc:
        return accounts_view(request, error=message_for(exc), status=status_for(exc))
    return RedirectResponse("/accounts?password=set", status_code=303)


@pages.post("/accounts/{login}/{action}", include_in_schema=False)
def change_form(request: Request, login: str, action: str, viewer: Viewer = Depends(admin), role: str = Form(""),
                plan: str = Form("")):  # fmt: skip
    try:
        change(request, viewer, login, action, RoleIn(role=role[:20], plan=plan[:200]) if role else None)
    except CpflowError as exc:
        return accounts_view(request, error=message_for(exc), status=status_for(exc))
    return RedirectResponse("/accounts", status_code=303)
