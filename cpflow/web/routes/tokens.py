"""API tokens for the signed-in person: issue one (shown once, after a redirect), list them, revoke one,
through the same services as `cpflow users token`. Only the token's digest is stored."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from cpflow.errors import CpflowError
from cpflow.web.auth import Viewer, signed_in
from cpflow.web.errors import PageNotFound, message_for, status_for
from cpflow.web.render import json_response, page
from cpflow.web.routes.common import int_param

pages = APIRouter(tags=["tokens"])
api = APIRouter(tags=["tokens"])


class TokenIn(BaseModel):
    days: int = Field(90, ge=1, le=366)


def tokens(request: Request, viewer: Viewer) -> list[dict]:
    from cpflow.teams.accounts import list_tokens

    return list_tokens(request.app.state.db, viewer.login)


def issue(request: Request, viewer: Viewer, days: int) -> dict:
    from cpflow.teams.accounts import issue_token

    result = issue_token(request.app.state.db, viewer.login, by=viewer.login, days=days)
    return {"id": result.token_id, "token": result.token, "expires_at": result.expires_at, "event": result.event_id}


def revoke(request: Request, viewer: Viewer, token_id: int) -> dict:
    """Revoke one of the viewer's own tokens; another account's token id is 404 here."""
    from cpflow.teams.accounts import revoke_token

    if token_id not in {t["id"] for t in tokens(request, viewer)}:
        raise PageNotFound(f"unknown token {token_id}")
    result = revoke_token(request.app.state.db, token_id, by=viewer.login)
    return {"id": token_id, "action": result.action, "event": result.event_id}


@api.get("/tokens")
def tokens_api(request: Request, viewer: Viewer = Depends(signed_in)):
    """Your API tokens (id, created, expires, revoked); never the tokens themselves."""
    return json_response(tokens(request, viewer))


@api.post("/tokens", status_code=201)
def issue_api(request: Request, body: TokenIn | None = None, viewer: Viewer = Depends(signed_in)):
    """A new API token for you (`{"days"}`, default 90): the token is in this answer only."""
    return json_response(issue(request, viewer, (body or TokenIn()).days), status_code=201)


@api.post("/tokens/{token_id}/revoke")
def revoke_api(request: Request, token_id: int, viewer: Viewer = Depends(signed_in)):
    """Revoke one of your tokens."""
    return json_response(revoke(request, viewer, token_id))


def tokens_view(request: Request, viewer: Viewer, *, issued: dict | None = None, error: str | None = None,
                notice: str | None = None, status: int = 200):  # fmt: skip
    context = {"tokens": tokens(request, viewer), "issued": issued, "error": error, "notice": notice}
    return page(request, "tokens.html.j2", context, status_code=status)


@pages.get("/account/tokens", include_in_schema=False)
def tokens_page(request: Request, viewer: Viewer = Depends(signed_in), issued: str | None = None):
    # After the POST's redirect: the new token, taken from its one-time note (deleted as it is read).
    if not issued:
        return tokens_view(request, viewer)
    from cpflow.web.store import take_flash

    note = take_flash(request.app.state.db, viewer.account_id, issued[:100])
    if note is None:
        gone = "That token was shown once already (or the page is older than ten minutes): if you did not copy it, " \
               "revoke it and issue another."  # fmt: skip
        return tokens_view(request, viewer, notice=gone)
    return tokens_view(request, viewer, issued=json.loads(note))


@pages.post("/account/tokens", include_in_schema=False)
def issue_form(request: Request, viewer: Viewer = Depends(signed_in), days: str = Form("90")):
    # POST, redirect, GET: a refresh of the page shows nothing again and issues nothing. The
    # token goes to the GET in a one-time note (cpflow.web.store.put_flash), never in the URL.
    from cpflow.web.store import put_flash

    try:
        chosen = int_param("days", days) or 90
        if not 1 <= chosen <= 366:
            from cpflow.errors import BadInput

            raise BadInput(f"days: a token lives 1 to 366 days, not {chosen}")
        issued = issue(request, viewer, chosen)
    except CpflowError as exc:
        return tokens_view(request, viewer, error=message_for(exc), status=status_for(exc))
    note = json.dumps({"id": issued["id"], "token": issued["token"], "expires_at": str(issued["expires_at"])})
    key = put_flash(request.app.state.db, viewer.account_id, note)
    return RedirectResponse(f"/account/tokens?issued={key}", status_code=303)


@pages.post("/account/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_form(request: Request, token_id: int, viewer: Viewer = Depends(signed_in)):
    revoke(request, viewer, token_id)
    return RedirectResponse("/account/tokens", status_code=303)
