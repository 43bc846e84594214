"""Load a validated plan into the database: an idempotent upsert in one transaction.

Keyed by plan slug and activity code (units, periods … by their keys). Loading the same
file twice changes nothing and appends no event; a changed field becomes an `edit`
event; a new activity a `create` event; an activity gone from the file is reported and
kept, marked as no longer in the source.

`partial=True` is for spreadsheet imports into an existing plan: the file holds some of
the plan's activities, not all. The plan row is left alone, periods, units, objectives and
the other keyed rows are only added (never edited), an existing activity changes only in
the fields the import provides, and activities absent from the import are not reported.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Date, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cpflow import audit, digests
from cpflow.audit import Fact
from cpflow.errors import BadInput
from cpflow.failpoints import failpoint
from cpflow.lifecycle import lifecycle_for
from cpflow.models import (
    Account,
    Activity,
    BudgetLine,
    ChecklistItem,
    Indicator,
    Objective,
    Outcome,
    Period,
    Plan,
    PlanRole,
    TransitionEvent,
    Unit,
)
from cpflow.money import format_amount, json_amount, to_minor
from cpflow.plans import LoadedPlan, PlanSpec
from cpflow.read.lookup import declared_name, person_named
from cpflow.read.team import active_account, has_accounts, roles_in
from cpflow.replay import _NOT_CONTENT as _REPLAY_SKIP
from cpflow.replay import PLAN_TABLES, read_content, read_content_by_ids
from cpflow.roles import DECIDERS

ACTIVITY_FIELDS = (
    "title", "description", "objective_id", "objectives", "unit_id", "lead", "contributors", "phase", "schedule",
    "start", "due", "sectors", "countries", "cross_cutting", "activity_type", "expected_result",
    "checklist", "notes", "position", "in_source",
)  # fmt: skip


@dataclass
class LoadResult:
    slug: str
    created: bool
    added: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # every activity the file no longer lists
    newly_missing: list[str] = field(default_factory=list)  # of those, the ones this load marked
    other_changes: int = 0
    events: int = 0
    ignored_states: list[str] = field(default_factory=list)
    # One line per item where the file disagrees with a fact recorded since (funds
    # received, budget revisions): the load kept the fact.
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added or self.edited or self.newly_missing or self.other_changes)

    def summary(self, source: str | None = None, rows: int | None = None) -> str:
        """One line saying what the load (or, with `source`, the import) did to the plan."""
        origin = f" from {source}" if source else ""
        if self.created:
            return (
                f"{self.slug}: created{origin}: {len(self.added)} activities"
                if source
                else f"{self.slug}: loaded {len(self.added)} activities"
            )
        if not self.changed:
            return f"{self.slug}: unchanged ({rows} rows of {source} match the plan)" if source else f"{self.slug}: unchanged"
        parts = [f"{len(self.added)} added"] if self.added else []
        parts += [f"{len(self.edited)} edited"] if self.edited else []
        parts += [f"{self.other_changes} other changes"] if self.other_changes else []
        return f"{self.slug}: {', '.join(parts or ['updated'])}{origin}"

    def notes(self, what: str = "file") -> list[str]:
        """Lines for stderr: activities kept although the source no longer lists them, and
        states in the source that recorded moves overrule."""
        lines = []
        if self.missing and what == "file":
            shown = ", ".join(self.missing[:20]) + (" …" if len(self.missing) > 20 else "")
            lines.append(f"{self.slug}: {len(self.missing)} activities are no longer in the file and were kept: {shown}")
        if self.ignored_states:
            shown = ", ".join(self.ignored_states[:20])
            if what == "file":
                lines.append(f"{self.slug}: the file's state was ignored for activities with recorded moves: {shown}")
            else:
                lines.append(f"note: the sheet's status was ignored for activities with recorded moves: {shown}")
        lines.extend(self.kept)
        return lines


def load_plan(session: Session, loaded: LoadedPlan, *, actor: str, today: dt.date, partial: bool = False) -> LoadResult:
    """Upsert one validated plan inside the caller's write transaction (see `partial` above)."""
    spec = loaded.spec
    facts: list[Fact] = []
    plan_row = _plan_row(spec, loaded)
    plan = session.execute(select(Plan).where(Plan.slug == spec.plan.slug)).scalar_one_or_none()
    result = LoadResult(slug=spec.plan.slug, created=plan is None)
    if has_accounts(session):
        actor = _require_lead_account(session, spec.plan.slug, plan, actor)
    elif plan is not None and plan.people:
        actor = _require_lead(spec.plan.slug, plan.people, actor)
    else:
        actor = declared_name(plan_row["people"], actor)
    if plan is None:
        plan_id = session.execute(insert(Plan).values(**plan_row).returning(Plan.id)).scalar_one()
        facts.append(
            Fact(
                "create",
                actor,
                today,
                plan_id=plan_id,
                data={"table": "plans", "key": spec.plan.slug, "id": plan_id, "file_sha256": loaded.sha256},
            )
        )
    else:
        plan_id = plan.id
        changes = {} if partial else _diff({k: getattr(plan, k) for k in plan_row}, plan_row)
        if changes:
            session.execute(update(Plan).where(Plan.id == plan_id).values(**plan_row))
            facts.append(
                Fact(
                    "edit",
                    actor,
                    today,
                    plan_id=plan_id,
                    data={"table": "plans", "key": spec.plan.slug, "id": plan_id, "changes": changes},
                )
            )
            result.other_changes += 1

    def keyed(model, key: str, rows: list[dict]) -> dict[str, int]:
        ids, new_facts = _upsert_keyed(
            session, model, plan_id, key, rows, actor, today, insert_only=partial, new_plan=result.created, result=result
        )
        facts.extend(new_facts)
        result.other_changes += len(new_facts)
        return ids

    periods = {p.key: p for p in spec.periods}
    keyed(Period, "key", [dict(key=p.key, name=p.name or p.key, kind=p.kind, start=p.start, end=p.end) for p in spec.periods])
    units = keyed(
        Unit,
        "key",
        [dict(key=u.key, name=u.name, kind=u.kind, outcome=u.outcome, leads=u.leads, members=u.members) for u in spec.units],
    )
    outcomes = keyed(Outcome, "key", [dict(key=o.key, title=o.title, description=o.description) for o in spec.outcomes])
    objectives = keyed(Objective, "code", [
        dict(code=o.code, title=o.title, description=o.description, outcome_id=outcomes.get(o.outcome),
             unit_id=units.get(o.unit), targets=[t.model_dump() for t in o.targets],
             expected_results=o.expected_results, position=i)
        for i, o in enumerate(spec.objectives)
    ])  # fmt: skip
    keyed(ChecklistItem, "code", [
        dict(code=item.code, checklist=c.key, checklist_title=c.title, category=item.category, text=item.text, position=i)
        for c in spec.checklists for i, item in enumerate(c.items)
    ])  # fmt: skip
    keyed(Indicator, "code", [
        dict(code=i.code, name=i.name, measure=i.measure, direction=i.direction, of=i.of,
             baseline_value=i.baseline.value if i.baseline else None,
             baseline_date=i.baseline.date if i.baseline else None,
             targets=[t.model_dump() for t in i.targets])
        for i in spec.indicators
    ])  # fmt: skip
    keyed(BudgetLine, "line", [
        dict(line=f"{b.unit}/{b.period}", unit_id=units[b.unit], period=b.period,
             currency=b.currency or spec.plan.currency, budget_minor=to_minor(b.budget),
             received_minor=to_minor(b.received), declared_gap_minor=to_minor(b.declared_gap))
        for b in spec.budgets
    ])  # fmt: skip

    lifecycle = lifecycle_for(spec.lifecycle)
    _load_activities(session, spec, plan_id, objectives, units, periods, lifecycle.initial, actor, today, facts, result, partial)
    facts = _with_content(session, facts, plan_id, created=result.created)
    failpoint("load:before-events")
    result.events = len(audit.append(session, facts))
    if facts:
        digests.record(session.connection(), [plan_id])
    failpoint("load:before-commit")
    return result


def _require_lead(slug: str, people: list[dict], actor: str) -> str:
    """A plan that declares roles is loaded, imported into or re-staffed only by its lead."""
    person = person_named(people, actor)
    if person is None or "lead" not in person.get("roles", []):
        leads = [p["name"] for p in people if "lead" in p.get("roles", [])]
        raise BadInput(
            f"{slug}: {actor!r} may not load or import into this plan; it needs the role lead"
            + (f" (held by {', '.join(leads)})" if leads else "")
            + "; nothing was written"
        )
    return person["name"]


def _require_lead_account(session: Session, slug: str, plan: Plan | None, actor: str) -> str:
    """Where accounts exist they alone decide (docs/team.md): a plan is reloaded or imported into
    by its lead or co-lead account, and a new plan is loaded by an admin (who then grants its lead)."""
    account = active_account(session, actor, slug)
    if plan is None:
        if not account.is_admin:
            raise BadInput(
                f"{slug}: {account.login} may not load a new plan; where a database has accounts an admin loads it "
                "and grants its lead (`cpflow users grant LOGIN lead --plan SLUG`); nothing was written"
            )
        return account.login
    if not roles_in(session, account.id, plan.id) & DECIDERS:
        leads = session.scalars(
            select(Account.login).join(PlanRole, PlanRole.account_id == Account.id)
            .where(PlanRole.plan_id == plan.id, PlanRole.role.in_(sorted(DECIDERS))).order_by(Account.login)
        ).all()  # fmt: skip
        raise BadInput(
            f"{slug}: {account.login} may not load or import into this plan; it needs the role lead or co-lead"
            + (f" (held by {', '.join(dict.fromkeys(leads))})" if leads else "")
            + "; nothing was written"
        )
    return account.login


def _with_content(session: Session, facts: list[Fact], plan_id: int, *, created: bool) -> list[Fact]:
    """The facts with the content of the row each one created or changed, read back as
    stored, so the log alone can rebuild (and `audit verify` check) every table."""
    conn = session.connection()
    tables = {t.name: t for t in (*PLAN_TABLES, Plan.__table__, Activity.__table__)}
    wanted: dict[str, set[int]] = {}
    for fact in facts:
        if fact.data and "row" in fact.data:
            continue  # a new activity: its content is the row as inserted
        if fact.activity_id is not None:
            wanted.setdefault("activities", set()).add(fact.activity_id)
        elif fact.data and fact.data.get("id") is not None:
            wanted.setdefault(fact.data["table"], set()).add(fact.data["id"])
    contents = {}
    for name, ids in wanted.items():
        table = tables[name]
        if created and "plan_id" in table.c:
            contents[name] = read_content(conn, table, table.c.plan_id == plan_id)
        else:
            contents[name] = read_content_by_ids(conn, table, ids)
    out = []
    for fact in facts:
        if fact.data and "row" in fact.data:
            out.append(fact)
            continue
        if fact.activity_id is not None:
            data = dict(fact.data or {}, row=contents["activities"][fact.activity_id])
        elif fact.data and fact.data.get("id") is not None:
            data = dict(fact.data, row=contents[fact.data["table"]][fact.data["id"]])
            if created and fact.kind == "create" and fact.data["table"] == "plans":
                rows = {t.name: read_content(conn, t, t.c.plan_id == plan_id) for t in PLAN_TABLES}
                data["rows"] = {name: [dict(id=i, **row) for i, row in r.items()] for name, r in rows.items() if r}
        else:
            data = fact.data
        out.append(replace(fact, data=data))
    return out


def _recorded_funding(session: Session, plan_id: int) -> dict[str, dict[str, tuple]]:
    """'unit/period' -> {column: (minor units, date, actor)} for every figure a `funding`
    event set: a recorded fact a reload must not revert."""
    held: dict[str, dict[str, tuple]] = {}
    rows = session.execute(
        select(TransitionEvent.data, TransitionEvent.at, TransitionEvent.actor)
        .where(TransitionEvent.plan_id == plan_id, TransitionEvent.kind == "funding")
        .order_by(TransitionEvent.id)
    )
    for text, at, actor in rows:
        data = json.loads(text)
        given = data.get("given") or [k for k in ("budget", "received") if data[k][0] != data[k][1]]
        line = held.setdefault(f"{data['unit']}/{data['period']}", {})
        for name in given:
            line[f"{name}_minor"] = (to_minor(_decimal(data[name][1])), at, actor)
    return held


def _decimal(value: int | float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _plan_row(spec: PlanSpec, loaded: LoadedPlan) -> dict[str, Any]:
    meta = spec.plan
    return dict(
        slug=meta.slug, title=meta.title, owner=meta.owner, framework=meta.framework, currency=meta.currency,
        start=meta.start, end=meta.end, description=meta.description, source=meta.source, about=meta.about,
        sectors=meta.sectors, countries=meta.countries, cross_cutting=meta.cross_cutting,
        records_expected_results=meta.records_expected_results,
        people=[p.model_dump() for p in spec.people], rules=_rules(spec),
        lifecycle=spec.lifecycle, file_sha256=loaded.sha256,
    )  # fmt: skip


def _rules(spec: PlanSpec) -> dict[str, Any]:
    """The plan's `rules:` section, with each activity's own waivers (`waive:`) under
    `waive` by activity code, where the rules engine reads them."""
    rules = spec.rules.model_dump()
    waived = {activity.code: dict(activity.waive) for _path, activity in spec.all_activities() if activity.waive}
    if waived:
        rules["waive"] = waived
    if spec.plan.four_eyes:
        rules["four_eyes"] = True  # read by cpflow.read.team.four_eyes
    standards = _standards(spec)
    if standards:
        rules["standards"] = standards  # read by cpflow.rules.localisation.standards_of
    return rules


def _standards(spec: PlanSpec) -> dict[str, Any]:
    """Organisations, the IATI settings and indicators' aggregations (issue 16), kept in the
    plan row's JSON so that neither a table nor a migration is needed for them."""
    out: dict[str, Any] = {}
    if spec.organisations:
        out["organisations"] = [org.model_dump(exclude_none=True) for org in spec.organisations]
    if spec.plan.iati is not None:
        out["iati"] = spec.plan.iati.model_dump(exclude_none=True)
    aggregation = {i.code: i.aggregation for i in spec.indicators if "aggregation" in i.model_fields_set}
    if aggregation:
        out["aggregation"] = aggregation
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date,)):
        return value.isoformat()
    return value


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list]:
    """Fields whose value changed, as {field: [old, new]} in JSON-ready form."""
    return {k: [_jsonable(old.get(k)), _jsonable(v)] for k, v in new.items() if old.get(k) != v}


def _upsert_keyed(
    session, model, plan_id, key, rows, actor, today, insert_only=False, new_plan=False, result=None
) -> tuple[dict[str, int], list[Fact]]:
    """Insert new rows and update changed ones (only insert with `insert_only`) of a small
    per-plan table; rows absent from the file are kept. Returns key -> id and the facts
    recording what changed (a new plan's rows are recorded by its `create` event)."""
    table = model.__table__
    facts = []
    held: dict[str, dict[str, tuple]] = {}
    if key == "line":  # budget lines are keyed by (unit, period)
        existing = {
            f"{unit_key}/{row.period}": row
            for row, unit_key in session.execute(select(BudgetLine, Unit.key).join(Unit).where(BudgetLine.plan_id == plan_id))
        }
        held = _recorded_funding(session, plan_id) if not new_plan else {}
    else:
        existing = {getattr(row, key): row for row in session.scalars(select(model).where(model.plan_id == plan_id))}
    ids = {}
    if new_plan:  # every row is new and recorded by the plan's `create` event: one executemany
        names = [row.pop("line") if key == "line" else row[key] for row in rows]
        if rows:
            returned = session.connection().execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), [dict(row, plan_id=plan_id) for row in rows]
            )
            ids = dict(zip(names, returned.scalars()))
        return ids, facts
    for row in rows:
        name = row.pop("line") if key == "line" else row[key]
        for column, (minor, at, by) in held.get(name, {}).items():
            if row[column] != minor:  # a figure recorded since the file was written wins over it
                result.kept.append(
                    f"{result.slug}:{name}: {column.removesuffix('_minor')} {format_amount(json_amount(minor))} recorded by "
                    f"{by} on {at} is kept; the file says {format_amount(json_amount(row[column]))}"
                )
                row[column] = minor
        current = existing.get(name)
        if current is None:
            row_id = session.execute(insert(table).values(plan_id=plan_id, **row).returning(table.c.id)).scalar_one()
            ids[name] = row_id
            if not new_plan:  # new inside an existing plan: worth a line in the log
                facts.append(Fact("create", actor, today, plan_id=plan_id, data={"table": table.name, "key": name, "id": row_id}))
            continue
        ids[name] = current.id
        if insert_only:
            continue
        changes = _diff({k: getattr(current, k) for k in row}, row)
        if changes:
            session.execute(update(table).where(table.c.id == current.id).values(**row))
            facts.append(
                Fact(
                    "edit",
                    actor,
                    today,
                    plan_id=plan_id,
                    data={"table": table.name, "key": name, "id": current.id, "changes": _money_json(changes)},
                )
            )
    return ids, facts


def _money_json(changes: dict[str, list]) -> dict[str, list]:
    return {
        (k.removesuffix("_minor")): [json_amount(v[0]), json_amount(v[1])] if k.endswith("_minor") else v
        for k, v in changes.items()
    }


# Which stored fields each field of a plan file's activity sets (for partial loads).
_STORED_BY = {
    "title": ("title",), "description": ("description",), "objective": ("objective_id", "objectives"),
    "objectives": ("objective_id", "objectives"), "unit": ("unit_id",),
    "lead": ("lead",), "contributors": ("contributors",), "phase": ("phase", "start", "due"),
    "schedule": ("schedule", "start", "due"), "start": ("start", "due"), "due": ("start", "due"),
    "sectors": ("sectors",), "countries": ("countries",), "cross_cutting": ("cross_cutting",),
    "type": ("activity_type",), "expected_result": ("expected_result",), "checklist": ("checklist",),
    "notes": ("notes",),
}  # fmt: skip


def _load_activities(
    session, spec, plan_id, objectives, units, periods, initial, actor, today, facts, result, partial=False
) -> None:
    meta = spec.plan
    existing = {
        row.code: row
        for row in session.execute(
            select(
                Activity.id,
                Activity.code,
                Activity.initial_state,
                Activity.version,
                *(getattr(Activity, f) for f in ACTIVITY_FIELDS),
            ).where(Activity.plan_id == plan_id)
        )
    }
    moved = set()
    if existing:
        moved = set(
            session.scalars(
                select(TransitionEvent.activity_id)
                .join(Activity, Activity.id == TransitionEvent.activity_id)
                .where(Activity.plan_id == plan_id, TransitionEvent.kind == "transition")
                .distinct()
            )
        )
    objective_units = {o.code: o.unit for o in spec.objectives}
    new_rows, updates, seen = [], [], set()
    first_position = 0
    if partial and existing:
        first_position = max(row.position for row in existing.values()) + 1
    for index, (_, a) in enumerate(spec.all_activities()):
        position = first_position + index
        seen.add(a.code)
        scheduled = [periods[k] for k in a.schedule]
        phase = periods.get(a.phase) if a.phase else None
        start = a.start or (min(p.start for p in scheduled) if scheduled else phase.start if phase else meta.start)
        due = a.due or (max(p.end for p in scheduled) if scheduled else phase.end if phase else meta.end)
        contributes = a.contributes_to()
        primary = contributes[0] if contributes else None
        row = dict(
            title=a.title, description=a.description, objective_id=objectives.get(primary),
            objectives=contributes, unit_id=units.get(a.unit or objective_units.get(primary)),
            lead=a.lead, contributors=a.contributors,
            phase=a.phase, schedule=a.schedule, start=start, due=max(due, start), sectors=a.sectors,
            countries=a.countries, cross_cutting=a.cross_cutting, activity_type=a.type,
            expected_result=a.expected_result, checklist=a.checklist, notes=a.notes,
            position=position, in_source=True,
        )  # fmt: skip
        state = a.state or initial
        current = existing.get(a.code)
        if current is None:
            new_rows.append(dict(row, plan_id=plan_id, code=a.code, initial_state=state, state=state, version=1))
            continue
        if partial:
            given = {"in_source"} | {column for name in a.model_fields_set for column in _STORED_BY.get(name, ())}
            row = {k: v for k, v in row.items() if k in given}
            row["position"] = current.position
        changes = _diff({f: getattr(current, f) for f in row}, row)
        changes.pop("position", None)
        if state != current.initial_state and (not partial or "state" in a.model_fields_set):
            if current.id in moved:
                result.ignored_states.append(a.code)
            else:
                row.update(initial_state=state, state=state)
                changes["state"] = [current.initial_state, state]
        if changes:
            updates.append(dict(row, version=current.version + 1, b_id=current.id))  # every change bumps the version
            facts.append(
                Fact("edit", actor, today, plan_id=plan_id, activity_id=current.id, data={"code": a.code, "changes": changes})
            )
            result.edited.append(a.code)
        elif row["position"] != current.position:
            updates.append(dict(row, b_id=current.id))
    if updates:
        for keys, group in _group_by_keys(updates).items():
            values = {k: bindparam(f"v_{k}") for k in keys if k != "b_id"}
            session.connection().execute(
                update(Activity).where(Activity.id == bindparam("b_id")).values(values),
                [{("b_id" if k == "b_id" else f"v_{k}"): v for k, v in row.items()} for row in group],
            )
    if new_rows:
        given = _insert_activities(session.connection(), new_rows)
        if given is not None:
            ids = dict(zip((row["code"] for row in new_rows), given))
        else:
            ids = dict(session.execute(select(Activity.code, Activity.id).where(Activity.plan_id == plan_id)).all())
        # Each `create` carries the row's content as written: JSON-native values (text, integers,
        # lists of text, dates as ISO text) that the database stores and returns unchanged, so
        # reading 100,000 rows back (_with_content) would only give the same dicts again.
        # Each inserted row is let go as its fact is made, so the two are not held at once.
        result.added = [row["code"] for row in new_rows]
        for i, row in enumerate(new_rows):
            facts.append(Fact("create", actor, today, plan_id=plan_id, activity_id=ids[row["code"]],
                              data={"code": row["code"], "row": _content(row)}))  # fmt: skip
            new_rows[i] = None
    if partial:
        return
    gone = [code for code, row in existing.items() if code not in seen and row.in_source]
    if gone:
        session.execute(
            update(Activity)
            .where(Activity.plan_id == plan_id, Activity.code.in_(gone))
            .values(in_source=False, version=Activity.version + 1)
        )
        for code in gone:
            facts.append(
                Fact(
                    "edit",
                    actor,
                    today,
                    plan_id=plan_id,
                    activity_id=existing[code].id,
                    data={"code": code, "changes": {"in_source": [True, False]}},
                )
            )
    result.newly_missing = sorted(gone)
    result.missing = sorted(code for code, row in existing.items() if code not in seen)


def _group_by_keys(rows: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups


_JSON_COLUMNS = frozenset(c.name for c in Activity.__table__.c if isinstance(c.type, JSON))
_DATE_COLUMNS = frozenset(c.name for c in Activity.__table__.c if isinstance(c.type, Date))
_BOOL_COLUMNS = frozenset(c.name for c in Activity.__table__.c if isinstance(c.type, Boolean))


def _insert_activities(conn: Connection, rows: list[dict]) -> list[int] | None:
    """New activity rows in one executemany. On SQLite the values are bound as SQLAlchemy
    would store them (JSON as json.dumps text, dates as ISO text, booleans as 0/1) straight
    on the driver, without its per-row, per-column bind processing (a fifth of a 100,000-row
    import's write), and their ids are returned; elsewhere through Core, and None (the
    caller reads the ids back)."""
    if conn.dialect.name != "sqlite":
        conn.execute(insert(Activity.__table__), rows)
        return None
    columns = list(rows[0])
    texts: dict[tuple, str] = {}  # most lists repeat ([], ["Q1"] …): each serialised once

    def as_json(value: Any) -> str:
        if value == [] and isinstance(value, list):
            return "[]"
        key = tuple(value) if isinstance(value, list) else None
        if key is None or not all(type(v) is str for v in key):
            return json.dumps(value)
        text = texts.get(key)
        if text is None:
            text = texts[key] = json.dumps(value)
        return text

    converted = [
        (i, as_json if c in _JSON_COLUMNS else _iso if c in _DATE_COLUMNS else _int)
        for i, c in enumerate(columns) if c in _JSON_COLUMNS or c in _DATE_COLUMNS or c in _BOOL_COLUMNS
    ]  # fmt: skip
    pick = itemgetter(*columns)
    params = []
    for row in rows:
        values = list(pick(row))
        for i, convert in converted:
            values[i] = convert(values[i])
        params.append(tuple(values))
    quote = conn.dialect.identifier_preparer.quote
    sql = f"INSERT INTO activities ({', '.join(map(quote, columns))}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM activities").scalar_one()
    conn.exec_driver_sql(sql, params)
    # SQLite gives each new row the largest id + 1, so under the write lock the rows hold
    # before + 1 … before + n in parameter order; checked, else the caller reads the ids.
    top, count = conn.exec_driver_sql(
        "SELECT max(id), count(*) FROM activities WHERE id > ?", (before,)
    ).one()  # fmt: skip
    if top == before + len(rows) and count == len(rows):
        return list(range(before + 1, top + 1))
    return None


_NOT_CONTENT = _REPLAY_SKIP["activities"]  # what replay.content leaves out of an activity row


def _content(row: dict[str, Any]) -> dict[str, Any]:
    """replay.content("activities", row) for a row as inserted: its dates are the date columns."""
    out = {k: v for k, v in row.items() if k not in _NOT_CONTENT}
    for name in _DATE_COLUMNS:
        if isinstance(out.get(name), dt.date):
            out[name] = out[name].isoformat()
    return out


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value
