"""The operations that change a plan, each one transaction: move, measure, fund, load.

Services validate everything before writing, raise cpflow's own errors, and never print;
the CLI renders what they return.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from cpflow import audit
from cpflow.audit import Fact
from cpflow.clock import today
from cpflow.db import Database
from cpflow.errors import BadInput, ConflictError, GuardVeto, PlanFileError
from cpflow.failpoints import failpoint
from cpflow.lifecycle import lifecycle_for
from cpflow.models import Account, Activity, BudgetLine, ChainHead, Indicator, Measurement, Plan, TransitionEvent, Unit
from cpflow.money import MAX_AMOUNT, json_amount, to_minor
from cpflow.read.lookup import declared_name, find_plan, split_id, unknown, unknown_activity
from cpflow.read.team import GRANTS, authorize_record, four_eyes_in, grants_params, has_accounts, may_record
from cpflow.replay import read_content_by_ids

if TYPE_CHECKING:  # a move or a measurement never needs the plan-file schema (pydantic, YAML)
    from cpflow.loading import LoadResult
    from cpflow.plans import PlanSpec, Problem


# Runs one Core statement in the service's write transaction; returns the rows it changed.
Execute = Callable[[Executable], int]


@dataclass(frozen=True)
class Approval:
    """A lead approving a submission (cpflow.teams): the fact is recorded by the same service
    as a direct move, the approver's role is checked instead of the submitter's, the event
    carries `data` (submitted_by, approved_by, the submission id …), and `confirm(execute,
    event_id)` marks the submission approved in the same transaction (raising if it cannot)
    with statements of plain values (text, numbers) given to `execute`."""

    approved_by: str
    data: dict
    confirm: Callable[[Execute, int], None]


def session_execute(session: Session) -> Execute:
    """An Approval's `execute` in a Session's transaction."""
    return lambda statement: session.execute(statement).rowcount


def _authorize(session: Session, ident: str, actor: str, plan, hint: str, required=(), approval: Approval | None = None):
    """Where the database has accounts, the login that may record this (see cpflow.read.team); else None."""
    if approval is None and not has_accounts(session):
        return None
    login = approval.approved_by if approval is not None else actor
    return authorize_record(
        session, subject=ident, login=login, plan=plan, submit_hint=hint, required=required, approving=approval is not None
    )


def require_actor(actor: str | None) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise BadInput("an actor is required", field="actor")
    if len(actor) > 200:
        raise BadInput("an actor name is at most 200 characters", field="actor")
    return actor


def check_date(subject: str, at: dt.date | None, *, now: dt.date) -> dt.date:
    at = at or now
    if at > now:
        raise BadInput(f"{subject}: {at} is in the future (today is {now}); record facts when they have happened")
    return at


# --- moves ------------------------------------------------------------------------------


@dataclass
class MoveResult:
    id: str
    trigger: str
    source: str
    dest: str
    actor: str
    at: dt.date
    event_id: int
    version: int
    warnings: list[str] = field(default_factory=list)


# The move's reads in one statement: the activity, its plan's rules, its last move date and
# the chain head (already locked by Database.write).
# Built once on the tables (Core, not the ORM entities, so compiling it never configures the
# mappers: a `cpflow move` process runs no ORM at all); a move costs one round trip here.
_PLANS, _ACTIVITIES, _EVENTS, _HEAD, _ACCOUNTS = (
    model.__table__.c for model in (Plan, Activity, TransitionEvent, ChainHead, Account)
)
_LAST_MOVE_AT = (
    select(func.max(_EVENTS.at))
    .where(_EVENTS.activity_id == _ACTIVITIES.id, _EVENTS.kind == "transition")
    .correlate(Activity.__table__)
    .scalar_subquery()
)
_MOVE_TARGET = (
    select(
        _PLANS.id.label("plan_id"), _PLANS.start.label("plan_start"), _PLANS.lifecycle, _PLANS.people,
        _ACTIVITIES.id, _ACTIVITIES.code, _ACTIVITIES.title, _ACTIVITIES.state, _ACTIVITIES.version, _ACTIVITIES.lead,
        _ACTIVITIES.sectors, _ACTIVITIES.unit_id, _ACTIVITIES.objective_id, _ACTIVITIES.phase, _ACTIVITIES.due,
        _LAST_MOVE_AT.label("last_at"), _HEAD.seq.label("head_seq"), _HEAD.hash.label("head_hash"),
        select(_ACCOUNTS.id).exists().label("has_accounts"),  # read here, not in a statement of its own
        _PLANS.rules,
    )
    .select_from(Plan.__table__)
    .join(Activity.__table__, _ACTIVITIES.plan_id == _PLANS.id)
    .join(ChainHead.__table__, _HEAD.id == 1)
    .where(_PLANS.slug == bindparam("slug"), _ACTIVITIES.code == bindparam("code"))
    .with_for_update(of=Activity.__table__)
)  # fmt: skip
_MOVE_APPLY = (
    update(Activity.__table__)
    .where(_ACTIVITIES.id == bindparam("b_id"), _ACTIVITIES.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=bindparam("b_version") + 1)
)
# cpflow.audit's event INSERT and chain-head move, on the tables (see _MoveStatements).
_MOVE_HEAD = update(ChainHead.__table__).where(_HEAD.id == 1).values(seq=bindparam("h_seq"), hash=bindparam("h_hash"))


class _UnknownActivity(Exception):
    """No such activity: the transaction is rolled back, and the message (what the plan has)
    is read after it."""


class _MoveStatements:
    """The move's statements compiled once for one dialect, for the driver's own cursor:
    `_MOVE_TARGET`, the account and roles (cpflow.read.team.GRANTS), `_MOVE_APPLY`, the event
    INSERT and the chain-head move of cpflow.audit."""

    def __init__(self, dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        if self.sqlite:  # sqlite3 binds :name parameters from a dict itself, faster than a tuple built here
            dialect = type(dialect)(paramstyle="named")
        self.dialect = dialect
        self.target = self._compile(_MOVE_TARGET, dialect)
        self.grants = self._compile(GRANTS, dialect)
        self.apply = self._compile(_MOVE_APPLY, dialect)
        self.insert = self._compile(audit._INSERT, dialect)
        self.head = self._compile(_MOVE_HEAD if self.sqlite else audit._ADVANCE_HEAD, dialect)

    @staticmethod
    def _compile(statement, dialect) -> Callable[[dict], tuple[str, dict]]:
        compiled = statement.compile(dialect=dialect)
        if compiled.positional:
            raise AssertionError(f"{dialect.name}: expected a named parameter style")
        # The statement's constants (kind, the chain head's id); every other value is given at each call.
        sql, defaults = compiled.string, {k: v for k, v in compiled.params.items() if v is not None}
        return lambda values: (sql, {**defaults, **values})

    def execute_on(self, cursor) -> Execute:
        """An Approval's `execute` on the driver's cursor (compiled at each call: approvals are rare)."""

        def execute(statement: Executable) -> int:
            compiled = statement.compile(dialect=self.dialect)
            cursor.execute(compiled.string, compiled.params)
            return cursor.rowcount

        return execute


_STATEMENTS: dict[str, _MoveStatements] = {}


def _move_on_driver(cursor, statements: _MoveStatements, ident: str, slug: str, code: str, trigger: str, *,
                    actor: str, at: dt.date, reason: str | None, ref: str | None, expected_version: int | None,
                    plugins, approval: Approval | None) -> MoveResult:  # fmt: skip
    """The move on the driver's cursor, inside Database.write_raw's transaction: read, check
    (a stale version first), authorise, ask the guard hooks, update, chain one event."""
    sqlite = statements.sqlite
    cursor.execute(*statements.target({"slug": slug, "code": code}))
    row = cursor.fetchone()
    if row is None:
        raise _UnknownActivity
    (plan_id, plan_start, lifecycle_json, people, activity_id, _code, title, state, version, lead, sectors,
     unit_id, objective_id, phase, due, last_at, head_seq, head_hash, accounts, rules) = row  # fmt: skip
    # A stale read is a conflict before anything else: the trigger was chosen for a state
    # that is no longer there, so "cannot TRIGGER" would mislead.
    if expected_version is not None and version != expected_version:
        raise _stale(ident, expected_version, version, state)
    if sqlite:  # what SQLAlchemy's Date and JSON types would have converted
        loads, date = json.loads, dt.date.fromisoformat
        plan_start, due = date(plan_start), due and date(due)
        last_at = last_at and date(last_at)
        people = people and loads(people)
        sectors = sectors and loads(sectors)
        lifecycle = _lifecycle_of_text(lifecycle_json)
    else:
        lifecycle = lifecycle_for(lifecycle_json)
    dest, rule = check_move_rule(ident, lifecycle, state, trigger, reason)
    if approval is not None or accounts:  # the database's grants decide (cpflow.read.team)
        login = approval.approved_by if approval is not None else actor
        if sqlite and rules is not None:
            rules = json.loads(rules)
        cursor.execute(*statements.grants(grants_params(login, plan_id)))
        may_record(cursor.fetchall(), subject=ident, login=login, slug=slug, under_four_eyes=four_eyes_in(rules),
                   submit_hint=f"cpflow submit {ident} {trigger} --by {actor}", required=rule.roles,
                   approving=approval is not None)  # fmt: skip
        event_actor = actor if approval is not None else actor.lower()
    else:  # the plan's people decide
        if people and rule.roles:
            _check_roles(ident, trigger, actor, people, rule.roles)
        event_actor = declared_name(people, actor)
    check_move_date(ident, at, plan_start, last_at)
    view = {"id": ident, "plan": slug, "code": code, "title": title, "state": state, "version": version, "lead": lead,
            "sectors": list(sectors or []), "unit": unit_id, "objective": objective_id, "phase": phase, "due": due}  # fmt: skip
    vetoes = plugins.guard(activity=view, trigger=trigger, source=state, dest=dest,
                           actor=actor, at=at, reason=reason, ref=ref)  # fmt: skip
    if vetoes:
        raise GuardVeto(f"{ident}: {trigger} refused: " + "; ".join(vetoes))
    cursor.execute(*statements.apply({"b_id": activity_id, "b_version": version, "b_state": dest}))
    if cursor.rowcount != 1:
        raise ConflictError(f"{ident} changed while this move was being made; nothing was written — retry")
    failpoint("move:after-update")
    # One event, chained by the function cpflow.audit.append chains with.
    fact = Fact("transition", event_actor, at, plan_id=plan_id, activity_id=activity_id, trigger=trigger,
                from_state=state, to_state=dest, reason=reason, ref=ref,
                data=approval.data if approval is not None else None)  # fmt: skip
    (event,) = audit.chained_rows([fact], head_seq, head_hash, audit.utc_now())
    if sqlite:  # the ISO text SQLAlchemy's Date type would have stored
        event["at"] = at.isoformat()
    seq, digest = event["id"], event["hash"]
    cursor.execute(*statements.insert(event))
    cursor.execute(*statements.head({"h_seq": seq, "h_hash": digest}))
    if approval is not None:
        approval.confirm(statements.execute_on(cursor), seq)
    warnings = []
    if rule.ref_recommended and not ref:
        warnings.append(f"{ident}: no reference given; a reference (minutes, decision id) is recommended for {trigger}")
    return MoveResult(ident, trigger, state, dest, actor, at, seq, version + 1, warnings)


_LIFECYCLES: dict = {}


def _lifecycle_of_text(text: str | None):
    """lifecycle_for of a plan's stored lifecycle JSON, by its text (parsed once per process)."""
    lifecycle = _LIFECYCLES.get(text)
    if lifecycle is None:
        lifecycle = _LIFECYCLES[text] = lifecycle_for(json.loads(text) if text is not None else None)
    return lifecycle


def _stale(ident: str, expected: int, version: int, state: str) -> ConflictError:
    return ConflictError(
        f"{ident} changed since you read it (version {expected}, now {version}, "
        f"state {state}); nothing was written — read it again and retry"
    )


def check_move_rule(ident: str, lifecycle, state: str, trigger: str, reason: str | None):
    """The lifecycle's destination for `trigger` from `state` and its rule; BadInput unless the
    move is allowed from that state with the reason its rule requires."""
    dest = lifecycle.destination(ident, state, trigger)
    rule = lifecycle.rules[trigger]
    if rule.reason_required and not reason:
        raise BadInput(f"{ident}: {trigger} needs a reason; nothing was written", field="reason")
    return dest, rule


def check_move_date(ident: str, at: dt.date, plan_start: dt.date, last_at: dt.date | None) -> None:
    if at < plan_start:
        raise BadInput(f"{ident}: {at} is before the plan starts ({plan_start})")
    if last_at is not None and at < last_at:
        raise BadInput(f"{ident}: {at} is before its last move on {last_at}; moves are recorded in date order")


def move(
    db: Database,
    ident: str,
    trigger: str,
    *,
    actor: str | None,
    at: dt.date | None = None,
    reason: str | None = None,
    ref: str | None = None,
    expected_version: int | None = None,
    now: dt.date | None = None,
    plugins=None,
    approval: Approval | None = None,
) -> MoveResult:
    """Apply one lifecycle move to `plan:code`: row update, event, hash chain, all or nothing."""
    slug, code = split_id(ident)
    actor = require_actor(actor)
    reason = (reason or "").strip() or None
    ref = (ref or "").strip() or None
    at = check_date(ident, at, now=now or today())
    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()

    statements = _STATEMENTS.get(db.engine.dialect.name)
    if statements is None:
        statements = _STATEMENTS[db.engine.dialect.name] = _MoveStatements(db.engine.dialect)
    try:
        result = db.write_raw(
            lambda cursor: _move_on_driver(cursor, statements, ident, slug, code, trigger, actor=actor, at=at,
                                           reason=reason, ref=ref, expected_version=expected_version,
                                           plugins=plugins, approval=approval)
        )  # fmt: skip
    except _UnknownActivity:
        with db.read() as session:
            raise unknown_activity(session, find_plan(session, slug), ident, code) from None
    # The move is committed: a plugin that fails here is a warning and cannot undo it.
    result.warnings += plugins.after_transition(
        activity={"id": ident, "plan": slug, "code": code}, trigger=trigger, source=result.source,
        dest=result.dest, actor=actor, at=at, reason=reason, ref=ref, event_id=result.event_id,
    )  # fmt: skip
    return result


def _check_roles(ident: str, trigger: str, actor: str, people: list[dict], roles: Sequence[str]) -> None:
    held = {
        role for person in people if person.get("name", "").casefold() == actor.casefold() for role in person.get("roles", [])
    }
    if not held & set(roles):
        who = [p["name"] for p in people if set(p.get("roles", [])) & set(roles)]
        raise BadInput(
            f"{ident}: {actor!r} may not {trigger} in this plan; it needs the role {' or '.join(roles)}"
            + (f" (held by {', '.join(who)})" if who else "")
        )


# --- loading --------------------------------------------------------------------------


def load_files(db: Database, paths: Sequence[str | Path], *, actor: str | None, now: dt.date | None = None) -> list[LoadResult]:
    """Validate every file first, then load them all in one transaction (all or nothing)."""
    from cpflow.loading import load_plan
    from cpflow.plans import read_plan_file

    actor = require_actor(actor)
    loaded, problems = [], []
    for path in paths:
        try:
            loaded.append(read_plan_file(path, checks=(_rule_settings,)))
        except PlanFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PlanFileError(", ".join(str(p) for p in paths), problems)
    slugs = [plan.spec.plan.slug for plan in loaded]
    duplicated = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicated:
        raise BadInput(f"two files define the plan {duplicated[0]!r}; load one of them")
    db.ensure_schema()
    day = now or today()
    return db.write(lambda session: [load_plan(session, plan, actor=actor, today=day) for plan in loaded])


def _rule_settings(spec: PlanSpec) -> list[Problem]:
    """The plan's `rules:` section judged by the rules that will read it, at load time."""
    from cpflow.plans import problems_at_paths
    from cpflow.rules.settings import validate_rule_settings

    return problems_at_paths(validate_rule_settings(spec.rules.model_dump()))


# --- measurements and funding ---------------------------------------------------------------


@dataclass
class MeasureResult:
    id: str
    value: float
    at: dt.date
    period: str | None
    event_id: int


def measure(
    db: Database,
    ident: str,
    value: str | float,
    *,
    actor: str | None,
    at: dt.date | None = None,
    period: str | None = None,
    source: str | None = None,
    now: dt.date | None = None,
    approval: Approval | None = None,
) -> MeasureResult:
    """Record an indicator value as a `measurement` event and row."""
    slug, code = split_id(ident, "indicator")
    actor = require_actor(actor)
    at = check_date(ident, at, now=now or today())
    number = parse_value(ident, value)

    def work(session: Session) -> MeasureResult:
        plan = find_plan(session, slug)
        indicator = find_indicator(session, plan, ident, code)
        check_period(session, plan, period, ident)
        login = _authorize(session, ident, actor, plan, f"cpflow submit measure {ident} {value} --by {actor}", (), approval)
        who = actor if approval is not None or login is None else login
        (event_id,) = audit.append(
            session,
            [Fact("measurement", who, at, plan_id=plan.id, reason=None, ref=source,
                  data={"indicator": code, "value": number, "period": period, **(approval.data if approval else {})})],
        )  # fmt: skip
        session.add(
            Measurement(
                indicator_id=indicator.id, value=number, at=at, period=period, source=source, actor=who, event_id=event_id
            )
        )
        if approval is not None:
            approval.confirm(session_execute(session), event_id)
        return MeasureResult(ident, number, at, period, event_id)

    return db.write(work)


def find_indicator(session: Session, plan: Plan, ident: str, code: str) -> Indicator:
    """The plan's indicator `code`; BadInput naming the ones it has otherwise."""
    indicator = session.execute(
        select(Indicator).where(Indicator.plan_id == plan.id, Indicator.code == code)
    ).scalar_one_or_none()
    if indicator is None:
        known = list(session.scalars(select(Indicator.code).where(Indicator.plan_id == plan.id)))
        raise unknown("indicator", ident, code, known)
    return indicator


def parse_value(ident: str, value: str | float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{ident}: expected a number for the value, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadInput(f"{ident}: expected a finite number for the value, got {value!r}")
    return number


def check_period(session: Session, plan: Plan, period: str | None, ident: str) -> None:
    if period is None:
        return
    keys = [p.key for p in plan.periods]
    if period not in keys:
        raise unknown("period", f"{period!r} for {ident}", period, keys)


@dataclass
class FundResult:
    id: str
    period: str
    budget: int | float | None
    received: int | float | None
    event_id: int


def check_amounts(ident: str, received: Decimal | None, budget: Decimal | None) -> None:
    """A funding update gives received, budget or both, each within cpflow's limit."""
    if received is None and budget is None:
        raise BadInput(f"{ident}: give the amount received, a revised budget, or both", field="received")
    for what, amount in (("received", received), ("budget", budget)):
        if amount is not None and not 0 <= amount <= MAX_AMOUNT:
            raise BadInput(f"{ident}: {what} must be between 0 and {MAX_AMOUNT:,} (cpflow's limit), got {amount:,}")


def find_unit(session: Session, plan: Plan, ident: str, key: str) -> Unit:
    """The plan's unit `key`; BadInput naming the ones it has otherwise."""
    unit = session.execute(select(Unit).where(Unit.plan_id == plan.id, Unit.key == key)).scalar_one_or_none()
    if unit is None:
        known = list(session.scalars(select(Unit.key).where(Unit.plan_id == plan.id)))
        raise unknown("unit", ident, key, known)
    return unit


def fund(
    db: Database,
    ident: str,
    *,
    period: str,
    received: Decimal | None = None,
    budget: Decimal | None = None,
    actor: str | None,
    at: dt.date | None = None,
    reason: str | None = None,
    now: dt.date | None = None,
    approval: Approval | None = None,
) -> FundResult:
    """Record the total received (and/or a revised budget) for a unit and period."""
    slug, key = split_id(ident, "unit")
    actor = require_actor(actor)
    at = check_date(ident, at, now=now or today())
    check_amounts(ident, received, budget)

    def work(session: Session) -> FundResult:
        plan = find_plan(session, slug)
        unit = find_unit(session, plan, ident, key)
        check_period(session, plan, period, ident)
        login = _authorize(
            session, ident, actor, plan, f"cpflow submit fund {ident} --period {period} --by {actor}", (), approval
        )
        who = actor if approval is not None or login is None else login
        line = session.execute(
            select(BudgetLine).where(BudgetLine.unit_id == unit.id, BudgetLine.period == period)
        ).scalar_one_or_none()
        old = (line.budget_minor, line.received_minor) if line else (None, None)
        new_budget = to_minor(budget) if budget is not None else old[0]
        new_received = to_minor(received) if received is not None else old[1]
        data = {
            "unit": key, "period": period, "currency": line.currency if line else plan.currency,
            "budget": [json_amount(old[0]), json_amount(new_budget)],
            "received": [json_amount(old[1]), json_amount(new_received)],
            "given": [name for name, value in (("budget", budget), ("received", received)) if value is not None],
        }  # fmt: skip
        if line is None:
            line = BudgetLine(plan_id=plan.id, unit_id=unit.id, period=period, currency=plan.currency)
            session.add(line)
        line.budget_minor, line.received_minor = new_budget, new_received
        session.flush()
        # The line as stored goes into the event: the log alone rebuilds (and verifies) it.
        data.update(
            table="budget_lines",
            id=line.id,
            row=read_content_by_ids(session.connection(), BudgetLine.__table__, [line.id])[line.id],
        )
        if approval is not None:
            data.update(approval.data)
        (event_id,) = audit.append(
            session, [Fact("funding", who, at, plan_id=plan.id, reason=(reason or "").strip() or None, data=data)]
        )
        if approval is not None:
            approval.confirm(session_execute(session), event_id)
        return FundResult(ident, period, json_amount(new_budget), json_amount(new_received), event_id)

    return db.write(work)
