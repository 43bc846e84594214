"""The team's read side: accounts, roles per plan, who may record what, and the review queue.

Where a database has no account, none of this applies and cpflow is the single-operator
tool it always was (a plan file's `people:` then decides roles). Once the first account
exists, the database's grants are the one source of truth for roles: `people:` is no
longer consulted for permissions (docs/team.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence

from sqlalchemy import and_, bindparam, exists, select
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
        raise _no_account(subject, login)
    if account.disabled:
        raise _disabled(subject, account.login)
    return account


def _no_account(subject: str, login: str | None) -> BadInput:
    return BadInput(
        f"{subject}: {login!r} has no account; where a database has accounts, --by names an account login "
        "(see `cpflow users list`); nothing was written",
        field="actor",
    )


def _disabled(subject: str, login: str) -> BadInput:
    return BadInput(f"{subject}: the account {login} is disabled; nothing was written")


def four_eyes(plan: Plan | None) -> bool:
    return plan is not None and four_eyes_in(plan.rules)


def four_eyes_in(rules: dict | None) -> bool:
    """Whether a plan's `rules:` ask that a lead's own update be approved by another lead."""
    return bool((rules or {}).get("four_eyes"))


# Who `login` is and the roles they hold in one plan, in one statement: no row, no such
# account; one row with a None role, an account with no role there. On the tables (Core,
# compiled without the mappers) so a move runs it on the driver's cursor as it is.
_ACCOUNT, _GRANT = Account.__table__.c, PlanRole.__table__.c
GRANTS = (
    select(_ACCOUNT.login, _ACCOUNT.disabled, _GRANT.role)
    .select_from(Account.__table__)
    .outerjoin(PlanRole.__table__, and_(_GRANT.account_id == _ACCOUNT.id, _GRANT.plan_id == bindparam("g_plan_id")))
    .where(_ACCOUNT.login == bindparam("g_login"))
)


def grants_params(login: str | None, plan_id: int) -> dict:
    """GRANTS' parameters for `login` (as typed) in a plan."""
    return {"g_login": (login or "").strip().lower(), "g_plan_id": plan_id}


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
    """Check that `login` may record a fact in `plan` directly (or approve one); returns the login
    (see may_record)."""
    grants = session.execute(GRANTS, grants_params(login, plan.id)).all()
    return may_record(
        grants, subject=subject, login=login, slug=plan.slug, under_four_eyes=four_eyes(plan),
        submit_hint=submit_hint, required=required, approving=approving,
    )  # fmt: skip


def may_record(
    grants: Sequence[Sequence],
    *,
    subject: str,
    login: str | None,
    slug: str,
    under_four_eyes: bool,
    submit_hint: str,
    required: Collection[str] = (),
    approving: bool = False,
) -> str:
    """The decision on GRANTS' rows (account login, disabled, role) for `login` in plan `slug`;
    returns the account's login, or raises one line saying why not.

    A lead or co-lead records; a member is pointed to `cpflow submit`; a reviewer records
    nothing; under `four_eyes` a lead's own update is a submission too, unless approving.
    `required` are the lifecycle's roles for the trigger (any decider role must be among them).
    """
    if not grants:
        raise _no_account(subject, login)
    account_login, disabled = grants[0][0], grants[0][1]
    if disabled:
        raise _disabled(subject, account_login)
    held = {row[2] for row in grants if row[2] is not None}
    deciding = held & DECIDERS
    if not deciding:
        if "member" in held:
            raise BadInput(
                f"{subject}: {account_login} is a member of {slug}; a member's update waits for a lead: "
                f"use `{submit_hint}`; nothing was written"
            )
        what = "a reviewer, who reads and records nothing" if "reviewer" in held else "no role"
        raise BadInput(f"{subject}: {account_login} holds {what} in {slug}; nothing was written")
    if required and not deciding & set(required):
        raise BadInput(
            f"{subject}: {account_login} ({', '.join(sorted(deciding))}) may not do this in {slug}; "
            f"it needs the role {' or '.join(required)}; nothing was written"
        )
    if under_four_eyes and not approving:
        raise BadInput(
            f"{subject}: {slug} has four_eyes: a lead's own update is approved by another lead: "
            f"use `{submit_hint}`; nothing was written"
        )
    return account_login


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
