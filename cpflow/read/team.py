"""The team's read side: accounts, roles per plan, who may record what, and the review queue.

Where a database has no account, none of this applies and cpflow is the single-operator
tool it always was (a plan file's `people:` then decides roles). Once the first account
exists, the database's grants are the one source of truth for roles: `people:` is no
longer consulted for permissions (docs/team.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cpflow.errors import BadInput
from cpflow.models import Account, Plan, PlanRole, Submission
from cpflow.roles import DECIDERS

STATUSES = ("pending", "returned", "approved", "withdrawn")
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")


def normal_login(login: str | None) -> str:
    """A login as stored: lower case, letters, digits and . _ @ - (BadInput otherwise)."""
    value = (login or "").strip().lower()
    if not LOGIN.match(value):
        raise BadInput(
            f"{login!r} is not a login: use lower-case letters, digits and . _ @ - (at most 100 characters)", field="actor"
        )
    return value


def has_accounts(session: Session) -> bool:
    return bool(session.execute(select(exists().where(Account.id.is_not(None)))).scalar())


def find_account(session: Session, login: str) -> Account | None:
    return session.execute(select(Account).where(Account.login == (login or "").strip().lower())).scalar_one_or_none()


def roles_in(session: Session, account_id: int, plan_id: int) -> set[str]:
    return set(session.scalars(select(PlanRole.role).where(PlanRole.account_id == account_id, PlanRole.plan_id == plan_id)))


def active_account(session: Session, login: str | None, subject: str) -> Account:
    """The enabled account `login` names, or one line saying why not."""
    account = find_account(session, login or "")
    if account is None:
        raise BadInput(
            f"{subject}: {login!r} has no account; where a database has accounts, --by names an account login "
            "(see `cpflow users list`); nothing was written",
            field="actor",
        )
    if account.disabled:
        raise BadInput(f"{subject}: the account {account.login} is disabled; nothing was written")
    return account


def four_eyes(plan: Plan | None) -> bool:
    return bool(plan is not None and (plan.rules or {}).get("four_eyes"))


def authorize_record(
    session: Session,
    *,
    subject: str,
    login: str | None,
    plan: Plan,
    submit_hint: str,
    required: Collection[str] = (),
    approving: bool = False,
) -> str:
    """Check that `login` may record a fact in `plan` directly (or approve one); returns the login.

    A lead or co-lead records; a member is pointed to `cpflow submit`; a reviewer records
    nothing; under `four_eyes` a lead's own update is a submission too, unless approving.
    `required` are the lifecycle's roles for the trigger (any decider role must be among them).
    """
    account = active_account(session, login, subject)
    held = roles_in(session, account.id, plan.id)
    deciding = held & DECIDERS
    if not deciding:
        if "member" in held:
            raise BadInput(
                f"{subject}: {account.login} is a member of {plan.slug}; a member's update waits for a lead: "
                f"use `{submit_hint}`; nothing was written"
            )
        what = "a reviewer, who reads and records nothing" if "reviewer" in held else "no role"
        raise BadInput(f"{subject}: {account.login} holds {what} in {plan.slug}; nothing was written")
    if required and not deciding & set(required):
        raise BadInput(
            f"{subject}: {account.login} ({', '.join(sorted(deciding))}) may not do this in {plan.slug}; "
            f"it needs the role {' or '.join(required)}; nothing was written"
        )
    if four_eyes(plan) and not approving:
        raise BadInput(
            f"{subject}: {plan.slug} has four_eyes: a lead's own update is approved by another lead: "
            f"use `{submit_hint}`; nothing was written"
        )
    return account.login


# --- listings -----------------------------------------------------------------------------


def list_accounts(session: Session) -> list[dict]:
    """Accounts with their roles (`plan:role`); never a password or token hash."""
    roles: dict[int, list[str]] = {}
    for account_id, slug, role in session.execute(
        select(PlanRole.account_id, Plan.slug, PlanRole.role)
        .join(Plan, Plan.id == PlanRole.plan_id)
        .order_by(Plan.slug, PlanRole.role)
    ):
        roles.setdefault(account_id, []).append(f"{slug}:{role}")
    return [
        {
            "login": a.login,
            "name": a.name,
            "email": a.email,
            "admin": a.is_admin,
            "disabled": a.disabled,
            "password": a.password_hash is not None,
            "roles": roles.get(a.id, []),
        }
        for a in session.scalars(select(Account).order_by(Account.login))
    ]


def submission_row(submission: Submission, slug: str, now: dt.datetime | None = None) -> dict:
    """One submission as the review listing and `submit --format json` show it."""
    now = now or dt.datetime.now(dt.UTC)
    submitted = dt.datetime.fromisoformat(submission.submitted_at.replace("Z", "+00:00"))
    return {
        "id": submission.id,
        "activity": f"{slug}:{submission.target}",
        "plan": slug,
        "kind": submission.kind,
        "trigger": submission.trigger,
        "at": submission.at,
        "reason": submission.reason,
        "ref": submission.ref,
        "comment": submission.comment,
        "value": (submission.payload or {}).get("value"),
        "period": (submission.payload or {}).get("period"),
        "submitted_by": submission.submitted_by,
        "submitted_at": submission.submitted_at,
        "status": submission.status,
        "revision": submission.revision,
        "age_days": (now - submitted).days,
        "decided_by": submission.decided_by,
        "decided_at": submission.decided_at,
        "decision_comment": submission.decision_comment,
        "event": submission.event_id,
    }


def list_submissions(
    session: Session,
    *,
    plan: str | None = None,
    mine: str | None = None,
    statuses: Collection[str] = ("pending", "returned"),
    now: dt.datetime | None = None,
) -> list[dict]:
    """Submissions (pending and returned by default), oldest first, with their age in days."""
    query = (
        select(Submission, Plan.slug).join(Plan, Plan.id == Submission.plan_id).order_by(Submission.submitted_at, Submission.id)
    )
    if plan is not None:
        from cpflow.read.lookup import find_plan

        query = query.where(Submission.plan_id == find_plan(session, plan).id)
    if mine is not None:
        query = query.where(Submission.submitted_by == mine.strip().lower())
    if statuses:
        query = query.where(Submission.status.in_(tuple(statuses)))
    return [submission_row(s, slug, now) for s, slug in session.execute(query)]
