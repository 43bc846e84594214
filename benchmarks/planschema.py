"""The load baseline's own plan-file schema: pydantic (the library cpflow validates with)
over TypedDicts, so validating returns the plain dicts the raw row builder reads.

It checks what a careful hand-written loader would: every key known (extra keys refused),
types and dates, required fields, codes unique, and every reference (unit, outcome,
period, objective, checklist item) pointing at something the file defines.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NotRequired

from pydantic import ConfigDict, TypeAdapter
from typing_extensions import TypedDict

FORBID = ConfigDict(extra="forbid")


class Meta(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    slug: str
    title: str
    start: dt.date
    end: dt.date
    owner: NotRequired[str]
    framework: NotRequired[str]
    currency: NotRequired[str]
    description: NotRequired[str]
    source: NotRequired[str]
    about: NotRequired[dict[str, str]]
    sectors: NotRequired[list[str]]
    countries: NotRequired[list[str]]
    cross_cutting: NotRequired[list[str]]
    records_expected_results: NotRequired[bool]


class Period(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    key: str
    start: dt.date
    end: dt.date
    name: NotRequired[str]
    kind: NotRequired[Literal["phase", "year", "quarter", "month", "other"]]


class Unit(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    key: str
    name: str
    kind: NotRequired[str]
    outcome: NotRequired[str]
    leads: NotRequired[list[str]]
    members: NotRequired[list[str]]


class Outcome(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    key: str
    title: str
    description: NotRequired[str]


class TextTarget(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    period: str
    text: str


class Activity(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    code: str
    title: str
    description: NotRequired[str]
    objective: NotRequired[str]
    objectives: NotRequired[list[str]]
    unit: NotRequired[str]
    lead: NotRequired[str]
    contributors: NotRequired[list[str]]
    phase: NotRequired[str]
    schedule: NotRequired[list[str]]
    start: NotRequired[dt.date]
    due: NotRequired[dt.date]
    sectors: NotRequired[list[str]]
    countries: NotRequired[list[str]]
    cross_cutting: NotRequired[list[str]]
    type: NotRequired[str]
    expected_result: NotRequired[str]
    checklist: NotRequired[list[str]]
    notes: NotRequired[str]
    state: NotRequired[str]


class Objective(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    code: str
    title: str
    description: NotRequired[str]
    outcome: NotRequired[str]
    unit: NotRequired[str]
    targets: NotRequired[list[TextTarget]]
    expected_results: NotRequired[list[str]]
    activities: NotRequired[list[Activity]]


class Baseline(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    value: float
    date: NotRequired[dt.date]


class ValueTarget(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    period: str
    value: float


class Indicator(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    code: str
    name: str
    measure: NotRequired[str]
    direction: NotRequired[Literal["increase", "decrease"]]
    of: NotRequired[str]
    baseline: NotRequired[Baseline]
    targets: NotRequired[list[ValueTarget]]


class Budget(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    unit: str
    period: str
    budget: NotRequired[int | float]
    received: NotRequired[int | float]
    declared_gap: NotRequired[int | float]
    currency: NotRequired[str]


class Item(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    code: str
    text: str
    category: NotRequired[str]


class Checklist(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    key: str
    title: str
    items: NotRequired[list[Item]]


class PlanFile(TypedDict):
    __pydantic_config__ = FORBID  # type: ignore[misc]
    format: Literal[1]
    plan: Meta
    periods: NotRequired[list[Period]]
    units: NotRequired[list[Unit]]
    outcomes: NotRequired[list[Outcome]]
    objectives: NotRequired[list[Objective]]
    activities: NotRequired[list[Activity]]
    indicators: NotRequired[list[Indicator]]
    budgets: NotRequired[list[Budget]]
    checklists: NotRequired[list[Checklist]]
    rules: NotRequired[dict]
    people: NotRequired[list[dict]]
    lifecycle: NotRequired[dict]


ADAPTER = TypeAdapter(PlanFile)


def validate(spec: object) -> dict:
    """The validated plan (plain dicts), or ValueError naming every problem found."""
    plan = ADAPTER.validate_python(spec)
    problems = []

    def unique(kind: str, codes: list[str]) -> set[str]:
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                problems.append(f"{kind} {code!r} is defined twice")
            seen.add(code)
        return seen

    periods = unique("period", [p["key"] for p in plan.get("periods", [])])
    units = unique("unit", [u["key"] for u in plan.get("units", [])])
    outcomes = unique("outcome", [o["key"] for o in plan.get("outcomes", [])])
    objectives = unique("objective", [o["code"] for o in plan.get("objectives", [])])
    items = unique("checklist item", [i["code"] for c in plan.get("checklists", []) for i in c.get("items", [])])
    activities = [a for o in plan.get("objectives", []) for a in o.get("activities", [])] + plan.get("activities", [])
    unique("activity", [a["code"] for a in activities])

    def ref(kind: str, value: str | None, known: set[str], where: str) -> None:
        if value is not None and value not in known:
            problems.append(f"{where}: unknown {kind} {value!r}")

    for o in plan.get("objectives", []):
        ref("unit", o.get("unit"), units, f"objective {o['code']}")
        ref("outcome", o.get("outcome"), outcomes, f"objective {o['code']}")
        for t in o.get("targets", []):
            ref("period", t["period"], periods, f"objective {o['code']}")
    for a in activities:
        where = f"activity {a['code']}"
        ref("unit", a.get("unit"), units, where)
        ref("objective", a.get("objective"), objectives, where)
        for code in a.get("objectives", []):
            ref("objective", code, objectives, where)
        ref("period", a.get("phase"), periods, where)
        for key in a.get("schedule", []):
            ref("period", key, periods, where)
        for code in a.get("checklist", []):
            ref("checklist item", code, items, where)
    for b in plan.get("budgets", []):
        ref("unit", b["unit"], units, "budget")
    for i in plan.get("indicators", []):
        for t in i.get("targets", []):
            ref("period", t["period"], periods, f"indicator {i['code']}")
    if problems:
        raise ValueError("; ".join(problems))
    return plan
