"""The review page: a lead or co-lead sees the others' pending submissions oldest first and
approves one or several, or returns one with a comment; everyone with a role sees their own
submissions ("My submissions": a lead's too, under four eyes or for a comment, which another
lead decides) with the decider's note, and revises, resubmits or withdraws them. Every
decision goes through cpflow.teams.submissions, the same services as `cpflow review`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from cpflow.errors import CpflowError
from cpflow.models import Plan, Submission
from cpflow.read.team import STATUSES
from cpflow.web.auth import Access, Viewer, plan_access, require_decider, require_submitter, signed_in
from cpflow.web.errors import PageNotFound, message_for, status_for
from cpflow.web.render import json_response, page
from cpflow.web.routes.common import amount_param, date_param, text_param

pages = APIRouter(tags=["review"])
api = APIRouter(tags=["review"])


class Decision(BaseModel):
    comment: str | None = Field(None, max_length=2000)


class Revision(BaseModel):
    trigger: str | None = Field(None, max_length=40)
    at: str | None = None
    reason: str | None = Field(None, max_length=2000)
    ref: str | None = Field(None, max_length=2000)
    comment: str | None = Field(None, max_length=2000)
    # The keys a measure or fund submission takes (records.MeasureIn, FundIn); absent: unchanged.
    value: str | float | None = None
    period: str | None = None
    source: str | None = Field(None, max_length=2000)
    received: str | float | None = None
    budget: str | float | None = None


def submission_access(request: Request, submission_id: int, viewer: Viewer) -> Access:
    """The viewer's standing in the plan the submission belongs to; 404 when they hold no role
    there, or when the number is beyond any id the database can hold."""
    if not 0 < submission_id < 2**63:
        raise PageNotFound(f"unknown submission {submission_id}")
    with request.app.state.db.read() as session:
        slug = session.execute(
            select(Plan.slug).join(Submission, Submission.plan_id == Plan.id).where(Submission.id == submission_id)
        ).scalar_one_or_none()
    if slug is None:
        raise PageNotFound(f"unknown submission {submission_id}")
    try:
        return plan_access(request, slug, viewer)
    except PageNotFound:
        raise PageNotFound(f"unknown submission {submission_id}") from None


def queue(request: Request, access: Access, statuses) -> list[dict]:
    """A lead's queue (every submission of the plan) or a member's own submissions."""
    from cpflow.read.team import list_submissions

    mine = None if access.reviews else access.viewer.login
    with request.app.state.db.read() as session:
        return list_submissions(session, plan=access.slug, mine=mine, statuses=statuses)


def _statuses(status: str | None) -> tuple[str, ...]:
    if not status:
        return ("pending", "returned")
    chosen = tuple(s.strip() for s in status.split(",") if s.strip())
    bad = [s for s in chosen if s not in STATUSES and s != "all"]
    if bad:
        from cpflow.errors import BadInput

        raise BadInput(f"status: unknown status {bad[0]!r}; statuses are {', '.join(STATUSES)}")
    return STATUSES if "all" in chosen else chosen


def approve(request: Request, access: Access, submission_id: int) -> dict:
    from cpflow.teams.submissions import approve as approve_one

    require_decider(access, "approving a submission")
    return approve_one(request.app.state.db, submission_id, by=access.viewer.login, plugins=request.app.state.plugins)


def send_back(request: Request, access: Access, submission_id: int, comment: str | None) -> dict:
    from cpflow.teams.submissions import return_submission

    require_decider(access, "returning a submission")
    return return_submission(request.app.state.db, submission_id, by=access.viewer.login, comment=comment)


def withdraw(request: Request, access: Access, submission_id: int) -> dict:
    from cpflow.teams.submissions import withdraw as take_back

    require_submitter(access, "withdrawing a submission")
    return take_back(request.app.state.db, submission_id, by=access.viewer.login)


def resubmit(request: Request, access: Access, submission_id: int, body: Revision) -> dict:
    from cpflow.teams.submissions import Draft
    from cpflow.teams.submissions import resubmit as revise

    require_submitter(access, "resubmitting")
    payload = {
        "value": None if body.value is None else str(body.value), "period": text_param(body.period),
        "source": text_param(body.source),
        "received": amount_param("received", None if body.received is None else str(body.received)),
        "budget": amount_param("budget", None if body.budget is None else str(body.budget)),
    }  # fmt: skip
    draft = Draft("move", "", text_param(body.trigger), date_param("at", body.at), text_param(body.reason),
                  text_param(body.ref), text_param(body.comment), payload)  # fmt: skip
    return revise(request.app.state.db, submission_id, draft, by=access.viewer.login)


# --- /api/v1 ------------------------------------------------------------------------------


@api.get("/plans/{plan}/submissions")
def submissions_api(request: Request, access: Access = Depends(plan_access), status: str | None = None):
    """Submissions oldest first (`status=pending`, `returned`, `approved`, `withdrawn`, `all`;
    default pending and returned). A lead sees the plan's; a member their own."""
    return json_response(queue(request, access, _statuses(status)))


@api.post("/submissions/{submission_id}/approve")
def approve_api(request: Request, submission_id: int, viewer: Viewer = Depends(signed_in)):
    """Approve: the fact is recorded now, every check run again (409 when the activity moved since)."""
    return json_response(approve(request, submission_access(request, submission_id, viewer), submission_id))


@api.post("/submissions/{submission_id}/return")
def return_api(request: Request, submission_id: int, body: Decision, viewer: Viewer = Depends(signed_in)):
    """Return a submission with a comment saying what to change."""
    access = submission_access(request, submission_id, viewer)
    return json_response(send_back(request, access, submission_id, body.comment))


@api.post("/submissions/{submission_id}/withdraw")
def withdraw_api(request: Request, submission_id: int, viewer: Viewer = Depends(signed_in)):
    """The submitter takes back a pending or returned submission."""
    return json_response(withdraw(request, submission_access(request, submission_id, viewer), submission_id))


@api.post("/submissions/{submission_id}/resubmit")
def resubmit_api(request: Request, submission_id: int, body: Revision, viewer: Viewer = Depends(signed_in)):
    """Revise and resubmit a returned submission."""
    access = submission_access(request, submission_id, viewer)
    return json_response(resubmit(request, access, submission_id, body))


# --- pages --------------------------------------------------------------------------------


def my_submissions(request: Request, access: Access) -> list[dict]:
    """The viewer's own submissions in the plan, every status, oldest first (`cpflow review --mine --all`)."""
    from cpflow.read.team import list_submissions

    with request.app.state.db.read() as session:
        return list_submissions(session, plan=access.slug, mine=access.viewer.login, statuses=STATUSES)


def others_waiting(request: Request, access: Access) -> list[dict]:
    """A lead's queue: the pending and returned submissions of the others (nobody decides their own)."""
    if not access.reviews:
        return []
    return [s for s in queue(request, access, ("pending", "returned")) if s["submitted_by"] != access.viewer.login]


def review_view(request: Request, access: Access, *, error: str | None = None, notice: str | None = None, status: int = 200,
                approved: tuple[int, ...] = (), decided: bool = False):  # fmt: skip
    """The page; with `decided`, a lead's list of the plan's approved and withdrawn submissions too (API `status=all`)."""
    context = {"access": access, "rows": others_waiting(request, access), "mine": my_submissions(request, access),
               "approved": approved, "error": error, "notice": notice, "decided": None}  # fmt: skip
    if decided and access.reviews:
        context["decided"] = list(reversed(queue(request, access, ("approved", "withdrawn"))))  # the latest first
    return page(request, "review.html.j2", context, status_code=status)


def _approved_ids(value: str | None) -> tuple[int, ...]:
    """The ids of `?approved=1,2` after a redirect: numbers only, never the query's free text."""
    import re

    if not value or not re.fullmatch(r"[0-9]{1,18}(,[0-9]{1,18})*", value):
        return ()
    return tuple(int(part) for part in value.split(","))


@pages.get("/plans/{plan}/review", include_in_schema=False)
def review_page(request: Request, access: Access = Depends(plan_access)):
    query = request.query_params
    return review_view(request, access, approved=_approved_ids(query.get("approved")), notice=done_notice(access, query),
                       decided=query.get("decided") == "1")  # fmt: skip


def _ids(values: list[str]) -> list[int]:
    from cpflow.web.routes.common import int_param

    return [i for i in (int_param("submission", v) for v in values) if i is not None]


@pages.post("/plans/{plan}/review/approve", include_in_schema=False)
async def approve_form(request: Request, access: Access = Depends(plan_access)):
    form = await request.form()
    ids = [str(v) for v in form.getlist("id")]
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_approve_many, request, access, ids)


def _approve_many(request: Request, access: Access, ids: list[str]):
    done = []
    try:
        chosen = _ids(ids)
        if not chosen:
            return review_view(request, access, error="choose at least one submission to approve", status=400)
        for submission_id in chosen:
            if submission_access(request, submission_id, access.viewer).slug != access.slug:
                raise PageNotFound(f"unknown submission {submission_id}")  # another plan's id
            done.append(approve(request, access, submission_id)["id"])
    except CpflowError as exc:
        before = f" (approved before it: {', '.join(map(str, done))})" if done else ""
        return review_view(request, access, error=message_for(exc) + before, status=status_for(exc))
    return RedirectResponse(f"/plans/{access.slug}/review?approved={','.join(map(str, done))}", status_code=303)


def _one(request: Request, access: Access, submission_id: int, done: str, action, *args):
    other = submission_access(request, submission_id, access.viewer)
    if other.slug != access.slug:
        raise PageNotFound(f"unknown submission {submission_id}")
    try:
        action(request, access, submission_id, *args)
    except CpflowError as exc:
        return review_view(request, access, error=message_for(exc), status=status_for(exc))
    return RedirectResponse(f"/plans/{access.slug}/review?done={done}&id={submission_id}", status_code=303)


def done_notice(access: Access, query) -> str | None:
    """The notice after `_one`'s redirect, from a known verb and a number only (never the query's free text)."""
    done, number = query.get("done"), query.get("id") or ""
    if not (number.isascii() and number.isdigit() and len(number) < 19):
        return None
    waits = "another lead or co-lead" if access.reviews else "a lead or co-lead"
    return {
        "returned": f"Submission {number} returned to its submitter with your note.",
        "withdrawn": f"Submission {number} withdrawn.",
        "resubmitted": f"Submission {number} resubmitted: it waits for {waits} to approve or return it.",
    }.get(done or "")


@pages.post("/plans/{plan}/review/{submission_id}/return", include_in_schema=False)
def return_form(request: Request, submission_id: int, access: Access = Depends(plan_access), comment: str = Form("")):
    return _one(request, access, submission_id, "returned", send_back, comment)


@pages.post("/plans/{plan}/review/{submission_id}/withdraw", include_in_schema=False)
def withdraw_form(request: Request, submission_id: int, access: Access = Depends(plan_access)):
    return _one(request, access, submission_id, "withdrawn", withdraw)


@pages.post("/plans/{plan}/review/{submission_id}/resubmit", include_in_schema=False)
def resubmit_form(
    request: Request, submission_id: int, access: Access = Depends(plan_access), trigger: str = Form(""), at: str = Form(""),
    reason: str = Form(""), ref: str = Form(""), comment: str = Form(""), value: str = Form(""), received: str = Form(""),
    budget: str = Form(""),
):  # fmt: skip
    body = Revision(trigger=trigger[:40] or None, at=at or None, reason=reason, ref=ref, comment=comment,
                    value=value.strip() or None, received=received or None, budget=budget or None)  # fmt: skip
    return _one(request, access, submission_id, "resubmitted", resubmit, body)
