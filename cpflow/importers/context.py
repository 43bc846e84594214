"""What an import needs to know about the plan it goes into: its range, periods, units,
objectives, checklist items, lifecycle and activity codes (empty for a new plan)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpflow.lifecycle import lifecycle_for
from cpflow.models import Activity, ChecklistItem, Objective, Period, Plan, Unit
from cpflow.plans import ChecklistItemSpec, ChecklistSpec, ObjectiveSpec, PeriodSpec, PlanMeta, UnitSpec


@dataclass
class PlanContext:
    slug: str
    meta: PlanMeta | None = None  # None: the import creates the plan
    lifecycle: dict | None = None
    periods: dict[str, PeriodSpec] = field(default_factory=dict)
    units: dict[str, UnitSpec] = field(default_factory=dict)
    objectives: dict[str, ObjectiveSpec] = field(default_factory=dict)
    checklists: dict[str, ChecklistSpec] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)

    @property
    def exists(self) -> bool:
        return self.meta is not None

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(lifecycle_for(self.lifecycle).states)

    @property
    def range(self) -> tuple[dt.date, dt.date] | None:
        return (self.meta.start, self.meta.end) if self.meta else None


def load_context(session: Session, slug: str) -> PlanContext:
    """The plan as stored, or an empty context when no plan has this slug."""
    plan = session.execute(select(Plan).where(Plan.slug == slug)).scalar_one_or_none()
    if plan is None:
        return PlanContext(slug)
    meta = PlanMeta(
        slug=plan.slug, title=plan.title, owner=plan.owner, framework=plan.framework, currency=plan.currency,
        start=plan.start, end=plan.end, description=plan.description, source=plan.source,
    )  # fmt: skip
    ctx = PlanContext(slug, meta=meta, lifecycle=plan.lifecycle)
    for p in session.scalars(select(Period).where(Period.plan_id == plan.id).order_by(Period.id)):
        ctx.periods[p.key] = PeriodSpec(key=p.key, name=p.name, kind=p.kind, start=p.start, end=p.end)
    unit_keys = {}
    for u in session.scalars(select(Unit).where(Unit.plan_id == plan.id).order_by(Unit.id)):
        unit_keys[u.id] = u.key
        ctx.units[u.key] = UnitSpec(key=u.key, name=u.name, kind=u.kind)
    for o in session.scalars(select(Objective).where(Objective.plan_id == plan.id).order_by(Objective.position, Objective.id)):
        ctx.objectives[o.code] = ObjectiveSpec(code=o.code, title=o.title, unit=unit_keys.get(o.unit_id))
    for item in session.scalars(
        select(ChecklistItem).where(ChecklistItem.plan_id == plan.id).order_by(ChecklistItem.position, ChecklistItem.id)
    ):
        checklist = ctx.checklists.setdefault(item.checklist, ChecklistSpec(key=item.checklist, title=item.checklist_title))
        checklist.items.append(ChecklistItemSpec(code=item.code, category=item.category, text=item.text))
    ctx.codes = set(session.scalars(select(Activity.code).where(Activity.plan_id == plan.id)))
    return ctx
