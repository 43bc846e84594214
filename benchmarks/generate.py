"""Deterministic synthetic data in the seed plans' shapes, for the benchmarks.

Two things come out of one seed and one size:

- `load_plan(n)`: one plan with n activities — units with budgets, phases, years and
  quarters, outcomes, objectives with targets, activities with leads, sectors and
  schedules, indicators, a checklist — written as a plan file (`plan.yaml`, for the load
  benchmark) and as the same data in a workbook (`plan.xlsx`, for an import benchmark).
- `dataset(n, e)`: n activities over many plans of three shapes (a multi-year framework
  with phases, a network plan of working groups and task forces with budgets, a country
  plan with quarterly schedules) and e events: ~10 lifecycle moves per activity in date
  order, plus indicator measurements. It becomes the fixture database every other
  benchmark reads (`build_sqlite` / `build_postgres`).

Everything is drawn from one `random.Random(seed)`, so the same seed and size give the
same bytes. Run `python -m benchmarks.generate --size small --out DIR` to look at it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import pickle
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import HORIZON, RECORDED_AT, SEED, SIZES, rawdb

GENERATOR_VERSION = 8  # bump when the output changes, so cached data is rebuilt

VERBS = (
    "Develop", "Roll out", "Train partners on", "Map", "Convene a workshop on", "Review", "Disseminate",
    "Advocate for", "Pilot", "Translate", "Update", "Contextualise", "Document", "Monitor", "Strengthen",
    "Establish", "Support", "Coordinate",
)  # fmt: skip
OBJECTS = (
    "case management guidance", "referral pathways", "CPMS standard 14", "the PSEA focal point network",
    "child-friendly spaces", "MHPSS tools", "family tracing and reunification", "community-based mechanisms",
    "alternative care options", "the CP AoR toolkit", "unaccompanied children procedures", "the 5W matrix",
    "safe identification guidance", "child labour response", "a capacity gap assessment", "the ToRs",
    "the contingency plan", "the winterization plan", "the information sharing protocol", "the SOPs",
)  # fmt: skip
QUALIFIERS = (
    "", "", "", " with the health sector", " in prioritised countries", " for adolescent girls",
    " with education partners", " across the region", " with local actors", " in camps", " for CAAFAG",
)  # fmt: skip
RESULTS = (
    "Guidance published and shared", "Partners trained", "Pathways updated", "Tool adopted by members",
    "Gaps identified and reported", "Plan endorsed", "Mapping shared with members", "Procedures agreed",
)  # fmt: skip
AGENCIES = (
    "UNICEF", "UNHCR", "Save the Children", "Terre des hommes", "Plan International", "World Vision", "IRC",
    "DRC", "NRC", "IOM", "War Child", "ChildFund", "Mercy Corps", "HelpAge", "Ministry of Social Policy",
)  # fmt: skip
SECTORS = ("health", "education", "nutrition", "WASH", "CCCM", "food security", "shelter", "GBV", "livelihoods")
COUNTRIES = (
    "Bangladesh", "DRC", "Ethiopia", "Iraq", "Jordan", "Lebanon", "Mali", "Myanmar", "Niger", "Nigeria",
    "Somalia", "South Sudan", "Sudan", "Syria", "Türkiye", "Uganda", "Ukraine", "Yemen",
)  # fmt: skip
CROSS_CUTTING = ("Gender", "AAP", "PSEA", "AGD")
TYPES = ("Coordination", "Assessment", "Technical Support", "Reporting", "Capacity Building", "Advocacy", "Monitoring")
SHAPES = ("framework", "network", "country")

# The default lifecycle as (state -> [(trigger, dest, weight)]): every walk is a legal one.
MOVES = {
    "proposed": (("endorse", "endorsed", 85), ("drop", "dropped", 15)),
    "endorsed": (("start", "in_progress", 85), ("drop", "dropped", 15)),
    "in_progress": (("complete", "completed", 75), ("drop", "dropped", 25)),
    "completed": (("reopen", "in_progress", 1),),
    "dropped": (("reinstate", "proposed", 1),),
}
REASONS = {
    "drop": "Folded into another action by the co-leads",
    "reopen": "Follow-up requested at the review",
    "reinstate": "Funding found; back on the plan",
}
MEASUREMENT_SHARE = 0.02  # of all events; the rest are lifecycle moves


# --- plans ----------------------------------------------------------------------------------


def _title(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(QUALIFIERS)}"


def _periods(start: dt.date, years: int, quarters: bool) -> list[dict]:
    out = []
    if years >= 2:
        half = years // 2
        out.append(
            {
                "key": f"years-1-{half}",
                "name": f"Years 1-{half}",
                "kind": "phase",
                "start": start,
                "end": dt.date(start.year + half - 1, 12, 31),
            }
        )
        out.append(
            {
                "key": f"years-{half + 1}-{years}",
                "name": f"Years {half + 1}-{years}",
                "kind": "phase",
                "start": dt.date(start.year + half, 1, 1),
                "end": dt.date(start.year + years - 1, 12, 31),
            }
        )
    for y in range(start.year, start.year + years):
        out.append({"key": str(y), "kind": "year", "start": dt.date(y, 1, 1), "end": dt.date(y, 12, 31)})
        if quarters:
            for q in range(4):
                end = dt.date(y, 3 * q + 3, 1) + dt.timedelta(days=31)
                out.append(
                    {
                        "key": f"Q{q + 1}-{y}",
                        "kind": "quarter",
                        "start": dt.date(y, 3 * q + 1, 1),
                        "end": end.replace(day=1) - dt.timedelta(days=1),
                    }
                )
    return out


def make_plan(rng: random.Random, index: int, shape: str, n: int, slug: str | None = None) -> dict:
    """One plan (plan-file dict, dates as dates) of `shape` with exactly n activities."""
    if shape == "framework":
        years, start = 4, dt.date(2020 + index % 3, 1, 1)
    elif shape == "network":
        years, start = 3, dt.date(2018 + index % 4, 1, 1)
    else:
        years, start = 2, dt.date(2024, 1, 1)
    end = dt.date(start.year + years - 1, 12, 31)
    quarters = shape != "network"
    periods = _periods(start, years, quarters)
    phases = [p["key"] for p in periods if p["kind"] == "phase"]
    quarter_keys = [p["key"] for p in periods if p["kind"] == "quarter"]
    sectors = rng.sample(SECTORS, 4)
    countries = rng.sample(COUNTRIES, 5)
    per_objective = {"framework": 12, "network": 8, "country": 15}[shape]
    n_objectives = max(1, round(n / per_objective))
    n_units = max(1, n_objectives // 4)
    if shape == "network":
        unit_keys = ["sec"] + [f"wg{i}" for i in range(1, n_units)] if n_units > 1 else ["sec"]
        kinds = ["secretariat"] + ["working_group" if i % 3 else "task_force" for i in range(1, n_units)]
    elif shape == "country":
        unit_keys = [f"area-{i}" for i in range(1, n_units + 1)]
        kinds = ["area"] * n_units
    else:
        unit_keys = [f"wg{i}" for i in range(1, n_units + 1)]
        kinds = ["working_group"] * n_units
    units = []
    for key, kind in zip(unit_keys, kinds):
        leads = rng.sample(AGENCIES, 2)
        units.append(
            {
                "key": key,
                "name": f"{kind.replace('_', ' ').title()} {key}",
                "kind": kind,
                "leads": leads,
                "members": rng.sample(AGENCIES, 4),
            }
        )
    budgets = []
    for unit in units:
        for y in range(start.year, min(end.year, HORIZON.year) + 1):
            budget = rng.randrange(50, 2_000) * 1_000
            line = {"unit": unit["key"], "period": str(y), "budget": budget}
            if rng.random() < 0.8:
                line["received"] = rng.randrange(0, budget + 1, 1_000)
                if rng.random() < 0.5:  # a declared gap, now and then not matching budget - received
                    line["declared_gap"] = budget - line["received"] + (0 if rng.random() < 0.9 else 10_000)
            budgets.append(line)
    outcomes = [{"key": str(i), "title": f"Outcome {i}: {rng.choice(RESULTS).lower()} across the sector"} for i in range(1, 4)]
    checklist = {"key": "annex-1", "title": "Actions common to all sectors", "items": [
        {"code": f"annex-1.{i}", "category": rng.choice(SECTORS), "text": f"Ensure {rng.choice(OBJECTS)} reach every sector"} for i in range(1, 9)
    ]}  # fmt: skip
    objectives, indicators = [], []
    remaining = n
    for k in range(1, n_objectives + 1):
        count = remaining if k == n_objectives else min(remaining, max(1, round(rng.uniform(0.5, 1.5) * per_objective)))
        remaining -= count
        unit = unit_keys[(k - 1) % len(unit_keys)]
        code = f"{unit.upper()}-{k}" if shape == "network" else str(k)
        objective = {"code": code, "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}", "outcome": str(1 + k % 3), "unit": unit}
        if phases:
            objective["targets"] = [{"period": phases[-1], "text": f"By the end of the plan, {rng.choice(RESULTS).lower()}"}]
        if k % 3 == 1:
            indicators.append({
                "code": f"IND-{code}", "name": f"Partners applying {rng.choice(OBJECTS)}", "measure": "partners",
                "of": f"objective:{code}", "baseline": {"value": rng.randrange(0, 5), "date": start},
                "targets": [{"period": str(end.year), "value": rng.randrange(10, 40)}],
            })  # fmt: skip
        activities = []
        for j in range(1, count + 1):
            a = {"code": f"{code}.{j}" if j <= 9 or shape != "network" else f"{code}.{j // 10}.{j % 10}", "title": _title(rng)}
            if rng.random() < 0.8:
                a["lead"] = rng.choice(AGENCIES)
            if shape == "country":
                a["type"] = rng.choice(TYPES)
                a["schedule"] = sorted(rng.sample(quarter_keys, rng.randint(1, 3)), key=quarter_keys.index)
                if rng.random() < 0.85:
                    a["expected_result"] = rng.choice(RESULTS)
                if rng.random() < 0.3:
                    a["cross_cutting"] = rng.sample(CROSS_CUTTING, rng.randint(1, 2))
            elif phases:
                a["phase"] = rng.choice(phases)
            if rng.random() < 0.35:
                a["sectors"] = rng.sample(sectors, rng.randint(1, 2))
            if shape == "framework" and rng.random() < 0.2:
                a["countries"] = rng.sample(countries, 1)
            if rng.random() < 0.05:
                a["checklist"] = [f"annex-1.{rng.randint(1, 8)}"]
            activities.append(a)
        objective["activities"] = activities
        objectives.append(objective)
    return {
        "format": 1,
        "plan": {
            "slug": slug or f"{shape}-{index:04d}", "title": f"Synthetic {shape} plan {index}",
            "owner": f"{rng.choice(AGENCIES)} coordination", "start": start, "end": end,
            "source": "benchmarks/generate.py (synthetic)", "sectors": sectors, "countries": countries,
            "cross_cutting": list(CROSS_CUTTING) if shape == "country" else [],
            "records_expected_results": shape == "country",
        },
        "periods": periods, "units": units, "outcomes": outcomes, "objectives": objectives,
        "indicators": indicators, "budgets": budgets, "checklists": [checklist],
    }  # fmt: skip


def load_plan(n: int, seed: int = SEED) -> dict:
    """The one big plan of the load benchmark: n activities in the framework shape."""
    return make_plan(random.Random(seed), 0, "framework", n, slug="global-cp-coordination")


# --- the dataset (many plans and their history) ----------------------------------------------


@dataclass
class Dataset:
    plans: list[dict]
    rows: dict[str, list[tuple]]  # table -> rows, ids assigned 1.. in order
    facts: list[tuple]  # events in chain order, in cpflow.audit.Fact field order
    measurements: list[tuple] = field(default_factory=list)  # rows, event ids matching `facts`

    @property
    def n_activities(self) -> int:
        return len(self.rows["activities"])


def dataset(n_activities: int, n_events: int, seed: int = SEED) -> Dataset:
    """n_activities over many plans of the seed shapes, and exactly n_events events."""
    rng = random.Random(seed)
    n_plans = max(3, round(n_activities / 500))
    plans = []
    for index, count in enumerate(_spread(rng, n_activities, n_plans, minimum=1), start=1):
        plans.append(make_plan(rng, index, SHAPES[index % 3], count))
    ids = rawdb.Ids()
    rows: dict[str, list[tuple]] = {table: [] for table in rawdb.TABLES}
    indicator_ids = []  # per plan: indicator code -> id
    for plan in plans:
        plan_table, _, indicators = rawdb.plan_rows(plan, ids)
        for table, table_rows in plan_table.items():
            rows[table].extend(table_rows)
        indicator_ids.append(indicators)

    n_measurements = min(n_events // 2, round(n_events * MEASUREMENT_SHARE)) if any(indicator_ids) else 0
    per_activity = _spread(rng, n_events - n_measurements, n_activities)
    events: list[tuple] = []  # (at, activity id or -indicator id, step, fact): sorted, the chain order
    finals = []  # per activity: (state, version) after its moves
    for activity, k in zip(rows["activities"], per_activity):
        activity_id, plan_id = activity[0], activity[1]
        plan_meta = plans[plan_id - 1]["plan"]
        state = "proposed"
        last = min(plan_meta["end"], HORIZON)
        span = (last - plan_meta["start"]).days
        offsets = sorted(rng.randrange(span + 1) for _ in range(k))
        lead = activity[7] or "Coordinator"
        for step, offset in enumerate(offsets):
            options = MOVES[state]
            trigger, dest, _ = options[0] if len(options) == 1 else rng.choices(options, weights=[o[2] for o in options])[0]
            at = plan_meta["start"] + dt.timedelta(days=offset)
            ref = f"Meeting minutes {at.isoformat()}" if trigger == "endorse" else None
            fact = ("transition", lead, at, plan_id, activity_id, trigger, state, dest, REASONS.get(trigger), ref, None)
            events.append((at, activity_id, step, fact))
            state = dest
        finals.append((state, 1 + k))

    measurement_specs = []
    all_indicators = [
        (plan_id, code, ind_id) for plan_id, inds in enumerate(indicator_ids, start=1) for code, ind_id in inds.items()
    ]
    for i, count in enumerate(_spread(rng, n_measurements, len(all_indicators)) if all_indicators else []):
        plan_id, code, ind_id = all_indicators[i]
        meta = plans[plan_id - 1]["plan"]
        span = (min(meta["end"], HORIZON) - meta["start"]).days
        value = float(rng.randrange(0, 5))
        for step, offset in enumerate(sorted(rng.randrange(span + 1) for _ in range(count))):
            at = meta["start"] + dt.timedelta(days=offset)
            value += rng.randrange(0, 3)
            period = str(at.year)
            data = {"indicator": code, "value": value, "period": period}
            fact = ("measurement", "M&E officer", at, plan_id, None, None, None, None, None, "Partner 5W report", data)
            events.append((at, -ind_id, step, fact))
            measurement_specs.append((len(events) - 1, ind_id, value, at, period))
    order = sorted(range(len(events)), key=lambda i: events[i][:3])
    # The plans' loads come first in the chain, carrying each row's content as `cpflow load` does.
    creates = load_events(plans, rows)
    position = {event_index: chain_id for chain_id, event_index in enumerate(order, start=1 + len(creates))}
    facts = creates + [events[i][3] for i in order]
    measurement_specs.sort(key=lambda spec: position[spec[0]])
    measurements = [
        (n, ind_id, value, at.isoformat(), period, "Partner 5W report", "M&E officer", position[event_index])
        for n, (event_index, ind_id, value, at, period) in enumerate(measurement_specs, start=1)
    ]
    rows["activities"] = [row[:21] + (state, version) + row[23:] for row, (state, version) in zip(rows["activities"], finals)]
    return Dataset(plans=plans, rows=rows, facts=facts, measurements=measurements)


def load_events(plans: list[dict], rows: dict[str, list[tuple]]) -> list[tuple]:
    """The `create` facts loading these plans records: per plan one carrying the plan row and
    its periods, units … (`rows`), then one per activity, each with the row's content."""
    from sqlalchemy import JSON, Boolean

    from cpflow.models import Base
    from cpflow.replay import PLAN_TABLES, content

    def decoded(table: str, row: tuple) -> dict:
        types = Base.metadata.tables[table].c
        out = {}
        for name, value in zip(rawdb.COLUMNS[table], row):
            kind = types[name].type
            out[name] = json.loads(value) if isinstance(kind, JSON) and isinstance(value, str) else (
                bool(value) if isinstance(kind, Boolean) and value is not None else value)  # fmt: skip
        return out

    per_plan: dict[int, dict[str, list[dict]]] = {}
    for table in PLAN_TABLES:
        for row in rows[table.name]:
            item = decoded(table.name, row)
            per_plan.setdefault(item["plan_id"], {}).setdefault(table.name, []).append(
                dict(id=item["id"], **content(table.name, item))
            )
    activities: dict[int, list[dict]] = {}
    for row in rows["activities"]:
        item = decoded("activities", row)
        activities.setdefault(item["plan_id"], []).append(item)
    facts = []
    for plan_row, spec in zip(rows["plans"], plans):
        plan = decoded("plans", plan_row)
        at = spec["plan"]["start"]
        data = {"table": "plans", "key": plan["slug"], "id": plan["id"], "file_sha256": plan["file_sha256"],
                "row": content("plans", plan), "rows": per_plan.get(plan["id"], {})}  # fmt: skip
        facts.append(("create", "Coordinator", at, plan["id"], None, None, None, None, None, None, data))
        for item in activities.get(plan["id"], []):
            data = {"code": item["code"], "row": content("activities", item)}
            facts.append(("create", "Coordinator", at, plan["id"], item["id"], None, None, None, None, None, data))
    return facts


def _spread(rng: random.Random, total: int, slots: int, minimum: int = 0) -> list[int]:
    """`slots` counts around total/slots (±40%; with minimum 0, a few are zero) adding up to
    exactly `total`."""
    if slots == 0:
        return []
    base = total / slots
    counts = [
        minimum if minimum == 0 and rng.random() < 0.03 else max(minimum, round(base * rng.uniform(0.6, 1.4)))
        for _ in range(slots)
    ]
    diff = total - sum(counts)
    step = 1 if diff > 0 else -1
    while diff:
        i = rng.randrange(slots)
        if counts[i] + step >= max(minimum, 0 if step > 0 else 1):
            counts[i] += step
            diff -= step
    return counts


# --- writers ------------------------------------------------------------------------------


# Text YAML reads back as the same string without quotes (no numbers, dates, keywords, flow
# indicators or comments); everything else is written as a double-quoted scalar.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 .&/'()-]*(?<! )")
_KEYWORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _KEYWORDS:
            return value
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__}")


def plan_yaml(spec: dict) -> str:
    """A plan file: block style for sections, one flow mapping per item (compact, so a
    100k-activity plan stays under cpflow's file-size limit)."""
    out = ["# Synthetic plan written by benchmarks/generate.py; see its docstring.", "format: 1", "plan:"]
    out += [f"  {k}: {_scalar(v)}" for k, v in spec["plan"].items()]
    for section in ("periods", "units", "outcomes", "indicators", "budgets", "checklists"):
        if spec.get(section):
            out.append(f"{section}:")
            out += [f"  - {_scalar(item)}" for item in spec[section]]
    out.append("objectives:")
    for objective in spec["objectives"]:
        head = {k: v for k, v in objective.items() if k != "activities"}
        out.append("  - " + "\n    ".join(f"{k}: {_scalar(v)}" for k, v in head.items()))
        if objective["activities"]:
            out.append("    activities:")
            out += [f"    - {_scalar(a)}" for a in objective["activities"]]
        else:
            out.append("    activities: []")
    return "\n".join(out) + "\n"


WORKBOOK_SHEETS = {
    "activities": ("objective", "code", "title", "unit", "lead", "phase", "schedule", "start", "due", "sectors",
                   "countries", "cross_cutting", "type", "expected_result", "checklist", "state"),
    "objectives": ("code", "title", "outcome", "unit"),
    "units": ("key", "name", "kind", "leads", "members"),
    "periods": ("key", "name", "kind", "start", "end"),
    "budgets": ("unit", "period", "budget", "received", "declared_gap"),
    "indicators": ("code", "name", "measure", "of", "baseline", "targets"),
}  # fmt: skip


def _cell(value):
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_workbook(spec: dict, path: Path) -> None:
    """The same plan as a workbook: one sheet per section, a header row, one row per item."""
    import xlsxwriter

    records = {
        "activities": [dict(a, objective=o["code"], unit=a.get("unit", o.get("unit"))) for o in spec["objectives"] for a in o["activities"]],
        "objectives": spec["objectives"], "units": spec["units"], "periods": spec["periods"],
        "budgets": spec["budgets"],
        "indicators": [dict(i, baseline=(i.get("baseline") or {}).get("value")) for i in spec["indicators"]],
    }  # fmt: skip
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    try:
        plan_sheet = book.add_worksheet("plan")
        for r, (key, value) in enumerate(spec["plan"].items()):
            plan_sheet.write_row(r, 0, (key, _cell(value)))
        for name, columns in WORKBOOK_SHEETS.items():
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, columns)
            for r, item in enumerate(records[name], start=1):
                sheet.write_row(r, 0, [_cell(item.get(c)) for c in columns])
    finally:
        book.close()


# --- databases ------------------------------------------------------------------------------


def init_schema(url: str) -> None:
    """An empty cpflow database at `url`, through cpflow's own migrations."""
    from cpflow.db import Database

    db = Database(url)
    try:
        db.init()
    finally:
        db.dispose()


def build_sqlite(data: Dataset, path: Path, *, events: bool = True) -> None:
    """The fixture database: cpflow's schema, the plans, and (unless events=False) the
    event history, chained exactly as cpflow.audit.append would chain it."""
    if path.exists():
        path.unlink()
    init_schema(f"sqlite:///{path}")
    conn = rawdb.sqlite_connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        rawdb.insert_rows(conn, {t: r for t, r in data.rows.items() if t not in ("transition_events", "measurements")})
        if events:
            rawdb.append_events(conn, data.facts, RECORDED_AT)
            conn.executemany(rawdb.insert_sql("measurements"), data.measurements)
        conn.execute("COMMIT")
    finally:
        conn.close()
    record_digests(f"sqlite:///{path}")
    conn = rawdb.sqlite_connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def record_digests(url: str) -> None:
    """The activity digests cpflow records with every load (cpflow.digests), for tables
    written here directly."""
    from cpflow import digests
    from cpflow.db import Database

    db = Database(url)
    try:
        with db.engine.begin() as conn:
            digests.record(conn)
    finally:
        db.dispose()


def build_postgres(data: Dataset, url: str) -> None:
    """The same fixture in a PostgreSQL schema (the URL's search_path), loaded with COPY."""
    import psycopg

    init_schema(url)
    with psycopg.connect(psycopg_dsn(url)) as conn, conn.cursor() as cur:
        tables = [t for t in rawdb.TABLES if t not in ("transition_events", "measurements")]
        for table in tables:
            _copy(cur, table, data.rows[table])
        head = [0, rawdb.GENESIS]
        _copy(cur, "transition_events", rawdb.chained(data.facts, RECORDED_AT, 0, rawdb.GENESIS, head))
        _copy(cur, "measurements", data.measurements)
        cur.execute("UPDATE chain_head SET seq = %s, hash = %s WHERE id = 1", head)
        for table in tables + ["measurements"]:  # ids were given explicitly: move the sequences past them
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"  # noqa: S608
            )
        conn.commit()
    record_digests(url)
    with psycopg.connect(psycopg_dsn(url)) as conn, conn.cursor() as cur:
        cur.execute("ANALYZE")
        conn.commit()


def _copy(cur, table: str, rows) -> None:
    columns = ", ".join(f'"{c}"' for c in rawdb.COLUMNS[table])
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def psycopg_dsn(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (postgresql+psycopg://… -> postgresql://…)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- the prepared data directory --------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """Where a size's data lives on disk."""

    root: Path

    plan_yaml = property(lambda self: self.root / "plan.yaml")
    plan_xlsx = property(lambda self: self.root / "plan.xlsx")
    facts = property(lambda self: self.root / "facts.pickle")
    empty_db = property(lambda self: self.root / "empty.db")  # schema only
    template_db = property(lambda self: self.root / "template.db")  # plans, no events
    fixture_db = property(lambda self: self.root / "fixture.db")  # plans and events
    info = property(lambda self: self.root / "info.json")


def prepare(size: str, root: Path, *, seed: int = SEED, log=lambda message: None) -> Prepared:
    """Generate (or reuse, when the stamp matches) everything a size needs under `root`.
    Concurrent runs wait for each other here instead of rebuilding the same files."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".lock-{size}-{seed}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _prepare(size, root, seed=seed, log=log)


def _prepare(size: str, root: Path, *, seed: int, log) -> Prepared:
    from cpflow.db import SCHEMA_REVISION

    spec = SIZES[size]
    prepared = Prepared(root / f"{size}-{seed}")
    stamp = {"generator": GENERATOR_VERSION, "schema": SCHEMA_REVISION, "seed": seed,
             "activities": spec.activities, "events": spec.events}  # fmt: skip
    if prepared.info.exists():
        info = json.loads(prepared.info.read_text())
        if info.get("stamp") == stamp and all(p.exists() for p in (prepared.plan_yaml, prepared.facts, prepared.fixture_db)):
            log(f"reusing the {size} data in {prepared.root}")
            return prepared
    if prepared.root.exists():
        shutil.rmtree(prepared.root)
    prepared.root.mkdir(parents=True)
    log(f"generating {size} data ({spec.activities:,} activities, {spec.events:,} events) in {prepared.root}")
    big = load_plan(spec.activities, seed)
    text = plan_yaml(big)
    prepared.plan_yaml.write_text(text, encoding="utf-8")
    write_workbook(big, prepared.plan_xlsx)
    del big, text
    data = dataset(spec.activities, spec.events, seed)
    with prepared.facts.open("wb") as f:
        pickle.dump(data.facts, f, protocol=pickle.HIGHEST_PROTOCOL)
    init_schema(f"sqlite:///{prepared.empty_db}")
    build_sqlite(data, prepared.template_db, events=False)
    build_sqlite(data, prepared.fixture_db)
    info = {
        "stamp": stamp, "plans": len(data.plans), "activities": data.n_activities, "events": len(data.facts),
        "measurements": len(data.measurements), "plan_yaml_bytes": prepared.plan_yaml.stat().st_size,
        "plan_yaml_sha256": hashlib.sha256(prepared.plan_yaml.read_bytes()).hexdigest(),
        "fixture_db_bytes": prepared.fixture_db.stat().st_size,
    }  # fmt: skip
    prepared.info.write_text(json.dumps(info, indent=2))
    return prepared


def load_facts(prepared: Prepared) -> list[tuple]:
    with prepared.facts.open("rb") as f:
        return pickle.load(f)  # noqa: S301 (our own file, written by prepare)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True, help="directory for plan.yaml, plan.xlsx and the databases")
    args = parser.parse_args(argv)
    prepared = prepare(args.size, args.out, seed=args.seed, log=print)
    print(prepared.info.read_text())


if __name__ == "__main__":
    main()
