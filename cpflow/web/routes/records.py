"""Recording facts: a move, an indicator value, funds received, a comment. A lead or co-lead
records through the same service as `cpflow move|measure|fund` (201); a member's update
becomes a submission through the same service as `cpflow submit` (202); a comment is always
a submission (`cpflow submit comment`: another lead approves it into the history); a
reviewer is refused (403). The actor is always the signed-in account, never a name from the
form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from cpflow.errors import CpflowError
from cpflow.web.auth import Access, plan_access, require_submitter
from cpflow.web.errors import status_for
from cpflow.web.render import json_response
from cpflow.web.routes.common import amount_param, date_param, text_param, version_from

pages = APIRouter(tags=["records"])
api = APIRouter(tags=["records"])


class MoveIn(BaseModel):
    trigger: str = Field(max_length=40)
    at: str | None = None
    reason: str | None = Field(None, max_length=2000)
    ref: str | None = Field(None, max_length=2000)
    comment: str | None = Field(None, max_length=2000)
    expected_version: int | None = None


class MeasureIn(BaseModel):
    value: str | float
    at: str
    period: str | None = None
    source: str | None = Field(None, max_length=2000)
    comment: str | None = Field(None, max_length=2000)


class CommentIn(BaseModel):
    comment: str = Field(max_length=2000)
    at: str | None = None
    ref: str | None = Field(None, max_length=2000)


class FundIn(BaseModel):
    period: str
    received: str | float | None = None
    budget: str | float | None = None
    at: str | None = None
    reason: str | None = Field(None, max_length=2000)
    comment: str | None = Field(None, max_length=2000)


def move(request: Request, access: Access, code: str, body: MoveIn, expected_version: int | None) -> tuple[int, dict]:
    """(201, the recorded move) for a decider, (202, the submission) for a member."""
    from cpflow import services
    from cpflow.teams.submissions import Draft, create

    require_submitter(access, "moving an activity")
    ident, at = f"{access.slug}:{code}", date_param("at", body.at)
    reason, ref = text_param(body.reason), text_param(body.ref)
    db, login = request.app.state.db, access.viewer.login
    if access.decides:
        result = services.move(db, ident, body.trigger, actor=login, at=at, reason=reason, ref=ref,
                               expected_version=expected_version, plugins=request.app.state.plugins)  # fmt: skip
        return 201, {"kind": "move", "id": result.id, "trigger": result.trigger, "from": result.source, "to": result.dest,
                     "actor": result.actor, "at": result.at, "event": result.event_id, "version": result.version,
                     "warnings": result.warnings}  # fmt: skip
    draft = Draft("move", ident, body.trigger, at, reason, ref, text_param(body.comment))
    return 202, create(db, draft, by=login)


def measure(request: Request, access: Access, code: str, body: MeasureIn) -> tuple[int, dict]:
    from cpflow import services
    from cpflow.teams.submissions import Draft, create

    require_submitter(access, "recording an indicator value")
    ident, at = f"{access.slug}:{code}", date_param("at", body.at)
    period, source = text_param(body.period), text_param(body.source)
    db, login = request.app.state.db, access.viewer.login
    if access.decides:
        result = services.measure(db, ident, body.value, actor=login, at=at, period=period, source=source)
        return 201, {"kind": "measurement", "id": result.id, "value": result.value, "at": result.at, "period": result.period,
                     "actor": login, "event": result.event_id}  # fmt: skip
    payload = {"value": str(body.value), "period": period, "source": source}
    draft = Draft("measure", ident, None, at, None, source, text_param(body.comment), payload)
    return 202, create(db, draft, by=login)


def fund(request: Request, access: Access, unit: str, body: FundIn) -> tuple[int, dict]:
    from cpflow import services
    from cpflow.teams.submissions import Draft, create

    require_submitter(access, "recording funds")
    ident, at = f"{access.slug}:{unit}", date_param("at", body.at)
    received = amount_param("received", None if body.received is None else str(body.received))
    budget = amount_param("budget", None if body.budget is None else str(body.budget))
    db, login, reason = request.app.state.db, access.viewer.login, text_param(body.reason)
    if access.decides:
        result = services.fund(db, ident, period=body.period, received=received, budget=budget, actor=login, at=at, reason=reason)
        return 201, {"kind": "funding", "id": result.id, "period": result.period, "budget": result.budget,
                     "received": result.received, "actor": login, "event": result.event_id}  # fmt: skip
    payload = {"period": body.period, "received": received, "budget": budget}
    draft = Draft("fund", ident, None, at, reason, None, text_param(body.comment), payload)
    return 202, create(db, draft, by=login)


def submit_comment(request: Request, access: Access, code: str, body: CommentIn) -> tuple[int, dict]:
    """(202, the pending submission): whoever writes it, a comment waits for a lead or co-lead."""
    from cpflow.teams.submissions import Draft, create

    require_submitter(access, "commenting on an activity")
    ident, at = f"{access.slug}:{code}", date_param("at", body.at)
    draft = Draft("comment", ident, None, at, None, text_param(body.ref), text_param(body.comment))
    return 202, create(request.app.state.db, draft, by=access.viewer.login)


# --- /api/v1 ------------------------------------------------------------------------------


@api.post("/plans/{plan}/activities/{code}/moves", status_code=201)
def move_api(request: Request, code: str, body: MoveIn, access: Access = Depends(plan_access),
             if_match: str | None = Header(None)):  # fmt: skip
    """Move an activity: 201 with the recorded event for a lead or co-lead, 202 with the pending
    submission for a member, 403 for a reviewer; 409 when `If-Match` / `expected_version` is stale."""
    status, data = move(request, access, code, body, version_from(if_match, body.expected_version))
    return json_response(data, status_code=status)


@api.post("/plans/{plan}/activities/{code}/comments", status_code=202)
def comment_api(request: Request, code: str, body: CommentIn, access: Access = Depends(plan_access)):
    """Comment on an activity (`{"comment", "at", "ref"}`): 202 with the pending submission for a
    member, lead or co-lead (another lead approves it into the activity's history), 403 for a reviewer."""
    status, data = submit_comment(request, access, code, body)
    return json_response(data, status_code=status)


@api.post("/plans/{plan}/indicators/{code}/measurements", status_code=201)
def measure_api(request: Request, code: str, body: MeasureIn, access: Access = Depends(plan_access)):
    """Record an indicator value (201), or submit it for a lead (202)."""
    status, data = measure(request, access, code, body)
    return json_response(data, status_code=status)


@api.post("/plans/{plan}/units/{unit}/funding", status_code=201)
def fund_api(request: Request, unit: str, body: FundIn, access: Access = Depends(plan_access)):
    """Record funds received or a revised budget (201), or submit it for a lead (202)."""
    status, data = fund(request, access, unit, body)
    return json_response(data, status_code=status)


# --- pages --------------------------------------------------------------------------------


def _done(page_path: str, item: str, status: int, data: dict) -> RedirectResponse:
    """Post/redirect/get: the page again by GET, so a refresh never records the value twice."""
    from urllib.parse import urlencode

    number = data["id"] if status == 202 else data["event"]
    query = urlencode({"done": "submitted" if status == 202 else "recorded", "id": number, "item": item})
    return RedirectResponse(f"{page_path}?{query}", status_code=303)


def done_notice(access: Access, query, known: set[str]) -> str | None:
    """The notice after a redirect from `_done`, built from numbers and known keys only (never echoing free text)."""
    from cpflow.web.routes.common import int_param

    done, item = query.get("done"), query.get("item", "")
    try:
        number = int_param("id", query.get("id"))
    except CpflowError:
        return None
    if done not in ("recorded", "submitted") or number is None or item not in known:
        return None
    if done == "submitted":
        who = "another lead or co-lead" if access.reviews else "a lead or co-lead"
        return f"{access.slug}:{item}: submitted for review (submission {number}); {who} will approve or return it"
    return f"{access.slug}:{item}: recorded (event {number})"


@pages.post("/plans/{plan}/activities/{code}/moves", include_in_schema=False)
def move_form(
    request: Request, code: str, access: Access = Depends(plan_access), trigger: str = Form(""), at: str = Form(""),
    reason: str = Form(""), ref: str = Form(""), comment: str = Form(""), expected_version: str = Form(""),
):  # fmt: skip
    from cpflow.web.routes.common import int_param
    from cpflow.web.routes.plans import activity_view

    form = {"trigger": trigger, "at": at, "reason": reason, "ref": ref, "comment": comment}
    try:
        body = MoveIn(trigger=trigger[:40], at=at, reason=reason, ref=ref, comment=comment)
        status, data = move(request, access, code, body, int_param("expected_version", expected_version))
    except CpflowError as exc:
        from cpflow.web.errors import message_for

        return activity_view(request, access, code, error=message_for(exc), status=status_for(exc), form=form)
    return RedirectResponse(f"/plans/{access.slug}/activities/{code}?done={status}", status_code=303)


@pages.post("/plans/{plan}/activities/{code}/comments", include_in_schema=False)
def comment_form(
    request: Request, code: str, access: Access = Depends(plan_access), comment: str = Form(""), at: str = Form(""),
    ref: str = Form(""),
):  # fmt: skip
    from cpflow.web.errors import message_for
    from cpflow.web.routes.plans import activity_view

    form = {"kind": "comment", "comment": comment, "at": at, "ref": ref}
    try:
        submit_comment(request, access, code, CommentIn(comment=comment[:2000], at=at or None, ref=ref[:2000]))
    except CpflowError as exc:
        return activity_view(request, access, code, error=message_for(exc), status=status_for(exc), form=form)
    return RedirectResponse(f"/plans/{access.slug}/activities/{code}?done=comment", status_code=303)


@pages.post("/plans/{plan}/indicators/{code}/measurements", include_in_schema=False)
def measure_form(
    request: Request, code: str, access: Access = Depends(plan_access), value: str = Form(""), at: str = Form(""),
    period: str = Form(""), source: str = Form(""), comment: str = Form(""),
):  # fmt: skip
    from cpflow.web.errors import message_for
    from cpflow.web.routes.plans import indicators_view

    try:
        status, data = measure(request, access, code, MeasureIn(value=value, at=at, period=period or None, source=source,
                                                               comment=comment))  # fmt: skip
    except CpflowError as exc:
        return indicators_view(request, access, error=message_for(exc), status=status_for(exc))
    return _done(f"/plans/{access.slug}/indicators", code, status, data)


@pages.post("/plans/{plan}/units/{unit}/funding", include_in_schema=False)
def fund_form(
    request: Request, unit: str, access: Access = Depends(plan_access), period: str = Form(""), received: str = Form(""),
    budget: str = Form(""), at: str = Form(""), reason: str = Form(""), comment: str = Form(""),
):  # fmt: skip
    from cpflow.web.errors import message_for
    from cpflow.web.routes.plans import funding_view

    try:
        body = FundIn(period=period, received=received or None, budget=budget or None, at=at, reason=reason, comment=comment)
        status, data = fund(request, access, unit, body)
    except CpflowError as exc:
        return funding_view(request, access, error=message_for(exc), status=status_for(exc))
    return _done(f"/plans/{access.slug}/funding", unit, status, data)
