"""Submissions and their review: a member's move, indicator value, funding update or comment waits
for a lead, who approves it (the fact is then recorded by the same service as a direct
move, every check run again), returns it with a comment, or the member withdraws it.

Each step is one transaction and one event in the chain (kind `submission`, with no
activity, so an activity's version still counts only the facts about it); the approved
fact's own event carries `submitted_by`, `submitted_at`, `approved_by`, `approved_at`
and the submission id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from cpflow import audit, services
from cpflow.audit import Fact
from cpflow.clock import today
from cpflow.db import Database
from cpflow.errors import BadInput, ConflictError
from cpflow.lifecycle import lifecycle_for
from cpflow.models import Activity, Plan, Submission, TransitionEvent
from cpflow.read.lookup import find_plan, split_id, unknown_activity
from cpflow.read.team import active_account, has_accounts, roles_in, submission_row
from cpflow.roles import DECIDERS, SUBMITTERS

if TYPE_CHECKING:
    from cpflow.plugins.manager import Plugins


@dataclass
class Draft:
    """What a submission says, before it is stored: a move, a measurement or a funding update."""

    kind: str  # move, measure, fund, comment
    ident: str
    trigger: str | None = None
    at: dt.date | None = None
    reason: str | None = None
    ref: str | None = None
    comment: str | None = None
    payload: dict[str, Any] | None = None


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def _submitter(session: Session, login: str | None, plan: Plan, subject: str) -> str:
    if not has_accounts(session):
        raise BadInput(
            f"{subject}: submissions need accounts; add the first with `cpflow users add LOGIN --admin` "
            "(a database without accounts records with `cpflow move`)"
        )
    account = active_account(session, login, subject)
    held = roles_in(session, account.id, plan.id)
    if not held & SUBMITTERS:
        what = "is a reviewer, who reads and submits nothing" if "reviewer" in held else "holds no role"
        raise BadInput(f"{subject}: {account.login} {what} in {plan.slug}; nothing was written")
    return account.login


def _decider(session: Session, login: str | None, plan: Plan, subject: str) -> str:
    account = active_account(session, login, subject)
    if not roles_in(session, account.id, plan.id) & DECIDERS:
        raise BadInput(f"{subject}: {account.login} is not a lead or co-lead of {plan.slug}; nothing was written")
    return account.login


def _check(session: Session, draft: Draft, now: dt.date) -> tuple[Plan, Activity | None, str]:
    """Validate a draft with the validators of the service that will record it (cpflow.services),
    so a submission accepted now can be approved; returns its plan, activity and target code."""
    what = {"measure": "indicator", "fund": "unit"}.get(draft.kind, "activity")
    slug, code = split_id(draft.ident, what)
    plan = find_plan(session, slug)
    at = services.check_date(draft.ident, draft.at, now=now)
    if at < plan.start:
        raise BadInput(f"{draft.ident}: {at} is before the plan starts ({plan.start})")
    activity = None
    if draft.kind in ("move", "comment"):
        activity = session.execute(
            select(Activity).where(Activity.plan_id == plan.id, Activity.code == code)
        ).scalar_one_or_none()
        if activity is None:
            raise unknown_activity(session, plan, draft.ident, code)
    if draft.kind == "move" and activity is not None:
        services.check_move_rule(draft.ident, lifecycle_for(plan.lifecycle), activity.state, draft.trigger or "", draft.reason)
        last = session.scalar(
            select(TransitionEvent.at)
            .where(TransitionEvent.activity_id == activity.id, TransitionEvent.kind == "transition")
            .order_by(TransitionEvent.id.desc())
            .limit(1)
        )
        services.check_move_date(draft.ident, at, plan.start, last)
    elif draft.kind == "measure":
        services.find_indicator(session, plan, draft.ident, code)
    elif draft.kind == "fund":
        services.find_unit(session, plan, draft.ident, code)
    # a comment holds whatever the activity's state
    services.check_period(session, plan, (draft.payload or {}).get("period"), draft.ident)
    return plan, activity, code


def _event(session: Session, actor: str, plan_id: int, action: str, submission: Submission, **extra: Any) -> int:
    data = {
        "action": action, "submission": submission.id, "revision": submission.revision, "kind": submission.kind,
        "target": submission.target, "trigger": submission.trigger, "at": submission.at.isoformat(),
        "reason": submission.reason, "ref": submission.ref, "comment": submission.comment,
        "payload": submission.payload, "base_version": submission.base_version, **extra,
    }  # fmt: skip
    (event_id,) = audit.append(session, [Fact("submission", actor, today(), plan_id=plan_id, data=data)])
    return event_id


def normalise(draft: Draft) -> Draft:
    draft.reason, draft.ref, draft.comment = _clean(draft.reason), _clean(draft.ref), _clean(draft.comment)
    if draft.kind == "comment" and not draft.comment:
        raise BadInput(f"{draft.ident}: a comment submission needs its comment", field="comment")
    if draft.kind == "move" and not _clean(draft.trigger):
        raise BadInput(f"{draft.ident}: name the move (a trigger such as endorse or start)")
    if draft.kind == "measure":
        # parse_value reports a missing value (None) as not a number; services types it str | float.
        value = services.parse_value(draft.ident, (draft.payload or {}).get("value"))  # type: ignore[arg-type]
        # The submission's ref is the value's source (a revision changes ref); the payload mirrors it.
        draft.payload = {**(draft.payload or {}), "value": value, "source": draft.ref}
    if draft.kind == "fund":
        payload = draft.payload or {}
        services.check_amounts(draft.ident, _decimal(payload.get("received")), _decimal(payload.get("budget")))
        if not payload.get("period"):
            raise BadInput(f"{draft.ident}: a funding update names its period")
        # Amounts kept as text of the Decimal, so nothing passes through a float.
        draft.payload = {
            k: (str(Decimal(str(v))) if k in ("received", "budget") and v is not None else v) for k, v in payload.items()
        }
    return draft


def create(db: Database, draft: Draft, *, by: str | None, now: dt.date | None = None) -> dict[str, Any]:
    """Store a pending submission (whoever makes it: a lead who means to record directly moves)."""
    return create_many(db, [draft], by=by, now=now)[0]


def create_many(db: Database, drafts: list[Draft], *, by: str | None, now: dt.date | None = None) -> list[dict[str, Any]]:
    """Store several pending submissions in one transaction: all or none."""
    drafts = [normalise(d) for d in drafts]
    day = now or today()

    def work(session: Session) -> list[dict[str, Any]]:
        rows = []
        for draft in drafts:
            plan, activity, code = _check(session, draft, day)
            login = _submitter(session, by, plan, draft.ident)
            submission = Submission(
                plan_id=plan.id, kind=draft.kind, target=code, activity_id=activity.id if activity else None,
                trigger=_clean(draft.trigger), at=draft.at or day, reason=draft.reason, ref=draft.ref,
                comment=draft.comment, payload=draft.payload or {}, submitted_by=login, submitted_at=audit.utc_now(),
                status="pending", revision=1, revisions=[], base_version=activity.version if activity else None,
                base_state=activity.state if activity else None,
            )  # fmt: skip
            session.add(submission)
            session.flush()
            _event(session, login, plan.id, "submit", submission)
            rows.append(submission_row(submission, plan.slug))
        return rows

    return db.write(work)


def _load(session: Session, submission_id: int) -> tuple[Submission, Plan]:
    # No FOR UPDATE: every write holds cpflow's write lock, which orders the decisions on a submission.
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise BadInput(f"unknown submission {submission_id}; see `cpflow review`")
    return submission, session.get_one(Plan, submission.plan_id)


def _label(submission: Submission, plan: Plan) -> str:
    return f"submission {submission.id} ({plan.slug}:{submission.target})"


def _version(submission: Submission) -> dict[str, Any]:
    return {
        "revision": submission.revision, "trigger": submission.trigger, "at": submission.at.isoformat(),
        "reason": submission.reason, "ref": submission.ref, "comment": submission.comment, "payload": submission.payload,
        "submitted_at": submission.submitted_at, "decided_by": submission.decided_by, "decided_at": submission.decided_at,
        "decision_comment": submission.decision_comment,
    }  # fmt: skip


def resubmit(db: Database, submission_id: int, draft: Draft, *, by: str | None, now: dt.date | None = None) -> dict[str, Any]:
    """The submitter revises a returned (or still pending) submission; the earlier version is kept."""
    day = now or today()

    def work(session: Session) -> dict[str, Any]:
        submission, plan = _load(session, submission_id)
        label = _label(submission, plan)
        login = active_account(session, by, label).login
        if login != submission.submitted_by:
            raise BadInput(f"{label}: only its submitter {submission.submitted_by} may revise it; nothing was written")
        if submission.status not in ("pending", "returned"):
            raise BadInput(f"{label} is {submission.status}; only a pending or returned submission is revised")
        at = draft.at or submission.at
        changes = _payload_changes(submission, draft, label)
        source = changes.pop("source", None)
        if source is not None and draft.ref is not None and source != draft.ref:
            raise BadInput(f"{label}: a value's source is its reference; give the source or the ref, not both")
        ref = draft.ref if draft.ref is not None else source if source is not None else submission.ref
        revised = normalise(
            Draft(
                submission.kind, f"{plan.slug}:{submission.target}", draft.trigger or submission.trigger,
                at, draft.reason if draft.reason is not None else submission.reason, ref,
                draft.comment if draft.comment is not None or submission.kind != "comment" else submission.comment,
                {**submission.payload, **changes},
            )
        )  # fmt: skip
        _, activity, _ = _check(session, revised, day)
        _submitter(session, login, plan, label)
        submission.revisions = [*submission.revisions, _version(submission)]
        submission.trigger, submission.at, submission.reason, submission.ref = (
            revised.trigger, at, revised.reason, revised.ref,
        )  # fmt: skip
        submission.comment, submission.payload = revised.comment, revised.payload or {}  # normalise keeps a dict
        submission.revision += 1
        submission.status, submission.submitted_at = "pending", audit.utc_now()
        submission.decided_by = submission.decided_at = submission.decision_comment = None
        if activity is not None:
            submission.base_version, submission.base_state = activity.version, activity.state
        _event(session, login, plan.id, "revise", submission)
        return submission_row(submission, plan.slug)

    return db.write(work)


# What a revision may change besides its date, reason, reference and comment: the keys its
# submit command and API take.
REVISABLE = {"move": ("trigger",), "comment": (), "measure": ("value", "period", "source"),
             "fund": ("period", "received", "budget")}  # fmt: skip


def _payload_changes(submission: Submission, draft: Draft, label: str) -> dict[str, Any]:
    """The payload keys a revision gives (None: unchanged); BadInput for a key (or a trigger) its kind does not have."""
    changes = {k: v for k, v in (draft.payload or {}).items() if v is not None}
    allowed = REVISABLE[submission.kind]
    for key in (*(["trigger"] if draft.trigger is not None else []), *changes):
        if key not in allowed:
            also = "".join(f"{k}, " for k in allowed)
            raise BadInput(f"{label} is a {submission.kind} submission: {key} is not revised (it revises {also}its date, "
                           "reason, reference and comment); nothing was written")  # fmt: skip
    return changes


def return_submission(db: Database, submission_id: int, *, by: str | None, comment: str | None) -> dict[str, Any]:
    """A lead sends a pending submission back with a comment; the member revises or withdraws it."""
    comment = _clean(comment)
    if not comment:
        raise BadInput("a return says what to change: pass --comment TEXT")

    def work(session: Session) -> dict[str, Any]:
        submission, plan = _load(session, submission_id)
        label = _label(submission, plan)
        login = _decider(session, by, plan, label)
        if login == submission.submitted_by:
            raise BadInput(f"{label}: {login} submitted it; withdraw it instead of returning it")
        if submission.status != "pending":
            raise ConflictError(f"{label} is already {submission.status}; nothing was written")
        submission.status, submission.decided_by, submission.decided_at = "returned", login, audit.utc_now()
        submission.decision_comment = comment
        _event(session, login, plan.id, "return", submission, decision_comment=comment)
        return submission_row(submission, plan.slug)

    return db.write(work)


def withdraw(db: Database, submission_id: int, *, by: str | None) -> dict[str, Any]:
    """The submitter takes back a pending or returned submission."""

    def work(session: Session) -> dict[str, Any]:
        submission, plan = _load(session, submission_id)
        label = _label(submission, plan)
        login = active_account(session, by, label).login
        if login != submission.submitted_by:
            raise BadInput(f"{label}: only its submitter {submission.submitted_by} may withdraw it; nothing was written")
        if submission.status not in ("pending", "returned"):
            raise ConflictError(f"{label} is already {submission.status}; nothing was written")
        submission.status, submission.decided_at = "withdrawn", audit.utc_now()
        _event(session, login, plan.id, "withdraw", submission)
        return submission_row(submission, plan.slug)

    return db.write(work)


def approve(
    db: Database, submission_id: int, *, by: str | None, plugins: Plugins | None = None, now: dt.date | None = None
) -> dict[str, Any]:
    """A lead (never the submitter) approves: the fact is recorded now, with every check run again.

    A move submitted against a version of the activity that has since changed is a
    conflict (exit 3) showing both versions; two leads approving at once: one succeeds,
    the other gets a conflict, because the submission is re-read under the write lock."""
    with db.read() as session:
        submission, plan = _load(session, submission_id)
        label = _label(submission, plan)
        login = _decider(session, by, plan, label)
        if login == submission.submitted_by:
            raise BadInput(f"{label}: {login} submitted it; nobody approves their own submission; nothing was written")
        _still_pending(submission, label)
        _check_base(session, submission, plan, label)
        snapshot = (submission.kind, submission.target, submission.trigger, submission.at, submission.reason, submission.ref,
                    dict(submission.payload), submission.submitted_by, submission.submitted_at, submission.revision,
                    submission.base_version, plan.slug, submission.comment)  # fmt: skip
    kind, target, trigger, at, reason, ref, payload, submitter, submitted_at, revision, base_version, slug, comment = snapshot
    approved_at = audit.utc_now()
    data = {
        "submission": submission_id, "revision": revision, "submitted_by": submitter, "submitted_at": submitted_at,
        "approved_by": login, "approved_at": approved_at,
    }  # fmt: skip

    def confirm(execute: services.Execute, event_id: int) -> None:
        submissions = cast(Table, Submission.__table__)  # mapped to a Table; SQLAlchemy types it FromClause
        table = submissions.c
        updated = execute(
            update(submissions)
            .where(table.id == submission_id, table.status == "pending", table.revision == revision)
            .values(status="approved", decided_by=login, decided_at=approved_at, event_id=event_id)
        )
        if updated != 1:
            raise ConflictError(f"{label} was decided or revised meanwhile; nothing was written")

    approval = services.Approval(login, data, confirm)
    ident = f"{slug}:{target}"
    try:
        if kind == "move":
            assert trigger is not None  # normalise refuses a move submission without its trigger
            services.move(db, ident, trigger, actor=submitter, at=at, reason=reason, ref=ref,
                          expected_version=base_version, now=now, plugins=plugins, approval=approval)  # fmt: skip
        elif kind == "comment":
            _record_comment(db, ident, submitter, at, comment, ref, approval)
        elif kind == "measure":
            services.measure(db, ident, payload["value"], actor=submitter, at=at, period=payload.get("period"),
                             source=ref, now=now, approval=approval)  # fmt: skip
        else:
            services.fund(db, ident, period=payload["period"], actor=submitter, at=at, reason=reason, now=now,
                          received=_decimal(payload.get("received")), budget=_decimal(payload.get("budget")),
                          approval=approval)  # fmt: skip
    except ConflictError:
        with db.read() as session:
            current, plan = _load(session, submission_id)
            _still_pending(current, label)
            _check_base(session, current, plan, label)
        raise
    with db.read() as session:
        current, plan = _load(session, submission_id)
        return submission_row(current, plan.slug)


def _record_comment(db: Database, ident: str, submitter: str, at: dt.date, comment: str | None, ref: str | None,
                    approval: services.Approval) -> None:  # fmt: skip
    """An approved comment becomes an event (kind `comment`) shown in its activity's history.
    It names the activity in its data, not as the event's activity: a comment changes neither
    state nor content, so the activity's version (its optimistic lock) stays as it was and a
    move pending on it still applies."""

    def work(session: Session) -> None:
        slug, code = split_id(ident, "activity")
        plan = find_plan(session, slug)
        _decider(session, approval.approved_by, plan, ident)
        activity = session.execute(
            select(Activity).where(Activity.plan_id == plan.id, Activity.code == code)
        ).scalar_one_or_none()
        if activity is None:
            raise unknown_activity(session, plan, ident, code)
        data = {"activity": ident, "activity_id": activity.id, "comment": comment, **approval.data}
        (event_id,) = audit.append(
            session, [Fact("comment", submitter, at, plan_id=plan.id, trigger="comment", ref=ref, data=data)]
        )  # fmt: skip
        approval.confirm(services.session_execute(session), event_id)

    db.write(work)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _still_pending(submission: Submission, label: str) -> None:
    if submission.status != "pending":
        who = f" by {submission.decided_by}" if submission.decided_by else ""
        raise ConflictError(f"{label} is already {submission.status}{who}; nothing was written")


def _check_base(session: Session, submission: Submission, plan: Plan, label: str) -> None:
    """A move submitted against an older version of its activity: a conflict showing both versions."""
    if submission.activity_id is None or submission.kind == "comment":  # a comment holds whatever the state
        return
    activity = session.get_one(Activity, submission.activity_id)  # activities are never deleted
    if activity.version == submission.base_version:
        return
    last = session.execute(
        select(TransitionEvent.trigger, TransitionEvent.actor, TransitionEvent.at)
        .where(TransitionEvent.activity_id == activity.id, TransitionEvent.kind == "transition")
        .order_by(TransitionEvent.id.desc())
        .limit(1)
    ).first()
    since = f", last moved by {last.actor} ({last.trigger} on {last.at})" if last else ""
    raise ConflictError(
        f"{label}: the activity changed since it was submitted: submitted against version {submission.base_version} "
        f"({submission.base_state}), now version {activity.version} ({activity.state}{since}); nothing was written — "
        f"return it so {submission.submitted_by} can resubmit"
    )
